// Command testreport reads `go test -json` output on stdin, prints each
// package's result as it finishes and the output of every failed test, and
// exits non-zero when a test failed or when, under CI=true, a test skipped
// for want of data or a service CI is meant to provide (../shared,
// PostgreSQL): such a skip would leave what it tests unmeasured. Every five
// minutes it names the tests that have been running longer than that, so a
// run that hangs says where.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

// external marks a skip reason that names data or a service CI provides.
var external = regexp.MustCompile(`(?i)shared|database|postgres|pgvector|VERBATIM_TEST_DATABASE_URL`)

// slow is how long a test runs before the report names it.
const slow = 5 * time.Minute

func main() {
	ci := os.Getenv("CI") == "true"
	out := map[string][]string{} // package/test -> output lines
	var failed, badSkips []string
	pkgFailed := false

	var mu sync.Mutex
	running := map[string]time.Time{} // package/test -> started
	go func() {
		for range time.Tick(slow) {
			mu.Lock()
			var long []string
			for k, t := range running {
				if d := time.Since(t); d >= slow {
					long = append(long, fmt.Sprintf("%s (%s)", k, d.Round(time.Second)))
				}
			}
			mu.Unlock()
			sort.Strings(long)
			for _, l := range long {
				fmt.Println("still running:", l)
			}
		}
	}()

	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Println(sc.Text()) // build errors and the like
			continue
		}
		key := e.Package + " " + e.Test
		mu.Lock()
		switch e.Action {
		case "run":
			running[key] = time.Now()
		case "pass", "fail", "skip":
			delete(running, key)
		}
		mu.Unlock()
		switch e.Action {
		case "output":
			out[key] = append(out[key], e.Output)
		case "fail":
			failed = append(failed, key) // a package's own failure: a build error or a timeout
			if e.Test == "" {
				pkgFailed = true
				fmt.Printf("FAIL\t%s\t%.1fs\n", e.Package, e.Elapsed)
			}
		case "pass":
			if e.Test == "" {
				fmt.Printf("ok  \t%s\t%.1fs\n", e.Package, e.Elapsed)
			}
		case "skip":
			if e.Test == "" {
				continue
			}
			reason := strings.Join(out[key], "")
			if ci && external.MatchString(reason) {
				badSkips = append(badSkips, key+": "+strings.TrimSpace(lastLine(reason)))
			}
		}
	}
	sort.Strings(failed)
	for _, f := range failed {
		fmt.Printf("\n--- FAIL %s\n%s", f, strings.Join(out[f], ""))
	}
	for _, s := range badSkips {
		fmt.Printf("\n--- SKIP in CI (what it tests went unmeasured): %s\n", s)
	}
	if len(failed) > 0 || len(badSkips) > 0 || pkgFailed {
		os.Exit(1)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "---") {
			return l
		}
	}
	return s
}
