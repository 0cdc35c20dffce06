package discordtest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rawClient is a bare gateway client: it speaks the protocol by hand, so
// the fake's rules are tested without the bot's client.
type rawClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialGateway(t *testing.T, s *Server) *rawClient {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(s.gatewayURL()+"/?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := &rawClient{t: t, ws: ws}
	t.Cleanup(func() { ws.Close() })
	if f := c.read(); f.Op != 10 {
		t.Fatalf("first frame op %d, want HELLO", f.Op)
	}
	return c
}

// read returns the next frame; a close frame fails the test.
func (c *rawClient) read() frame {
	c.t.Helper()
	f, err := c.next()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *rawClient) next() (frame, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var f frame
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return f, err
	}
	return f, json.Unmarshal(data, &f)
}

// identify sends IDENTIFY with shard (nil: none) and returns the answer.
func (c *rawClient) identify(shard []int) frame {
	c.t.Helper()
	d := map[string]any{"token": "Bot test-token", "intents": 4608, "properties": map[string]string{"os": "linux"}}
	if shard != nil {
		d["shard"] = shard
	}
	if err := c.ws.WriteJSON(map[string]any{"op": 2, "d": d}); err != nil {
		c.t.Fatal(err)
	}
	return c.read()
}

// closeCode reads until the server closes and returns its code.
func (c *rawClient) closeCode() int {
	c.t.Helper()
	for {
		_, err := c.next()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			c.t.Fatalf("read: %v, want a close frame", err)
		}
	}
}

type readyJSON struct {
	Shard  []int `json:"shard"`
	Guilds []struct {
		ID string `json:"id"`
	} `json:"guilds"`
}

// A guild on shard 0 of 2 (GuildID is on shard 1).
const guildOnShard0 = "900000000004194307"

func TestShardOf(t *testing.T) {
	// Discord's example: guild 81384788765712384 is on shard 7 of 17
	// (serenity's shard_id doc, computed by the docs' formula).
	if got := ShardOf("81384788765712384", 17); got != 7 {
		t.Errorf("ShardOf = %d, want 7", got)
	}
	if ShardOf(GuildID, 2) != 1 || ShardOf(guildOnShard0, 2) != 0 {
		t.Errorf("test guilds on the wrong shards: %d, %d", ShardOf(GuildID, 2), ShardOf(guildOnShard0, 2))
	}
	for _, id := range []string{GuildID, guildOnShard0} {
		if ShardOf(id, 1) != 0 {
			t.Errorf("ShardOf(%s, 1) != 0", id)
		}
	}
}

// TestShardRouting: guild events reach only the shard of their guild, DMs
// only shard 0, and an unsharded session everything; READY lists each
// shard's guilds.
func TestShardRouting(t *testing.T) {
	s := New(t)
	s.SetIdentifyWindow(0)
	s.AddGuild(guildOnShard0)
	c0, c1 := dialGateway(t, s), dialGateway(t, s)
	for i, c := range []*rawClient{c0, c1} {
		f := c.identify([]int{i, 2})
		var r readyJSON
		if f.Type != "READY" || json.Unmarshal(f.D, &r) != nil {
			t.Fatalf("shard %d: %s %s, want READY", i, f.Type, f.D)
		}
		want := map[int]string{0: guildOnShard0, 1: GuildID}[i]
		if len(r.Shard) != 2 || r.Shard[0] != i || r.Shard[1] != 2 || len(r.Guilds) != 1 || r.Guilds[0].ID != want {
			t.Errorf("shard %d READY: %s", i, f.D)
		}
	}
	s.WaitShards(t, time.Second, Shard{0, 2}, Shard{1, 2})

	u := User{ID: "700000000000000001", Name: "reader"}
	s.SendMessage(t, Message{Content: "<@" + BotID + "> hi", Author: u, GuildID: guildOnShard0, ChannelID: "800000000000000001", Mentions: []User{Bot}})
	s.SendMention(t, u, "hello") // GuildID: shard 1
	s.SendDM(t, u, "", "a DM")
	s.SendSlash(t, Slash{Name: "help", User: u}) // a DM interaction
	for _, want := range []struct {
		c     *rawClient
		event string
		text  string
	}{
		{c0, "MESSAGE_CREATE", guildOnShard0},
		{c0, "MESSAGE_CREATE", "a DM"},
		{c0, "INTERACTION_CREATE", `"name":"help"`},
		{c1, "MESSAGE_CREATE", GuildID},
	} {
		f := want.c.read()
		if f.Type != want.event || !strings.Contains(string(f.D), want.text) {
			t.Errorf("got %s %.120s, want %s with %s", f.Type, f.D, want.event, want.text)
		}
	}
	// Nothing else arrived: a heartbeat's ACK is the next frame on both.
	for i, c := range []*rawClient{c0, c1} {
		if err := c.ws.WriteJSON(map[string]any{"op": 1, "d": nil}); err != nil {
			t.Fatal(err)
		}
		if f := c.read(); f.Op != 11 {
			t.Errorf("shard %d got %s %.120s, want only its own events", i, f.Type, f.D)
		}
	}
	got := map[string][]Shard{}
	for _, d := range s.Deliveries("MESSAGE_CREATE") {
		got[d.Guild] = append(got[d.Guild], d.Shard)
	}
	if len(got[""]) != 1 || got[""][0] != (Shard{0, 2}) || len(got[GuildID]) != 1 || got[GuildID][0] != (Shard{1, 2}) {
		t.Errorf("deliveries: %v", got)
	}

	// An unsharded session gets every guild's events and DMs.
	all := dialGateway(t, s)
	if f := all.identify(nil); f.Type != "READY" {
		t.Fatalf("unsharded: %s", f.Type)
	}
	s.SendMention(t, u, "to everyone")
	if f := all.read(); f.Type != "MESSAGE_CREATE" || !strings.Contains(string(f.D), "to everyone") {
		t.Errorf("unsharded session got %s %.120s", f.Type, f.D)
	}
}

