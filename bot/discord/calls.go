package discord

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
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

// newNonce is a message nonce (at most 25 characters): Discord creates a
// message sent with it and enforce_nonce once, however often it is retried.
func newNonce() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
