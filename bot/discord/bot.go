// Package discord is verbatim's Discord front: slash commands (/ask,
// /sources, /help), direct messages and @mentions, all answered through the
// same engine as the CLI and rendered as embeds with verbatim quotes.
//
// It only formats answers. The engine and the article library come in as
// the small interfaces Answerer and Library; discordgo is imported here and
// nowhere else.
//
// Every interaction is deferred at once and then edited; streaming answers
// are previewed by throttled edits; every message the bot sends carries an
// empty allowed_mentions so it never pings; per-user rate limits and a
// global concurrency cap answer with a friendly "slow down"; failures become
// an apology carrying an error ID that is also logged.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
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
// delivers message content for DMs and for messages that mention the bot
// even without the privileged message content intent, so it is not asked.
const Intents = discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages

// Bot is a running Discord front. Create it with New, then call Run once.
type Bot struct {
	cfg      Config
	log      *slog.Logger
	answerer Answerer
	lib      Library
	votes    *VoteStore

	session   *discordgo.Session
	transport *http.Transport

	limiter *rateLimiter
	slots   chan struct{} // concurrency cap: a slot per answer in progress
	answers *answerCache
	history *historyStore

	// Streaming edits of one response: at most editBurst per editWindow.
	editBurst  int
	editWindow time.Duration
	// typingEvery re-sends the typing indicator (it lasts about 10 s).
	typingEvery time.Duration
	// retryBase is the first backoff between retries of a failed call.
	retryBase time.Duration

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
	// Our own transport, so shutdown can close its idle connections.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	s.Client = &http.Client{Timeout: 20 * time.Second, Transport: tr}
	s.Identify.Intents = Intents
	s.StateEnabled = true
	s.ShouldReconnectOnError = true
	s.LogLevel = discordgo.LogError

	b := &Bot{
		cfg:         cfg,
		log:         cfg.Logger,
		answerer:    answerer,
		lib:         lib,
		votes:       NewVoteStore(cfg.VotesFile),
		session:     s,
		transport:   tr,
		limiter:     newRateLimiter(cfg.RatePerMinute, time.Now),
		slots:       make(chan struct{}, cfg.MaxConcurrent),
		answers:     newAnswerCache(1000),
		history:     newHistoryStore(cfg.HistoryTurns, 10000),
		editBurst:   5,
		editWindow:  5 * time.Second,
		typingEvery: 8 * time.Second,
		retryBase:   500 * time.Millisecond,
	}
	return b, nil
}

// Run connects to the gateway, registers the slash commands (in
// Config.GuildID, or globally) and serves until ctx is done. Then it shuts
// down gracefully: the gateway closes, answers in progress finish (each
// within its own AnswerTimeout) and Run returns nil. Run may be called once.
func (b *Bot) Run(ctx context.Context) error {
	if !b.ran.CompareAndSwap(false, true) {
		return errors.New("discord: Run called twice")
	}
	// Answers in progress outlive ctx's cancellation (graceful shutdown);
	// each gets its own deadline.
	work := context.WithoutCancel(ctx)
	s := b.session
	remove := []func(){
		s.AddHandler(func(s *discordgo.Session, ic *discordgo.InteractionCreate) {
			b.track(func() { b.onInteraction(work, ic.Interaction) })
		}),
		s.AddHandler(func(s *discordgo.Session, m *discordgo.MessageCreate) {
			b.track(func() { b.onMessage(work, m.Message) })
		}),
		s.AddHandler(func(s *discordgo.Session, _ *discordgo.Resumed) {
			b.log.Info("discord gateway resumed")
		}),
		s.AddHandler(func(s *discordgo.Session, _ *discordgo.Disconnect) {
			b.log.Info("discord gateway disconnected")
		}),
	}
	defer func() {
		for _, r := range remove {
			r()
		}
	}()

	start := time.Now()
	if err := s.Open(); err != nil {
		b.transport.CloseIdleConnections()
		return fmt.Errorf("open discord gateway: %w", redacted(err, b.cfg.Token))
	}
	self, app := b.identity()
	b.log.Info("discord connected", "user_id", self, "application_id", app, "took", time.Since(start))

	if err := b.registerCommands(ctx, app); err != nil {
		b.shutdown()
		if ctx.Err() != nil {
			return nil // asked to stop while starting
		}
		return err
	}
	<-ctx.Done()
	b.log.Info("discord shutting down")
	b.shutdown()
	b.log.Info("discord stopped")
	return nil
}

// identity is the bot's user ID and application ID from READY.
func (b *Bot) identity() (userID, appID string) {
	st := b.session.State
	st.RLock()
	defer st.RUnlock()
	if st.User != nil {
		userID = st.User.ID
	}
	if st.Application != nil {
		appID = st.Application.ID
	}
	return userID, appID
}

// shutdown closes the gateway, then waits for the handlers in progress.
func (b *Bot) shutdown() {
	start := time.Now()
	if err := b.session.Close(); err != nil {
		b.log.Warn("close discord gateway", "err", redactString(err.Error(), b.cfg.Token))
	}
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
	b.work.Wait()
	b.transport.CloseIdleConnections()
	b.log.Info("discord handlers finished", "took", time.Since(start))
}

// track runs fn unless the bot is shutting down, counting it as work that
// shutdown waits for. discordgo already calls handlers on their own
// goroutines.
func (b *Bot) track(fn func()) {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		b.log.Warn("discord event dropped during shutdown")
		return
	}
	b.work.Add(1)
	b.mu.Unlock()
	defer b.work.Done()
	fn()
}

// acquire takes a concurrency slot without waiting.
func (b *Bot) acquire() (release func(), ok bool) {
	select {
	case b.slots <- struct{}{}:
		return func() { <-b.slots }, true
	default:
		return nil, false
	}
}

// ask runs the answerer with the question's own deadline.
func (b *Bot) ask(ctx context.Context, q bot.Question) (bot.Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.AnswerTimeout)
	defer cancel()
	a, err := b.answerer.Answer(ctx, q)
	if err != nil {
		return bot.Answer{}, fmt.Errorf("answer: %w", err)
	}
	if a.Question == "" {
		a.Question = q.Text
	}
	return a, nil
}
