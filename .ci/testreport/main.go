// Command testreport reads `go test -json` output on stdin, prints each
// package's result and the output of every failed test, and exits non-zero
// when a test failed or when, under CI=true, a test skipped for want of
// data or a service CI is meant to provide (../shared, PostgreSQL): such a
// skip would leave what it tests unmeasured.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
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

func main() {
	ci := os.Getenv("CI") == "true"
	out := map[string][]string{} // package/test -> output lines
	var failed, badSkips []string
	pkgs := map[string]string{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Println(sc.Text()) // build errors and the like
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			out[key] = append(out[key], e.Output)
		case "fail":
			if e.Test != "" {
				failed = append(failed, key)
			} else {
				if _, ok := pkgs[e.Package]; !ok {
					order = append(order, e.Package)
				}
				pkgs[e.Package] = fmt.Sprintf("FAIL\t%s\t%.1fs", e.Package, e.Elapsed)
			}
		case "pass":
			if e.Test == "" {
				if _, ok := pkgs[e.Package]; !ok {
					order = append(order, e.Package)
				}
				pkgs[e.Package] = fmt.Sprintf("ok  \t%s\t%.1fs", e.Package, e.Elapsed)
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
	for _, p := range order {
		fmt.Println(pkgs[p])
	}
	sort.Strings(failed)
	for _, f := range failed {
		fmt.Printf("\n--- FAIL %s\n%s", f, strings.Join(out[f], ""))
	}
	for _, s := range badSkips {
		fmt.Printf("\n--- SKIP in CI (what it tests went unmeasured): %s\n", s)
	}
	if len(failed) > 0 || len(badSkips) > 0 {
		os.Exit(1)
	}
	for _, line := range pkgs {
		if strings.HasPrefix(line, "FAIL") {
			os.Exit(1)
		}
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
