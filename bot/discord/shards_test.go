package discord

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
)

// A guild on shard 0 of 2; discordtest.GuildID is on shard 1.
const guildOnShard0 = "900000000004194307"

func TestShardsPlan(t *testing.T) {
	for _, tc := range []struct {
		name        string
		s           Shards
		recommended int
		count       int
		ids         []int
		sharded     bool
		registers   bool
		err         string // from check or plan
	}{
		{"zero: unsharded", Shards{}, 1, 1, []int{0}, false, true, ""},
		{"zero ignores the recommendation", Shards{}, 4, 1, []int{0}, false, true, ""},
		{"count, all here", Shards{Count: 3}, 1, 3, []int{0, 1, 2}, true, true, ""},
		{"one of two", Shards{Count: 2, IDs: []int{1}}, 1, 2, []int{1}, true, false, ""},
		{"several, sorted", Shards{Count: 4, IDs: []int{3, 0}}, 1, 4, []int{0, 3}, true, true, ""},
		{"auto", Shards{Auto: true}, 3, 3, []int{0, 1, 2}, true, true, ""},
		{"auto, one", Shards{Auto: true}, 1, 1, []int{0}, false, true, ""},
		{"auto, one ID", Shards{Auto: true, IDs: []int{2}}, 3, 3, []int{2}, true, false, ""},
		{"auto, ID beyond", Shards{Auto: true, IDs: []int{3}}, 3, 0, nil, false, false, "among the 3 Discord recommends"},
		{"ID equal to count", Shards{Count: 2, IDs: []int{2}}, 1, 0, nil, false, false, "shard 2 does not exist"},
		{"ID without count", Shards{IDs: []int{1}}, 1, 0, nil, false, false, "shard 1 does not exist"},
		{"negative ID", Shards{Count: 2, IDs: []int{-1}}, 1, 0, nil, false, false, "shard -1"},
		{"ID twice", Shards{Count: 2, IDs: []int{1, 1}}, 1, 0, nil, false, false, "twice"},
		{"negative count", Shards{Count: -1}, 1, 0, nil, false, false, "want a count"},
		{"auto and a count", Shards{Count: 2, Auto: true}, 1, 0, nil, false, false, "want a count"},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			err := tc.s.check()
			var p shardPlan
			if err == nil {
				p, err = tc.s.plan(tc.recommended)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.count != tc.count || !slices.Equal(p.ids, tc.ids) || p.sharded() != tc.sharded || p.registers() != tc.registers {
				t.Errorf("plan = %+v (sharded %v, registers %v), want %d %v %v %v", p, p.sharded(), p.registers(), tc.count, tc.ids, tc.sharded, tc.registers)
			}
		})
	}
}

