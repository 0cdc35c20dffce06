package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
)

// site is a tiny web site for the tests: path → page, changeable.
type testSite struct {
	mu    sync.Mutex
	pages map[string]string
	srv   *httptest.Server
}

func newTestSite(t *testing.T) *testSite {
	s := &testSite{pages: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		body, ok := s.pages[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *testSite) set(path, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[path] = body
}

// articleHTML is a news page with a canonical link (relative, so it names
// the test server) and clutter readability drops.
func articleHTML(canonical, title string, paragraphs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<!doctype html><html><head><title>%s</title><link rel="canonical" href="%s">
<meta name="author" content="Ann Reporter"><meta property="article:published_time" content="2024-03-04T05:06:07Z">
<script>document.write("evil")</script></head><body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>%s</h1>`, title, canonical, title)
	for _, p := range paragraphs {
		fmt.Fprintf(&b, "<p>%s</p>\n", p)
	}
	b.WriteString(`</article><footer>Copyright Harbour News. All rights reserved.</footer></body></html>`)
	return b.String()
}

type countingIndexer struct{ n atomic.Int32 }

func (c *countingIndexer) Reindex(context.Context) error { c.n.Add(1); return nil }

type catalog []corpus.Article

func (c catalog) Articles() []corpus.Article { return c }

func newTestLibrary(t *testing.T, opts LibraryOptions) *Library {
	t.Helper()
	if opts.Corpus == "" {
		opts.Corpus = t.TempDir()
	}
	if opts.State == "" {
		opts.State = filepath.Join(t.TempDir(), "index")
	}
	if opts.Client == nil {
		opts.Client = NewClient(Options{AllowPrivate: true})
	}
	lib, err := NewLibrary(opts)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

var tideParagraphs = []string{
	"The harbour master publishes the tide tables every Monday, and the spring tide this week reaches 5.2 metres above chart datum.",
	"Boats leaving after noon should expect a strong ebb near the breakwater until the early evening, the harbour office said.",
	"Pilots recommend waiting for slack water before entering the inner basin, where the current can exceed three knots.",
}

func TestLibraryAdd(t *testing.T) {
	site := newTestSite(t)
	site.set("/news/tide-tables.html", articleHTML("/news/tide-tables", "Tide tables for the week", tideParagraphs...))
	idx := &countingIndexer{}
	lib := newTestLibrary(t, LibraryOptions{Indexer: idx})
	var stages []Stage
	res, err := lib.Add(t.Context(), site.srv.URL+"/news/tide-tables.html?utm_source=x", "discord:42", func(s Stage) { stages = append(stages, s) })
	if err != nil {
		t.Fatal(err)
	}
	wantURL := site.srv.URL + "/news/tide-tables"
	if res.Status != StatusAdded || res.URL != wantURL || !res.Indexed || res.By != "discord:42" || res.Paragraphs < 3 {
		t.Errorf("first add: %+v", res)
	}
	if fmt.Sprint(stages) != "[fetching reading saving indexing]" {
		t.Errorf("stages %v", stages)
	}
	if !strings.HasPrefix(res.Path, "web/127.0.0.1_") || !strings.HasSuffix(res.Path, ".md") || !strings.Contains(res.Path, "/tide-tables-") {
		t.Errorf("path %q", res.Path)
	}
	set, err := corpus.LoadDir(t.Context(), lib.opts.Corpus, corpus.Options{})
	if err != nil || len(set.Articles) != 1 || len(set.Skipped) > 0 {
		t.Fatalf("corpus after add: %+v, %v", set, err)
	}
	a := set.Articles[0]
	if a.ID != res.ArticleID || a.URL != wantURL || a.Title != "Tide tables for the week" || a.Author != "Ann Reporter" || a.Published.Year() != 2024 {
		t.Errorf("article %+v", a)
	}
	text := strings.Join(a.Paragraphs, "\n")
	if !strings.Contains(text, tideParagraphs[0]) || strings.Contains(text, "evil") || strings.Contains(text, "All rights reserved") {
		t.Errorf("paragraphs %q", a.Paragraphs)
	}
	raw, _ := os.ReadFile(filepath.Join(lib.opts.Corpus, filepath.FromSlash(res.Path)))
	if !strings.Contains(string(raw), "fetched:") {
		t.Errorf("no fetched time:\n%s", raw)
	}

	// The same page again, by another member: unchanged, and who added it
	// first is said.
	again, err := lib.Add(t.Context(), site.srv.URL+"/news/tide-tables.html", "discord:43", nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != StatusUnchanged || again.By != "discord:42" || again.Path != res.Path || again.Indexed {
		t.Errorf("second add: %+v", again)
	}
	if idx.n.Load() != 1 {
		t.Errorf("indexer ran %d times, want 1 (unchanged pages are not re-indexed)", idx.n.Load())
	}

	// The page changed: the same file is rewritten.
	site.set("/news/tide-tables.html", articleHTML("/news/tide-tables", "Tide tables for the week", append(tideParagraphs, "Update: the Thursday tide was revised to 5.4 metres after the survey.")...))
	upd, err := lib.Add(t.Context(), site.srv.URL+"/news/tide-tables.html", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Status != StatusUpdated || upd.Path != res.Path || !upd.Indexed {
		t.Errorf("changed page: %+v", upd)
	}
	set, _ = corpus.LoadDir(t.Context(), lib.opts.Corpus, corpus.Options{})
	if len(set.Articles) != 1 || !strings.Contains(strings.Join(set.Articles[0].Paragraphs, " "), "5.4 metres") {
		t.Errorf("after update: %+v", set.Articles)
	}

	// The same text under another URL (a syndicated copy): not added.
	site.set("/mirror/copy", articleHTML("/mirror/copy", "Mirror: tide tables", append(tideParagraphs, "Update: the Thursday tide was revised to 5.4 metres after the survey.")...))
	dup, err := lib.Add(t.Context(), site.srv.URL+"/mirror/copy", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if dup.Status != StatusDuplicate || dup.DuplicateOf != wantURL {
		t.Errorf("copy: %+v", dup)
	}
	if idx.n.Load() != 2 {
		t.Errorf("indexer ran %d times, want 2", idx.n.Load())
	}

	// A deleted article counts as never added.
	if err := os.Remove(filepath.Join(lib.opts.Corpus, filepath.FromSlash(res.Path))); err != nil {
		t.Fatal(err)
	}
	back, err := lib.Add(t.Context(), site.srv.URL+"/news/tide-tables.html", "", nil)
	if err != nil || back.Status != StatusAdded {
		t.Errorf("after deleting the file: %+v, %v", back, err)
	}
}

func TestLibraryRefusesWhatTheCorpusHas(t *testing.T) {
	site := newTestSite(t)
	site.set("/a", articleHTML("/a", "Tides", tideParagraphs...))
	lib := newTestLibrary(t, LibraryOptions{Catalog: catalog{{ID: "saved/tides", URL: site.srv.URL + "/a"}}})
	res, err := lib.Add(t.Context(), site.srv.URL+"/a", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusDuplicate || res.DuplicateOf != "saved/tides" {
		t.Errorf("%+v", res)
	}
	entries, _ := os.ReadDir(lib.opts.Corpus)
	if len(entries) != 0 {
		t.Errorf("corpus has %d entries, want none", len(entries))
	}
}

func TestLibraryErrors(t *testing.T) {
	site := newTestSite(t)
	site.set("/empty", "<html><head><title>Nothing</title></head><body><script>x()</script></body></html>")
	lib := newTestLibrary(t, LibraryOptions{})
	if _, err := lib.Add(t.Context(), site.srv.URL+"/missing", "", nil); !errors.As(err, new(*StatusError)) {
		t.Errorf("404: %v", err)
	}
	if _, err := lib.Add(t.Context(), site.srv.URL+"/empty", "", nil); !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "no readable content") {
		t.Errorf("empty page: %v", err)
	}
	if _, err := NewLibrary(LibraryOptions{State: t.TempDir()}); !errors.Is(err, ErrNoCorpus) {
		t.Errorf("no corpus: %v", err)
	}
	if _, err := NewLibrary(LibraryOptions{Corpus: filepath.Join(t.TempDir(), "nope"), State: t.TempDir()}); !errors.Is(err, ErrNoCorpus) {
		t.Errorf("missing corpus: %v", err)
	}
}

func TestCanonical(t *testing.T) {
	page := mustURL(t, "https://m.news.example.co.uk/2024/tides?amp=1#top")
	cases := []struct{ claimed, want string }{
		{"", "https://m.news.example.co.uk/2024/tides?amp=1"},
		{"https://www.news.example.co.uk/2024/tides", "https://www.news.example.co.uk/2024/tides"},
		{"/2024/tides#x", "https://m.news.example.co.uk/2024/tides"},
		{"https://other.example.com/2024/tides", "https://m.news.example.co.uk/2024/tides?amp=1"}, // another site may not claim it
		{"javascript:alert(1)", "https://m.news.example.co.uk/2024/tides?amp=1"},
	}
	for _, c := range cases {
		if got := canonical(page, c.claimed); got != c.want {
			t.Errorf("canonical(%q) = %q, want %q", c.claimed, got, c.want)
		}
	}
	if p := articlePath("https://www.news.example/2024/05/Tide-Tables.html"); !strings.HasPrefix(p, "web/www.news.example/tide-tables-") {
		t.Errorf("articlePath = %q", p)
	}
}
