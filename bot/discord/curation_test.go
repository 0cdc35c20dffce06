package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
	"github.com/verbatimbot/verbatim/bot/gaps"
	"github.com/verbatimbot/verbatim/corpus/web"
)

// manager is a member with Manage Server.
func manager(n int) discordtest.User { return user(40 + n) }

const managerPerms = discordtest.MemberPerms | discordtest.PermManageGuild

// pressSite serves an article page and an RSS feed of two more.
func pressSite(t *testing.T) *httptest.Server {
	page := func(title, text string) string {
		return `<html><head><title>` + title + `</title></head><body><nav>Home</nav><article><h1>` + title + `</h1><p>` + text +
			`</p><p>The harbour office will publish further details on its notice board in the coming week.</p></article></body></html>`
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gull-rock":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, page("The Gull Rock lighthouse", "The lighthouse on Gull Rock was built in 1874 by the engineer Thomas Stevenson."))
		case "/ferry", "/regatta":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, page("Harbour news "+r.URL.Path[1:], "This is the harbour news article about the "+r.URL.Path[1:]+" this autumn."))
		case "/feed.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Gazette</title><link>%[1]s/</link><description>d</description>`+
				`<item><title>Ferry</title><link>%[1]s/ferry</link><guid>1</guid></item><item><title>Regatta</title><link>%[1]s/regatta</link><guid>2</guid></item></channel></rss>`, srv.URL)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

type countingIndexer struct{ n atomic.Int32 }

func (c *countingIndexer) Reindex(context.Context) error { c.n.Add(1); return nil }

// curated is a bot with /add, /feeds and /gaps over a corpus directory.
type curated struct {
	*harness
	corpus string
	gaps   *gaps.File
	index  *countingIndexer
}

func startCurated(t *testing.T, allowPrivate bool, opts ...harnessOption) curated {
	t.Helper()
	c := curated{corpus: t.TempDir(), index: &countingIndexer{}}
	state := t.TempDir()
	lib, err := web.NewLibrary(web.LibraryOptions{Corpus: c.corpus, State: state, Indexer: c.index,
		Client: web.NewClient(web.Options{AllowPrivate: allowPrivate})})
	if err != nil {
		t.Fatal(err)
	}
	c.gaps = gaps.NewFile(filepath.Join(state, "gaps.jsonl"), gaps.FileOptions{})
	opts = append([]harnessOption{withConfig(func(cfg *Config) {
		cfg.Pages, cfg.Feeds, cfg.Gaps = lib, web.NewFeeds(lib, web.FeedOptions{}), c.gaps
	})}, opts...)
	c.harness = start(t, discordtest.GuildID, opts...)
	return c
}

func slashAdd(t *testing.T, fake *discordtest.Server, u discordtest.User, perms int64, url string) discordtest.Interaction {
	t.Helper()
	return fake.SendSlash(t, discordtest.Slash{Name: "add", User: u, GuildID: discordtest.GuildID, MemberPermissions: perms,
		Options: []discordtest.Option{{Name: "url", Value: url}}})
}

// finalText waits for the edit of in's response that holds want.
func finalText(t *testing.T, fake *discordtest.Server, in discordtest.Interaction, want string) string {
	t.Helper()
	c := fake.WaitCall(t, wait, "response with "+want, func(c discordtest.Call) bool {
		return editOriginal(in)(c) && c.Status == http.StatusOK && strings.Contains(string(c.Body), want)
	})
	m := decode[messageJSON](t, c)
	checkNoMentions(t, "response", m)
	return m.Content
}

func TestManagerCommandsAreRegisteredForManageServer(t *testing.T) {
	c := startCurated(t, true)
	reg := c.fake.Find(func(call discordtest.Call) bool {
		return call.Method == "PUT" && strings.HasSuffix(call.Path, "/commands")
	})
	var cmds []discordtest.CommandJSON
	if err := reg[len(reg)-1].JSON(&cmds); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, cmd := range cmds {
		switch cmd.Name {
		case "add", "feeds", "gaps":
			seen[cmd.Name] = true
			if cmd.DefaultMemberPermissions == nil || *cmd.DefaultMemberPermissions != "32" || fmt.Sprint(cmd.Contexts) != "[0]" {
				t.Errorf("/%s: default_member_permissions %v, contexts %v; want \"32\" (Manage Server) in guilds only", cmd.Name, cmd.DefaultMemberPermissions, cmd.Contexts)
			}
		case "ask", "sources", "help":
			if cmd.DefaultMemberPermissions != nil {
				t.Errorf("/%s is restricted", cmd.Name)
			}
		}
	}
	if len(seen) != 3 {
		t.Errorf("registered %v", seen)
	}
	// Without the collaborators, the commands are not registered.
	plain, err := New(Config{Token: testToken, VotesFile: filepath.Join(t.TempDir(), "votes.jsonl")}, newFakeAnswerer(), testLibrary)
	if err != nil {
		t.Fatal(err)
	}
	if plain.managerCommands() != nil {
		t.Error("manager commands registered without Pages, Feeds and Gaps")
	}
}

