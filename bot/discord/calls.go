package discord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// redactString replaces every secret in s (the bot token, interaction
// tokens) with "<redacted>".
func redactString(s string, secrets ...string) string {
	for _, sec := range secrets {
		sec = strings.TrimPrefix(sec, "Bot ")
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "<redacted>")
		}
	}
	return s
}

// redactedError is err with secrets removed from its message; errors.Is and
// errors.As still see err.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redacted(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: redactString(err.Error(), secrets...), err: err}
}

// newErrorID is a short random ID shown to the user and logged with the
// error, so a report can be matched to the log.
func newErrorID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// retryable reports whether a failed Discord call is worth repeating: server
// errors only. discordgo itself waits out 429s and retries 502s; 4xx (401
// above all) never get better.
func retryable(err error) bool {
	var rest *discordgo.RESTError
	if errors.As(err, &rest) && rest.Response != nil {
		return rest.Response.StatusCode >= 500
	}
	return false
}

// call runs one Discord REST call with ctx, retrying server errors twice
// with backoff, and logs failures (secrets redacted). op names the call in
// logs and errors.
func (b *Bot) call(ctx context.Context, log *slog.Logger, op string, secret string, fn func(opts ...discordgo.RequestOption) error) error {
	const attempts = 3
	wait := b.retryBase
	start := time.Now()
	var err error
	for attempt := 1; ; attempt++ {
		err = fn(discordgo.WithContext(ctx))
		if err == nil {
			log.Debug("discord call", "op", op, "took", time.Since(start))
			return nil
		}
		err = redacted(err, b.cfg.Token, secret)
		if attempt == attempts || !retryable(err) {
			break
		}
		log.Warn("discord call failed, retrying", "op", op, "attempt", attempt, "err", err.Error())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			log.Error("discord call failed", "op", op, "err", err.Error(), "took", time.Since(start))
			return fmt.Errorf("%s: %w", op, err)
		case <-t.C:
		}
		wait *= 2
	}
	log.Error("discord call failed", "op", op, "err", err.Error(), "took", time.Since(start))
	return fmt.Errorf("%s: %w", op, err)
}