// TestShardIdentifyRules: an invalid shard is closed with 4010, too few
// shards for the bot's guilds with 4011, an IDENTIFY in a max_concurrency
// bucket taken within the window gets op 9; GET /gateway/bot recommends
// shards and says max_concurrency.
func TestShardIdentifyRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shard  []int
		guilds int
		code   int
	}{
		{"id equal to count", []int{2, 2}, 0, 4010},
		{"negative id", []int{-1, 2}, 0, 4010},
		{"zero count", []int{0, 0}, 0, 4010},
		{"not a pair", []int{0}, 0, 4010},
		{"unsharded in 2501 guilds", nil, 2501, 4011},
		{"2 shards for 5001 guilds", []int{0, 2}, 5001, 4011},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			s := New(t)
			s.SetGuildCount(tc.guilds)
			c := dialGateway(t, s)
			d := map[string]any{"token": "Bot test-token", "intents": 4608, "properties": map[string]string{}, "shard": tc.shard}
			if err := c.ws.WriteJSON(map[string]any{"op": 2, "d": d}); err != nil {
				t.Fatal(err)
			}
			if code := c.closeCode(); code != tc.code {
				t.Errorf("closed with %d, want %d", code, tc.code)
			}
		})
	}
	t.Run("enough shards", func(t *testing.T) {
		s := New(t)
		s.SetGuildCount(5000)
		if f := dialGateway(t, s).identify([]int{1, 2}); f.Type != "READY" {
			t.Errorf("[1, 2] in 5000 guilds: %s", f.Type)
		}
	})

	t.Run("max_concurrency", func(t *testing.T) {
		s := New(t)
		s.SetGuildCount(3500)
		s.SetMaxConcurrency(2)
		s.SetIdentifyWindow(300 * time.Millisecond)
		r := do(t, s, "GET", "/gateway/bot", nil)
		limit, _ := r.body["session_start_limit"].(map[string]any)
		if r.body["shards"] != 4.0 || limit["max_concurrency"] != 2.0 {
			t.Errorf("GET /gateway/bot = %v, want 4 shards (3500 guilds) and max_concurrency 2", r.body)
		}
		// Buckets 0 and 1 may start together; shard 2 shares shard 0's.
		for i := range 2 {
			if f := dialGateway(t, s).identify([]int{i, 4}); f.Type != "READY" {
				t.Errorf("shard %d: %s, want READY", i, f.Type)
			}
		}
		c := dialGateway(t, s)
		if f := c.identify([]int{2, 4}); f.Op != 9 || string(f.D) != "false" {
			t.Errorf("shard 2 at once: op %d %s, want op 9 false", f.Op, f.D)
		}
		time.Sleep(350 * time.Millisecond) // the window passes
		if f := dialGateway(t, s).identify([]int{2, 4}); f.Type != "READY" {
			t.Errorf("shard 2 after the window: %s, want READY", f.Type)
		}
		if r := do(t, s, "GET", "/gateway/bot", nil); r.body["session_start_limit"].(map[string]any)["remaining"] != 997.0 {
			t.Errorf("remaining after 3 sessions: %v", r.body)
		}
	})
}
