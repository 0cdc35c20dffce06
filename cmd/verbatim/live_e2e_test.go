package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
)

// newsSite is a web site for the end-to-end tests of add and feeds: pages
// with a canonical link, and an RSS feed with an ETag that answers 304
// when it is sent back. It counts requests by path and feed statuses.
type newsSite struct {
	srv *httptest.Server

	mu       sync.Mutex
	pages    map[string]string
	feed     string
	etag     string
	hits     map[string]int
	statuses map[int]int // of the feed
}

func newNewsSite(t *testing.T) *newsSite {
	s := &newsSite{pages: map[string]string{}, hits: map[string]int{}, statuses: map[int]int{}, etag: `"feed-v1"`}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits[r.URL.Path]++
		if r.URL.Path == "/feed.xml" {
			if r.Header.Get("If-None-Match") == s.etag {
				s.statuses[http.StatusNotModified]++
				w.WriteHeader(http.StatusNotModified)
				return
			}
			s.statuses[http.StatusOK]++
			w.Header().Set("ETag", s.etag)
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprint(w, s.feed)
			return
		}
		body, ok := s.pages[r.URL.Path]
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

func (s *newsSite) hitCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// newsPage is an article page: navigation and a footer around the text,
// a script that must never run, and a canonical link without the query.
func newsPage(path, title string, paragraphs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<!doctype html><html><head><title>%s - Harbour Gazette</title><link rel="canonical" href="%s">
<script>fetch("/steal")</script></head><body><nav><a href="/">Home</a> | <a href="/sport">Sport</a></nav><main><article><h1>%s</h1>`, title, path, title)
	for _, p := range paragraphs {
		fmt.Fprintf(&b, "<p>%s</p>", p)
	}
	b.WriteString(`</article></main><footer>Harbour Gazette. Subscribe today.</footer></body></html>`)
	return b.String()
}

const lighthouseText = "The lighthouse on Gull Rock was built in 1874 by the engineer Thomas Stevenson, and its lamp can be seen twenty-two nautical miles out to sea."

func TestAddedPageIsAnsweredWithItsURL(t *testing.T) {
	site := newNewsSite(t)
	site.pages["/2024/gull-rock"] = newsPage("/2024/gull-rock", "The Gull Rock lighthouse", lighthouseText,
		"Keepers lived on the rock until 1987, when the light was automated and the last keeper, Ann Pryce, moved ashore.")
	work := t.TempDir()
	corpusDir, indexDir := filepath.Join(work, "articles"), filepath.Join(work, "index")
	writeCorpus(t, corpusDir, map[string]string{"bees.md": beesFile})
	env := []string{"VERBATIM_CORPUS=" + corpusDir, "VERBATIM_INDEX=" + indexDir, "VERBATIM_FETCH_ALLOW_PRIVATE=true"}

	r := verbatim(t, work, "", env, "add", site.srv.URL+"/2024/gull-rock?utm_source=chat")
	if r.code != 0 {
		t.Fatalf("add: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	canonical := site.srv.URL + "/2024/gull-rock"
	if !strings.Contains(r.stdout, "added") || !strings.Contains(r.stdout, "The Gull Rock lighthouse") || !strings.Contains(r.stdout, "Indexed 2 articles") {
		t.Errorf("add said:\n%s", r.stdout)
	}
	files, _ := filepath.Glob(filepath.Join(corpusDir, "web", "*", "gull-rock-*.md"))
	if len(files) != 1 {
		t.Fatalf("article files: %v", files)
	}
	md, _ := os.ReadFile(files[0])
	for _, want := range []string{"title: The Gull Rock lighthouse", "url: " + canonical, "fetched:", lighthouseText} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the article file lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(string(md), "steal") || strings.Contains(string(md), "Subscribe") {
		t.Errorf("script or clutter in the article:\n%s", md)
	}

	ans, _ := askJSON(t, work, env, "Who built the lighthouse on Gull Rock?")
	if ans.Refused || len(ans.Citations) == 0 {
		t.Fatalf("not answered: %+v", ans)
	}
	c := ans.Citations[0]
	if c.Article.URL != canonical || !strings.Contains(c.Quote, "Thomas Stevenson") {
		t.Errorf("citation %+v, want a quote naming Thomas Stevenson from %s", c, canonical)
	}
	text := verbatim(t, work, "", env, "ask", "Who built the lighthouse on Gull Rock?")
	if !strings.Contains(text.stdout, "("+canonical+")") {
		t.Errorf("the citation does not show the URL:\n%s", text.stdout)
	}

	// The same page again: not added twice.
	again := verbatim(t, work, "", env, "add", canonical)
	if again.code != 0 || !strings.Contains(again.stdout, "unchanged") || strings.Contains(again.stdout, "Indexed") {
		t.Errorf("second add: exit %d\n%s%s", again.code, again.stdout, again.stderr)
	}
	if files, _ := filepath.Glob(filepath.Join(corpusDir, "web", "*", "*.md")); len(files) != 1 {
		t.Errorf("article files after the second add: %v", files)
	}
}

// TestAddRefusesLoopback is the safety rule: a URL that resolves to
// 127.0.0.1 is not fetched without VERBATIM_FETCH_ALLOW_PRIVATE, and the
// user is told which setting allows it.
func TestAddRefusesLoopback(t *testing.T) {
	site := newNewsSite(t)
	site.pages["/2024/gull-rock"] = newsPage("/2024/gull-rock", "The Gull Rock lighthouse", lighthouseText)
	work := t.TempDir()
	corpusDir := filepath.Join(work, "articles")
	writeCorpus(t, corpusDir, map[string]string{"bees.md": beesFile})
	port := strings.TrimPrefix(site.srv.URL, "http://127.0.0.1:")
	for _, u := range []string{site.srv.URL + "/2024/gull-rock", "http://localhost:" + port + "/2024/gull-rock"} {
		r := verbatim(t, work, "", []string{"VERBATIM_CORPUS=" + corpusDir, "VERBATIM_INDEX=" + filepath.Join(work, "index")}, "add", u)
		if r.code != exitFailure || !strings.Contains(r.stdout, "loopback") || !strings.Contains(r.stdout, "VERBATIM_FETCH_ALLOW_PRIVATE=true") {
			t.Errorf("%s: exit %d\n%s%s", u, r.code, r.stdout, r.stderr)
		}
	}
	if n := site.hitCount("/2024/gull-rock"); n != 0 {
		t.Errorf("the page was fetched %d times", n)
	}
	if _, err := os.Stat(filepath.Join(corpusDir, "web")); err == nil {
		t.Error("something was written to the corpus")
	}
}

func TestAddNeedsACorpusDirectory(t *testing.T) {
	r := verbatim(t, t.TempDir(), "", nil, "add", "https://example.com/a")
	if r.code != exitUsage || !strings.Contains(r.stderr, "bundled corpus is read-only") || !strings.Contains(r.stderr, "VERBATIM_CORPUS") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	r = verbatim(t, t.TempDir(), "", []string{"VERBATIM_CORPUS=" + t.TempDir()}, "add", "ftp://example.com/a")
	if r.code != exitUsage || !strings.Contains(r.stderr, "not an http or https URL") {
		t.Errorf("ftp URL: exit %d\n%s", r.code, r.stderr)
	}
}

var harbourItems = []struct{ path, title, text string }{
	{"/news/ferry", "Winter ferry timetable", "The winter ferry timetable starts on the first Sunday of November, with the last crossing leaving the island at 18:40."},
	{"/news/dredging", "Channel dredging", "Dredging will deepen the approach channel to nine metres so that larger cargo ships can enter the port at low tide."},
	{"/news/regatta", "Regatta results", "The schooner Morning Star won the annual harbour regatta for the third year running, finishing four minutes ahead."},
}

func (s *newsSite) serveFeed() {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Harbour Gazette</title><link>` + s.srv.URL + `/</link><description>Local news</description>`)
	for i, it := range harbourItems {
		fmt.Fprintf(&b, "<item><title>%s</title><link>%s%s</link><guid isPermaLink=\"false\">gazette-%d</guid><pubDate>Tue, 0%d Oct 2024 09:00:00 GMT</pubDate></item>",
			it.title, s.srv.URL, it.path, i, i+1)
		s.pages[it.path] = newsPage(it.path, it.title, it.text, "The harbour office will publish further details on its notice board next week.")
	}
	b.WriteString("</channel></rss>")
	s.feed = b.String()
}

