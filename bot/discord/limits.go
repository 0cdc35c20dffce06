package discord

import (
	"sync"
	"time"

	"github.com/verbatimbot/verbatim/bot"
)

// rateLimiter is a token bucket per user: perMinute questions at once, refilled
// at perMinute a minute.
type rateLimiter struct {
	perMinute float64
	now       func() time.Time
	mu        sync.Mutex
	users     map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxTrackedUsers bounds the limiter's memory; full buckets are forgotten
// first (forgetting one only lets that user start full again).
const maxTrackedUsers = 10000

func newRateLimiter(perMinute int, now func() time.Time) *rateLimiter {
	return &rateLimiter{perMinute: float64(perMinute), now: now, users: make(map[string]*bucket)}
}

// allow takes a token for user; when none is left it reports how long until
// one is.
func (l *rateLimiter) allow(user string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	rate := l.perMinute / 60 // tokens per second
	b, ok := l.users[user]
	if !ok {
		if len(l.users) >= maxTrackedUsers {
			l.prune(now, rate)
		}
		b = &bucket{tokens: l.perMinute, at: now}
		l.users[user] = b
	}
	b.tokens = min(l.perMinute, b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

func (l *rateLimiter) prune(now time.Time, rate float64) {
	for u, b := range l.users {
		if b.tokens+now.Sub(b.at).Seconds()*rate >= l.perMinute {
			delete(l.users, u)
		}
	}
}

// historyStore keeps the last turns of each user's DM conversation.
type historyStore struct {
	turns    int
	maxUsers int
	mu       sync.Mutex
	byUser   map[string][]bot.Turn
	order    []string // users, least recently updated first
}

func newHistoryStore(turns, maxUsers int) *historyStore {
	return &historyStore{turns: turns, maxUsers: maxUsers, byUser: make(map[string][]bot.Turn)}
}

// get returns a copy of user's turns, oldest first.
func (h *historyStore) get(user string) []bot.Turn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bot.Turn(nil), h.byUser[user]...)
}

// add appends a turn, keeping the last h.turns.
func (h *historyStore) add(user string, t bot.Turn) {
	if h.turns == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	turns := append(h.byUser[user], t)
	if len(turns) > h.turns {
		turns = append([]bot.Turn(nil), turns[len(turns)-h.turns:]...)
	}
	h.byUser[user] = turns
	for i, u := range h.order {
		if u == user {
			h.order = append(h.order[:i], h.order[i+1:]...)
			break
		}
	}
	h.order = append(h.order, user)
	for len(h.order) > h.maxUsers {
		delete(h.byUser, h.order[0])
		h.order = h.order[1:]
	}
}
