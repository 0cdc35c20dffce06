package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Every REST call goes through Bot.do, which wraps discordgo's
// RequestWithBucketID:
//
//   - each call names its rate-limit bucket. discordgo files every edit of
//     every interaction's response under one bucket (EndpointWebhookToken("",
//     "")) and holds it for the length of each request, so concurrent
//     streams queue behind each other process-wide; interaction webhooks
//     are limited per token on Discord, so each token gets its own bucket;
//   - waits for a bucket or for the global limit are context-aware and
//     given up when they would outlast the call's deadline (discordgo
//     sleeps them out regardless);
//   - 429s are retried a bounded number of times after retry_after, and a
//     global one holds back every other call until it passes (discordgo's
//     own 429 retry drops "global" and sleeps without a context);
//   - server errors are retried only where a repeat is harmless: edits,
//     reads, and creates that Discord deduplicates (a channel message with
//     a nonce); an initial interaction response that turns out to have
//     been acknowledged (40060 on the retry) counts as sent; a follow-up
//     that may have been delivered is never sent twice;
//   - the answers Discord counts as invalid requests (401, 403, and 429s
//     other than scope "shared") are counted over 10 minutes, and past a
//     budget far below Discord's 10,000 the bot stops making optional
//     calls (typing, threads, channel messages) until the count falls.

// restError is a failed Discord REST call.
type restError struct {
	Op     string
	Status int // HTTP status; 0 when no answer came
	Code   int // Discord's JSON error code, 0 when none
	Msg    string
	// RetryAfter and Global describe a 429.
	RetryAfter time.Duration
	Global     bool
	err        error
}

func (e *restError) Error() string {
	switch {
	case e.Status == 0:
		return fmt.Sprintf("%s: %v", e.Op, e.err)
	case e.Status == http.StatusTooManyRequests:
		return fmt.Sprintf("%s: 429 rate limited (retry after %v, global %v)", e.Op, e.RetryAfter, e.Global)
	case e.Code != 0:
		return fmt.Sprintf("%s: %d %s (code %d)", e.Op, e.Status, e.Msg, e.Code)
	}
	return fmt.Sprintf("%s: %d %s", e.Op, e.Status, e.Msg)
}

func (e *restError) Unwrap() error { return e.err }

// Discord JSON error codes the bot branches on.
const (
	codeUnknownChannel     = 10003
	codeUnknownMessage     = 10008
	codeUnknownInteraction = 10062
	codeAlreadyAcked       = 40060
	codeMissingAccess      = 50001
	codeEmptyMessage       = 50006
	codeMissingPermissions = 50013
	codeInvalidForm        = 50035
	codeThreadExists       = 160004
)

