package corpus

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestParseJSONL(t *testing.T) {
	in := `{"id": "solar", "title": "Solar  farm", "url": "https://w.example/s", "author": "A. Writer", "date": "2023-05-02", "text": "One.\n\n\nTwo\nlines."}
{"id": 42, "title": "Numbered", "text": "By number."}

{"title": "No id", "text": "By line."}
{"id": "broken", "text": "no closing brace"
{"title": "No text", "text": "  \n\n "}
{"id": {"nested": true}, "text": "bad id"}
{"id": "", "title": "Empty id", "text": "By line too.", "date": "someday"}
["not", "an", "object"]
{"title": "caf` + "\xe9" + `", "text": "latin-1"}
{"id": "late", "title": 7, "text": "title is a number"}
{"id": "last", "text": "No title."}
`
	p := parseJSONL("wire/feed", []byte(in))
	checkArticles(t, p)
	want := []struct {
		line int
		a    Article
	}{
		{1, Article{ID: "wire/feed#solar", Title: "Solar farm", URL: "https://w.example/s", Author: "A. Writer",
			Published: time.Date(2023, 5, 2, 0, 0, 0, 0, time.UTC), Paragraphs: []string{"One.", "Two lines."}}},
		{2, Article{ID: "wire/feed#42", Title: "Numbered", Paragraphs: []string{"By number."}}},
		{4, Article{ID: "wire/feed#4", Title: "No id", Paragraphs: []string{"By line."}}},
		{8, Article{ID: "wire/feed#8", Title: "Empty id", Paragraphs: []string{"By line too."}}},
		{12, Article{ID: "wire/feed#last", Title: "wire/feed#last", Paragraphs: []string{"No title."}}},
	}
	if len(p.entries) != len(want) {
		t.Fatalf("got %d articles, want %d", len(p.entries), len(want))
	}
	for i, w := range want {
		if p.entries[i].line != w.line {
			t.Errorf("article %d from line %d, want %d", i, p.entries[i].line, w.line)
		}
		assertArticle(t, p.entries[i].article, w.a)
	}
	wantSkipped := []struct {
		line int
		err  error
	}{{5, nil}, {6, errEmpty}, {7, nil}, {9, nil}, {10, errNotUTF8}, {11, nil}}
	if len(p.skipped) != len(wantSkipped) {
		t.Fatalf("skipped %v, want lines %v", p.skipped, wantSkipped)
	}
	for i, w := range wantSkipped {
		got := p.skipped[i]
		if got.Line != w.line || (w.err != nil && !errors.Is(got.Err, w.err)) {
			t.Errorf("skipped[%d] = line %d %v, want line %d %v", i, got.Line, got.Err, w.line, w.err)
		}
	}
	if len(p.warnings) != 1 || p.warnings[0].Line != 8 {
		t.Errorf("warnings %v, want one for line 8's date", p.warnings)
	}
}

func TestParseJSONLWholeFile(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  error
	}{
		{"empty", "", errEmpty},
		{"blank lines", "\n\n  \n", errEmpty},
		{"binary", "{\"text\": \"a\"}\n\x00\x00", errBinary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parseJSONL("f", []byte(tt.in))
			if len(p.entries) != 0 || len(p.skipped) != 1 || p.skipped[0].Line != 0 || !errors.Is(p.skipped[0].Err, tt.err) {
				t.Errorf("got %d articles, problems %v; want one file problem %v", len(p.entries), p.skipped, tt.err)
			}
		})
	}
}

func FuzzParseJSONL(f *testing.F) {
	f.Add("{\"id\": \"a\", \"title\": \"T\", \"text\": \"x\\n\\ny\"}\n{\"id\": 1, \"text\": \"z\"}\n")
	f.Add("{\"text\": \"a\"}\r\n\r\n{broken\r\n{\"id\": \"\", \"date\": \"2020-01-01\", \"text\": \"\\u00a0b\\u2028c\"}")
	f.Add("{\"id\": null, \"text\": \"\\ud800 lone surrogate\"}")
	f.Add("{\"id\": -1.5e3, \"text\": \"t\", \"date\": \"2020-13-45\"}")
	f.Add("null\n[]\n\"s\"\n{\"id\": true, \"text\": \"t\"}")
	f.Add("{\"text\": \"\xff\"}")
	f.Fuzz(func(t *testing.T, in string) {
		p := parseJSONL("fuzz", []byte(in))
		checkArticles(t, p)
		lines := len(lines(in))
		seen := map[int]bool{}
		for _, e := range p.entries {
			if e.line < 1 || e.line > lines || seen[e.line] {
				t.Errorf("article %s has line %d (of %d, seen %v)", e.article.ID, e.line, lines, seen[e.line])
			}
			seen[e.line] = true
		}
		for _, pr := range p.skipped {
			if pr.Line < 0 || pr.Line > lines || (pr.Line > 0 && seen[pr.Line]) {
				t.Errorf("problem %v at bad line (of %d)", pr, lines)
			}
			seen[pr.Line] = true
		}
		if len(p.entries) == 0 && len(p.skipped) == 0 {
			t.Error("neither articles nor problems")
		}
		if !slices.IsSortedFunc(p.entries, func(a, b entry) int { return a.line - b.line }) {
			t.Error("articles out of line order")
		}
	})
}
