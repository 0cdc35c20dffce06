package discordtest

import (
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"time"
)

// RateLimit is a 429 the fake answers with.
type RateLimit struct {
	// RetryAfter is how long the client must wait.
	RetryAfter time.Duration
	// Global makes it the bot's global limit: until RetryAfter has passed,
	// every request but the interaction endpoints gets a 429 too.
	Global bool
	// Shared makes it a limit on the resource (scope "shared"), which
	// Discord does not count as an invalid request.
	Shared bool
}

type rateLimitRule struct {
	match func(Call) bool
	rl    RateLimit
	left  int
}

// routeLimit is a per-route bucket the fake enforces: limit requests per
// window for each top-level resource (channel, guild, webhook token).
type routeLimit struct {
	match  func(Call) bool
	limit  int
	window time.Duration
}

type bucketState struct {
	start time.Time
	count int
}

// RateLimitNext makes the next n calls matching match answer 429 with rl.
func (s *Server) RateLimitNext(match func(Call) bool, rl RateLimit, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rest.limited = append(s.rest.limited, &rateLimitRule{match: match, rl: rl, left: n})
}

// EnforceLimit gives calls matching match a real bucket: limit calls per
// window for each top-level resource, announced in X-RateLimit headers on
// every answer and enforced with 429s.
func (s *Server) EnforceLimit(match func(Call) bool, limit int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rest.limits = append(s.rest.limits, &routeLimit{match: match, limit: limit, window: window})
}

func bucketHash(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return fmt.Sprintf("%016x", h.Sum64())
}

func secs(d time.Duration) string {
	return strconv.FormatFloat(math.Max(d.Seconds(), 0), 'f', 3, 64)
}

// tooMany is Discord's 429: a JSON body with retry_after in seconds and
// global, and the rate-limit headers.
func tooMany(rt route, rl RateLimit, limit int) response {
	scope := "user"
	switch {
	case rl.Global:
		scope = "global"
	case rl.Shared:
		scope = "shared"
	}
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
	h.Set("X-RateLimit-Scope", scope)
	if rl.Global {
		h.Set("X-RateLimit-Global", "true")
	} else {
		reset := time.Now().Add(rl.RetryAfter)
		h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(reset.UnixMilli())/1000, 'f', 3, 64))
		h.Set("X-RateLimit-Reset-After", secs(rl.RetryAfter))
		h.Set("X-RateLimit-Bucket", bucketHash(rt.name))
	}
	msg := "You are being rate limited."
	if rl.Shared {
		msg = "The resource is being rate limited."
	}
	return response{status: http.StatusTooManyRequests, header: h, body: map[string]any{
		"message": msg, "retry_after": rl.RetryAfter.Seconds(), "global": rl.Global,
	}}
}

// rateLimit answers 429 when a global limit holds, an injected 429
// matches, or an enforced bucket is exhausted; otherwise it counts the call
// in its bucket.
func (s *Server) rateLimit(c Call, rt route) (response, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if !rt.interaction && now.Before(s.rest.globalUntil) {
		return tooMany(rt, RateLimit{RetryAfter: s.rest.globalUntil.Sub(now), Global: true}, 0), true
	}
	for _, r := range s.rest.limited {
		if r.left > 0 && r.match(c) {
			r.left--
			if r.rl.Global {
				s.rest.globalUntil = now.Add(r.rl.RetryAfter)
			}
			return tooMany(rt, r.rl, 5), true
		}
	}
	for _, l := range s.rest.limits {
		if !l.match(c) {
			continue
		}
		b := s.bucketLocked(rt, l, now)
		if b.count >= l.limit {
			return tooMany(rt, RateLimit{RetryAfter: b.start.Add(l.window).Sub(now)}, l.limit), true
		}
		b.count++
	}
	return response{}, false
}

func (s *Server) bucketLocked(rt route, l *routeLimit, now time.Time) *bucketState {
	key := fmt.Sprintf("%p/%s/%s", l, rt.name, rt.major)
	b, ok := s.rest.buckets[key]
	if !ok || now.Sub(b.start) >= l.window {
		b = &bucketState{start: now}
		s.rest.buckets[key] = b
	}
	return b
}

// limitHeaders adds the X-RateLimit headers of the enforced bucket a call
// counted in.
func (s *Server) limitHeaders(c Call, rt route, h http.Header) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.rest.limits {
		if !l.match(c) {
			continue
		}
		if h == nil {
			h = http.Header{}
		}
		b := s.bucketLocked(rt, l, time.Now())
		resetAfter := time.Until(b.start.Add(l.window))
		h.Set("X-RateLimit-Limit", strconv.Itoa(l.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(l.limit-b.count, 0)))
		h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(b.start.Add(l.window).UnixMilli())/1000, 'f', 3, 64))
		h.Set("X-RateLimit-Reset-After", secs(resetAfter))
		h.Set("X-RateLimit-Bucket", bucketHash(rt.name))
		break
	}
	return h
}
