package discord

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
)

const wait = 5 * time.Second

// harness is a Bot running against a fake Discord.
type harness struct {
	fake  *discordtest.Server
	bot   *Bot
	ans   *fakeAnswerer
	logs  *logBuffer
	votes string
	stop  func() // cancels Run and waits for it
	// finished is closed when Run returned, with runErr; expectRunErr
	// keeps stop from failing the test on it.
	finished     chan struct{}
	runErr       error
	expectRunErr bool
}

// harnessOption changes how a harness is set up.
type harnessOption func(*setup)

type setup struct {
	cfg      Config
	lib      Library
	fake     *discordtest.Server
	bot      func(*Bot)
	answerer Answerer
	// identifyWindow, when set, replaces Discord's 5 s between IDENTIFYs
	// of a max_concurrency bucket, in the fake and the bot alike.
	identifyWindow time.Duration
}

func withConfig(f func(*Config)) harnessOption     { return func(s *setup) { f(&s.cfg) } }
func withLibrary(l Library) harnessOption          { return func(s *setup) { s.lib = l } }
func withFake(f *discordtest.Server) harnessOption { return func(s *setup) { s.fake = f } }
func withBot(f func(*Bot)) harnessOption           { return func(s *setup) { s.bot = f } }
func withAnswerer(a Answerer) harnessOption        { return func(s *setup) { s.answerer = a } }
func withVotes(path string) harnessOption          { return withConfig(func(c *Config) { c.VotesFile = path }) }

// withIdentifyWindow shortens the max_concurrency window, for tests of
// what follows op 9 that the 5 s between IDENTIFYs would hide.
func withIdentifyWindow(d time.Duration) harnessOption {
	return func(s *setup) { s.identifyWindow = d }
}

// start runs a bot against a new fake (or the one given) until the test
// ends (or stop). Tests using it must not run in parallel: discordgo's
// endpoints are globals.
func start(t testing.TB, guildID string, opts ...harnessOption) *harness {
	t.Helper()
	logs := &logBuffer{}
	st := setup{
		cfg: Config{
			Token:            testToken,
			GuildID:          guildID,
			RatePerMinute:    4,
			MaxConcurrent:    3,
			QueueLength:      1,
			MaxQuestionChars: 200,
			HistoryTurns:     2,
			AnswerTimeout:    5 * time.Second,
			VotesFile:        filepath.Join(t.TempDir(), "state", "votes.jsonl"),
			Logger:           slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
		lib: testLibrary,
	}
	for _, o := range opts {
		o(&st)
	}
	fake := st.fake
	if fake == nil {
		fake = discordtest.New(t)
	}
	cfg := st.cfg
	cfg.APIURL = fake.URL()
	votes := cfg.VotesFile
	ans := newFakeAnswerer()
	var answerer Answerer = ans
	if st.answerer != nil {
		answerer = st.answerer
	}
	b, err := New(cfg, answerer, st.lib)
	if err != nil {
		t.Fatal(err)
	}
	b.editWindow = 500 * time.Millisecond
	b.retryBase = 10 * time.Millisecond
	b.typingEvery = time.Hour
	b.gwBackoff = func(int) time.Duration { return 20 * time.Millisecond }
	if st.identifyWindow > 0 {
		fake.SetIdentifyWindow(st.identifyWindow)
		b.identifyWindow = st.identifyWindow + 50*time.Millisecond
	}
	if st.bot != nil {
		st.bot(b)
	}

	isRegistration := func(c discordtest.Call) bool { return c.Method == "PUT" && strings.HasSuffix(c.Path, "/commands") }
	registered := len(fake.Find(isRegistration))
	ctx, cancel := context.WithCancel(t.Context())
	h := &harness{fake: fake, bot: b, ans: ans, logs: logs, votes: votes, finished: make(chan struct{})}
	go func() {
		h.runErr = b.Run(ctx)
		close(h.finished)
	}()
	stopped := false
	h.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-h.finished:
			if h.runErr != nil && !h.expectRunErr {
				t.Errorf("Run: %v", h.runErr)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	}
	// Registered after the fake's cleanup, so it runs first: the bot's
	// session closes before the fake.
	t.Cleanup(h.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bot logs:\n%s", logs.String())
		}
	})
	if cfg.Shards.Count > 1 || cfg.Shards.Auto {
		return h // the test waits for its shards
	}
	// A bot restarted within Discord's 5 s between IDENTIFYs is refused
	// with op 9 once and waits to try again.
	fake.WaitCalls(t, 3*wait, registered+1, "command registration", isRegistration)
	// A fake shared with a bot that stopped may not have seen its
	// connection go yet: wait, so events reach this bot.
	for deadline := time.Now().Add(wait); fake.Connected() != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("%d gateway connections, want this bot's only", fake.Connected())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return h
}

// Decoded request bodies.

type embedJSON struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	Color       int    `json:"color"`
	Footer      *struct {
		Text string `json:"text"`
	} `json:"footer"`
}

type buttonJSON struct {
	Type     int    `json:"type"`
	Label    string `json:"label"`
	CustomID string `json:"custom_id"`
	Emoji    *struct {
		Name string `json:"name"`
	} `json:"emoji"`
}

