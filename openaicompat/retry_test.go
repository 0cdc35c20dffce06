package openaicompat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"empty", "", 0, false},
		{"seconds", "3", 3 * time.Second, true},
		{"fraction", "0.5", 500 * time.Millisecond, true},
		{"spaces", " 2 ", 2 * time.Second, true},
		{"HTTP date", now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second, true},
		{"date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"words", "soon", 0, false},
		{"negative", "-4", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "3", "0.5", "Wed, 01 Jan 2025 00:00:03 GMT", "-1", "1e400", "NaN", "1e10", "+Inf"} {
		f.Add(s)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := ParseRetryAfter(s, now); d < 0 || (!ok && d != 0) {
			t.Errorf("ParseRetryAfter(%q) = %s, %v", s, d, ok)
		}
	})
}

func TestDelay(t *testing.T) {
	const base, cap = 100 * time.Millisecond, time.Second
	tests := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		want       time.Duration // ±20% unless exact
		exact      bool
	}{
		{"first", 0, 0, 100 * time.Millisecond, false},
		{"doubles", 1, 0, 200 * time.Millisecond, false},
		{"doubles again", 3, 0, 800 * time.Millisecond, false},
		{"capped", 4, 0, time.Second, false},
		{"capped, no overflow", 100, 0, time.Second, false},
		{"Retry-After wins", 0, 2 * time.Second, 2 * time.Second, true},
		{"Retry-After past the cap", 5, time.Hour, time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 20 {
				got := Delay(tt.attempt, base, cap, tt.retryAfter)
				if tt.exact && got != tt.want || !tt.exact && (got < tt.want*8/10 || got > tt.want*12/10) {
					t.Fatalf("Delay(%d, %s, %s, %s) = %s, want %s (±20%% unless exact: %v)", tt.attempt, base, cap, tt.retryAfter, got, tt.want, tt.exact)
				}
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	connErr := &url.Error{Op: "Post", URL: "http://x/v1", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNRESET}}
	tests := []struct {
		name   string
		status int
		err    error
		want   bool
	}{
		{"429", 429, errors.New("rate"), true},
		{"408", 408, errors.New("slow"), true},
		{"500", 500, errors.New("boom"), true},
		{"503", 503, errors.New("busy"), true},
		{"400", 400, errors.New("bad"), false},
		{"401", 401, errors.New("key"), false},
		{"403", 403, errors.New("denied"), false},
		{"404", 404, errors.New("missing"), false},
		{"422", 422, errors.New("schema"), false},
		{"connection reset", 0, connErr, true},
		{"cut short", 0, fmt.Errorf("decode: %w", io.ErrUnexpectedEOF), true},
		{"connection refused", 0, &url.Error{Op: "Post", URL: "http://x/v1", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, false},
		{"unknown host", 0, &url.Error{Op: "Post", URL: "http://x/v1", Err: &net.DNSError{Name: "x", IsNotFound: true}}, false},
		{"DNS server trouble", 0, &url.Error{Op: "Post", URL: "http://x/v1", Err: &net.DNSError{Name: "x", IsTemporary: true}}, true},
		{"canceled", 0, &url.Error{Op: "Post", URL: "http://x/v1", Err: context.Canceled}, false},
		{"deadline", 0, context.DeadlineExceeded, false},
		{"per-request timeout", 0, &timeoutError{after: time.Second, base: "http://x/v1", err: connErr}, false},
		{"not a transport error", 0, errors.New("the server returned no choices"), false},
		{"nil", 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.status, tt.err); got != tt.want {
				t.Errorf("Retryable(%d, %v) = %v, want %v", tt.status, tt.err, got, tt.want)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"API error", fmt.Errorf("x: %w", &openai.APIError{HTTPStatusCode: 429}), 429},
		{"request error", &openai.RequestError{HTTPStatusCode: 502}, 502},
		{"transport", &url.Error{Op: "Post", Err: syscall.ECONNRESET}, 0},
		{"nil", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Status(tt.err); got != tt.want {
				t.Errorf("Status(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// server is the fake OpenAI-compatible server answering embedding
// requests with responses in order (the last one repeats); a response of
// status 200 is the fake's own vectors.
type server struct{ *openaitest.Server }

type response struct {
	status     int
	retryAfter string
}

func newServer(t *testing.T, responses ...response) *server {
	t.Helper()
	s := &server{openaitest.New(t, openaitest.Options{APIKey: "sk-test"})}
	var replies []openaitest.Reply
	for _, r := range responses {
		reply := openaitest.Error(r.status, fmt.Sprintf("fake %d", r.status))
		if r.status == http.StatusOK {
			reply = openaitest.Raw(http.StatusOK, "application/json", `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,0]}]}`)
		}
		if r.retryAfter != "" {
			reply = reply.WithHeader("Retry-After", r.retryAfter)
		}
		replies = append(replies, reply)
	}
	s.Embeddings(replies...)
	return s
}

// n is the number of requests the server got.
func (s *server) n() int { return s.Count(openaitest.EmbedPath) }

func (s *server) client() *Client { return New(Config{BaseURL: s.URL, APIKey: "sk-test"}) }

func embedOnce(c *Client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.Embed(ctx, EmbedRequest{Model: "m", Texts: []string{"x"}})
		return err
	}
}

// TestRetryAfterRecorded checks that the header of the real HTTP response
// reaches Do through the client's transport.
func TestRetryAfterRecorded(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter func() string
		minWait    time.Duration
	}{
		{"seconds", func() string { return "1" }, 900 * time.Millisecond},
		// HTTP dates have whole seconds: 3s from now is at least 2s away.
		{"HTTP date", func() string { return time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat) }, 1900 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ra := tt.retryAfter()
			srv := newServer(t, response{status: 429, retryAfter: ra}, response{status: 200})
			start := time.Now()
			err := Do(t.Context(), Retry{Retries: 1, Backoff: time.Millisecond}, embedOnce(srv.client()))
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took < tt.minWait {
				t.Errorf("retried after %s; Retry-After said %s", took, ra)
			}
			if n := srv.n(); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

func TestDo(t *testing.T) {
	tests := []struct {
		name      string
		responses []response
		retries   int
		wantReqs  int32
		wantErr   string // empty: success
	}{
		{"success", []response{{status: 200}}, 3, 1, ""},
		{"429, 503, success", []response{{status: 429, retryAfter: "0.01"}, {status: 503}, {status: 200}}, 3, 3, ""},
		{"500 until retries run out", []response{{status: 500}}, 2, 3, "fake 500"},
		{"401 never retried", []response{{status: 401}}, 5, 1, "fake 401"},
		{"404 never retried", []response{{status: 404}}, 5, 1, "fake 404"},
		{"no retries", []response{{status: 503}}, -1, 1, "fake 503"},
		{"zero is the default", []response{{status: 503}}, 0, 1 + DefaultRetries, "fake 503"},
		{"Retry-After too long", []response{{status: 429, retryAfter: "3600"}}, 3, 1, "asks to retry after 1h0m0s (429)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.responses...)
			err := Do(t.Context(), Retry{Retries: tt.retries, Backoff: time.Millisecond}, embedOnce(srv.client()))
			if n := srv.n(); n != int(tt.wantReqs) {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDoPermanent(t *testing.T) {
	srv := newServer(t, response{status: 503})
	c := srv.client()
	err := Do(t.Context(), Retry{Retries: 3, Backoff: time.Millisecond}, func(ctx context.Context) error {
		return Permanent(embedOnce(c)(ctx))
	})
	if Status(err) != 503 {
		t.Errorf("err = %v, want the 503", err)
	}
	if _, ok := errors.AsType[*permanentError](err); ok {
		t.Errorf("Do returned the Permanent wrapper: %#v", err)
	}
	if n := srv.n(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestDoStopsOnCancel(t *testing.T) {
	srv := newServer(t, response{status: 503, retryAfter: "30"})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := Do(ctx, Retry{Retries: 3}, embedOnce(srv.client()))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %s to notice the cancel", took)
	}
}

func TestDoNoTimeLeft(t *testing.T) {
	srv := newServer(t, response{status: 503, retryAfter: "5"})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	err := Do(ctx, Retry{Retries: 3}, embedOnce(srv.client()))
	ra, ok := errors.AsType[*RetryAfterError](err)
	if !ok || !ra.NoTimeLeft || ra.Wait != 5*time.Second {
		t.Fatalf("err = %#v, want a RetryAfterError with no time left for 5s", err)
	}
	if Status(err) != 503 {
		t.Errorf("Status(%v) = %d, want 503", err, Status(err))
	}
}

func contains(s, sub string) bool {
	return strings.Contains(s, sub)
}
