package corpus

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFoldSpace(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only space", " \t\n ", ""},
		{"already folded", "a b c", "a b c"},
		{"trim", "  a b  ", "a b"},
		{"runs", "a  \t b\n\nc", "a b c"},
		{"crlf", "a\r\nb", "a b"},
		{"no-break space", "4.5\u00a0million", "4.5 million"},
		{"line separator", "a\u2028b\u2029c", "a b c"},
		{"ideographic space", "a\u3000\u3000b", "a b"},
		{"zero-width space kept", "a\u200bb", "a\u200bb"},
		{"punctuation kept", "“Quoted,” he said — *really*.", "“Quoted,” he said — *really*."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := foldSpace(tt.in); got != tt.want {
				t.Errorf("foldSpace(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBlocks(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"none", "", nil},
		{"blank only", "\n \n\t\n", nil},
		{"one", "a\nb", []string{"a b"}},
		{"two", "a\n\nb", []string{"a", "b"}},
		{"many blank lines are one separator", "a\n\n\n\n\nb", []string{"a", "b"}},
		{"whitespace-only line separates", "a\n \t \nb", []string{"a", "b"}},
		{"crlf and cr", "a\r\n\r\nb\r\rc", []string{"a", "b", "c"}},
		{"leading and trailing blanks", "\n\na\n\n", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := blocks(lines(tt.in)); !slices.Equal(got, tt.want) {
				t.Errorf("blocks(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestHumanize(t *testing.T) {
	for in, want := range map[string]string{
		"b141-food-is-killing-you": "b141 food is killing you",
		"untitled_note":            "untitled note",
		"--":                       "--",
		"plain":                    "plain",
	} {
		if got := humanize(in); got != want {
			t.Errorf("humanize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParagraphNumbering(t *testing.T) {
	a := Article{Paragraphs: []string{"one", "two", "three"}}
	for n, want := range map[int]string{1: "one", 2: "two", 3: "three"} {
		if got, ok := a.Paragraph(n); !ok || got != want {
			t.Errorf("Paragraph(%d) = %q, %v; want %q, true", n, got, ok, want)
		}
	}
	for _, n := range []int{-1, 0, 4} {
		if got, ok := a.Paragraph(n); ok {
			t.Errorf("Paragraph(%d) = %q, true; want false", n, got)
		}
	}
}

func TestFingerprint(t *testing.T) {
	base := Article{ID: "a", Title: "T", URL: "u", Author: "x", Paragraphs: []string{"ab", "c"}, Source: "a.md"}
	fp := base.fingerprint()
	if len(fp) != 64 {
		t.Fatalf("fingerprint %q is not 64 hex digits", fp)
	}
	same := base
	same.ID, same.Source = "b", "b.txt"
	if same.fingerprint() != fp {
		t.Error("fingerprint depends on ID or Source")
	}
	changes := map[string]func(*Article){
		"title":     func(a *Article) { a.Title = "T2" },
		"url":       func(a *Article) { a.URL = "u2" },
		"author":    func(a *Article) { a.Author = "y" },
		"date":      func(a *Article) { a.Published = a.Published.AddDate(2000, 0, 0) },
		"text":      func(a *Article) { a.Paragraphs = []string{"ab", "d"} },
		"boundary":  func(a *Article) { a.Paragraphs = []string{"a", "bc"} },
		"merged":    func(a *Article) { a.Paragraphs = []string{"abc"} },
		"added":     func(a *Article) { a.Paragraphs = []string{"ab", "c", ""} },
		"title→url": func(a *Article) { a.Title, a.URL = "", "Tu" },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			a := base
			a.Paragraphs = slices.Clone(base.Paragraphs)
			change(&a)
			if a.fingerprint() == fp {
				t.Error("fingerprint did not change")
			}
		})
	}
}

// checkArticles asserts what every parser promises about what it returns.
func checkArticles(t *testing.T, p parsed) {
	t.Helper()
	for _, e := range p.entries {
		a := e.article
		if a.ID == "" {
			t.Errorf("article with empty ID")
		}
		for field, s := range map[string]string{"title": a.Title, "author": a.Author} {
			if !utf8.ValidString(s) || !isFolded(s) {
				t.Errorf("%s: %s %q is not folded valid UTF-8", a.ID, field, s)
			}
		}
		if a.Title == "" {
			t.Errorf("%s: empty title", a.ID)
		}
		if len(a.Paragraphs) == 0 {
			t.Errorf("%s: no paragraphs", a.ID)
		}
		for i, para := range a.Paragraphs {
			if para == "" {
				t.Errorf("%s ¶%d: empty", a.ID, i+1)
			}
			if !utf8.ValidString(para) {
				t.Errorf("%s ¶%d: invalid UTF-8 %q", a.ID, i+1, para)
			}
			if !isFolded(para) {
				t.Errorf("%s ¶%d: white space not folded: %q", a.ID, i+1, para)
			}
			if got, ok := a.Paragraph(i + 1); !ok || got != para {
				t.Errorf("%s: Paragraph(%d) = %q, %v; want %q", a.ID, i+1, got, ok, para)
			}
		}
		if _, ok := a.Paragraph(len(a.Paragraphs) + 1); ok {
			t.Errorf("%s: Paragraph(%d) exists past the end", a.ID, len(a.Paragraphs)+1)
		}
	}
	for _, pr := range append(slices.Clone(p.skipped), p.warnings...) {
		if pr.Err == nil {
			t.Errorf("problem at line %d without an error", pr.Line)
		}
	}
}

// words is the text as a list of white-space-separated words.
func words(s ...string) []string {
	return strings.Fields(strings.Join(s, " "))
}