// discordCode is the Discord error code of err, 0 when it has none.
func discordCode(err error) int {
	var e *restError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func httpStatus(err error) int {
	var e *restError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// errPastDeadline: waiting out a rate limit would outlast the call's
// deadline, so the call was not made.
var errPastDeadline = errors.New("rate limited past the deadline")

// errInvalidBudget: too many invalid requests lately; optional calls wait.
var errInvalidBudget = errors.New("holding back: too many invalid requests in the last 10 minutes")

// retryPolicy says which failures a call may be repeated after.
type retryPolicy int

const (
	// retrySafe: repeating is harmless (edits, reads, deduplicated creates).
	retrySafe retryPolicy = iota
	// retryUnsent: only failures that prove the request had no effect (a
	// 429, a 502, a refused connection) are retried.
	retryUnsent
)

// restCall is one REST request.
type restCall struct {
	op     string // names the call in logs and errors
	method string
	url    string
	bucket string // rate-limit bucket ID
	body   any    // marshalled to JSON; nil sends none
	secret string // redacted from errors (an interaction token)
	policy retryPolicy
	// interaction: an interaction endpoint, which Discord's global rate
	// limit does not bind.
	interaction bool
	// optional: shed when the invalid-request budget is spent.
	optional bool
	// doneCode, when a retry answers with it, means an earlier attempt
	// went through (40060 for an initial response).
	doneCode int
}

// respInfo is what the transport saw of the last answer to a call.
type respInfo struct {
	status int
	header http.Header
}

type respInfoKey struct{}

// recordingTransport notes each answer's status and headers for the call
// that made it (discordgo keeps headers to itself) and counts invalid
// requests.
type recordingTransport struct {
	base    http.RoundTripper
	invalid *invalidCounter
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if info, ok := req.Context().Value(respInfoKey{}).(*respInfo); ok {
		info.status, info.header = resp.StatusCode, resp.Header.Clone()
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		t.invalid.add(time.Now())
	case http.StatusTooManyRequests:
		if resp.Header.Get("X-RateLimit-Scope") != "shared" {
			t.invalid.add(time.Now())
		}
	}
	return resp, nil
}

// invalidCounter counts invalid requests in the last 10 minutes, in
// one-minute slots.
type invalidCounter struct {
	mu    sync.Mutex
	slots [10]struct {
		minute int64
		n      int
	}
}

func (c *invalidCounter) add(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := now.Unix() / 60
	s := &c.slots[m%10]
	if s.minute != m {
		s.minute, s.n = m, 0
	}
	s.n++
}

// recent is the count over the last 10 minutes.
func (c *invalidCounter) recent(now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := now.Unix() / 60
	n := 0
	for _, s := range c.slots {
		if m-s.minute < 10 {
			n += s.n
		}
	}
	return n
}

// globalGate holds every call but the interaction endpoints back while
// Discord's global rate limit is in force.
type globalGate struct{ until atomic.Int64 } // UnixNano

func (g *globalGate) wait() time.Duration { return time.Until(time.Unix(0, g.until.Load())) }
func (g *globalGate) hold(d time.Duration) {
	g.until.Store(time.Now().Add(d).UnixNano())
}

// waitTurn waits, with ctx, until the bucket and the global limit let the
// call go; it refuses when that would outlast ctx's deadline.
func (b *Bot) waitTurn(ctx context.Context, c restCall) error {
	for {
		var wait time.Duration
		if !c.interaction {
			wait = b.global.wait()
		}
		bk := b.session.Ratelimiter.GetBucket(c.bucket)
		bk.Lock() // held by discordgo while a call of this bucket is in flight
		wait = max(wait, b.session.Ratelimiter.GetWaitTime(bk, 1))
		bk.Unlock()
		if wait <= 0 {
			return ctx.Err()
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return errPastDeadline
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// maxAttempts bounds the tries of one call.
const maxAttempts = 4

// do makes the call c, retrying as its policy allows, and decodes the
// answer into out (when not nil). Failures are logged with secrets
// redacted and returned as *restError.
func (b *Bot) do(ctx context.Context, log *slog.Logger, c restCall, out any) error {
	start := time.Now()
	backoff := b.retryBase
	if c.optional && b.invalid.recent(start) >= b.invalidBudget {
		b.logBudget(log)
		return &restError{Op: c.op, err: errInvalidBudget}
	}
	for attempt := 1; ; attempt++ {
		if err := b.waitTurn(ctx, c); err != nil {
			e := &restError{Op: c.op, Status: http.StatusTooManyRequests, err: err}
			if !errors.Is(err, errPastDeadline) {
				e.Status = 0
			}
			log.Error("discord call not made", "op", c.op, "err", err.Error(), "took", time.Since(start))
			return e
		}
		info := &respInfo{}
		rctx := context.WithValue(ctx, respInfoKey{}, info)
		raw, err := b.session.RequestWithBucketID(c.method, c.url, c.body, c.bucket,
			discordgo.WithContext(rctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
		if err == nil {
			log.Debug("discord call", "op", c.op, "attempt", attempt, "took", time.Since(start))
			if out != nil && len(raw) > 0 {
				if err := json.Unmarshal(raw, out); err != nil {
					return &restError{Op: c.op, Status: info.status, err: fmt.Errorf("decode answer: %w", err)}
				}
			}
			return nil
		}
		e := b.classify(c, err, info)
		if attempt > 1 && c.doneCode != 0 && e.Code == c.doneCode {
			log.Info("discord call had gone through before its retry", "op", c.op, "code", e.Code, "attempt", attempt)
			return nil
		}
		wait, retry := b.retryWait(c, e, attempt, backoff)
		if retry {
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				retry = false
			}
		}
		if !retry || ctx.Err() != nil {
			log.Error("discord call failed", "op", c.op, "attempt", attempt, "err", e.Error(), "took", time.Since(start))
			return e
		}
		log.Warn("discord call failed, retrying", "op", c.op, "attempt", attempt, "err", e.Error(), "wait", wait)
		if !sleep(ctx, wait) {
			return e
		}
		backoff *= 2
	}
}

// classify turns discordgo's error and what the transport saw into a
// restError (with secrets redacted).
func (b *Bot) classify(c restCall, err error, info *respInfo) *restError {
	e := &restError{Op: c.op, Status: info.status, err: redacted(err, b.cfg.Token, c.secret)}
	var rest *discordgo.RESTError
	var rl *discordgo.RateLimitError
	switch {
	case errors.As(err, &rl):
		e.Status = http.StatusTooManyRequests
		e.RetryAfter = rl.RetryAfter
		if info.header != nil {
			e.Global = info.header.Get("X-RateLimit-Global") == "true" || info.header.Get("X-RateLimit-Scope") == "global"
			if e.RetryAfter <= 0 {
				if s, err := strconv.ParseFloat(info.header.Get("Retry-After"), 64); err == nil {
					e.RetryAfter = time.Duration(s * float64(time.Second))
				}
			}
		}
		if e.Global {
			b.global.hold(e.RetryAfter)
		}
	case errors.As(err, &rest):
		if rest.Response != nil {
			e.Status = rest.Response.StatusCode
		}
		if rest.Message != nil {
			e.Code, e.Msg = rest.Message.Code, rest.Message.Message
		}
	}
	if e.Msg == "" && e.Status != 0 {
		e.Msg = http.StatusText(e.Status)
	}
	return e
}

// retryWait decides whether a failed attempt is repeated, and after how
// long.
func (b *Bot) retryWait(c restCall, e *restError, attempt int, backoff time.Duration) (time.Duration, bool) {
	if attempt >= maxAttempts {
		return 0, false
	}
	jitter := func(d time.Duration) time.Duration { return d + rand.N(d/4+1) }
	switch {
	case e.Status == http.StatusTooManyRequests:
		return e.RetryAfter + rand.N(50*time.Millisecond), true
	case e.Status == http.StatusBadGateway:
		// "No gateway was available to process the request": it was not.
		return jitter(backoff), true
	case e.Status >= 500:
		return jitter(backoff), c.policy == retrySafe
	case e.Status == 0:
		var op *net.OpError
		if errors.As(e.err, &op) && op.Op == "dial" {
			return jitter(backoff), true // never reached Discord
		}
		return jitter(backoff), c.policy == retrySafe
	}
	return 0, false
}

// logBudget warns, at most once a minute, that optional calls are being
// held back.
func (b *Bot) logBudget(log *slog.Logger) {
	now := time.Now().Unix() / 60
	if b.budgetWarned.Swap(now) != now {
		log.Warn("discord invalid requests near the limit; optional calls held back",
			"invalid_last_10m", b.invalid.recent(time.Now()), "budget", b.invalidBudget)
	}
}
