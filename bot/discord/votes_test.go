package discord

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/bot"
)

func TestVoteStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "votes.jsonl")
	s := NewVoteStore(path)
	if vs, err := s.List(); err != nil || len(vs) != 0 {
		t.Fatalf("missing file: %v, %v", vs, err)
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
	vs, err := s.List()
	if err != nil {
		t.Fatal(err)
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

	if err := os.WriteFile(path, append(raw, "{not json\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(); err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("corrupt line: err = %v, want one naming line 5", err)
	}
}