// TestIdentifyGate: with max_concurrency 2, shards 0 and 1 identify at
// once, and each bucket's next IDENTIFY waits the window after its last,
// in the order the shards queued; a shard that stops waiting gives up its
// place.
func TestIdentifyGate(t *testing.T) {
	const window = 150 * time.Millisecond
	g := newIdentifyGate(2, window)
	type went struct {
		shard int
		at    time.Time
	}
	var mu sync.Mutex
	var order []went
	var wg sync.WaitGroup
	start := time.Now()
	for shard := range 5 {
		ticket := g.queue(shard) // queued in order, as Run does
		wg.Go(func() {
			if !ticket.wait(t.Context()) {
				t.Errorf("shard %d: wait ended", shard)
				return
			}
			now := time.Now()
			ticket.identified(now)
			mu.Lock()
			order = append(order, went{shard, now})
			mu.Unlock()
			ticket.release()
		})
	}
	wg.Wait()
	at := map[int]time.Duration{}
	var bucket0 []int
	for _, w := range order {
		at[w.shard] = w.at.Sub(start)
		if w.shard%2 == 0 {
			bucket0 = append(bucket0, w.shard)
		}
	}
	if !slices.Equal(bucket0, []int{0, 2, 4}) {
		t.Errorf("bucket 0 identified in the order %v, want 0 2 4", bucket0)
	}
	if at[0] > window/2 || at[1] > window/2 {
		t.Errorf("shards 0 and 1 waited %v and %v; they are in different buckets", at[0], at[1])
	}
	for _, pair := range [][2]int{{0, 2}, {2, 4}, {1, 3}} {
		if gap := at[pair[1]] - at[pair[0]]; gap < window {
			t.Errorf("shard %d identified %v after shard %d, want at least %v", pair[1], gap, pair[0], window)
		}
	}

	// Giving up: a waiter whose context ends leaves the line, and the one
	// behind it goes when the turn is released.
	g = newIdentifyGate(1, 0)
	first := g.queue(0)
	ctx, cancel := context.WithCancel(t.Context())
	quitter, last := g.queue(1), g.queue(2)
	done := make(chan bool)
	go func() { done <- quitter.wait(ctx) }()
	cancel()
	if <-done {
		t.Error("a cancelled wait reported its turn")
	}
	if !first.wait(t.Context()) {
		t.Fatal("first ticket did not get its turn")
	}
	first.release()
	waited := make(chan bool)
	go func() { waited <- last.wait(t.Context()) }()
	select {
	case ok := <-waited:
		if !ok {
			t.Error("last ticket's wait failed")
		}
	case <-time.After(wait):
		t.Fatal("the ticket behind the one that gave up never got its turn")
	}
}

// askIn asks /ask in guild ("" for a DM) and waits for the answer.
func askIn(t *testing.T, fake *discordtest.Server, guild, question string) {
	t.Helper()
	ch := discordtest.ChannelID
	if guild != "" && guild != discordtest.GuildID {
		ch = "800000000000000077"
		fake.AddChannel(discordtest.Channel{ID: ch, GuildID: guild, Type: discordtest.ChannelText, Name: "other"})
	}
	in := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user(7), GuildID: guild, ChannelID: ch,
		Options: []discordtest.Option{{Name: "question", Value: question}}})
	fake.WaitCall(t, wait, "answer to "+question, finalEdit(in))
}

func isRegistration(c discordtest.Call) bool {
	return c.Method == "PUT" && strings.HasSuffix(c.Path, "/commands")
}

// TestShardsInOneProcess: a bot with two shards opens two gateway
// connections, identifying [0, 2] and then [1, 2] (max_concurrency 1),
// answers in a guild of each shard and in DMs (shard 0), and registers its
// commands once.
func TestShardsInOneProcess(t *testing.T) {
	fake := discordtest.New(t)
	fake.AddGuild(guildOnShard0)
	h := start(t, discordtest.GuildID, withFake(fake), withIdentifyWindow(200*time.Millisecond),
		withConfig(func(c *Config) { c.Shards = Shards{Count: 2} }))
	fake.WaitShards(t, wait, discordtest.Shard{ID: 0, Count: 2}, discordtest.Shard{ID: 1, Count: 2})
	ids := fake.Identifies()
	if len(ids) != 2 || !slices.Equal(ids[0].Shard, []int{0, 2}) || !slices.Equal(ids[1].Shard, []int{1, 2}) {
		t.Fatalf("IDENTIFYs: %+v, want [0 2] then [1 2]", ids)
	}
	if gap := ids[1].At.Sub(ids[0].At); gap < 200*time.Millisecond {
		t.Errorf("shard 1 identified %v after shard 0; max_concurrency 1 wants the window between them", gap)
	}
	askIn(t, fake, guildOnShard0, "A question on shard 0?")
	askIn(t, fake, discordtest.GuildID, "A question on shard 1?")
	askIn(t, fake, "", "A question in a DM?")
	if got := fake.Deliveries("INTERACTION_CREATE"); len(got) != 3 || got[0].Shard.ID != 0 || got[1].Shard.ID != 1 || got[2].Shard.ID != 0 {
		t.Errorf("deliveries %+v, want shards 0, 1, 0", got)
	}
	if n := len(fake.Find(isRegistration)); n != 1 {
		t.Errorf("%d command registrations, want 1", n)
	}
	if !h.waitLog(t, `"shard":1`) {
		t.Errorf("shard 1's log lines do not name it:\n%s", h.logs.String())
	}
}

