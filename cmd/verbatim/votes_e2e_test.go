package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVotesSkipsATornLine: `verbatim votes` lists the good votes of a file
// with a torn line, warns naming the line, and succeeds.
func TestVotesSkipsATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "votes.jsonl")
	lines := `{"time":"2026-01-02T03:04:05Z","answer_id":"1","user_id":"u","vote":"up","question":"When was Westphalia signed?","citations":[]}
{"time":"2026-01-02T03:04:06Z","answer_id":"2","user_id":"u","vo
{"time":"2026-01-02T03:04:07Z","answer_id":"3","user_id":"v","vote":"down","question":"Who won the cup?","citations":[]}
`
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	r := verbatim(t, t.TempDir(), "", []string{"VERBATIM_VOTES_FILE=" + path}, "votes")
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "When was Westphalia signed?") || !strings.Contains(r.stdout, "Who won the cup?") ||
		!strings.Contains(r.stdout, "2 votes: 1 👍, 1 👎") {
		t.Errorf("stdout lacks the good votes:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "line 2") || !strings.Contains(r.stderr, "warning") {
		t.Errorf("stderr does not warn about line 2:\n%s", r.stderr)
	}
}
