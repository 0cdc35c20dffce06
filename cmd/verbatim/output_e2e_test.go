package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// escapes is the terminal attack of issue 11: retitle the terminal, then
// clear it.
const escapes = "\x1b]0;pwned\x07\x1b[2J"

// unprintable returns the first character of s a terminal would act on
// rather than show (C0 but tab and newline, DEL, C1, bidi overrides), or "".
func unprintable(s string) string {
	for i, r := range s {
		switch {
		case r == '\t' || r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("%q at byte %d", r, i)
		case r == utf8.RuneError:
			return fmt.Sprintf("invalid UTF-8 at byte %d", i)
		}
	}
	return ""
}

// TestOutputIsPrintable: escape sequences in corpus text, file names and
// questions never reach the terminal raw from any command, the text
// around them still shows, and IDs holding a newline or tab are escaped so
// the listings keep their layout.
func TestOutputIsPrintable(t *testing.T) {
	work := t.TempDir()
	corpusDir := filepath.Join(work, "c")
	writeCorpus(t, corpusDir, map[string]string{
		"harbour.txt":                  "Harbour \x1b[31mnews\x1b[0m\n\nThe harbour pilots voted " + escapes + "to strike on Monday morning over pay.\n",
		"tides" + escapes + ".md":      "# Tides \u202eexplained\n\nTides are caused by the gravity of the " + escapes + "Moon pulling the oceans.\n",
		"bees\tand\nwasps.txt":         "Bees\n\nHoney bees live in colonies of up to sixty thousand workers.\n",
		"broken" + escapes + ".jsonl":  "{not json " + escapes + "\n",
		"feed.jsonl":                   `{"id": "x\u001b[2J", "title": "Feed \u001b]0;pwned\u0007", "text": "Volcanic ash closed the airport for two days."}` + "\n",
		"quote\"d.txt":                 "Quoted\n\nA file name that starts nothing odd but holds a quote mark.\n",
		"\"leading-quote.txt":          "Leading\n\nA file name that starts with a double quote mark.\n",
		"plain/ordinary-article.md":    "# Ordinary\n\nAn ordinary article about ordinary things.\n",
		"plain/second ordinary one.md": "# Second\n\nAnother ordinary article with spaces in its name.\n",
	})
	env := []string{"VERBATIM_INDEX=" + filepath.Join(work, "index")}
	run := func(stdin string, args ...string) result {
		t.Helper()
		r := verbatim(t, work, stdin, env, append(args, "--corpus", corpusDir)...)
		for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
			if bad := unprintable(out); bad != "" {
				t.Errorf("%s: %s holds %s:\n%q", strings.Join(args, " "), name, bad, out)
			}
		}
		return r
	}

	r := run("", "index")
	if r.code != 0 || !strings.Contains(r.stdout, `"bees\tand\nwasps"`) || !hasLine(r.stdout, `"broken\x1b]0;pwned\a\x1b[2J.jsonl":1`, "json: invalid character") {
		t.Errorf("index: exit %d, IDs and paths not escaped:\n%s", r.code, r.stdout)
	}

	r = run("", "sources")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 1+8+1 || !strings.HasPrefix(lines[len(lines)-1], "8 articles") {
		t.Fatalf("sources: exit %d, want a header, 8 rows and a total:\n%s", r.code, r.stdout)
	}
	for _, want := range []string{`"bees\tand\nwasps"`, `"tides\x1b]0;pwned\a\x1b[2J"`, `"\"leading-quote"`, "quote\"d ", "Harbour [31mnews[0m", `"feed#x\x1b[2J"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("sources lacks %q:\n%s", want, r.stdout)
		}
	}

	r = run("", "ask", "--explain", "What did the harbour pilots vote "+escapes+"for?")
	if r.code != 0 || !strings.Contains(r.stdout, "to strike on Monday") || !strings.Contains(r.stdout, "]0;pwned") {
		t.Errorf("ask: exit %d, the quote around the escapes is not shown:\n%s", r.code, r.stdout)
	}

	r = run("", "ask", "--json", "What did the harbour pilots vote for?")
	var ans jsonAnswer
	if err := json.Unmarshal([]byte(r.stdout), &ans); err != nil || len(ans.Citations) == 0 || !strings.Contains(ans.Citations[0].Quote, escapes) {
		t.Errorf("ask --json must carry the paragraph exactly (escaped by JSON): %v\n%s", err, r.stdout)
	}

	r = run("What causes the tides?\nWho "+escapes+"won the 1966 World Cup?\n", "chat")
	if r.code != 0 || !strings.Contains(r.stdout, "Moon pulling the oceans") {
		t.Errorf("chat: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// A Discord user's question, as `verbatim votes` lists it.
	votes := filepath.Join(work, "votes.jsonl")
	writeCorpus(t, work, map[string]string{"votes.jsonl": `{"time":"2026-01-02T03:04:05Z","answer_id":"a1","user_id":"u1","vote":"up","question":"Who ` +
		`\u001b]0;pwned\u0007 won?","answer":"x","refused":false,"citations":[]}` + "\n"})
	r = verbatim(t, work, "", []string{"VERBATIM_VOTES_FILE=" + votes}, "votes")
	if bad := unprintable(r.stdout); r.code != 0 || bad != "" || !strings.Contains(r.stdout, "Who ]0;pwned won?") {
		t.Errorf("votes: exit %d, %s:\n%q", r.code, bad, r.stdout)
	}
}

