package discord

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sharding (https://discord.com/developers/docs/topics/gateway#sharding).
// Discord splits a bot's events between gateway sessions: a session that
// identified with shard [id, count] receives the events of the guilds
// whose (guild_id >> 22) % count is id, and DMs reach shard 0 only. A
// process runs some or all of the shards, one gateway connection each,
// every one dispatching to the same Bot; several processes split the
// shards between them and share the index, memory and votes through the
// database. Discord starts at most max_concurrency sessions per 5 seconds
// (one per bucket id % max_concurrency); the shards of one process wait
// for their bucket in order (identifyGate), and a shard started by another
// process meanwhile is answered with op 9, after which it waits and tries
// again.

// Shards says which gateway shards a Bot runs. The zero value is one
// connection for every guild, without sharding.
type Shards struct {
	// Count is the total number of shards of the bot, across processes;
	// 0 or 1 is no sharding (unless Auto).
	Count int
	// Auto takes the count Discord recommends (GET /gateway/bot's
	// shards) instead of Count.
	Auto bool
	// IDs are the shards this process runs; empty: all of them.
	IDs []int
}

func (s Shards) String() string {
	count := strconv.Itoa(max(s.Count, 1))
	if s.Auto {
		count = "auto"
	}
	ids := "all"
	if len(s.IDs) > 0 {
		parts := make([]string, len(s.IDs))
		for i, id := range s.IDs {
			parts[i] = strconv.Itoa(id)
		}
		ids = strings.Join(parts, ",")
	}
	return count + " (running " + ids + ")"
}

// check validates the fields that do not need Discord's answer.
func (s Shards) check() error {
	if s.Count < 0 || (s.Auto && s.Count > 0) {
		return fmt.Errorf("discord: shards %s: want a count ≥ 1 or auto", s)
	}
	seen := map[int]bool{}
	for _, id := range s.IDs {
		if id < 0 || (!s.Auto && id >= max(s.Count, 1)) {
			return fmt.Errorf("discord: shard %d does not exist with %s shards (IDs go from 0 to the count less one)", id, s)
		}
		if seen[id] {
			return fmt.Errorf("discord: shard %d listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// shardPlan is what a Run connects: count shards in all, ids of them here.
type shardPlan struct {
	count int
	ids   []int
}

// plan resolves s against Discord's recommended count.
func (s Shards) plan(recommended int) (shardPlan, error) {
	count := max(s.Count, 1)
	if s.Auto {
		count = max(recommended, 1)
	}
	p := shardPlan{count: count, ids: slices.Clone(s.IDs)}
	if len(p.ids) == 0 {
		for id := range count {
			p.ids = append(p.ids, id)
		}
	}
	slices.Sort(p.ids)
	for _, id := range p.ids {
		if id >= count {
			return p, fmt.Errorf("discord: shard %d does not exist among the %d Discord recommends (VERBATIM_DISCORD_SHARDS=auto)", id, count)
		}
	}
	return p, nil
}

// sharded reports whether IDENTIFY carries a shard.
func (p shardPlan) sharded() bool { return p.count > 1 }

// registers reports whether this process registers the commands: the one
// that runs shard 0, so that they are registered once.
func (p shardPlan) registers() bool { return p.ids[0] == 0 }

// identifyGate keeps IDENTIFYs within Discord's max_concurrency: in each
// bucket (shard ID % max_concurrency) one at a time, at least window after
// the previous one, in the order they queued.
type identifyGate struct {
	mu             sync.Mutex
	maxConcurrency int
	window         time.Duration
	buckets        map[int]*gateBucket
}

type gateBucket struct {
	busy    bool
	next    time.Time // the earliest the next IDENTIFY may go
	waiters []*identifyTicket
}

// identifyTicket is one place in a bucket's line.
type identifyTicket struct {
	gate   *identifyGate
	bucket int
	turn   chan struct{} // closed when it is this ticket's turn
	sent   time.Time
	done   bool // released; guarded by gate.mu
}

func newIdentifyGate(maxConcurrency int, window time.Duration) *identifyGate {
	return &identifyGate{maxConcurrency: max(maxConcurrency, 1), window: window, buckets: map[int]*gateBucket{}}
}

// queue takes a place in line for an IDENTIFY of shard.
func (g *identifyGate) queue(shard int) *identifyTicket {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := shard % g.maxConcurrency
	b := g.buckets[key]
	if b == nil {
		b = &gateBucket{}
		g.buckets[key] = b
	}
	t := &identifyTicket{gate: g, bucket: key, turn: make(chan struct{})}
	if b.busy {
		b.waiters = append(b.waiters, t)
	} else {
		b.busy = true
		close(t.turn)
	}
	return t
}

// wait blocks until the ticket's turn has come and the window since the
// bucket's last IDENTIFY has passed; false when ctx ended first (the
// ticket is then given up).
func (t *identifyTicket) wait(ctx context.Context) bool {
	select {
	case <-t.turn:
	case <-ctx.Done():
		t.give()
		return false
	}
	t.gate.mu.Lock()
	next := t.gate.buckets[t.bucket].next
	t.gate.mu.Unlock()
	if !sleep(ctx, time.Until(next)) {
		t.release()
		return false
	}
	return true
}

// identified records that the IDENTIFY was sent at (just before writing
// it).
func (t *identifyTicket) identified(at time.Time) { t.sent = at }

// release ends the ticket's turn: the bucket's next IDENTIFY may go a
// window after this one's (or at once, if none was sent). Releasing again
// does nothing.
func (t *identifyTicket) release() {
	g := t.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.done {
		return
	}
	t.done = true
	b := g.buckets[t.bucket]
	if !t.sent.IsZero() {
		b.next = t.sent.Add(g.window)
	}
	if len(b.waiters) == 0 {
		b.busy = false
		return
	}
	next := b.waiters[0]
	b.waiters = b.waiters[1:]
	close(next.turn)
}

// give leaves the line without a turn (or releases the turn just given).
func (t *identifyTicket) give() {
	g := t.gate
	g.mu.Lock()
	b := g.buckets[t.bucket]
	for i, w := range b.waiters {
		if w == t {
			b.waiters = slices.Delete(b.waiters, i, i+1)
			g.mu.Unlock()
			return
		}
	}
	g.mu.Unlock()
	t.release() // the turn came as ctx ended
}
