package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseHTMLPage(t *testing.T) {
	page := `<!doctype html><html><head><title>Tide tables | Harbour News</title>
<link rel="canonical" href="https://news.example/tides">
<meta property="article:published_time" content="2024-05-06T07:08:09Z">
<script>alert("never run")</script></head>
<body><nav>Home | About</nav><article><h1>Tide tables</h1>
<p>The harbour master publishes the tide tables every Monday, and the spring tide this week reaches 5.2 metres.</p>
<p>Boats leaving after noon should expect a strong ebb near the breakwater until the evening.</p>
</article><footer>© Harbour News</footer></body></html>`
	a, err := Parse(t.Context(), "web/news.example/tides.html", []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "web/news.example/tides" || a.URL != "https://news.example/tides" || a.Fingerprint == "" {
		t.Errorf("ID %q, URL %q, fingerprint %q", a.ID, a.URL, a.Fingerprint)
	}
	if !a.Published.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Errorf("published %v", a.Published)
	}
	text := strings.Join(a.Paragraphs, "\n")
	if !strings.Contains(text, "spring tide this week reaches 5.2 metres") || strings.Contains(text, "alert") {
		t.Errorf("paragraphs: %q", a.Paragraphs)
	}
}

func TestParseRefuses(t *testing.T) {
	cases := []struct {
		name, file string
		data       string
		want       error
	}{
		{"unknown extension", "a.pdf", "%PDF", ErrUnsupported},
		{"binary", "a.txt", "Title\n\nx\x00y", errBinary},
		{"no text", "a.html", "<html><body></body></html>", errEmpty},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(t.Context(), c.file, []byte(c.data))
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestMarkdownFileReadsBack(t *testing.T) {
	a := Article{
		Title:     "Tides: a \"quoted\" title # with a hash",
		URL:       "https://news.example/tides?x=1&y=2",
		Author:    "Ann Example, Bo Example",
		Published: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Paragraphs: []string{
			"# Not a heading, a paragraph that starts with one",
			"---",
			"Spring tide: 5.2 metres — “quoted” and 'single' — key: value",
			"- a list item that stays as written",
		},
	}
	data, err := MarkdownFile(a, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "fetched: \"2024-06-01T00:00:00Z\"") && !strings.Contains(string(data), "fetched: 2024-06-01T00:00:00Z") {
		t.Errorf("no fetched time in the front matter:\n%s", data)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tides.md"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := LoadDir(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Articles) != 1 || len(set.Skipped) > 0 || len(set.Warnings) > 0 {
		t.Fatalf("loaded %+v", set)
	}
	got := set.Articles[0]
	if got.Title != a.Title || got.URL != a.URL || got.Author != a.Author || !got.Published.Equal(a.Published) || !slices.Equal(got.Paragraphs, a.Paragraphs) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, a)
	}
}

func TestMarkdownFileRefusesWhatWouldNotReadBack(t *testing.T) {
	if _, err := MarkdownFile(Article{Paragraphs: []string{"x"}}, time.Time{}); err == nil {
		t.Error("an article without a title was rendered")
	}
	if _, err := MarkdownFile(Article{Title: "T", Paragraphs: []string{"bad\x00byte"}}, time.Time{}); err == nil {
		t.Error("a paragraph with a NUL byte was rendered")
	}
}

// FuzzMarkdownFile: whatever MarkdownFile returns reads back as the article
// it was given (it checks; the fuzzer looks for a way past the check).
func FuzzMarkdownFile(f *testing.F) {
	f.Add("Title", "first paragraph", "---")
	f.Add("a: b", "# heading", "...")
	f.Add("", "x", "\u2028y")
	f.Fuzz(func(t *testing.T, title, p1, p2 string) {
		a := Article{Title: title, Paragraphs: []string{p1, p2}}
		data, err := MarkdownFile(a, time.Time{})
		if err != nil {
			return
		}
		back := parseMarkdown("x", data)
		if len(back.skipped) > 0 {
			t.Fatalf("rendered file does not parse: %v\n%s", back.skipped[0].Err, data)
		}
		got := back.entries[0].article
		if got.Title != foldSpace(title) || !slices.Equal(got.Paragraphs, []string{foldSpace(p1), foldSpace(p2)}) {
			t.Fatalf("read back %q %q, want %q %q", got.Title, got.Paragraphs, title, []string{p1, p2})
		}
	})
}
