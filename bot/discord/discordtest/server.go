// Package discordtest is a local fake of Discord for tests: an httptest
// server answering the REST routes a bot uses and a gorilla/websocket gateway
// speaking the real protocol (GET /api/v9/gateway, HELLO, IDENTIFY → READY
// with a resume_gateway_url of its own, RESUME → RESUMED, heartbeat ACKs,
// op 7 reconnect, op 9 invalid session, close codes, dispatches with real
// payload shapes), sharded as Discord shards (shards.go): a guild's events
// reach only the shard (guild_id >> 22) % num_shards, DMs only shard 0,
// invalid shards are closed with 4010 and too few with 4011, and IDENTIFYs
// beyond max_concurrency per 5 s get op 9.
//
// It is at least as strict as Discord where a bot can go wrong: message
// bodies over Discord's limits, malformed URLs, empty messages and
// oversized components are rejected with Discord's status and JSON error
// code (400 50035, 50006, …); an interaction answers one initial response
// within 3 seconds (then 40060 or 10062) and its token works for 15
// minutes; channels have permissions (403 50013), unknown channels 404
// 10003; guild messages that neither mention the bot nor come from a DM
// reach the bot without their content, as without the Message Content
// intent; 429s carry Discord's JSON body and X-RateLimit headers, and a
// global limit holds every request back; a registered command is
// delivered only where its contexts allow and to members holding its
// default_member_permissions (TrySendSlash says when Discord would not
// offer it). Failures can be injected before
// or after a request is processed, and latency added to any route.
//
// Point discordgo at it with the base URL from Server.URL (for example
// through discord.SetAPIBase). The server records every REST call (method,
// path under /api/v9, JSON body) so tests assert on what a bot sent; WaitCall
// waits for a matching call with a deadline.
//
// discordgo keeps its endpoints in package variables, so tests that point
// them at different fakes cannot run in parallel.
package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// IDs of the fake's fixed objects. All are snowflake strings, as Discord
// sends them.
const (
	BotID     = "900000000000000001" // the bot user (READY user.id)
	AppID     = "900000000000000002" // the application (READY application.id)
	GuildID   = "900000000000000003" // the default guild of guild payloads
	ChannelID = "900000000000000004" // the default guild text channel
	BotRoleID = "900000000000000005" // the bot's managed role in GuildID
	SessionID = "fake-session-0001"  // READY session_id of the first session
)

// Discord's limits the fake enforces.
const (
	// AckDeadline is how long after INTERACTION_CREATE the initial response
	// may come; later ones get 404 10062.
	AckDeadline = 3 * time.Second
	// TokenLifetime is how long an interaction token can edit and follow up.
	TokenLifetime = 15 * time.Minute
)

// HeartbeatInterval is what HELLO announces by default, in milliseconds.
const HeartbeatInterval = 45000

// Call is one recorded REST request.
type Call struct {
	Method string
	// Path is the request path below /api/v9, e.g.
	// "/interactions/1/tok/callback".
	Path  string
	Query url.Values
	// Auth is the Authorization header as sent.
	Auth string
	// Body is the raw request body (JSON for every route the fake knows),
	// nil when there was none.
	Body []byte
	At   time.Time
	// Status is the HTTP status the fake answered with (0 while the
	// request is still being served); Done is when it answered.
	Status int
	Done   time.Time
}

// JSON decodes the call's body into v.
func (c Call) JSON(v any) error {
	if len(c.Body) == 0 {
		return fmt.Errorf("decode %s %s: empty body", c.Method, c.Path)
	}
	if err := json.Unmarshal(c.Body, v); err != nil {
		return fmt.Errorf("decode %s %s: %w", c.Method, c.Path, err)
	}
	return nil
}

// String is the call in one line, for failure messages.
func (c Call) String() string {
	body := string(c.Body)
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return fmt.Sprintf("%s %s → %d %s", c.Method, c.Path, c.Status, body)
}

// Identify is what a client sent in IDENTIFY (op 2). Only token and intents
// are decoded: presence timestamps do not round-trip through discordgo.
type Identify struct {
	Token   string
	Intents int
	Shard   []int
	At      time.Time
}

// Server is the fake Discord. Create it with New.
type Server struct {
	tb       testing.TB
	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu       sync.Mutex
	calls    []Call
	changed  chan struct{} // closed and replaced when calls or conns change
	nextID   uint64
	closed   bool
	failures []*failure
	latency  []latencyRule

	rest restState
	gw   gatewayState

	wg sync.WaitGroup // gateway connection handlers
}

// failure is an injected error: before the request is processed (nothing
// happened) or after (it took effect, but the client sees the error).
type failure struct {
	match     func(Call) bool
	status    int
	code      int
	left      int
	processed bool
}

