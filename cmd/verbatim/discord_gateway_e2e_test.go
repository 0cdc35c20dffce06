package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
)

// TestDiscordExitsOnRevokedToken: when Discord closes the gateway with
// 4004 (the token was reset), `verbatim discord` exits non-zero with a
// one-line reason instead of reconnecting forever.
func TestDiscordExitsOnRevokedToken(t *testing.T) {
	fake := discordtest.New(t)
	defer fake.Close()
	p := startDiscord(t, fake)
	fake.RevokeToken()
	select {
	case err := <-p.exited:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Fatalf("exit = %v, want a non-zero exit; stderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20 s after the token was revoked; stderr:\n%s", p.stderr.String())
	}
	var last string
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		if strings.HasPrefix(line, "verbatim discord:") {
			last = line
		}
	}
	if !strings.Contains(last, "4004") || !strings.Contains(last, "DISCORD_TOKEN") {
		t.Errorf("no one-line reason naming 4004 and DISCORD_TOKEN; stderr:\n%s", p.stderr.String())
	}
	t.Logf("reason: %s", last)
	if strings.Contains(p.stderr.String(), "test-token-secret") {
		t.Error("the token appears in the logs")
	}
}
