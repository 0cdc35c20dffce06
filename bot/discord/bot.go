// Package discord is verbatim's Discord front: slash commands (/ask,
// /sources with autocomplete and pages, /help), the "Ask verbatim" message
// context menu, direct messages, @mentions, threads and reply chains, all
// answered through the same engine as the CLI and rendered as embeds with
// verbatim quotes. For server managers (Manage Server, by
// default_member_permissions) it adds articles by URL (/add), follows
// feeds (/feeds) and shows the coverage gaps (/gaps): every refused
// question and 👎 answer, which the bot records (the engine knows nothing
// of them).
//
// It only formats answers. The engine and the article library come in as
// the small interfaces Answerer and Library; discordgo is imported here and
// nowhere else. Every door takes one path (answerAndDeliver): check, rate
// limit, acknowledge, queue for an answer slot, ask (streaming previews by
// throttled edits), deliver the verified answer as the last edit, remember
// the turn.
//
// It holds up against the real API under load and failure: a gateway
// client of its own (gateway.go) that exits on fatal close codes and
// resumes where Discord says, one connection per shard (shards.go: a
// count or Discord's recommendation, some or all shards per process,
// IDENTIFYs within max_concurrency); REST through discordgo with a rate-limit
// bucket per interaction token, context-aware 429 handling and retries
// that never send a message twice (rest.go); channels that refuse the bot
// remembered (channels.go). Every message carries an empty
// allowed_mentions so it never pings; failures become an apology carrying
// an error ID that is also logged.
package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus"
)

// Answerer answers a question; *bot.Engine implements it.
type Answerer interface {
	Answer(ctx context.Context, q bot.Question) (bot.Answer, error)
}

// Library is the article collection, for /sources and "Show paragraphs".
type Library interface {
	Articles() []corpus.Article
	Article(id string) (corpus.Article, bool)
}

// Intents are the gateway intents the bot asks for: guild messages (to see
// @mentions) and direct messages. Interactions need no intent, and Discord
// delivers message content for DMs, for messages that mention the bot and
// for message context-menu targets even without the privileged message
// content intent, so it is not asked.
const Intents = discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages

// Bot is a running Discord front. Create it with New, then call Run once.
type Bot struct {
	cfg      Config
	log      *slog.Logger
	answerer Answerer
	lib      Library
	votes    VoteRecorder

	session   *discordgo.Session // REST only: the gateway is ours
	transport *http.Transport
	token     string // with the "Bot " prefix

	// The gateway connections' timing: the wait before reconnect attempt
	// n, the wait after op 9, and the spacing of IDENTIFYs in a
	// max_concurrency bucket (Discord's 5 s, and a margin for the way
	// there).
	gwBackoff      func(n int) time.Duration
	gwInvalidWait  func() time.Duration
	identifyWindow time.Duration

	limiter *rateLimiter
	fetches *rateLimiter // pages and feeds per member (/add, /feeds add)
	queue   *admission
	answers *answerCache
	convs   Memory
	chans   *channelMemory
	allowed map[string]bool // VERBATIM_DISCORD_CHANNELS; empty: everywhere

	global        globalGate
	invalid       *invalidCounter
	invalidBudget int // invalid requests per 10 minutes before optional calls stop
	budgetWarned  atomic.Int64

	// Streaming edits of one message: at most editBurst per editWindow.
	editBurst  int
	editWindow time.Duration
	// typingEvery re-sends the typing indicator (it lasts about 10 s).
	typingEvery time.Duration
	// retryBase is the first backoff between retries of a failed call.
	retryBase time.Duration
	// editBucket names the rate-limit bucket of an interaction's webhook
	// calls: one per token (discordgo's default is one for all).
	editBucket func(appID, token string) string

	idMu   sync.RWMutex
	selfID string
	appID  string
	ready  chan struct{} // closed at the first READY
	once   sync.Once

	mu      sync.Mutex
	closing bool
	work    sync.WaitGroup // handlers in progress
	ran     atomic.Bool
}

