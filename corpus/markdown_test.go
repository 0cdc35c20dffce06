package corpus

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseMarkdown(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     Article // ID is always "notes/my-first_note"
		warnings int
		wantErr  error
	}{
		{
			name: "front matter",
			in:   "---\ntitle: Front  title\nurl: https://e.example/x\nauthor: Ann Lee\ndate: 2020-08-22\nextra: ignored\n---\n\nBody one.\n\nBody two.\n",
			want: Article{Title: "Front title", URL: "https://e.example/x", Author: "Ann Lee",
				Published: time.Date(2020, 8, 22, 0, 0, 0, 0, time.UTC), Paragraphs: []string{"Body one.", "Body two."}},
		},
		{
			name: "front matter RFC 3339 date, author list, ... terminator",
			in:   "---\ntitle: T\nauthor: [Ann Lee, Bo Chen]\ndate: \"2021-03-14T09:30:00+01:00\"\n...\nText.",
			want: Article{Title: "T", Author: "Ann Lee, Bo Chen",
				Published: time.Date(2021, 3, 14, 8, 30, 0, 0, time.UTC), Paragraphs: []string{"Text."}},
		},
		{
			name: "front matter without title takes the heading",
			in:   "---\nurl: https://e.example/y\n---\n\n# Heading Title\n\nText.",
			want: Article{Title: "Heading Title", URL: "https://e.example/y", Paragraphs: []string{"Text."}},
		},
		{
			name: "front-matter title keeps the heading as a paragraph",
			in:   "---\ntitle: Meta\n---\n# Shown\n\nText.",
			want: Article{Title: "Meta", Paragraphs: []string{"# Shown", "Text."}},
		},
		{
			name: "heading title with closing hashes",
			in:   "# Closed heading ##\n\nText.",
			want: Article{Title: "Closed heading", Paragraphs: []string{"Text."}},
		},
		{
			name: "hash in title text kept",
			in:   "# Learning C#\n\nText.",
			want: Article{Title: "Learning C#", Paragraphs: []string{"Text."}},
		},
		{
			name: "heading right above text",
			in:   "# Title\nFirst paragraph.",
			want: Article{Title: "Title", Paragraphs: []string{"First paragraph."}},
		},
		{
			name: "level-2 first line is a paragraph, title from file name",
			in:   "## Section\n\nText.",
			want: Article{Title: "my first note", Paragraphs: []string{"## Section", "Text."}},
		},
		{
			name: "hashtag is not a heading",
			in:   "#golang rocks\n\nText.",
			want: Article{Title: "my first note", Paragraphs: []string{"#golang rocks", "Text."}},
		},
		{
			name: "markdown syntax kept, later headings are paragraphs",
			in:   "# T\n\nSome *emphasis*  and [a link](https://x.example).\n\n## Part two\n\n- item one\n- item two\n\n> quoted\n> text",
			want: Article{Title: "T", Paragraphs: []string{
				"Some *emphasis* and [a link](https://x.example).", "## Part two", "- item one - item two", "> quoted > text"}},
		},
		{
			name:     "unparseable date warns and loads",
			in:       "---\ntitle: T\ndate: last Tuesday\n---\nText.",
			want:     Article{Title: "T", Paragraphs: []string{"Text."}},
			warnings: 1,
		},
		{name: "unterminated front matter", in: "---\ntitle: T\n\nText.", wantErr: errors.New("front matter: no closing ---")},
		{name: "invalid yaml", in: "---\ntitle: [unclosed\n---\nText."},
		{name: "title only", in: "# Title\n\n\n", wantErr: errEmpty},
		{name: "front matter only", in: "---\ntitle: T\n---\n", wantErr: errEmpty},
		{name: "empty", in: "", wantErr: errEmpty},
		{name: "binary", in: "# T\n\n\x00\x01\x02", wantErr: errBinary},
		{name: "not utf-8", in: "# T\n\nna\xefve", wantErr: errNotUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parseMarkdown("notes/my-first_note", []byte(tt.in))
			checkArticles(t, p)
			if tt.want.Title == "" {
				if len(p.entries) != 0 || len(p.skipped) != 1 {
					t.Fatalf("got %d articles, problems %v; want one problem", len(p.entries), p.skipped)
				}
				if err := p.skipped[0].Err; tt.wantErr != nil && !errors.Is(err, tt.wantErr) && err.Error() != tt.wantErr.Error() {
					t.Errorf("problem %v, want %v", err, tt.wantErr)
				}
				return
			}
			if len(p.skipped) != 0 || len(p.entries) != 1 {
				t.Fatalf("got %d articles, problems %v; want one article", len(p.entries), p.skipped)
			}
			if len(p.warnings) != tt.warnings {
				t.Errorf("warnings %v, want %d", p.warnings, tt.warnings)
			}
			tt.want.ID = "notes/my-first_note"
			assertArticle(t, p.entries[0].article, tt.want)
		})
	}
}

// assertArticle compares everything but Source and Fingerprint.
func assertArticle(t *testing.T, got, want Article) {
	t.Helper()
	if got.ID != want.ID || got.Title != want.Title || got.URL != want.URL || got.Author != want.Author {
		t.Errorf("got ID %q title %q url %q author %q\nwant ID %q title %q url %q author %q",
			got.ID, got.Title, got.URL, got.Author, want.ID, want.Title, want.URL, want.Author)
	}
	if !got.Published.Equal(want.Published) {
		t.Errorf("%s: published %v, want %v", got.ID, got.Published, want.Published)
	}
	if !slices.Equal(got.Paragraphs, want.Paragraphs) {
		t.Errorf("%s: paragraphs\n got %q\nwant %q", got.ID, got.Paragraphs, want.Paragraphs)
	}
}

func FuzzParseMarkdown(f *testing.F) {
	f.Add("---\ntitle: T\nurl: u\nauthor: [a, b]\ndate: 2020-01-02\n---\n# H\n\nText *here*.\n\n## Sub\n\n- x\n- y")
	f.Add("# Title #\r\n\r\nBody\u00a0text.")
	f.Add("---\n---\n")
	f.Add("---\ntitle: {a: b}\n---\nx")
	f.Add("---\nauthor: &a [*a]\n---\nx")
	f.Add("   # indented\n\nx")
	f.Add("\uFEFF#\t\tT\t#\n\nx\n\n\n\ny")
	f.Fuzz(func(t *testing.T, in string) {
		p := parseMarkdown("fuzz", []byte(in))
		checkArticles(t, p)
		if len(p.entries)+len(p.skipped) != 1 {
			t.Fatalf("want one article or one problem, got %d and %d", len(p.entries), len(p.skipped))
		}
		if len(p.entries) == 1 {
			// Paragraph text is the end of the input, re-spaced but
			// otherwise unchanged.
			got := words(p.entries[0].article.Paragraphs...)
			all := words(strings.TrimPrefix(in, "\uFEFF"))
			if len(got) > len(all) || !slices.Equal(got, all[len(all)-len(got):]) {
				t.Errorf("paragraph words %q are not the end of the input words %q", got, all)
			}
		}
	})
}
