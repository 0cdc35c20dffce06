package openaicompat

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// MinSecretLen is the shortest value Secrets treats as a secret: shorter
// ones are placeholders ("ollama", "none") that local servers ignore, and
// replacing them would garble ordinary words.
const MinSecretLen = 8

// Redacted replaces a secret in scrubbed text.
const Redacted = "[redacted]"

// Secrets removes configured secrets (API keys, a bot token) from text
// before it leaves the process: servers echo keys in their error bodies
// (OpenAI: "Incorrect API key provided: sk-…"), and those bodies end up in
// error lines, logs and notices. The nil *Secrets scrubs nothing. It is
// safe for concurrent use.
type Secrets struct {
	r *strings.Replacer
}

// NewSecrets scrubs every value of at least MinSecretLen bytes.
func NewSecrets(values ...string) *Secrets {
	var keep []string
	for _, v := range values {
		if len(v) >= MinSecretLen && !slices.Contains(keep, v) {
			keep = append(keep, v)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	// Longest first, so a secret that contains another goes whole.
	slices.SortFunc(keep, func(a, b string) int { return len(b) - len(a) })
	var pairs []string
	for _, v := range keep {
		pairs = append(pairs, v, Redacted)
	}
	return &Secrets{r: strings.NewReplacer(pairs...)}
}

// Scrub returns text with every secret replaced by Redacted.
func (s *Secrets) Scrub(text string) string {
	if s == nil {
		return text
	}
	return s.r.Replace(text)
}

// Handler wraps h so that no record carries a secret: the message and every
// attribute (strings, errors, anything printed with %v, in groups too) are
// scrubbed before h sees them.
func (s *Secrets) Handler(h slog.Handler) slog.Handler {
	if s == nil {
		return h
	}
	return &scrubHandler{s: s, h: h}
}

type scrubHandler struct {
	s *Secrets
	h slog.Handler
}

func (h *scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.s.Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h *scrubHandler) WithAttrs(as []slog.Attr) slog.Handler {
	scrubbed := make([]slog.Attr, len(as))
	for i, a := range as {
		scrubbed[i] = h.attr(a)
	}
	return &scrubHandler{s: h.s, h: h.h.WithAttrs(scrubbed)}
}

func (h *scrubHandler) WithGroup(name string) slog.Handler {
	return &scrubHandler{s: h.s, h: h.h.WithGroup(name)}
}

func (h *scrubHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.s.Scrub(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, ga := range g {
			out[i] = h.attr(ga)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		// Errors, Stringers and structs print as text anyway: print them
		// here, scrubbed.
		return slog.String(a.Key, h.s.Scrub(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