// New checks cfg and prepares a bot; it does no I/O. When cfg.APIURL is set
// it calls SetAPIBase, which is process-wide.
func New(cfg Config, answerer Answerer, lib Library) (*Bot, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if answerer == nil || lib == nil {
		return nil, errors.New("discord: New needs an answerer and a library")
	}
	if cfg.APIURL != "" {
		if err := SetAPIBase(cfg.APIURL); err != nil {
			return nil, err
		}
	}
	token := cfg.Token
	if len(token) < 4 || token[:4] != "Bot " {
		token = "Bot " + token
	}
	s, err := discordgo.New(token)
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", redacted(err, cfg.Token))
	}
	invalid := &invalidCounter{}
	// Our own transport, so shutdown can close its idle connections, and
	// so the REST layer sees each answer's headers.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	s.Client = &http.Client{Timeout: 20 * time.Second, Transport: &recordingTransport{base: tr, invalid: invalid}}
	s.ShouldReconnectOnError = false
	s.LogLevel = discordgo.LogError

	allowed := map[string]bool{}
	for _, id := range cfg.Channels {
		allowed[id] = true
	}
	if cfg.Votes == nil {
		cfg.Votes = NewVoteStore(cfg.VotesFile)
	}
	if cfg.Memory == nil {
		cfg.Memory = newConversations(cfg.HistoryTurns, 10000)
	}
	b := &Bot{
		cfg:           cfg,
		log:           cfg.Logger,
		answerer:      answerer,
		lib:           lib,
		votes:         cfg.Votes,
		session:       s,
		transport:     tr,
		limiter:       newRateLimiter(cfg.RatePerMinute, time.Now),
		fetches:       newRateLimiter(cfg.FetchPerMinute, time.Now),
		queue:         newAdmission(cfg.MaxConcurrent, cfg.QueueLength),
		answers:       newAnswerCache(5000),
		convs:         cfg.Memory,
		chans:         newChannelMemory(time.Now),
		allowed:       allowed,
		invalid:       invalid,
		invalidBudget: 1000,
		editBurst:     5,
		editWindow:    5 * time.Second,
		typingEvery:   8 * time.Second,
		retryBase:     500 * time.Millisecond,
		editBucket: func(appID, token string) string {
			return discordgo.EndpointWebhookToken(appID, token)
		},
		ready:          make(chan struct{}),
		token:          token,
		gwBackoff:      gatewayBackoff,
		gwInvalidWait:  invalidSessionWait,
		identifyWindow: 5*time.Second + 500*time.Millisecond,
	}
	return b, nil
}

// Run connects to the gateway — one connection per shard this process
// runs (Config.Shards) — registers the commands (in Config.GuildID, or
// globally; only the process running shard 0 does) and serves until ctx is
// done. Then it shuts down gracefully: the gateway closes, answers in
// progress finish (each within its own AnswerTimeout) and Run returns nil.
// When Discord closes a gateway connection with a code that forbids
// reconnecting (a reset token, disallowed intents, an invalid shard) Run
// stops every shard the same way and returns a *GatewayError saying why.
// Run may be called once.
func (b *Bot) Run(ctx context.Context) error {
	if !b.ran.CompareAndSwap(false, true) {
		return errors.New("discord: Run called twice")
	}
	start := time.Now()
	info, err := b.discover(ctx)
	if err != nil {
		b.finish()
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("connect to discord: %w", err)
	}
	plan, err := b.cfg.Shards.plan(info.Shards)
	if err != nil {
		b.finish()
		return err
	}
	if plan.sharded() {
		b.log.Info("discord sharding", "shards", plan.count, "running", plan.ids, "max_concurrency", info.MaxConcurrency, "recommended", info.Shards)
	} else if info.Shards > 1 {
		b.log.Warn("discord recommends sharding; set VERBATIM_DISCORD_SHARDS", "recommended", info.Shards)
	}

	// Answers in progress outlive ctx's cancellation (graceful shutdown);
	// each gets its own deadline.
	work := context.WithoutCancel(ctx)
	gwCtx, stopGateway := context.WithCancel(ctx)
	defer stopGateway()
	gate := newIdentifyGate(info.MaxConcurrency, b.identifyWindow)
	failed := make(chan error, len(plan.ids)) // fatal closes, one per shard at most
	var running sync.WaitGroup
	for _, id := range plan.ids {
		g := b.newGateway(work, plan, id, info.URL, gate)
		g.first = gate.queue(id) // in shard order
		running.Go(func() {
			if err := g.run(gwCtx); err != nil {
				failed <- err
			}
		})
	}
	stop := func() {
		stopGateway()
		running.Wait()
		b.finish()
	}

	select {
	case <-b.ready:
	case err := <-failed:
		stop()
		return fmt.Errorf("connect to discord: %w", err)
	case <-ctx.Done():
		stop()
		return nil
	}
	self, app := b.identity()
	b.log.Info("discord connected", "user_id", self, "application_id", app, "took", time.Since(start))

	if plan.registers() {
		if err := b.registerCommands(ctx, app); err != nil {
			stop()
			if ctx.Err() != nil {
				return nil // asked to stop while starting
			}
			return err
		}
	} else {
		b.log.Info("discord commands left to the process running shard 0")
	}
	select {
	case <-ctx.Done():
		b.log.Info("discord shutting down")
		stop()
		b.log.Info("discord stopped")
		return nil
	case err := <-failed:
		b.log.Error("discord gateway refused the bot; stopping", "err", errString(err))
		stop()
		return err
	}
}

