package discord

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
)

// Tests of the gateway client (item 5) against the fake's gateway.

func gatewayEvents(fake *discordtest.Server, kind string, since time.Time) []discordtest.GatewayEvent {
	var out []discordtest.GatewayEvent
	for _, e := range fake.GatewayEvents() {
		if e.Kind == kind && !e.At.Before(since) {
			out = append(out, e)
		}
	}
	return out
}

// answered checks the bot still answers /ask after whatever the gateway
// went through.
func answered(t *testing.T, h *harness) {
	t.Helper()
	in := askSlash(t, h.fake, user(9), "Still there?")
	h.fake.WaitCall(t, wait, "answer", finalEdit(in))
}

// TestGatewayFatalCloseCodes: a close Discord says not to reconnect after
// ends Run with a GatewayError naming the code and the reason, instead of
// reconnecting forever.
func TestGatewayFatalCloseCodes(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason string
		cause  func(*discordtest.Server)
	}{
		{4004, "DISCORD_TOKEN", func(f *discordtest.Server) { f.RevokeToken() }},
		{4010, "invalid shard", nil},
		{4011, "sharding required", nil},
		{4012, "API version", nil},
		{4013, "invalid intents", nil},
		{4014, "disallowed intents", nil},
	} {
		t.Run(strings.ReplaceAll(tc.reason, " ", "_"), func(t *testing.T) {
			h := start(t, discordtest.GuildID)
			h.expectRunErr = true
			since := time.Now()
			if tc.cause != nil {
				tc.cause(h.fake)
			} else {
				// Refused on the next IDENTIFY or RESUME after a drop.
				h.fake.RefuseSessions(tc.code)
				h.fake.CloseConnections(4000, "Unknown error.")
			}
			select {
			case <-h.finished:
			case <-time.After(wait):
				t.Fatalf("Run still going after a %d close", tc.code)
			}
			var gerr *GatewayError
			if !errors.As(h.runErr, &gerr) || gerr.Code != tc.code || !strings.Contains(h.runErr.Error(), tc.reason) {
				t.Errorf("Run = %v, want a GatewayError %d saying %q", h.runErr, tc.code, tc.reason)
			}
			if strings.Contains(h.runErr.Error(), "\n") {
				t.Errorf("reason is not one line: %q", h.runErr)
			}
			tries := len(gatewayEvents(h.fake, "identify", since)) + len(gatewayEvents(h.fake, "resume", since))
			if tries > 1 {
				t.Errorf("%d IDENTIFY/RESUME after the fatal close, want at most the one refused", tries)
			}
		})
	}
}

// TestGatewayFatalAtStart: a token refused at the first IDENTIFY ends Run
// at once.
func TestGatewayFatalAtStart(t *testing.T) {
	fake := discordtest.New(t)
	fake.RefuseSessions(4004)
	b, err := New(Config{Token: testToken, APIURL: fake.URL(), VotesFile: t.TempDir() + "/v.jsonl"}, newFakeAnswerer(), testLibrary)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	err = b.Run(ctx)
	var gerr *GatewayError
	if !errors.As(err, &gerr) || gerr.Code != 4004 {
		t.Fatalf("Run = %v, want a GatewayError 4004", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Run waited for its context")
	}
}

// TestGatewayReconnectRequest: op 7 makes the client close with a code
// that keeps the session and resume it at resume_gateway_url.
func TestGatewayReconnectRequest(t *testing.T) {
	h := start(t, discordtest.GuildID)
	since := time.Now()
	h.fake.SendReconnect(t)
	resumed := h.fake.WaitGatewayEvent(t, wait, "resumed", since)
	if resumed.Path != "/resume-gateway" {
		t.Errorf("resumed at %s, want the resume_gateway_url", resumed.Path)
	}
	for _, c := range gatewayEvents(h.fake, "client_close", since) {
		if c.Code == 1000 || c.Code == 1001 {
			t.Errorf("client closed with %d, which ends the session", c.Code)
		}
	}
	if n := len(h.fake.Identifies()); n != 1 {
		t.Errorf("%d IDENTIFYs, want the session resumed", n)
	}
	answered(t, h)
}

// TestGatewayInvalidSession: op 9 (not resumable) is followed by a fresh
// IDENTIFY after a random 1–5 s wait.
func TestGatewayInvalidSession(t *testing.T) {
	h := start(t, discordtest.GuildID, withIdentifyWindow(200*time.Millisecond))
	since := time.Now()
	h.fake.InvalidateSession(t, false)
	op9 := h.fake.WaitGatewayEvent(t, wait, "invalid_session", since)
	identify := h.fake.WaitGatewayEvent(t, 8*time.Second, "identify", since)
	if gap := identify.At.Sub(op9.At); gap < time.Second || gap > 5500*time.Millisecond {
		t.Errorf("IDENTIFY %v after op 9, want 1–5 s", gap)
	}
	if identify.Path != "/gateway" {
		t.Errorf("new session identified at %s, want the discovered URL", identify.Path)
	}
	if n := len(gatewayEvents(h.fake, "resume", since)); n != 0 {
		t.Errorf("%d RESUMEs of an invalidated session", n)
	}
	h.fake.WaitGatewayEvent(t, wait, "ready", since)
	answered(t, h)
}

// TestGatewayResumableInvalidSession: op 9 with d=true keeps the session.
func TestGatewayResumableInvalidSession(t *testing.T) {
	h := start(t, discordtest.GuildID, withBot(func(b *Bot) { b.gwInvalidWait = func() time.Duration { return 50 * time.Millisecond } }))
	since := time.Now()
	h.fake.InvalidateSession(t, true)
	h.fake.WaitGatewayEvent(t, wait, "resumed", since)
	if n := len(gatewayEvents(h.fake, "identify", since)); n != 0 {
		t.Errorf("%d IDENTIFYs for a resumable session", n)
	}
	answered(t, h)
}

// TestGatewayExpiredSession: a RESUME Discord answers with op 9 leads to a
// new session.
func TestGatewayExpiredSession(t *testing.T) {
	h := start(t, discordtest.GuildID, withIdentifyWindow(200*time.Millisecond),
		withBot(func(b *Bot) { b.gwInvalidWait = func() time.Duration { return 50 * time.Millisecond } }))
	since := time.Now()
	h.fake.ExpireSessions()
	h.fake.DropConnections()
	h.fake.WaitGatewayEvent(t, wait, "invalid_session", since)
	h.fake.WaitGatewayEvent(t, wait, "ready", since)
	if n := len(h.fake.Identifies()); n != 2 {
		t.Errorf("%d IDENTIFYs, want a second session", n)
	}
	answered(t, h)
}

// TestGatewayZombie: heartbeats that go unacknowledged end the connection
// (with a resumable close) and the session is resumed.
func TestGatewayZombie(t *testing.T) {
	fake := discordtest.New(t)
	fake.SetHeartbeatInterval(100)
	h := start(t, discordtest.GuildID, withFake(fake))
	since := time.Now()
	fake.StopHeartbeatAcks(true)
	closed := fake.WaitGatewayEvent(t, wait, "client_close", since)
	fake.StopHeartbeatAcks(false)
	if closed.Code == 1000 || closed.Code == 1001 {
		t.Errorf("zombied connection closed with %d, which ends the session", closed.Code)
	}
	fake.WaitGatewayEvent(t, wait, "resumed", since)
	answered(t, h)
}
