package discord

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// ThreadMode says what the bot does with threads for answers in server
// channels.
type ThreadMode string

// Thread modes.
const (
	// ThreadsOff: answers stay in the channel; follow-ups are replies.
	ThreadsOff ThreadMode = "off"
	// ThreadsButton: public answers carry a "Continue in a thread" button.
	ThreadsButton ThreadMode = "button"
	// ThreadsAuto: the bot starts a thread on each public answer where it
	// may (Create Public Threads), and offers the button where it may not.
	ThreadsAuto ThreadMode = "auto"
)

// Config is what the Discord front needs. Zero numeric fields take the
// defaults below; Token and VotesFile are required.
type Config struct {
	// Token is the bot token (with or without the "Bot " prefix). It never
	// appears in logs or errors.
	Token string
	// GuildID, when set, registers the slash commands in that guild only
	// (instant updates); empty registers them globally.
	GuildID string
	// APIURL replaces https://discord.com/ for every REST call and gateway
	// discovery. Empty keeps Discord. Applying it is process-wide: see
	// SetAPIBase.
	APIURL string
	// RatePerMinute is how many questions one user may ask per minute.
	RatePerMinute int
	// MaxConcurrent caps the answers computed at once across all users.
	MaxConcurrent int
	// QueueLength is how many questions may wait for a free answer slot,
	// each shown its place in line; beyond it the bot says it is busy.
	// Zero keeps no queue.
	QueueLength int
	// MaxQuestionChars is the longest question accepted; it is clamped to
	// Discord's 6,000-character option limit.
	MaxQuestionChars int
	// HistoryTurns is how many turns per conversation (a DM, a thread, a
	// reply chain) feed follow-ups. Zero keeps no history.
	HistoryTurns int
	// AnswerTimeout is the deadline for answering one question.
	AnswerTimeout time.Duration
	// Channels, when not empty, are the only server channels (and their
	// threads) the bot answers in; DMs are always answered.
	Channels []string
	// Threads says what happens to public answers in server channels.
	// Empty is ThreadsButton.
	Threads ThreadMode
	// VotesFile is where 👍/👎 votes are appended (JSON Lines), unless
	// Votes is set.
	VotesFile string
	// Votes, if set, stores the votes instead of VotesFile (a database
	// that several bot processes share).
	Votes VoteRecorder
	// Memory, if set, keeps the conversations of DMs and threads instead
	// of process memory (a database: they survive restarts and are shared
	// by every bot process and shard).
	Memory Memory
	// Shards are the gateway shards this process runs (shards.go); the
	// zero value is one connection for every guild.
	Shards Shards
	// Pages, when set, serves /add (a page by URL); Feeds serves /feeds;
	// Gaps records every refused question and 👎 answer and serves
	// /gaps. The three commands are for members with Manage Server.
	Pages Pages
	Feeds Feeds
	Gaps  Gaps
	// FetchPerMinute is how many pages and feeds one member may have the
	// bot fetch per minute (/add, /feeds add).
	FetchPerMinute int
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
}

// Defaults for zero Config fields.
const (
	DefaultRatePerMinute    = 6
	DefaultMaxConcurrent    = 4
	DefaultMaxQuestionChars = 500
	DefaultAnswerTimeout    = 90 * time.Second
	DefaultFetchPerMinute   = 3
)

// MaxQuestionLimit is Discord's limit on a string option (max_length); a
// longer MaxQuestionChars could not be registered.
const MaxQuestionLimit = 6000

// String prints the settings with the token redacted.
func (c Config) String() string {
	tok := ""
	if c.Token != "" {
		tok = "<redacted>"
	}
	return fmt.Sprintf("token=%s guild=%q api_url=%q rate_per_minute=%d max_concurrent=%d queue_length=%d max_question_chars=%d history_turns=%d answer_timeout=%s channels=%q threads=%s votes_file=%q add=%t feeds=%t gaps=%t fetch_per_minute=%d shards=%q",
		tok, c.GuildID, c.APIURL, c.RatePerMinute, c.MaxConcurrent, c.QueueLength, c.MaxQuestionChars, c.HistoryTurns, c.AnswerTimeout, strings.Join(c.Channels, ","), c.Threads, c.VotesFile,
		c.Pages != nil, c.Feeds != nil, c.Gaps != nil, c.FetchPerMinute, c.Shards)
}

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Token == "" {
		return c, errors.New("discord: no bot token (set DISCORD_TOKEN)")
	}
	if c.VotesFile == "" && c.Votes == nil {
		return c, errors.New("discord: no votes file")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.RatePerMinute == 0 {
		c.RatePerMinute = DefaultRatePerMinute
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.MaxQuestionChars == 0 {
		c.MaxQuestionChars = DefaultMaxQuestionChars
	}
	if c.AnswerTimeout == 0 {
		c.AnswerTimeout = DefaultAnswerTimeout
	}
	if c.FetchPerMinute == 0 {
		c.FetchPerMinute = DefaultFetchPerMinute
	}
	if c.Threads == "" {
		c.Threads = ThreadsButton
	}
	switch c.Threads {
	case ThreadsOff, ThreadsButton, ThreadsAuto:
	default:
		return c, fmt.Errorf("discord: thread mode %q: want off, button or auto", c.Threads)
	}
	if c.RatePerMinute < 0 || c.FetchPerMinute < 0 || c.MaxConcurrent < 0 || c.QueueLength < 0 || c.MaxQuestionChars < 0 || c.HistoryTurns < 0 || c.AnswerTimeout < 0 {
		return c, fmt.Errorf("discord: negative setting in %s", c)
	}
	if c.MaxQuestionChars > MaxQuestionLimit {
		c.Logger.Warn("discord max question length clamped to Discord's option limit",
			"configured", c.MaxQuestionChars, "used", MaxQuestionLimit)
		c.MaxQuestionChars = MaxQuestionLimit
	}
	for _, id := range c.Channels {
		if !isSnowflake(id) {
			return c, fmt.Errorf("discord: channel %q is not a channel ID", id)
		}
	}
	if err := c.Shards.check(); err != nil {
		return c, err
	}
	return c, nil
}

// isSnowflake reports whether s looks like a Discord ID.
func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