// TestAddByNonAdminIsRefused: Discord does not deliver /add to a member
// without Manage Server (the fake enforces the registered
// default_member_permissions), so nothing is fetched or written.
func TestAddByNonAdminIsRefused(t *testing.T) {
	srv := pressSite(t)
	c := startCurated(t, true)
	_, err := c.fake.TrySendSlash(t, discordtest.Slash{Name: "add", User: user(1), GuildID: discordtest.GuildID,
		Options: []discordtest.Option{{Name: "url", Value: srv.URL + "/gull-rock"}}})
	if !errors.Is(err, discordtest.ErrNotOffered) {
		t.Fatalf("a member without Manage Server could use /add: %v", err)
	}
	for _, name := range []string{"feeds", "gaps"} {
		if _, err := c.fake.TrySendSlash(t, discordtest.Slash{Name: name, User: user(1), GuildID: discordtest.GuildID}); !errors.Is(err, discordtest.ErrNotOffered) {
			t.Errorf("/%s offered to a member: %v", name, err)
		}
	}
	if entries, _ := os.ReadDir(c.corpus); len(entries) != 0 {
		t.Errorf("the corpus has %d entries", len(entries))
	}
	c.fake.NoCall(t, 200*time.Millisecond, "a response", func(call discordtest.Call) bool { return strings.HasSuffix(call.Path, "/callback") })
}

func TestAddByManager(t *testing.T) {
	srv := pressSite(t)
	c := startCurated(t, true)
	in := slashAdd(t, c.fake, manager(1), managerPerms, srv.URL+"/gull-rock")
	cb := decode[callbackJSON](t, c.fake.WaitCall(t, wait, "deferral", callback(in)))
	if cb.Type != 5 || cb.Data == nil || cb.Data.Flags&64 == 0 {
		t.Errorf("callback %+v, want a private deferral", cb)
	}
	text := finalText(t, c.fake, in, "Added")
	if !strings.Contains(text, "**The Gull Rock lighthouse**") || !strings.Contains(text, srv.URL+"/gull-rock") {
		t.Errorf("final response %q", text)
	}
	files, _ := filepath.Glob(filepath.Join(c.corpus, "web", "*", "gull-rock-*.md"))
	if len(files) != 1 || c.index.n.Load() != 1 {
		t.Fatalf("files %v, indexed %d times", files, c.index.n.Load())
	}
	// Progress came before the outcome, in the same private response.
	edits := c.fake.Find(editOriginal(in))
	if len(edits) < 2 || !strings.Contains(string(edits[0].Body), "⏳") {
		t.Errorf("no progress before the outcome: %d edits, first %s", len(edits), edits[0].Body)
	}

	// Another manager adds the same page: told who added it first.
	in2 := slashAdd(t, c.fake, manager(2), discordtest.PermAdministrator, srv.URL+"/gull-rock")
	text = finalText(t, c.fake, in2, "already added")
	if !strings.Contains(text, "<@"+manager(1).ID+">") || !strings.Contains(text, "hasn't changed") {
		t.Errorf("second add: %q", text)
	}
	if c.index.n.Load() != 1 {
		t.Errorf("an unchanged page was re-indexed")
	}
}

func TestAddRefusals(t *testing.T) {
	srv := pressSite(t)
	c := startCurated(t, false, withConfig(func(cfg *Config) { cfg.FetchPerMinute = 2 }))
	in := slashAdd(t, c.fake, manager(1), managerPerms, srv.URL+"/gull-rock")
	if text := finalText(t, c.fake, in, "won't fetch"); !strings.Contains(text, "private network") {
		t.Errorf("loopback: %q", text)
	}
	in = slashAdd(t, c.fake, manager(1), managerPerms, "file:///etc/passwd")
	m := decode[callbackJSON](t, c.fake.WaitCall(t, wait, "refusal", callback(in)))
	if m.Type != 4 || !strings.Contains(m.Data.Content, "isn't a web address") || m.Data.Flags&64 == 0 {
		t.Errorf("file URL: %+v", m)
	}
	// The cap: two fetches a minute; the bad URL above cost none.
	in = slashAdd(t, c.fake, manager(1), managerPerms, srv.URL+"/missing")
	finalText(t, c.fake, in, "won't fetch")
	in = slashAdd(t, c.fake, manager(1), managerPerms, srv.URL+"/gull-rock")
	m = decode[callbackJSON](t, c.fake.WaitCall(t, wait, "rate limit", callback(in)))
	if m.Data == nil || !strings.Contains(m.Data.Content, "try again in") {
		t.Errorf("third fetch in a minute: %+v", m)
	}
	if entries, _ := os.ReadDir(c.corpus); len(entries) != 0 {
		t.Errorf("the corpus has %d entries", len(entries))
	}
}