// newGateway prepares the connection of shard id of plan.
func (b *Bot) newGateway(work context.Context, plan shardPlan, id int, url string, gate *identifyGate) *gateway {
	g := &gateway{
		token:       b.token,
		intents:     Intents,
		url:         url,
		dialer:      &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 20 * time.Second},
		log:         b.log,
		gate:        gate,
		dispatch:    func(event string, data json.RawMessage) { b.dispatch(work, event, data) },
		onReady:     b.setIdentity,
		backoff:     b.gwBackoff,
		invalidWait: b.gwInvalidWait,
	}
	if plan.sharded() {
		g.shard = &[2]int{id, plan.count}
		g.log = b.log.With("shard", id, "shards", plan.count)
	}
	return g
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// gatewayInfo is GET /gateway/bot's answer.
type gatewayInfo struct {
	URL               string `json:"url"`
	Shards            int    `json:"shards"` // recommended
	SessionStartLimit struct {
		Remaining      int `json:"remaining"`
		ResetAfter     int `json:"reset_after"` // milliseconds
		MaxConcurrency int `json:"max_concurrency"`
	} `json:"session_start_limit"`
	MaxConcurrency int `json:"-"` // at least 1
}

// discover asks Discord where the gateway is, retrying with backoff until
// it answers, ctx ends or the token is refused (a *GatewayError).
func (b *Bot) discover(ctx context.Context) (gatewayInfo, error) {
	for n := 0; ; n++ {
		info, err := b.discoverGateway(ctx)
		var gerr *GatewayError
		if err == nil || errors.As(err, &gerr) || ctx.Err() != nil {
			return info, err
		}
		b.log.Warn("discord gateway discovery failed", "err", err.Error())
		if !sleep(ctx, b.gwBackoff(n)) {
			return info, ctx.Err()
		}
	}
}

// discoverGateway asks Discord once (GET /gateway/bot). A 401 means the
// token is wrong: fatal.
func (b *Bot) discoverGateway(ctx context.Context) (gatewayInfo, error) {
	var out gatewayInfo
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := b.do(ctx, b.log, restCall{op: "discover gateway", method: "GET", url: discordgo.EndpointGatewayBot, bucket: discordgo.EndpointGatewayBot}, &out)
	if httpStatus(err) == http.StatusUnauthorized {
		return out, &GatewayError{Code: http.StatusUnauthorized, Reason: fatalClose[4004]}
	}
	if err != nil {
		return out, err
	}
	if out.URL == "" {
		return out, errors.New("discover gateway: no URL in the answer")
	}
	out.MaxConcurrency = max(out.SessionStartLimit.MaxConcurrency, 1)
	if out.SessionStartLimit.Remaining == 0 && out.SessionStartLimit.ResetAfter > 0 {
		wait := time.Duration(out.SessionStartLimit.ResetAfter) * time.Millisecond
		b.log.Error("discord session start limit reached; waiting for it to reset", "wait", wait)
		if !sleep(ctx, wait) {
			return out, ctx.Err()
		}
	}
	return out, nil
}

// setIdentity records who the bot is, from READY.
func (b *Bot) setIdentity(r readyInfo) {
	b.idMu.Lock()
	b.selfID, b.appID = r.User.ID, r.Application.ID
	b.idMu.Unlock()
	b.once.Do(func() { close(b.ready) })
}

// identity is the bot's user ID and application ID from READY.
func (b *Bot) identity() (userID, appID string) {
	b.idMu.RLock()
	defer b.idMu.RUnlock()
	return b.selfID, b.appID
}

// dispatch decodes the events the bot handles into discordgo's types and
// hands each to its handler on a goroutine of its own.
func (b *Bot) dispatch(ctx context.Context, event string, data json.RawMessage) {
	switch event {
	case "INTERACTION_CREATE":
		var i discordgo.Interaction
		// discordgo's Interaction lacks the partial channel (its type and
		// parent say whether the interaction happened in a thread).
		var extra struct {
			Channel *discordgo.Channel `json:"channel"`
		}
		if err := json.Unmarshal(data, &i); err != nil {
			b.log.Error("discord interaction not understood; ignored", "err", err.Error())
			return
		}
		_ = json.Unmarshal(data, &extra) // optional: absent in some payloads
		b.spawn(func() { b.onInteraction(ctx, &i, extra.Channel) })
	case "MESSAGE_CREATE":
		var m discordgo.Message
		if err := json.Unmarshal(data, &m); err != nil {
			b.log.Error("discord message not understood; ignored", "err", err.Error())
			return
		}
		b.spawn(func() { b.onMessage(ctx, &m) })
	}
}

// spawn runs fn on a goroutine unless the bot is shutting down, counting it
// as work that shutdown waits for.
func (b *Bot) spawn(fn func()) {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		b.log.Warn("discord event dropped during shutdown")
		return
	}
	b.work.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.work.Done()
		fn()
	}()
}

// finish waits for the handlers in progress once the gateway is closed.
func (b *Bot) finish() {
	start := time.Now()
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
	b.work.Wait()
	b.transport.CloseIdleConnections()
	b.log.Info("discord handlers finished", "took", time.Since(start))
}
