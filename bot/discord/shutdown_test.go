package discord

import (
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
)

// TestShutdown checks global registration and that cancelling Run lets the
// answer in progress finish before the gateway is gone and Run returns.
func TestShutdown(t *testing.T) {
	h := start(t, "")
	fake := h.fake

	if n := len(fake.Find(is("PUT", "/applications/"+discordtest.AppID+"/commands"))); n != 1 {
		t.Errorf("global command overwrites = %d, want 1 (no GuildID)", n)
	}
	if n := len(fake.Find(func(c discordtest.Call) bool { return strings.Contains(c.Path, "/guilds/") })); n != 0 {
		t.Errorf("guild routes used without a GuildID")
	}

	const q = qBlock + " during shutdown"
	in := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: alice, GuildID: discordtest.GuildID,
		Options: []discordtest.Option{{Name: "question", Value: q}}})
	fake.WaitCall(t, wait, "deferral", callback(in))
	select {
	case <-h.ans.entered:
	case <-time.After(wait):
		t.Fatal("question never reached the answerer")
	}

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		h.stop()
	}()
	// The gateway closes first ...
	deadline := time.Now().Add(wait)
	for fake.Connected() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("gateway still connected after cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// ... but Run waits for the answer in progress.
	select {
	case <-stopped:
		t.Fatal("Run returned with an answer in progress")
	case <-time.After(100 * time.Millisecond):
	}
	h.ans.release(q)
	select {
	case <-stopped:
	case <-time.After(wait):
		t.Fatal("Run did not return after the answer finished")
	}
	edit := fake.Find(editOriginal(in))
	if len(edit) != 1 {
		t.Fatalf("in-flight answer edits = %d, want 1", len(edit))
	}
	if m := decode[messageJSON](t, edit[0]); !strings.Contains(m.text(), "signed in 1648") {
		t.Errorf("in-flight answer = %s", m.text())
	}
	// The bot ended its session (close code 1000), so Discord shows it
	// offline at once instead of waiting for the session to time out.
	closes := 0
	for _, e := range fake.GatewayEvents() {
		if e.Kind == "client_close" {
			closes++
			if e.Code != 1000 {
				t.Errorf("shutdown closed the gateway with %d, want 1000", e.Code)
			}
		}
	}
	if closes != 1 {
		t.Errorf("%d client closes, want 1", closes)
	}
	// Nothing reaches the bot once it has stopped.
	if fake.Connected() != 0 {
		t.Errorf("gateway connections after Run returned: %d", fake.Connected())
	}
}
