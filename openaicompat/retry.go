package openaicompat

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Retry is a retry policy for Do.
//
// Retries follows the one rule every retry count in verbatim follows (the
// chat answerer's and the embedder's too): zero means DefaultRetries, a
// negative number means none, and a positive one is that many retries
// after the first attempt.
type Retry struct {
	// Retries after the first attempt: zero DefaultRetries, negative none.
	Retries int
	// Backoff is the wait before the first retry when the server sends no
	// Retry-After; it doubles each retry. Zero: 1s.
	Backoff time.Duration
	// MaxBackoff caps the computed wait. Zero: MaxRetryAfter.
	MaxBackoff time.Duration
	// Logger receives a warning per retry. Nil: none.
	Logger *slog.Logger
	// Op names the operation in those warnings, e.g. "chat completion".
	Op string
}

// DefaultRetries is the number of retries a zero Retry.Retries means.
const DefaultRetries = 3

// MaxRetryAfter is the longest Retry-After that Do waits for; a server
// asking for longer gets a *RetryAfterError instead.
const MaxRetryAfter = 60 * time.Second

// Do calls fn until it succeeds, fails in a way that is not Retryable (or
// was marked Permanent), or the retries are spent, and returns fn's
// last error. fn's context records the Retry-After header of the responses
// of a Client, and Do waits that long before the next attempt (else Delay).
//
// When ctx ends, Do returns ctx.Err() at once. When the wait would exceed
// MaxRetryAfter or ctx's deadline, Do stops with a *RetryAfterError holding
// fn's error. Explain words all of these for a user.
func Do(ctx context.Context, r Retry, fn func(ctx context.Context) error) error {
	backoff := orDefault(r.Backoff, time.Second)
	maxBackoff := orDefault(r.MaxBackoff, MaxRetryAfter)
	retries := r.Retries
	switch {
	case retries == 0:
		retries = DefaultRetries
	case retries < 0:
		retries = 0
	}
	for attempt := 0; ; attempt++ {
		rec := new(retryAfter)
		err := fn(context.WithValue(ctx, retryAfterKey{}, rec))
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p, ok := errors.AsType[*permanentError](err); ok {
			return p.err
		}
		status := Status(err)
		if !Retryable(status, err) || attempt >= retries {
			return err
		}
		wait := Delay(attempt, backoff, maxBackoff, rec.get())
		if wait > MaxRetryAfter {
			return &RetryAfterError{Wait: wait, Status: status, Err: err}
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return &RetryAfterError{Wait: wait, Status: status, Err: err, NoTimeLeft: true}
		}
		if r.Logger != nil {
			r.Logger.Warn(r.Op+" failed; retrying", "status", status, "attempt", attempt+1, "retries", retries, "wait", wait, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Permanent marks err as not worth retrying: Do returns err at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// RetryAfterError is a failure Do did not retry because the wait before the
// retry was too long: past MaxRetryAfter, or past the context's deadline.
type RetryAfterError struct {
	Wait       time.Duration
	Status     int // HTTP status of Err, 0 for none
	NoTimeLeft bool
	Err        error
}

func (e *RetryAfterError) Error() string {
	if e.NoTimeLeft {
		return "no time left to retry after " + e.Wait.Round(time.Millisecond).String() + ": " + e.Err.Error()
	}
	return "the server asks to retry after " + e.Wait.Round(time.Second).String() + " (" + strconv.Itoa(e.Status) + "): " + e.Err.Error()
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// Delay is the wait before retry attempt+1 (attempt counts from 0): the
// server's retryAfter when positive, else backoff doubled attempt times,
// capped at maxBackoff, with ±20% jitter so that many clients do not retry
// in step.
func Delay(attempt int, backoff, maxBackoff, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	d := backoff << attempt
	if d <= 0 || d > maxBackoff || attempt >= 63 {
		d = maxBackoff
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date (a date in the past is a zero wait). ok is false for an empty or
// unreadable value.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		// Past a week the exact figure does not matter (anything over
		// MaxRetryAfter is reported, not waited for), and a huge or infinite
		// one would overflow a Duration.
		const longest = 7 * 24 * time.Hour
		if s >= longest.Seconds() {
			return longest, true
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Status is the HTTP status of a failed request, 0 when there was none
// (a transport error).
func Status(err error) int {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode
	}
	return 0
}

// Retryable reports whether a request that failed with status (see Status)
// and err is worth trying again: 429, 408 and 5xx, and transport errors
// (a connection that broke, a stream that ended early: ErrIncomplete)
// other than the caller's cancel or deadline, a refused connection and an
// unknown host (nothing is listening there: waiting will not help, and the
// user should hear at once). Never 401, 403 or another 4xx, nor a 5xx that
// cannot succeed however often it is tried: 501 Not Implemented and an
// input too large for the server (InputTooLarge).
func Retryable(status int, err error) bool {
	if _, _, tooLarge := InputTooLarge(err); err != nil && tooLarge {
		return false // the same input is too large on every try
	}
	switch {
	case status == http.StatusNotImplemented:
		return false // the server lacks the feature (llama-server without --embeddings)
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return true
	case status != 0, err == nil:
		return false
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, ErrIncomplete):
		return true // the connection closed mid-response, or the stream ended early
	case status == 0 && errors.Is(err, io.EOF):
		return true // the server closed the connection before answering
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED):
		return false
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		return !dnsErr.IsNotFound
	}
	_, isNet := errors.AsType[net.Error](err)
	return isNet
}

// retryAfterRecorder notes the Retry-After header of every response into
// the *retryAfter that Do put in the request's context; go-openai's errors
// do not carry headers.
type retryAfterRecorder struct{ hc *http.Client }

type retryAfterKey struct{}

// retryAfter holds a parsed Retry-After (nanoseconds, 0 for none).
type retryAfter struct{ d atomic.Int64 }

func (r *retryAfter) get() time.Duration { return time.Duration(r.d.Load()) }

func (h retryAfterRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := h.hc.Do(req)
	if resp != nil {
		if rec, ok := req.Context().Value(retryAfterKey{}).(*retryAfter); ok {
			d, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			rec.d.Store(int64(d))
		}
	}
	return resp, err
}