// TestFeedsEndToEnd: a feed of three items adds three articles; a second
// sync, answered 304, adds none and fetches no page.
func TestFeedsEndToEnd(t *testing.T) {
	site := newNewsSite(t)
	site.serveFeed()
	work := t.TempDir()
	corpusDir, indexDir := filepath.Join(work, "articles"), filepath.Join(work, "index")
	writeCorpus(t, corpusDir, map[string]string{"bees.md": beesFile})
	env := []string{"VERBATIM_CORPUS=" + corpusDir, "VERBATIM_INDEX=" + indexDir, "VERBATIM_FETCH_ALLOW_PRIVATE=true"}

	r := verbatim(t, work, "", env, "feeds", "add", site.srv.URL+"/feed.xml")
	if r.code != 0 {
		t.Fatalf("feeds add: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, `"Harbour Gazette"`) || !strings.Contains(r.stdout, "3 items, 3 new: 3 added") || !strings.Contains(r.stdout, "Indexed 4 articles") {
		t.Errorf("feeds add said:\n%s", r.stdout)
	}
	if files, _ := filepath.Glob(filepath.Join(corpusDir, "web", "*", "*.md")); len(files) != 3 {
		t.Errorf("article files: %v", files)
	}

	r = verbatim(t, work, "", env, "feeds", "sync")
	if r.code != 0 || !strings.Contains(r.stdout, "not modified") || strings.Contains(r.stdout, "Indexed") {
		t.Errorf("feeds sync: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	site.mu.Lock()
	statuses := fmt.Sprint(site.statuses)
	site.mu.Unlock()
	if statuses != "map[200:1 304:1]" {
		t.Errorf("feed answers %s, want one 200 and one 304", statuses)
	}
	for _, it := range harbourItems {
		if n := site.hitCount(it.path); n != 1 {
			t.Errorf("%s fetched %d times, want once", it.path, n)
		}
	}
	src := verbatim(t, work, "", env, "sources", "--json")
	var arts []struct{ ID, URL string }
	if err := json.Unmarshal([]byte(src.stdout), &arts); err != nil || len(arts) != 4 {
		t.Errorf("sources: %v\n%s", err, src.stdout)
	}
	ans, _ := askJSON(t, work, env, "Which schooner won the harbour regatta?")
	if len(ans.Citations) == 0 || ans.Citations[0].Article.URL != site.srv.URL+"/news/regatta" {
		t.Errorf("regatta answer: %+v", ans)
	}

	list := verbatim(t, work, "", env, "feeds", "list")
	if !strings.Contains(list.stdout, site.srv.URL+"/feed.xml") || !strings.Contains(list.stdout, "Harbour Gazette") {
		t.Errorf("feeds list:\n%s", list.stdout)
	}
	if dup := verbatim(t, work, "", env, "feeds", "add", site.srv.URL+"/feed.xml"); dup.code != exitFailure || !strings.Contains(dup.stderr, "already followed") {
		t.Errorf("following twice: exit %d\n%s", dup.code, dup.stderr)
	}
	if rm := verbatim(t, work, "", env, "feeds", "remove", site.srv.URL+"/feed.xml"); rm.code != 0 || !strings.Contains(rm.stdout, "3 articles stay") {
		t.Errorf("feeds remove: exit %d\n%s%s", rm.code, rm.stdout, rm.stderr)
	}
	if list := verbatim(t, work, "", env, "feeds", "list"); !strings.Contains(list.stdout, "No feeds") {
		t.Errorf("after remove:\n%s", list.stdout)
	}
}

// TestGapsListsARepeatedRefusal: a question asked three times and refused
// is listed once, counted three times; VERBATIM_GAPS=off records nothing.
func TestGapsListsARepeatedRefusal(t *testing.T) {
	work := t.TempDir()
	indexDir := filepath.Join(work, "index")
	env := []string{"VERBATIM_INDEX=" + indexDir}
	for _, q := range []string{"Who won the 1998 football world cup?", "who won the 1998 Football World Cup", "Who won the 1998 football world cup?"} {
		ans, _ := askJSON(t, work, env, q)
		if !ans.Refused {
			t.Fatalf("%q was answered: %+v", q, ans)
		}
	}
	if ans, _ := askJSON(t, work, env, "Which missile system is Tehran interested in buying?"); ans.Refused {
		t.Fatal("the S-400 question was refused")
	}
	r := verbatim(t, work, "", env, "gaps")
	if r.code != 0 {
		t.Fatalf("gaps: exit %d\n%s", r.code, r.stderr)
	}
	lines := strings.Split(r.stdout, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "3 ") || !strings.Contains(lines[1], "Who won the 1998 football world cup?") || strings.Contains(r.stdout, "missile") {
		t.Errorf("gaps:\n%s", r.stdout)
	}
	js := verbatim(t, work, "", env, "gaps", "--json")
	var groups []struct {
		Count    int      `json:"count"`
		Refused  int      `json:"refused"`
		Terms    []string `json:"terms"`
		Doors    []string `json:"doors"`
		Question string   `json:"question"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &groups); err != nil || len(groups) != 1 || groups[0].Count != 3 || groups[0].Refused != 3 || fmt.Sprint(groups[0].Doors) != "[ask]" {
		t.Errorf("gaps --json: %v\n%s", err, js.stdout)
	}

	off := filepath.Join(work, "off")
	askJSON(t, work, []string{"VERBATIM_INDEX=" + off, "VERBATIM_GAPS=off"}, "Who won the 1998 football world cup?")
	if _, err := os.Stat(filepath.Join(off, "gaps.jsonl")); err == nil {
		t.Error("VERBATIM_GAPS=off recorded a gap")
	}
}

// syncBuffer is a bytes.Buffer a running process writes while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitOutput polls out until it holds want or the deadline passes.
func waitOutput(t *testing.T, out *syncBuffer, want string, deadline time.Duration) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(end) {
			t.Fatalf("no %q after %v; output:\n%s", want, deadline, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIndexWatch: `index --watch` re-indexes a file dropped into the
// corpus within seconds, and a burst of 1,000 files is one re-index.
func TestIndexWatch(t *testing.T) {
	work := t.TempDir()
	corpusDir, indexDir := filepath.Join(work, "articles"), filepath.Join(work, "index")
	writeCorpus(t, corpusDir, map[string]string{"bees.md": beesFile})
	env := []string{"VERBATIM_CORPUS=" + corpusDir, "VERBATIM_INDEX=" + indexDir, "VERBATIM_WATCH_QUIET=300ms", "VERBATIM_FEEDS_INTERVAL=0"}
	cmd := exec.Command(binPath, "index", "--watch")
	cmd.Dir = work
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	})
	waitOutput(t, &out, "Indexed 1 article", 30*time.Second)
	waitOutput(t, &errOut, "watching", 10*time.Second)

	writeCorpus(t, corpusDir, map[string]string{"tides.md": "# Tides\n\nThe spring tide at the harbour reaches 5.2 metres this week.\n"})
	waitOutput(t, &out, "added: tides", 10*time.Second)

	before := strings.Count(out.String(), "Indexed ")
	burst := map[string]string{}
	for i := range 1000 {
		burst[fmt.Sprintf("burst/%d/note-%04d.md", i%20, i)] = fmt.Sprintf("# Note %d\n\nHarbour note number %d concerns mooring %d.\n", i, i, i)
	}
	writeCorpus(t, corpusDir, burst)
	waitOutput(t, &out, "Indexed 1002 articles", 60*time.Second)
	time.Sleep(time.Second) // a second re-index would follow within the quiet time
	if n := strings.Count(out.String(), "Indexed ") - before; n != 1 {
		t.Errorf("%d re-indexes for a burst of 1,000 files, want 1:\n%s", n, out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("index --watch exited with %v after SIGTERM\n%s", err, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("index --watch did not stop on SIGTERM")
	}
	// What the watcher indexed is what a fresh run finds: nothing to do.
	r := verbatim(t, work, "", env, "index", "--json")
	var rep struct {
		Added    []string `json:"added"`
		Articles int      `json:"articles"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Added) != 0 || rep.Articles != 1002 {
		t.Errorf("index after the watch: %v\n%s", err, r.stdout)
	}
}

// askDiscord sends /ask and returns the body of the final answer edit.
func askDiscord(t *testing.T, fake *discordtest.Server, u discordtest.User, question string) string {
	t.Helper()
	in := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: u, GuildID: discordtest.GuildID,
		Options: []discordtest.Option{{Name: "question", Value: question}}})
	return string(fake.WaitCall(t, 20*time.Second, "answer to "+question, func(c discordtest.Call) bool {
		return c.Method == "PATCH" && c.Path == in.OriginalPath() && c.Status == http.StatusOK && strings.Contains(string(c.Body), `"custom_id":"up:`)
	}).Body)
}

// TestDiscordLivingCorpus runs `verbatim discord` over a corpus directory:
// /add by a member without Manage Server is not offered; a manager's /add
// is answerable at once with the page's URL in the citation; a file
// dropped into the corpus directory is answerable within seconds; a
// question refused three times tops /gaps.
func TestDiscordLivingCorpus(t *testing.T) {
	site := newNewsSite(t)
	site.pages["/2024/gull-rock"] = newsPage("/2024/gull-rock", "The Gull Rock lighthouse", lighthouseText,
		"Keepers lived on the rock until 1987, when the light was automated and the last keeper, Ann Pryce, moved ashore.")
	work := t.TempDir()
	corpusDir := filepath.Join(work, "articles")
	writeCorpus(t, corpusDir, map[string]string{"bees.md": beesFile})
	fake := discordtest.New(t)
	defer fake.Close()
	p := startDiscord(t, fake, "VERBATIM_CORPUS="+corpusDir, "VERBATIM_INDEX="+filepath.Join(work, "index"),
		"VERBATIM_FETCH_ALLOW_PRIVATE=true", "VERBATIM_WATCH_QUIET=300ms", "VERBATIM_RATE_PER_MINUTE=120")
	member := discordtest.User{ID: "700000000000000001", Name: "reader"}
	admin := discordtest.User{ID: "700000000000000002", Name: "editor"}
	pageURL := site.srv.URL + "/2024/gull-rock"

	if _, err := fake.TrySendSlash(t, discordtest.Slash{Name: "add", User: member, GuildID: discordtest.GuildID,
		Options: []discordtest.Option{{Name: "url", Value: pageURL}}}); !errors.Is(err, discordtest.ErrNotOffered) {
		t.Fatalf("/add by a member without Manage Server: %v", err)
	}
	in := fake.SendSlash(t, discordtest.Slash{Name: "add", User: admin, GuildID: discordtest.GuildID,
		MemberPermissions: discordtest.MemberPerms | discordtest.PermManageGuild, Options: []discordtest.Option{{Name: "url", Value: pageURL}}})
	added := fake.WaitCall(t, 20*time.Second, "/add outcome", func(c discordtest.Call) bool {
		return c.Method == "PATCH" && c.Path == in.OriginalPath() && strings.Contains(string(c.Body), "Added")
	})
	if !strings.Contains(string(added.Body), "The Gull Rock lighthouse") {
		t.Errorf("/add said %s", added.Body)
	}
	if site.hitCount("/2024/gull-rock") != 1 {
		t.Errorf("the page was fetched %d times", site.hitCount("/2024/gull-rock"))
	}
	ans := askDiscord(t, fake, member, "Who built the lighthouse on Gull Rock?")
	if !strings.Contains(ans, "Thomas Stevenson") || !strings.Contains(ans, pageURL) {
		t.Errorf("answer after /add lacks the quote or the page's URL:\n%s", ans)
	}

	// A file dropped into the watched folder: answerable within seconds.
	writeCorpus(t, corpusDir, map[string]string{"notes/tides.md": "# Tides\n\nThe spring tide at Gull Harbour reaches 5.2 metres above chart datum this week.\n"})
	deadline := time.Now().Add(20 * time.Second)
	for {
		ans := askDiscord(t, fake, member, "How high does the spring tide at Gull Harbour reach?")
		if strings.Contains(ans, "5.2 metres") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dropped file was not answered from within 20 s; last answer:\n%s\nstderr:\n%s", ans, p.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	for range 3 {
		if ans := askDiscord(t, fake, member, "Who won the 1998 football world cup?"); !strings.Contains(ans, "don't say") && !strings.Contains(ans, "do not say") {
			t.Logf("expected a refusal:\n%s", ans)
		}
	}
	gin := fake.SendSlash(t, discordtest.Slash{Name: "gaps", User: admin, GuildID: discordtest.GuildID, MemberPermissions: discordtest.PermAdministrator})
	gaps := fake.WaitCall(t, 10*time.Second, "/gaps", func(c discordtest.Call) bool { return c.Path == gin.CallbackPath() })
	if !strings.Contains(string(gaps.Body), "**3×** “Who won the 1998 football world cup?”") {
		t.Errorf("/gaps:\n%s", gaps.Body)
	}
	p.stop(t)
}

// TestIndexWatchSyncsFeeds: `index --watch` syncs the followed feeds when
// it starts (a 304 here) and every VERBATIM_FEEDS_INTERVAL, adding an item
// published meanwhile.
func TestIndexWatchSyncsFeeds(t *testing.T) {
	site := newNewsSite(t)
	site.serveFeed()
	work := t.TempDir()
	corpusDir, indexDir := filepath.Join(work, "articles"), filepath.Join(work, "index")
	writeCorpus(t, corpusDir, map[string]string{"bees.md": beesFile})
	env := []string{"VERBATIM_CORPUS=" + corpusDir, "VERBATIM_INDEX=" + indexDir, "VERBATIM_FETCH_ALLOW_PRIVATE=true",
		"VERBATIM_FEEDS_INTERVAL=1s", "VERBATIM_WATCH_QUIET=200ms"}
	if r := verbatim(t, work, "", env, "feeds", "add", site.srv.URL+"/feed.xml"); r.code != 0 {
		t.Fatalf("feeds add: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cmd := exec.Command(binPath, "index", "--watch")
	cmd.Dir = work
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitOutput(t, &out, "watching", 30*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		site.mu.Lock()
		n := site.statuses[http.StatusNotModified]
		site.mu.Unlock()
		if n >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no conditional sync of the feed within 10 s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	site.mu.Lock()
	harbourItems = append(harbourItems, struct{ path, title, text string }{"/news/lifeboat", "Lifeboat launch",
		"The new lifeboat Spirit of Gull Harbour was launched on Friday and will be on station from December."})
	defer func() { harbourItems = harbourItems[:3] }()
	site.serveFeed()
	site.etag = `"feed-v2"`
	site.mu.Unlock()
	waitOutput(t, &out, "1 added", 15*time.Second)
	waitOutput(t, &out, "Indexed 5 articles", 15*time.Second)
	if files, _ := filepath.Glob(filepath.Join(corpusDir, "web", "*", "lifeboat-*.md")); len(files) != 1 {
		t.Errorf("lifeboat article files: %v", files)
	}
}
