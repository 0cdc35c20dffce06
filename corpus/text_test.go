package corpus

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseText(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		title   string
		paras   []string
		wantErr error
	}{
		{
			name:  "title then paragraphs",
			in:    "Title\nFirst line\nsame paragraph.\n\nSecond.\n",
			title: "Title",
			paras: []string{"First line same paragraph.", "Second."},
		},
		{
			name:  "blank lines after title and between paragraphs",
			in:    "Title\n\n\n\nOne.\n\n\n\nTwo.\n\n\nThree.",
			title: "Title",
			paras: []string{"One.", "Two.", "Three."},
		},
		{
			name:  "title right before text is still only the title",
			in:    "Title\nBody starts here.\n",
			title: "Title",
			paras: []string{"Body starts here."},
		},
		{
			name:  "leading blank lines, BOM, CRLF, tabs",
			in:    "\uFEFF\r\n\r\n  Spaced   title \r\n\r\nA\ttabbed\r\n  line.\r\n",
			title: "Spaced title",
			paras: []string{"A tabbed line."},
		},
		{
			name:  "no-break spaces fold",
			in:    "T\n\n4.5\u00a0million  euros",
			title: "T",
			paras: []string{"4.5 million euros"},
		},
		{name: "empty", in: "", wantErr: errEmpty},
		{name: "blank", in: "\n \n\t\n", wantErr: errEmpty},
		{name: "only a title", in: "Just a title\n\n\n", wantErr: errEmpty},
		{name: "binary", in: "Title\n\nab\x00cd", wantErr: errBinary},
		{name: "latin-1", in: "Title\n\ncaf\xe9", wantErr: errNotUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parseText("dir/article", []byte(tt.in))
			checkArticles(t, p)
			if tt.wantErr != nil {
				if len(p.entries) != 0 || len(p.skipped) != 1 || !errors.Is(p.skipped[0].Err, tt.wantErr) {
					t.Fatalf("got %d articles, problems %v; want only %v", len(p.entries), p.skipped, tt.wantErr)
				}
				return
			}
			if len(p.skipped) != 0 || len(p.entries) != 1 {
				t.Fatalf("got %d articles, problems %v; want one article", len(p.entries), p.skipped)
			}
			a := p.entries[0].article
			if a.ID != "dir/article" || a.Title != tt.title || !slices.Equal(a.Paragraphs, tt.paras) {
				t.Errorf("got %q %q %q; want %q %q %q", a.ID, a.Title, a.Paragraphs, "dir/article", tt.title, tt.paras)
			}
		})
	}
}

func FuzzParseText(f *testing.F) {
	f.Add("Title\n\nOne.\n\nTwo.")
	f.Add("\uFEFF\r\n Title \r\n\r\n\r\nA\tb\u00a0c\r\rd")
	f.Add("Only a title")
	f.Add("T\n\n\x00")
	f.Add("T\n\n\xff\xfe")
	f.Add("\u2028T\u2029\n\u0085\n x")
	f.Fuzz(func(t *testing.T, in string) {
		p := parseText("fuzz", []byte(in))
		checkArticles(t, p)
		if len(p.entries)+len(p.skipped) != 1 {
			t.Fatalf("want one article or one problem, got %d and %d", len(p.entries), len(p.skipped))
		}
		if len(p.entries) == 1 {
			// Nothing but white space changes: the words of title and
			// paragraphs are the words of the input.
			a := p.entries[0].article
			got := words(append([]string{a.Title}, a.Paragraphs...)...)
			if want := words(strings.TrimPrefix(in, "\uFEFF")); !slices.Equal(got, want) {
				t.Errorf("words changed:\n got %q\nwant %q", got, want)
			}
		}
	})
}
