package discord

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
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
	// MaxQuestionChars is the longest question accepted.
	MaxQuestionChars int
	// HistoryTurns is how many turns per DM conversation feed follow-ups.
	// Zero keeps no history.
	HistoryTurns int
	// AnswerTimeout is the deadline for answering one question.
	AnswerTimeout time.Duration
	// VotesFile is where 👍/👎 votes are appended (JSON Lines).
	VotesFile string
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
}

// Defaults for zero Config fields.
const (
	DefaultRatePerMinute    = 6
	DefaultMaxConcurrent    = 4
	DefaultMaxQuestionChars = 500
	DefaultAnswerTimeout    = 90 * time.Second
)

// String prints the settings with the token redacted.
func (c Config) String() string {
	tok := ""
	if c.Token != "" {
		tok = "<redacted>"
	}
	return fmt.Sprintf("token=%s guild=%q api_url=%q rate_per_minute=%d max_concurrent=%d max_question_chars=%d history_turns=%d answer_timeout=%s votes_file=%q",
		tok, c.GuildID, c.APIURL, c.RatePerMinute, c.MaxConcurrent, c.MaxQuestionChars, c.HistoryTurns, c.AnswerTimeout, c.VotesFile)
}

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Token == "" {
		return c, errors.New("discord: no bot token (set DISCORD_TOKEN)")
	}
	if c.VotesFile == "" {
		return c, errors.New("discord: no votes file")
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
	if c.RatePerMinute < 0 || c.MaxConcurrent < 0 || c.MaxQuestionChars < 0 || c.HistoryTurns < 0 || c.AnswerTimeout < 0 {
		return c, fmt.Errorf("discord: negative setting in %s", c)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
