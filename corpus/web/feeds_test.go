package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
)

// feedSite serves a feed (RSS or Atom) with an ETag, answering 304 to a
// request that sends it back, and the items' pages; it counts requests.
type feedSite struct {
	mu       sync.Mutex
	feed     string
	feedType string
	etag     string
	hits     map[string]int
	answered map[int]int // status → count, for the feed
	srv      *httptest.Server
	pages    map[string]string
}

func newFeedSite(t *testing.T) *feedSite {
	s := &feedSite{hits: map[string]int{}, answered: map[int]int{}, pages: map[string]string{}, etag: `"v1"`, feedType: "application/rss+xml"}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits[r.URL.Path]++
		if r.URL.Path == "/feed" {
			if r.Header.Get("If-None-Match") == s.etag {
				s.answered[http.StatusNotModified]++
				w.WriteHeader(http.StatusNotModified)
				return
			}
			s.answered[http.StatusOK]++
			w.Header().Set("Content-Type", s.feedType)
			w.Header().Set("ETag", s.etag)
			fmt.Fprint(w, s.feed)
			return
		}
		body, ok := s.pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

var harbourStories = []struct{ path, title, text string }{
	{"/2024/ferry", "Ferry timetable changes", "The winter ferry timetable starts on the first Sunday of November, with the last crossing leaving the island at 18:40 instead of 21:10."},
	{"/2024/lighthouse", "Lighthouse reopens", "The restored lighthouse on the north mole reopens to visitors on Saturday after two years of work on its lantern and gallery."},
	{"/2024/dredging", "Dredging of the channel", "Dredging of the approach channel will deepen it to nine metres so that larger cargo ships can enter the port at low tide."},
}

func rssFeed(base string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour News</title><link>` + base + `/</link><description>News</description>`)
	for i, s := range harbourStories {
		fmt.Fprintf(&b, "<item><title>%s</title><link>%s%s</link><guid>story-%d</guid><pubDate>Mon, 0%d Jan 2024 10:00:00 GMT</pubDate><description>%s</description></item>",
			s.title, base, s.path, i, i+1, s.title)
	}
	b.WriteString("</channel></rss>")
	return b.String()
}

func (s *feedSite) serveStories() {
	for _, st := range harbourStories {
		s.pages[st.path] = articleHTML(st.path, st.title, st.text, "The harbour office said more details would follow in the coming weeks, once the plans are final.")
	}
}

func TestFeedSyncAddsItemsOnceAndAsksConditionally(t *testing.T) {
	site := newFeedSite(t)
	site.feed = rssFeed(site.srv.URL)
	site.serveStories()
	idx := &countingIndexer{}
	lib := newTestLibrary(t, LibraryOptions{Indexer: idx})
	feeds := NewFeeds(lib, FeedOptions{})

	res, err := feeds.Follow(t.Context(), site.srv.URL+"/feed", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Title != "Harbour News" || res.Items != 3 || len(res.Added) != 3 || len(res.Failed) != 0 {
		t.Fatalf("follow: %+v", res)
	}
	set, err := corpus.LoadDir(t.Context(), lib.opts.Corpus, corpus.Options{})
	if err != nil || len(set.Articles) != 3 {
		t.Fatalf("corpus after the first sync: %d articles, %v", len(set.Articles), err)
	}
	for _, a := range set.Articles {
		if !strings.HasPrefix(a.URL, site.srv.URL+"/2024/") || a.Published.IsZero() {
			t.Errorf("article %s: URL %q, date %v", a.ID, a.URL, a.Published)
		}
	}
	if idx.n.Load() != 1 {
		t.Errorf("indexed %d times, want once for the three items", idx.n.Load())
	}

	syncs, err := feeds.Sync(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(syncs) != 1 || !syncs[0].NotModified || len(syncs[0].Added) != 0 {
		t.Errorf("second sync: %+v", syncs)
	}
	site.mu.Lock()
	if site.answered[http.StatusNotModified] != 1 || site.answered[http.StatusOK] != 1 {
		t.Errorf("feed answers %v, want one 200 then one 304", site.answered)
	}
	for _, st := range harbourStories {
		if site.hits[st.path] != 1 {
			t.Errorf("%s fetched %d times, want 1", st.path, site.hits[st.path])
		}
	}
	site.mu.Unlock()
	if idx.n.Load() != 1 {
		t.Errorf("a sync that added nothing indexed")
	}

	// A new ETag with the same items: fetched, but nothing new.
	site.mu.Lock()
	site.etag = `"v2"`
	site.mu.Unlock()
	syncs, err = feeds.Sync(t.Context(), nil)
	if err != nil || syncs[0].NotModified || syncs[0].New != 0 || len(syncs[0].Added) != 0 {
		t.Errorf("third sync: %+v, %v", syncs, err)
	}

	list, _ := feeds.List(t.Context())
	if len(list) != 1 || list[0].Articles != 3 || list[0].ETag != `"v2"` || len(list[0].Seen) != 3 {
		t.Errorf("feed state: %+v", list)
	}
	if _, err := feeds.Follow(t.Context(), site.srv.URL+"/feed", "", nil); !errors.Is(err, ErrFeedExists) {
		t.Errorf("following twice: %v", err)
	}
	if _, err := feeds.Unfollow(t.Context(), site.srv.URL+"/feed"); err != nil {
		t.Fatal(err)
	}
	if list, _ := feeds.List(t.Context()); len(list) != 0 {
		t.Errorf("after unfollow: %+v", list)
	}
	if _, err := feeds.Unfollow(t.Context(), site.srv.URL+"/feed"); !errors.Is(err, ErrNoFeed) {
		t.Errorf("unfollowing twice: %v", err)
	}
}

func TestFeedAtomAndFailures(t *testing.T) {
	site := newFeedSite(t)
	site.feedType = "application/atom+xml"
	site.feed = `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Port Authority</title><id>urn:port</id><updated>2024-01-01T00:00:00Z</updated>` +
		`<entry><title>Ferry</title><id>urn:1</id><link href="/2024/ferry"/><updated>2024-01-01T00:00:00Z</updated></entry>` +
		`<entry><title>Missing</title><id>urn:2</id><link href="/2024/missing"/><updated>2024-01-01T00:00:00Z</updated></entry>` +
		`<entry><title>Lighthouse</title><id>urn:3</id><link href="/2024/lighthouse"/><updated>2024-01-01T00:00:00Z</updated></entry></feed>`
	site.serveStories()
	lib := newTestLibrary(t, LibraryOptions{})
	feeds := NewFeeds(lib, FeedOptions{MaxItems: 2})
	res, err := feeds.Follow(t.Context(), site.srv.URL+"/feed", "discord:7", nil)
	if err != nil {
		t.Fatal(err)
	}
	// MaxItems 2: the ferry is added, the missing page fails for good (a
	// 404), the lighthouse waits for the next sync.
	if res.Title != "Port Authority" || len(res.Added) != 1 || len(res.Failed) != 1 || !res.Failed[0].GivenUp || res.Deferred != 1 {
		t.Fatalf("follow: %+v", res)
	}
	site.mu.Lock()
	site.etag = `"v2"`
	site.mu.Unlock()
	syncs, err := feeds.Sync(t.Context(), nil)
	if err != nil || len(syncs[0].Added) != 1 || syncs[0].Added[0].Title != "Lighthouse reopens" || len(syncs[0].Failed) != 0 {
		t.Errorf("next sync: %+v, %v", syncs, err)
	}

	if _, err := feeds.Follow(t.Context(), site.srv.URL+"/2024/ferry", "", nil); !errors.Is(err, ErrNotAFeed) {
		t.Error("a web page was followed as a feed")
	}
	if list, _ := feeds.List(t.Context()); len(list) != 1 {
		t.Errorf("feeds: %+v", list)
	}
}
