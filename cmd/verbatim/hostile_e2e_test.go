package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nestedHTML is the page of issue 11: depth nested <div>s around one
// paragraph (100,000 of them stalled `index` for minutes).
func nestedHTML(depth int) string {
	return "<html><head><title>D</title></head><body>" + strings.Repeat("<div>", depth) +
		"<p>x y z.</p>" + strings.Repeat("</div>", depth) + "</body></html>"
}

// heavyHTML is about size bytes of pages nested 500 deep: within the
// parser's depth limit, and about a second's parsing per MiB.
func heavyHTML(size int) string {
	block := strings.Repeat("<div>", 500) + "<p>Some words of the text.</p>" + strings.Repeat("</div>", 500)
	return "<html><head><title>Heavy</title></head><body>" + strings.Repeat(block, size/len(block)+1) + "</body></html>"
}

// TestIndexBoundsParsing: a page nested 100,000 deep is skipped with its
// reason at once, and VERBATIM_PARSE_TIMEOUT skips a page that parses
// longer; the rest of the corpus is indexed.
func TestIndexBoundsParsing(t *testing.T) {
	work := t.TempDir()
	corpusDir := filepath.Join(work, "c")
	writeCorpus(t, corpusDir, map[string]string{
		"deep.html":  nestedHTML(100_000),
		"heavy.html": heavyHTML(2 << 20),
		"good.txt":   "Good\n\nThe quick brown fox jumps over the lazy dog.\n",
	})
	env := []string{"VERBATIM_INDEX=" + filepath.Join(work, "index"), "VERBATIM_PARSE_TIMEOUT=100ms"}
	r := verbatim(t, work, "", env, "index", "--corpus", corpusDir)
	if r.code != 0 {
		t.Fatalf("index: exit %d, stderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "added 1, updated 0, removed 0, unchanged 0, skipped 2") {
		t.Errorf("index summary:\n%s", r.stdout)
	}
	for file, reason := range map[string]string{
		"deep.html":  "HTML elements nested more than 512 deep",
		"heavy.html": "took too long to parse: gave up after 100ms",
	} {
		if !hasLine(r.stdout, file, reason) {
			t.Errorf("index output has no line naming %s with %q:\n%s", file, reason, r.stdout)
		}
	}
}

// TestIndexInterruptedWhileParsing: Ctrl-C reaches the HTML parser, so
// `index` stops at once in the middle of a page that takes seconds.
func TestIndexInterruptedWhileParsing(t *testing.T) {
	work := t.TempDir()
	corpusDir := filepath.Join(work, "c")
	writeCorpus(t, corpusDir, map[string]string{"heavy.html": heavyHTML(8 << 20)}) // ~10 s of parsing
	cmd := exec.Command(binPath, "index", "--corpus", corpusDir, "--index", filepath.Join(work, "index"))
	cmd.Dir = work
	cmd.Env = []string{"HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	time.Sleep(500 * time.Millisecond) // into parsing the page
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatal("index did not stop within 5 s of SIGINT while parsing a page")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("err %v, stderr:\n%s\nwant exit 2 and a line saying it was interrupted", err, stderr.String())
	}
}

// hasLine reports whether some line of out holds every one of parts.
func hasLine(out string, parts ...string) bool {
	for line := range strings.Lines(out) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