type latencyRule struct {
	match func(Call) bool
	d     time.Duration
}

// New starts a fake Discord; it is closed when tb's test ends (close the bot's
// session first). Protocol violations (unknown routes, paths with "//",
// bodies that are not JSON) are reported with tb.Errorf.
func New(tb testing.TB) *Server {
	s := &Server{
		tb:      tb,
		changed: make(chan struct{}),
		nextID:  1300000000000000000,
	}
	s.rest.init()
	s.gw.init()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.Close)
	return s
}

// URL is the base to use instead of https://discord.com/, with a trailing
// slash: REST lives under URL+"api/v9/".
func (s *Server) URL() string { return s.srv.URL + "/" }

// Close drops every gateway connection and stops the server. It is safe to
// call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := s.connList(false)
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close()
	}
	s.wg.Wait()
	s.srv.Close()
}

// NewID returns a fresh snowflake string.
func (s *Server) NewID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newIDLocked()
}

func (s *Server) newIDLocked() string {
	s.nextID++
	return strconv.FormatUint(s.nextID, 10)
}

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// Go's mux would silently redirect these; they mean an empty ID.
	if strings.Contains(r.URL.Path, "//") {
		s.tb.Errorf("discordtest: path with an empty segment: %s %s", r.Method, r.URL.Path)
		writeError(w, apiErr(http.StatusBadRequest, 0, "empty path segment"))
		return
	}
	switch {
	case r.URL.Path == gatewayPath || r.URL.Path == gatewayPath+"/" || r.URL.Path == resumePath || r.URL.Path == resumePath+"/":
		s.serveGateway(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/v9/"):
		s.serveREST(w, r)
	default:
		s.tb.Errorf("discordtest: request outside /api/v9: %s %s", r.Method, r.URL.Path)
		writeError(w, apiErr(http.StatusNotFound, 0, "404: Not Found"))
	}
}

// FailNext makes the next n calls matching match answer with status (and a
// Discord-style error body) instead of being processed. They are still
// recorded.
func (s *Server) FailNext(match func(Call) bool, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, &failure{match: match, status: status, left: n})
}

// FailNextProcessed makes the next n calls matching match take effect (a
// message is created, an interaction acknowledged) but answer with status,
// as when Discord's edge fails after the request went through: the client
// cannot tell whether it did.
func (s *Server) FailNextProcessed(match func(Call) bool, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, &failure{match: match, status: status, left: n, processed: true})
}

// SetLatency delays the answer to every call matching match by d (a slow
// Discord, or a far-away one).
func (s *Server) SetLatency(match func(Call) bool, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = append(s.latency, latencyRule{match: match, d: d})
}

// Calls returns every REST call recorded so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Find returns the recorded calls matching match, oldest first.
func (s *Server) Find(match func(Call) bool) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if match(c) {
			out = append(out, c)
		}
	}
	return out
}

// WaitCall waits up to timeout for a recorded call matching match (earlier
// calls count) and returns the first one. On timeout it fails tb, listing the
// calls it saw.
func (s *Server) WaitCall(tb testing.TB, timeout time.Duration, what string, match func(Call) bool) Call {
	tb.Helper()
	c, err := s.waitCall(timeout, match)
	if err != nil {
		tb.Fatalf("waiting for %s: %v\nrecorded calls:\n%s", what, err, s.callList())
	}
	return c
}

// WaitCalls waits up to timeout until n calls match and returns them.
func (s *Server) WaitCalls(tb testing.TB, timeout time.Duration, n int, what string, match func(Call) bool) []Call {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		var got []Call
		for _, c := range s.calls {
			if c.Status != 0 && match(c) {
				got = append(got, c)
			}
		}
		ch := s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("waiting for %d× %s: got %d after %v\nrecorded calls:\n%s", n, what, len(got), timeout, s.callList())
			return nil
		}
	}
}

// NoCall fails tb if a call matching match is recorded within d.
func (s *Server) NoCall(tb testing.TB, d time.Duration, what string, match func(Call) bool) {
	tb.Helper()
	if c, err := s.waitCall(d, match); err == nil {
		tb.Errorf("unexpected %s: %s", what, c)
	}
}

// waitCall waits for a call that matches and has been answered.
func (s *Server) waitCall(timeout time.Duration, match func(Call) bool) (Call, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, c := range s.calls {
			if c.Status != 0 && match(c) {
				s.mu.Unlock()
				return c, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return Call{}, fmt.Errorf("no matching call after %v", timeout)
		}
	}
}

func (s *Server) callList() string {
	var b strings.Builder
	for _, c := range s.Calls() {
		b.WriteString("  ")
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}
