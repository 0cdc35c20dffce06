package discord

import (
	"context"
	"errors"
	"sync"
	"time"
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

// refund gives back the token of a question the bot turned away (queue
// full) or could not take on: it does not count against the user.
func (l *rateLimiter) refund(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.users[user]; ok {
		b.tokens = min(l.perMinute, b.tokens+1)
	}
}

func (l *rateLimiter) prune(now time.Time, rate float64) {
	for u, b := range l.users {
		if b.tokens+now.Sub(b.at).Seconds()*rate >= l.perMinute {
			delete(l.users, u)
		}
	}
}

// errQueueFull: every answer slot is taken and the queue is full.
var errQueueFull = errors.New("answer queue full")

// admission hands out answer slots: a fixed number at once, then a
// first-come first-served queue of bounded length.
type admission struct {
	mu       sync.Mutex
	free     int
	queueLen int
	waiting  []*waiter
}

type waiter struct {
	granted chan struct{} // closed when the waiter gets a slot
	moved   chan struct{} // 1-buffered: its position changed
}

func newAdmission(slots, queueLen int) *admission {
	return &admission{free: slots, queueLen: queueLen}
}

// acquire takes a slot, waiting in line when none is free. onPosition is
// called (on acquire's goroutine) with the waiter's place in line — first
// when it joins, then each time it moves up. It returns errQueueFull when
// the line is full, ctx's error when ctx ends first.
func (a *admission) acquire(ctx context.Context, onPosition func(int)) (release func(), err error) {
	a.mu.Lock()
	if a.free > 0 && len(a.waiting) == 0 {
		a.free--
		a.mu.Unlock()
		return a.releaser(), nil
	}
	if len(a.waiting) >= a.queueLen {
		a.mu.Unlock()
		return nil, errQueueFull
	}
	w := &waiter{granted: make(chan struct{}), moved: make(chan struct{}, 1)}
	a.waiting = append(a.waiting, w)
	pos := len(a.waiting)
	a.mu.Unlock()
	onPosition(pos)
	for {
		select {
		case <-w.granted:
			return a.releaser(), nil
		case <-w.moved:
			if p := a.position(w); p > 0 {
				onPosition(p)
			}
		case <-ctx.Done():
			a.mu.Lock()
			select {
			case <-w.granted: // granted while giving up: hand it on
				a.mu.Unlock()
				a.release()
				return nil, ctx.Err()
			default:
			}
			a.remove(w)
			a.mu.Unlock()
			return nil, ctx.Err()
		}
	}
}

func (a *admission) releaser() func() {
	var once sync.Once
	return func() { once.Do(a.release) }
}

// release gives the slot to the first in line, or back to the pool.
func (a *admission) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.waiting) == 0 {
		a.free++
		return
	}
	w := a.waiting[0]
	a.waiting = a.waiting[1:]
	close(w.granted)
	a.nudgeAll()
}

// remove takes w out of line; a.mu must be held.
func (a *admission) remove(w *waiter) {
	for i, x := range a.waiting {
		if x == w {
			a.waiting = append(a.waiting[:i], a.waiting[i+1:]...)
			a.nudgeAll()
			return
		}
	}
}

func (a *admission) nudgeAll() {
	for _, o := range a.waiting {
		select {
		case o.moved <- struct{}{}:
		default:
		}
	}
}

// position is w's 1-based place in line, 0 when it is not in line.
func (a *admission) position(w *waiter) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, x := range a.waiting {
		if x == w {
			return i + 1
		}
	}
	return 0
}

// busy counts the slots in use and the questions waiting.
func (a *admission) busy(slots int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slots - a.free + len(a.waiting)
}