func TestFeedsCommand(t *testing.T) {
	srv := pressSite(t)
	c := startCurated(t, true)
	sub := func(name string, opts ...discordtest.Option) discordtest.Interaction {
		return c.fake.SendSlash(t, discordtest.Slash{Name: "feeds", User: manager(1), GuildID: discordtest.GuildID, MemberPermissions: managerPerms,
			Options: []discordtest.Option{{Name: name, Options: opts}}})
	}
	in := sub("add", discordtest.Option{Name: "url", Value: srv.URL + "/feed.xml"})
	text := finalText(t, c.fake, in, "Following")
	if !strings.Contains(text, "**Harbour Gazette**") || !strings.Contains(text, "2 items, 2 added now") {
		t.Errorf("feeds add: %q", text)
	}
	in = sub("list")
	cb := decode[callbackJSON](t, c.fake.WaitCall(t, wait, "list", callback(in)))
	if !strings.Contains(cb.Data.Content, srv.URL+"/feed.xml") || !strings.Contains(cb.Data.Content, "2 articles") || cb.Data.Flags&64 == 0 {
		t.Errorf("feeds list: %+v", cb.Data)
	}
	ac := c.fake.SendAutocomplete(t, discordtest.Slash{Name: "feeds", User: manager(1), GuildID: discordtest.GuildID, MemberPermissions: managerPerms,
		Options: []discordtest.Option{{Name: "remove", Options: []discordtest.Option{{Name: "url", Value: "gaz", Focused: true}}}}})
	if body := string(c.fake.WaitCall(t, wait, "autocomplete", callback(ac)).Body); !strings.Contains(body, srv.URL+"/feed.xml") {
		t.Errorf("autocomplete: %s", body)
	}
	in = sub("remove", discordtest.Option{Name: "url", Value: srv.URL + "/feed.xml"})
	cb = decode[callbackJSON](t, c.fake.WaitCall(t, wait, "remove", callback(in)))
	if !strings.Contains(cb.Data.Content, "No longer following") {
		t.Errorf("feeds remove: %+v", cb.Data)
	}
	in = sub("add", discordtest.Option{Name: "url", Value: srv.URL + "/gull-rock"})
	if text := finalText(t, c.fake, in, "isn't a feed"); !strings.Contains(text, "/add") {
		t.Errorf("a page as a feed: %q", text)
	}
}

// TestGapsRecordedAndShown: refused questions and 👎 answers are recorded
// with their door and score, without user IDs; /gaps lists the recurring
// one with its count.
func TestGapsRecordedAndShown(t *testing.T) {
	c := startCurated(t, true)
	for i := range 3 {
		in := askSlash(t, c.fake, user(i+1), qRefuse+" who won the cup?")
		c.fake.WaitCall(t, wait, "answer", finalEdit(in))
	}
	in := askSlash(t, c.fake, user(5), "Where were the treaties signed?")
	c.fake.WaitCall(t, wait, "answer", finalEdit(in))
	waitFor(t, "the answer remembered", func() bool { _, ok := c.bot.answers.get(in.ID); return ok })
	click := c.fake.SendClick(t, discordtest.Click{CustomID: actionDown + ":" + in.ID, User: user(5), GuildID: discordtest.GuildID})
	c.fake.WaitCall(t, wait, "vote thanks", callback(click))

	list, _, err := c.gaps.List(t.Context())
	if err != nil || len(list) != 4 {
		t.Fatalf("gaps %+v, %v", list, err)
	}
	for _, g := range list[:3] {
		if g.Reason != gaps.Refused || g.Door != "discord /ask" || g.UserID != "" || g.Support == nil {
			t.Errorf("refusal recorded as %+v", g)
		}
	}
	if g := list[3]; g.Reason != gaps.Downvoted || g.Question != "Where were the treaties signed?" || g.Door != "discord /ask" {
		t.Errorf("👎 recorded as %+v", g)
	}
	gin := c.fake.SendSlash(t, discordtest.Slash{Name: "gaps", User: manager(1), GuildID: discordtest.GuildID, MemberPermissions: managerPerms})
	cb := decode[callbackJSON](t, c.fake.WaitCall(t, wait, "gaps", callback(gin)))
	if !strings.Contains(cb.Data.Content, "**3×** “refuse who won the cup?”") || strings.Contains(cb.Data.Content, "treaties") || cb.Data.Flags&64 == 0 {
		t.Errorf("/gaps: %+v", cb.Data)
	}
}