// TestLongParagraphClipped: a citation of a paragraph of a million
// characters shows a clipped quote (not the whole paragraph, twice), while
// --json keeps it whole.
func TestLongParagraphClipped(t *testing.T) {
	work := t.TempDir()
	corpusDir := filepath.Join(work, "c")
	huge := "The zanzibar lighthouse keeper wrote " + strings.Repeat("word after word ", 1<<16) + "until dawn."
	writeCorpus(t, corpusDir, map[string]string{"huge.txt": "Huge\n\n" + huge + "\n"})
	env := []string{"VERBATIM_INDEX=" + filepath.Join(work, "index")}
	q := "What did the zanzibar lighthouse keeper write?"
	r := verbatim(t, work, "", env, "ask", "--explain", "--corpus", corpusDir, q)
	if r.code != 0 || !strings.Contains(r.stdout, "zanzibar lighthouse keeper") || !strings.Contains(r.stdout, "…") {
		t.Fatalf("ask: exit %d\n%.2000s\n%s", r.code, r.stdout, r.stderr)
	}
	if len(r.stdout) > 20_000 {
		t.Errorf("ask printed %d bytes for a %d-byte paragraph; want it clipped", len(r.stdout), len(huge))
	}
	r = verbatim(t, work, "", env, "ask", "--json", "--corpus", corpusDir, q)
	var ans jsonAnswer
	if err := json.Unmarshal([]byte(r.stdout), &ans); err != nil || len(ans.Citations) == 0 {
		t.Fatalf("ask --json: %v\n%.2000s", err, r.stdout)
	}
	// The engine quotes the stretch of a sentence this long that holds the
	// question (at most a few hundred characters), and --json shows that
	// quote as it is: verbatim, unclipped by the display.
	if q := ans.Citations[0].Quote; !strings.Contains(huge, q) || !strings.Contains(q, "zanzibar lighthouse keeper") || len(q) > 1000 {
		t.Errorf("--json quote is %d bytes: %.200q; want the verbatim stretch holding the question", len(q), q)
	}
}

// TestVerboseShowsEffectiveSource: --verbose reports the corpus and index
// that --corpus and --index chose, not the empty settings under them.
func TestVerboseShowsEffectiveSource(t *testing.T) {
	work := t.TempDir()
	corpusDir := filepath.Join(work, "c")
	indexDir := filepath.Join(work, "my-index")
	writeCorpus(t, corpusDir, map[string]string{"bees.txt": "Bees\n\nHoney bees live in colonies of up to sixty thousand workers.\n"})
	r := verbatim(t, work, "", nil, "ask", "--verbose", "--corpus", corpusDir, "--index", indexDir, "How many workers live in a colony?")
	if want := fmt.Sprintf("corpus=%q index=%q", corpusDir, indexDir); r.code != 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d; stderr lacks %s:\n%s", r.code, want, r.stderr)
	}
	r = verbatim(t, work, "", nil, "ask", "--verbose", "How many workers live in a colony?")
	if !strings.Contains(r.stderr, `corpus="bundled" index="/`) {
		t.Errorf("bundled corpus: stderr does not name it and its default index directory:\n%s", r.stderr)
	}
}

// TestSingularWording: one of a thing is not "1 articles".
func TestSingularWording(t *testing.T) {
	work := t.TempDir()
	one, bad := filepath.Join(work, "one"), filepath.Join(work, "bad")
	writeCorpus(t, work, map[string]string{
		"one/bees.txt":  "Bees\n\nHoney bees live in colonies of up to sixty thousand workers.\n",
		"bad/empty.txt": "",
		"votes.jsonl":   `{"time":"2026-01-02T03:04:05Z","answer_id":"a1","user_id":"u1","vote":"up","question":"Q?","answer":"x","refused":false,"citations":[]}` + "\n",
	})
	env := []string{"VERBATIM_INDEX=" + filepath.Join(work, "index"), "VERBATIM_VOTES_FILE=" + filepath.Join(work, "votes.jsonl")}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"index", "--corpus", one}, "Indexed 1 article (1 passage) in "},
		{[]string{"sources", "--corpus", one}, "1 article, 1 paragraph\n"},
		{[]string{"votes"}, "1 vote: 1 👍, 0 👎"},
		{[]string{"ask", "--corpus", bad, "--index", filepath.Join(work, "bad-index"), "q?"}, "(1 file skipped)"},
	} {
		r := verbatim(t, work, "", env, tc.args...)
		if !strings.Contains(r.stdout+r.stderr, tc.want) {
			t.Errorf("%q: output lacks %q:\n%s%s", tc.args, tc.want, r.stdout, r.stderr)
		}
	}
}
