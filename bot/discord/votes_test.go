package discord

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/verbatimbot/verbatim/bot"
)

func TestVoteStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "votes.jsonl")
	s := NewVoteStore(path)
	if vs, bad, err := s.List(); err != nil || len(vs) != 0 || len(bad) != 0 {
		t.Fatalf("missing file: %v, %v, %v", vs, bad, err)
	}
	cit := []bot.Citation{citation(1, "q")}
	add := func(answer, user, value string) {
		t.Helper()
		if err := s.Add(Vote{AnswerID: answer, UserID: user, Value: value, Question: "Q " + answer, Citations: cit}); err != nil {
			t.Fatal(err)
		}
	}
	add("1", "u", "up")
	add("1", "v", "up")
	add("2", "u", "up")
	add("1", "u", "down") // u changes their mind on answer 1
	vs, bad, err := s.List()
	if err != nil || len(bad) != 0 {
		t.Fatal(err, bad)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.AnswerID+v.UserID+v.Value)
	}
	if strings.Join(got, ",") != "1vup,2uup,1udown" {
		t.Errorf("votes = %v", got)
	}
	if vs[0].Question != "Q 1" || len(vs[0].Citations) != 1 || vs[0].Citations[0].Quote != "q" {
		t.Errorf("vote lost its question or citations: %+v", vs[0])
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "\n"); n != 4 {
		t.Errorf("file has %d lines, want 4 (append-only)", n)
	}
}

// TestVoteStoreSkipsBadLines: a torn or foreign line costs only itself —
// the rest is listed and the bad line is named.
func TestVoteStoreSkipsBadLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "votes.jsonl")
	good := func(id string) string {
		return fmt.Sprintf(`{"answer_id":%q,"user_id":"u","vote":"up","question":"q"}`, id)
	}
	content := strings.Join([]string{
		good("1"),
		`{"answer_id":"2","user_id":"u","vo`, // torn by a crash
		good("3"),
		`{"hello":"world"}`, // JSON, but not a vote
		"",
		good("4"),
	}, "\n") + "\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	vs, bad, err := NewVoteStore(path).List()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.AnswerID)
	}
	if strings.Join(ids, ",") != "1,3,4" {
		t.Errorf("votes = %v, want 1,3,4", ids)
	}
	if len(bad) != 2 || bad[0].Line != 2 || bad[1].Line != 4 {
		t.Fatalf("skipped = %v, want lines 2 and 4", bad)
	}
	if msg := bad[0].Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "line 2") {
		t.Errorf("warning %q does not name the file and line", msg)
	}
}

// TestVoteStoreAppendsAfterATornLine: a writer that died mid-line leaves
// no newline; the next vote still lands on a line of its own.
func TestVoteStoreAppendsAfterATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "votes.jsonl")
	if err := os.WriteFile(path, []byte(`{"answer_id":"1","user_id":"u","vote":"up"}`+"\n"+`{"answer_id":"2","us`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewVoteStore(path)
	if err := s.Add(Vote{AnswerID: "3", UserID: "u", Value: "down"}); err != nil {
		t.Fatal(err)
	}
	vs, bad, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[1].AnswerID != "3" || vs[1].Value != "down" {
		t.Errorf("votes = %+v, want answers 1 and 3", vs)
	}
	if len(bad) != 1 || bad[0].Line != 2 {
		t.Errorf("skipped = %v, want the torn line 2", bad)
	}
}

// TestVoteStoreConcurrentWriters: two stores on one file (as two bot
// processes would be) appending large votes at once never interleave lines.
func TestVoteStoreConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "votes.jsonl")
	stores := []*VoteStore{NewVoteStore(path), NewVoteStore(path)}
	big := strings.Repeat("a long answer that makes each line span many pages ", 2000) // ~100 KB
	const perStore = 40
	var wg sync.WaitGroup
	for si, s := range stores {
		for i := range perStore {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Add(Vote{AnswerID: fmt.Sprintf("%d-%d", si, i), UserID: "u", Value: "up", Answer: big}); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	vs, bad, err := stores[0].List()
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 0 || len(vs) != 2*perStore {
		t.Errorf("%d votes and %d bad lines, want %d votes and none", len(vs), len(bad), 2*perStore)
	}
}