// TestShardsAuto: VERBATIM_DISCORD_SHARDS=auto takes GET /gateway/bot's
// recommendation (3 for 2,600 guilds), and with max_concurrency 3 starts
// them together.
func TestShardsAuto(t *testing.T) {
	fake := discordtest.New(t)
	fake.SetGuildCount(2600)
	fake.SetMaxConcurrency(3)
	start(t, discordtest.GuildID, withFake(fake), withConfig(func(c *Config) { c.Shards = Shards{Auto: true} }))
	fake.WaitShards(t, wait, discordtest.Shard{ID: 0, Count: 3}, discordtest.Shard{ID: 1, Count: 3}, discordtest.Shard{ID: 2, Count: 3})
	ids := fake.Identifies()
	if len(ids) != 3 {
		t.Fatalf("IDENTIFYs: %+v", ids)
	}
	if spread := ids[2].At.Sub(ids[0].At); spread > time.Second {
		t.Errorf("3 shards in 3 buckets took %v to identify, want them together", spread)
	}
	fake.WaitCalls(t, wait, 1, "command registration", isRegistration)
}

// TestShardWithoutShardZero: a process running only shard 1 answers its
// guilds, and leaves the commands to the process running shard 0.
func TestShardWithoutShardZero(t *testing.T) {
	fake := discordtest.New(t)
	h := start(t, discordtest.GuildID, withFake(fake), withConfig(func(c *Config) { c.Shards = Shards{Count: 2, IDs: []int{1}} }))
	fake.WaitShards(t, wait, discordtest.Shard{ID: 1, Count: 2})
	askIn(t, fake, discordtest.GuildID, "A question on shard 1?")
	if n := len(fake.Find(isRegistration)); n != 0 {
		t.Errorf("%d command registrations from a process without shard 0", n)
	}
	if !h.waitLog(t, "commands left to the process running shard 0") {
		t.Errorf("no log line saying who registers:\n%s", h.logs.String())
	}
}

// TestShardingRequired: a bot in more guilds than one connection may hold
// stops with 4011 and says why, instead of reconnecting.
func TestShardingRequired(t *testing.T) {
	fake := discordtest.New(t)
	fake.SetGuildCount(2600)
	b, err := New(Config{Token: testToken, APIURL: fake.URL(), VotesFile: t.TempDir() + "/v.jsonl"}, newFakeAnswerer(), testLibrary)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	err = b.Run(ctx)
	var gerr *GatewayError
	if !errors.As(err, &gerr) || gerr.Code != 4011 || !strings.Contains(err.Error(), "sharding required") {
		t.Fatalf("Run = %v, want a GatewayError 4011", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Run waited for its context")
	}

	// A shard that does not exist is refused before connecting.
	if _, err := New(Config{Token: testToken, VotesFile: "v", Shards: Shards{Count: 2, IDs: []int{2}}}, newFakeAnswerer(), testLibrary); err == nil || !strings.Contains(err.Error(), "shard 2 does not exist") {
		t.Errorf("New with shard 2 of 2 = %v", err)
	}
	fake.SetGuildCount(0)
	b, err = New(Config{Token: testToken, APIURL: fake.URL(), VotesFile: t.TempDir() + "/v.jsonl", Shards: Shards{Auto: true, IDs: []int{1}}}, newFakeAnswerer(), testLibrary)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(ctx); err == nil || !strings.Contains(err.Error(), "among the 1 Discord recommends") {
		t.Errorf("Run with auto and shard 1 of the recommended 1 = %v", err)
	}
}