type rowJSON struct {
	Type       int          `json:"type"`
	Components []buttonJSON `json:"components"`
}

type allowedJSON struct {
	Parse       []string `json:"parse"`
	RepliedUser bool     `json:"replied_user"`
}

type messageJSON struct {
	Content          string       `json:"content"`
	Flags            int          `json:"flags"`
	Embeds           []embedJSON  `json:"embeds"`
	Components       []rowJSON    `json:"components"`
	AllowedMentions  *allowedJSON `json:"allowed_mentions"`
	MessageReference *struct {
		MessageID string `json:"message_id"`
		ChannelID string `json:"channel_id"`
		GuildID   string `json:"guild_id"`
	} `json:"message_reference"`
}

type callbackJSON struct {
	Type int          `json:"type"`
	Data *messageJSON `json:"data"`
}

func decode[T any](t testing.TB, c discordtest.Call) T {
	t.Helper()
	var v T
	if err := c.JSON(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// text is everything a message shows, for substring checks.
func (m messageJSON) text() string {
	var b strings.Builder
	b.WriteString(m.Content)
	for _, e := range m.Embeds {
		b.WriteString("\n" + e.Title + "\n" + e.Description)
		if e.Footer != nil {
			b.WriteString("\n" + e.Footer.Text)
		}
	}
	return b.String()
}

func (m messageJSON) customIDs() []string {
	var ids []string
	for _, r := range m.Components {
		for _, c := range r.Components {
			ids = append(ids, c.CustomID)
		}
	}
	return ids
}

func is(method, path string) func(discordtest.Call) bool {
	return func(c discordtest.Call) bool { return c.Method == method && c.Path == path }
}

func callback(in discordtest.Interaction) func(discordtest.Call) bool {
	return is("POST", in.CallbackPath())
}

func editOriginal(in discordtest.Interaction) func(discordtest.Call) bool {
	return is("PATCH", in.OriginalPath())
}

func followup(in discordtest.Interaction) func(discordtest.Call) bool {
	return is("POST", in.FollowupPath())
}

func channelMessage(channelID string) func(discordtest.Call) bool {
	return is("POST", "/channels/"+channelID+"/messages")
}

// checkNoMentions asserts allowed_mentions {"parse":[]} on a message body.
func checkNoMentions(t *testing.T, where string, m messageJSON) {
	t.Helper()
	if m.AllowedMentions == nil || m.AllowedMentions.Parse == nil || len(m.AllowedMentions.Parse) != 0 {
		t.Errorf("%s: allowed_mentions = %+v, want {\"parse\":[]}", where, m.AllowedMentions)
	}
}

// checkLimits asserts Discord's size limits on a message body.
func checkLimits(t *testing.T, where string, m messageJSON) {
	t.Helper()
	if n := textLen(m.Content); n > maxContent {
		t.Errorf("%s: content has %d chars", where, n)
	}
	if len(m.Embeds) > maxEmbeds {
		t.Errorf("%s: %d embeds", where, len(m.Embeds))
	}
	total := 0
	for _, e := range m.Embeds {
		if n := textLen(e.Description); n > maxDescription {
			t.Errorf("%s: embed description has %d chars", where, n)
		}
		if n := textLen(e.Title); n > maxTitle {
			t.Errorf("%s: embed title has %d chars", where, n)
		}
		total += textLen(e.Title) + textLen(e.Description)
		if e.Footer != nil {
			total += textLen(e.Footer.Text)
		}
	}
	if total > maxEmbedsChars {
		t.Errorf("%s: embeds total %d chars", where, total)
	}
}

// messageBodies decodes every recorded call that sends or edits a message.
func messageBodies(t *testing.T, calls []discordtest.Call) map[string]messageJSON {
	t.Helper()
	out := map[string]messageJSON{}
	for i, c := range calls {
		key := fmt.Sprintf("call %d: %s %s", i, c.Method, c.Path)
		switch {
		case c.Method == "POST" && strings.HasSuffix(c.Path, "/callback"):
			cb := decode[callbackJSON](t, c)
			if cb.Data != nil && cb.Type != 5 {
				out[key] = *cb.Data
			}
		case c.Method == "PATCH" && strings.HasPrefix(c.Path, "/webhooks/"),
			c.Method == "POST" && strings.HasPrefix(c.Path, "/webhooks/"),
			c.Method == "POST" && strings.HasSuffix(c.Path, "/messages"):
			out[key] = decode[messageJSON](t, c)
		}
	}
	return out
}

// settle waits until no answer holds a concurrency slot.
func (h *harness) settle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for h.bot.queue.busy(h.bot.cfg.MaxConcurrent) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d answers still in progress after %v", h.bot.queue.busy(h.bot.cfg.MaxConcurrent), wait)
		}
		<-tick.C
	}
}

// waitLog waits up to wait for the bot to log a line holding s: Run logs
// what it did after the gateway is ready, and a test may get there first.
func (h *harness) waitLog(t testing.TB, s string) bool {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !strings.Contains(h.logs.String(), s) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
