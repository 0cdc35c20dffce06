package openaicompat

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretsScrub(t *testing.T) {
	s := NewSecrets("sk-live-0123456789", "ollama", "", "sk-live-0123456789abc")
	in := "Incorrect API key provided: sk-live-0123456789abc; also sk-live-0123456789. Run ollama pull."
	want := "Incorrect API key provided: [redacted]; also [redacted]. Run ollama pull."
	if got := s.Scrub(in); got != want {
		t.Errorf("Scrub = %q\nwant    %q", got, want)
	}
	var none *Secrets
	if none.Scrub(in) != in || NewSecrets("short") != nil {
		t.Error("no secrets should scrub nothing")
	}
}

func TestSecretsHandler(t *testing.T) {
	const key = "sk-live-0123456789"
	var buf bytes.Buffer
	s := NewSecrets(key)
	log := slog.New(s.Handler(slog.NewJSONHandler(&buf, nil))).With("base_url", "http://x/v1?key="+key)
	log.WithGroup("llm").Warn("retrying after "+key, "err", errors.New("401: Incorrect API key provided: "+key),
		"body", key, "n", 3, slog.Group("req", "auth", "Bearer "+key))
	out := buf.String()
	if strings.Contains(out, key) || strings.Count(out, Redacted) != 5 || !strings.Contains(out, `"n":3`) {
		t.Errorf("log line: %s", out)
	}
}
