package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestAskWhatUsersAsk runs the questions issue 8 names through the binary
// over the bundled article: off-topic questions are refused, an overview
// cites at least two paragraphs including the first, a greeting gets the
// short help.
func TestAskWhatUsersAsk(t *testing.T) {
	work := t.TempDir()
	env := []string{"VERBATIM_INDEX=" + filepath.Join(work, "index")}
	ask := func(q string) (answer struct {
		Answer    string `json:"answer"`
		Refused   bool   `json:"refused"`
		Mode      string `json:"mode"`
		Citations []struct {
			Paragraph int `json:"paragraph"`
		} `json:"citations"`
	}) {
		t.Helper()
		r := verbatim(t, work, "", env, "ask", "--json", q)
		if r.code != 0 {
			t.Fatalf("ask %q: exit %d: %s", q, r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &answer); err != nil {
			t.Fatalf("ask %q: %v\n%s", q, err, r.stdout)
		}
		return answer
	}
	// "Who wrote Hamlet?" shares no word with any passage: the refusal
	// model must not extrapolate support where the sets had no examples.
	for _, q := range []string{"What is the capital of France?", "What is the boiling point of water?", "Who wrote Hamlet?"} {
		if a := ask(q); !a.Refused || len(a.Citations) != 0 {
			t.Errorf("%q: want a refusal, got %q", q, a.Answer)
		}
	}
	a := ask("What is this article about?")
	paras := map[int]bool{}
	for _, c := range a.Citations {
		paras[c.Paragraph] = true
	}
	if a.Refused || len(paras) < 2 || !paras[1] {
		t.Errorf("overview: refused %v, paragraphs %v; want two or more including ¶1", a.Refused, paras)
	}
	if a := ask("hi"); a.Refused || a.Mode != "help" || !strings.Contains(a.Answer, "Ask me a question") {
		t.Errorf("hi: %+v", a)
	}
	// --explain shows why: the support, the threshold, each feature.
	r := verbatim(t, work, "", env, "ask", "--explain", "What is the capital of France?")
	if r.code != 0 || !strings.Contains(r.stdout, "(threshold ") || !strings.Contains(r.stdout, "decisive word") || !strings.Contains(r.stdout, "best_sentence") {
		t.Errorf("--explain of a refusal lacks its decision:\n%s", r.stdout)
	}
	r = verbatim(t, work, "", env, "ask", "hi")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Hi! I answer questions") {
		t.Errorf("hi, as text: exit %d\n%s", r.code, r.stdout)
	}
}
