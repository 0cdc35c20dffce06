package discord

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigStringRedactsToken(t *testing.T) {
	c := Config{Token: testToken, GuildID: "1"}
	if s := c.String(); strings.Contains(s, "secret") || !strings.Contains(s, "<redacted>") {
		t.Errorf("String() = %s", s)
	}
	if s := (Config{}).String(); strings.Contains(s, "<redacted>") {
		t.Errorf("empty token shown as redacted: %s", s)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no token", Config{VotesFile: "v"}, "no bot token"},
		{"no votes file", Config{Token: testToken}, "no votes file"},
		{"negative", Config{Token: testToken, VotesFile: "v", RatePerMinute: -1}, "negative"},
		{"bad api url", Config{Token: testToken, VotesFile: "v", APIURL: "discord.example"}, "want http(s)"},
		{"bad thread mode", Config{Token: testToken, VotesFile: "v", Threads: "always"}, "thread mode"},
		{"bad channel", Config{Token: testToken, VotesFile: "v", Channels: []string{"#general"}}, "not a channel ID"},
		{"negative queue", Config{Token: testToken, VotesFile: "v", QueueLength: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, newFakeAnswerer(), testLibrary)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("token in error: %v", err)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	base := errors.New("dial https://x/" + testToken + " failed")
	err := redacted(base, "Bot "+testToken)
	if strings.Contains(err.Error(), "secret") || !errors.Is(err, base) {
		t.Errorf("redacted = %v (is base: %v)", err, errors.Is(err, base))
	}
}
