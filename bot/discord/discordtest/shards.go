package discordtest

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Sharding, as Discord does it
// (https://discord.com/developers/docs/topics/gateway#sharding): IDENTIFY
// may carry shard [shard_id, num_shards]; the events of a guild go to the
// sessions whose shard_id is (guild_id >> 22) % num_shards, and DMs (every
// event without a guild) only to shard 0. A session that sent no shard is
// [0, 1] and gets everything. A shard_id outside 0 … num_shards-1 is closed
// with 4010; a session that would hold more than 2,500 guilds with 4011
// (sharding required). IDENTIFYs are limited to max_concurrency per 5
// seconds, one per bucket shard_id % max_concurrency: another in the same
// bucket within the window gets op 9 (Invalid Session, not resumable), as
// on Discord.

// MaxGuildsPerShard is the most guilds one session may hold.
const MaxGuildsPerShard = 2500

// IdentifyWindow is how long a max_concurrency bucket stays taken after an
// IDENTIFY Discord accepted.
const IdentifyWindow = 5 * time.Second

// Shard is a session's [shard_id, num_shards].
type Shard struct{ ID, Count int }

func (s Shard) String() string { return fmt.Sprintf("[%d, %d]", s.ID, s.Count) }

// unsharded is the shard of a session that identified without one.
var unsharded = Shard{0, 1}

// ShardOf is the shard that receives the events of guildID when the bot
// runs count shards: (guild_id >> 22) % count. It panics on an ID that is
// not a snowflake (a broken test).
func ShardOf(guildID string, count int) int {
	id, err := strconv.ParseUint(guildID, 10, 64)
	if err != nil || count < 1 {
		panic(fmt.Sprintf("discordtest: ShardOf(%q, %d)", guildID, count))
	}
	return int((id >> 22) % uint64(count))
}

// receives reports whether a session of shard sh gets an event of guildID
// ("" for a DM).
func (sh Shard) receives(guildID string) bool {
	if guildID == "" {
		return sh.ID == 0
	}
	return ShardOf(guildID, sh.Count) == sh.ID
}

type shardState struct {
	guilds         []string // guilds the bot is in, by ID; the first is GuildID
	guildCount     int      // all guilds the bot is in (≥ len(guilds)); 0: len(guilds)
	maxConcurrency int
	identifyWindow time.Duration
	lastIdentify   map[int]time.Time // bucket → last accepted IDENTIFY
	sessionShard   map[string]Shard
}

func (s *shardState) init() {
	s.guilds = []string{GuildID}
	s.maxConcurrency = 1
	s.identifyWindow = IdentifyWindow
	s.lastIdentify = map[int]time.Time{}
	s.sessionShard = map[string]Shard{}
}

func (s *shardState) totalGuilds() int { return max(s.guildCount, len(s.guilds)) }

// recommended is GET /gateway/bot's shards: one per 1,000 guilds, as
// Discord recommends.
func (s *shardState) recommended() int { return max(1, (s.totalGuilds()+999)/1000) }

// AddGuild makes the bot a member of guild id (a snowflake): READY lists
// it to the shard it belongs to, and its roles can be read.
func (s *Server) AddGuild(id string) {
	ShardOf(id, 1) // a snowflake, or the test is broken
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.gw.shards.guilds, id) {
		s.gw.shards.guilds = append(s.gw.shards.guilds, id)
	}
}

// knownGuildLocked reports whether the bot is in guild id.
func (s *Server) knownGuildLocked(id string) bool {
	return slices.Contains(s.gw.shards.guilds, id)
}

// SetGuildCount says the bot is in n guilds in all (those added with
// AddGuild and unnamed others): GET /gateway/bot recommends one shard per
// 1,000 of them, and an IDENTIFY whose shard would hold more than
// MaxGuildsPerShard is closed with 4011.
func (s *Server) SetGuildCount(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gw.shards.guildCount = n
}

// SetMaxConcurrency sets session_start_limit.max_concurrency (default 1):
// how many IDENTIFYs, one per bucket shard_id % n, may come within
// IdentifyWindow.
func (s *Server) SetMaxConcurrency(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gw.shards.maxConcurrency = max(1, n)
}

// SetIdentifyWindow shortens IdentifyWindow, for tests of the limit that
// should not wait 5 s.
func (s *Server) SetIdentifyWindow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gw.shards.identifyWindow = d
}

// checkShardLocked validates an IDENTIFY's shard field (nil: none sent)
// and returns the session's shard, or the close code refusing it.
func (s *Server) checkShardLocked(field []int) (Shard, int) {
	sh := unsharded
	if field != nil {
		if len(field) != 2 || field[1] < 1 || field[0] < 0 || field[0] >= field[1] {
			return Shard{}, 4010
		}
		sh = Shard{field[0], field[1]}
	}
	if (s.gw.shards.totalGuilds()+sh.Count-1)/sh.Count > MaxGuildsPerShard {
		return Shard{}, 4011
	}
	return sh, 0
}

// identifyAllowedLocked applies max_concurrency: it reports whether an
// IDENTIFY of sh may start a session now, and if so takes its bucket.
func (s *Server) identifyAllowedLocked(sh Shard, now time.Time) bool {
	st := &s.gw.shards
	bucket := sh.ID % st.maxConcurrency
	if last, ok := st.lastIdentify[bucket]; ok && now.Sub(last) < st.identifyWindow {
		return false
	}
	st.lastIdentify[bucket] = now
	return true
}

// guildsOfLocked lists the known guilds whose events sh receives.
func (s *Server) guildsOfLocked(sh Shard) []any {
	out := []any{}
	for _, id := range s.gw.shards.guilds {
		if sh.receives(id) {
			out = append(out, map[string]any{"id": id, "unavailable": true})
		}
	}
	return out
}

// Shards lists the shards of the gateway connections that are identified
// or resumed, sorted.
func (s *Server) Shards() []Shard {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Shard
	for _, c := range s.connList(true) {
		out = append(out, c.shard)
	}
	slices.SortFunc(out, func(a, b Shard) int {
		if a.Count != b.Count {
			return a.Count - b.Count
		}
		return a.ID - b.ID
	})
	return out
}

// WaitShards waits until a connection of every shard in want is ready.
func (s *Server) WaitShards(tb testing.TB, timeout time.Duration, want ...Shard) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		missing := false
		for _, w := range want {
			found := false
			for _, c := range s.connList(true) {
				found = found || c.shard == w
			}
			missing = missing || !found
		}
		ch := s.changed
		s.mu.Unlock()
		if !missing {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("shards %v not all connected after %v; connected: %v; events: %+v", want, timeout, s.Shards(), s.GatewayEvents())
			return
		}
	}
}

// Deliveries lists the dispatches of event (such as "MESSAGE_CREATE")
// the gateway sent, one per receiving connection, oldest first: each
// names the shard that received it and the guild it was about.
func (s *Server) Deliveries(event string) []GatewayEvent {
	var out []GatewayEvent
	for _, e := range s.GatewayEvents() {
		if e.Kind == "dispatch" && e.Event == event {
			out = append(out, e)
		}
	}
	return out
}

// gatewayBot answers GET /gateway/bot: the URL, the recommended shards and
// the session start limit with max_concurrency.
func (s *Server) gatewayBot() response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok(map[string]any{
		"url":    s.gatewayURL(),
		"shards": s.gw.shards.recommended(),
		"session_start_limit": map[string]int{
			"total": 1000, "remaining": max(0, 1000-s.gw.nSessions), "reset_after": 0, "max_concurrency": s.gw.shards.maxConcurrency,
		},
	})
}
