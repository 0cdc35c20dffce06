// Package discordtest is a local fake of Discord for tests: an httptest
// server answering the REST routes a bot uses and a gorilla/websocket gateway
// speaking the real protocol (GET /api/v9/gateway, HELLO, IDENTIFY → READY,
// RESUME → RESUMED, heartbeat ACKs, dispatches with real payload shapes).
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
	"io"
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
	SessionID = "fake-session-0001"  // READY session_id
)

// HeartbeatInterval is what HELLO announces, in milliseconds.
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
	return fmt.Sprintf("%s %s %s", c.Method, c.Path, body)
}

// Identify is what a client sent in IDENTIFY (op 2). Only token and intents
// are decoded: presence timestamps do not round-trip through discordgo.
type Identify struct {
	Token   string
	Intents int
}

// Server is the fake Discord. Create it with New.
type Server struct {
	tb       testing.TB
	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu         sync.Mutex
	calls      []Call
	changed    chan struct{} // closed and replaced when calls or conns change
	conns      map[*gwConn]struct{}
	identifies []Identify
	resumes    int
	seq        int64
	nextID     uint64
	failures   []*failure
	closed     bool

	wg sync.WaitGroup // gateway connection handlers
}

type failure struct {
	match  func(Call) bool
	status int
	left   int
}

// gwConn is one gateway websocket; writes are serialised by mu because
// dispatches and heartbeat ACKs come from different goroutines.
type gwConn struct {
	mu    sync.Mutex
	ws    *websocket.Conn
	ready bool // identified or resumed; guarded by Server.mu
}

func (c *gwConn) writeJSON(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	return c.ws.WriteJSON(v)
}

// New starts a fake Discord; it is closed when tb's test ends (close the bot's
// session first). Protocol violations (unknown routes, paths with "//") are
// reported with tb.Errorf.
func New(tb testing.TB) *Server {
	s := &Server{
		tb:      tb,
		changed: make(chan struct{}),
		conns:   make(map[*gwConn]struct{}),
		nextID:  1300000000000000000,
	}
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
		writeError(w, http.StatusBadRequest, "empty path segment")
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/gateway"):
		s.serveGateway(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/v9/"):
		s.serveREST(w, r)
	default:
		s.tb.Errorf("discordtest: request outside /api/v9: %s %s", r.Method, r.URL.Path)
		writeError(w, http.StatusNotFound, "404: Not Found")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "code": 0})
}

// FailNext makes the next n calls matching match answer with status (and a
// Discord-style error body) instead of succeeding. They are still recorded.
func (s *Server) FailNext(match func(Call) bool, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, &failure{match: match, status: status, left: n})
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body")
		return
	}
	if len(body) == 0 {
		body = nil
	}
	c := Call{
		Method: r.Method,
		Path:   strings.TrimPrefix(r.URL.Path, "/api/v9"),
		Query:  r.URL.Query(),
		Auth:   r.Header.Get("Authorization"),
		Body:   body,
		At:     time.Now(),
	}
	if body != nil && !json.Valid(body) {
		s.tb.Errorf("discordtest: %s %s: body is not JSON: %q", c.Method, c.Path, body)
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.notifyLocked()
	status := 0
	for _, f := range s.failures {
		if f.left > 0 && f.match(c) {
			f.left--
			status = f.status
			break
		}
	}
	s.mu.Unlock()
	if status != 0 {
		writeError(w, status, http.StatusText(status))
		return
	}
	s.route(w, r, c)
}

// match reports whether path parts equal pattern, "*" matching any one
// non-empty part.
func match(parts []string, pattern ...string) bool {
	if len(parts) != len(pattern) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && p != parts[i] {
			return false
		}
	}
	return true
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, c Call) {
	p := strings.Split(strings.Trim(c.Path, "/"), "/")
	m := c.Method
	switch {
	case m == "GET" && match(p, "gateway"):
		writeJSON(w, 200, map[string]string{"url": s.gatewayURL()})
	case m == "GET" && match(p, "gateway", "bot"):
		writeJSON(w, 200, map[string]any{
			"url": s.gatewayURL(), "shards": 1,
			"session_start_limit": map[string]int{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
		})
	case m == "PUT" && (match(p, "applications", "*", "commands") || match(p, "applications", "*", "guilds", "*", "commands")):
		var cmds []map[string]any
		if err := c.JSON(&cmds); err != nil {
			writeError(w, 400, err.Error())
			return
		}
		for _, cmd := range cmds {
			cmd["id"] = s.NewID()
			cmd["application_id"] = p[1]
			cmd["version"] = s.NewID()
			if len(p) == 5 {
				cmd["guild_id"] = p[3]
			}
		}
		writeJSON(w, 200, cmds)
	case m == "POST" && match(p, "interactions", "*", "*", "callback"):
		w.WriteHeader(http.StatusNoContent)
	case m == "PATCH" && match(p, "webhooks", "*", "*", "messages", "*"):
		writeJSON(w, 200, s.message(c, ChannelID, p[1]))
	case m == "DELETE" && match(p, "webhooks", "*", "*", "messages", "*"):
		w.WriteHeader(http.StatusNoContent)
	case m == "POST" && match(p, "webhooks", "*", "*"):
		if c.Query.Get("wait") != "true" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, 200, s.message(c, ChannelID, p[1]))
	case m == "POST" && match(p, "channels", "*", "messages"):
		writeJSON(w, 200, s.message(c, p[1], ""))
	case m == "POST" && match(p, "channels", "*", "typing"):
		w.WriteHeader(http.StatusNoContent)
	case m == "POST" && match(p, "users", "@me", "channels"):
		var req struct {
			RecipientID string `json:"recipient_id"`
		}
		if err := c.JSON(&req); err != nil {
			writeError(w, 400, err.Error())
			return
		}
		writeJSON(w, 200, map[string]any{
			"id": s.NewID(), "type": 1,
			"recipients": []any{userJSON(User{ID: req.RecipientID, Name: "user" + req.RecipientID})},
		})
	case m == "GET" && match(p, "channels", "*"):
		writeJSON(w, 200, map[string]any{"id": p[1], "type": 1})
	default:
		s.tb.Errorf("discordtest: no such route: %s %s", m, r.URL.Path)
		writeError(w, http.StatusNotFound, "404: Not Found")
	}
}

// message is the Message JSON Discord answers a send or edit with: the
// request's content, embeds and components echoed back with a fresh ID.
func (s *Server) message(c Call, channelID, webhookID string) map[string]any {
	var req struct {
		Content    string          `json:"content"`
		Embeds     json.RawMessage `json:"embeds"`
		Components json.RawMessage `json:"components"`
		Flags      int             `json:"flags"`
	}
	if c.Body != nil {
		_ = json.Unmarshal(c.Body, &req)
	}
	msg := map[string]any{
		"id":         s.NewID(),
		"channel_id": channelID,
		"type":       0,
		"content":    req.Content,
		"author":     userJSON(User{ID: BotID, Name: "verbatim", Bot: true}),
		"timestamp":  time.Now().UTC().Format(time.RFC3339),
		"tts":        false,
		"flags":      req.Flags,
		"mentions":   []any{},
	}
	if len(req.Embeds) > 0 && string(req.Embeds) != "null" {
		msg["embeds"] = req.Embeds
	} else {
		msg["embeds"] = []any{}
	}
	if len(req.Components) > 0 && string(req.Components) != "null" {
		msg["components"] = req.Components
	}
	if webhookID != "" {
		msg["webhook_id"] = webhookID
		msg["application_id"] = AppID
	}
	return msg
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
			if match(c) {
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

func (s *Server) waitCall(timeout time.Duration, match func(Call) bool) (Call, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, c := range s.calls {
			if match(c) {
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

// ---- gateway ----

func (s *Server) gatewayURL() string {
	return "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/gateway"
}

// Identifies returns every IDENTIFY received, oldest first.
func (s *Server) Identifies() []Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identify(nil), s.identifies...)
}

// Resumes counts the RESUMEs received.
func (s *Server) Resumes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resumes
}

// Connected counts gateway connections that identified or resumed.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.connList(true))
}

func (s *Server) connList(readyOnly bool) []*gwConn {
	var out []*gwConn
	for c := range s.conns {
		if !readyOnly || c.ready {
			out = append(out, c)
		}
	}
	return out
}

// WaitConnected waits until at least one gateway connection has identified
// or resumed.
func (s *Server) WaitConnected(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	if err := s.waitConnected(timeout); err != nil {
		tb.Fatal(err)
	}
}

func (s *Server) waitConnected(timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		n := len(s.connList(true))
		ch := s.changed
		s.mu.Unlock()
		if n > 0 {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("no gateway connection after %v", timeout)
		}
	}
}

// DropConnections closes every gateway connection abruptly, as a network
// failure would; a client that reconnects sends RESUME.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.connList(false)
	for _, c := range conns {
		c.ready = false
	}
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close()
	}
}

type frame struct {
	Op   int             `json:"op"`
	D    json.RawMessage `json:"d"`
	S    *int64          `json:"s,omitempty"`
	Type string          `json:"t,omitempty"`
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "closed", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.tb.Errorf("discordtest: gateway upgrade: %v", err)
		return
	}
	c := &gwConn{ws: ws}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		ws.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.notifyLocked()
		s.mu.Unlock()
	}()

	hello := map[string]any{"op": 10, "d": map[string]int{"heartbeat_interval": HeartbeatInterval}}
	if err := c.writeJSON(hello); err != nil {
		return
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			s.tb.Errorf("discordtest: gateway frame is not JSON: %q", data)
			return
		}
		switch f.Op {
		case 1: // heartbeat
			if err := c.writeJSON(map[string]any{"op": 11}); err != nil {
				return
			}
		case 2: // identify
			var id struct {
				Token   string `json:"token"`
				Intents int    `json:"intents"`
			}
			if err := json.Unmarshal(f.D, &id); err != nil {
				s.tb.Errorf("discordtest: identify: %v", err)
				return
			}
			s.mu.Lock()
			s.identifies = append(s.identifies, Identify{Token: id.Token, Intents: id.Intents})
			s.mu.Unlock()
			if err := s.dispatchTo(c, "READY", s.readyPayload()); err != nil {
				return
			}
			s.markReady(c)
		case 6: // resume
			s.mu.Lock()
			s.resumes++
			s.mu.Unlock()
			if err := s.dispatchTo(c, "RESUMED", map[string]any{}); err != nil {
				return
			}
			s.markReady(c)
		}
	}
}

func (s *Server) markReady(c *gwConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; ok {
		c.ready = true
	}
	s.notifyLocked()
}

func (s *Server) readyPayload() map[string]any {
	return map[string]any{
		"v":                  9,
		"session_id":         SessionID,
		"resume_gateway_url": s.gatewayURL(),
		"user":               userJSON(User{ID: BotID, Name: "verbatim", Bot: true}),
		"application":        map[string]any{"id": AppID, "flags": 0},
		"guilds":             []any{},
		"private_channels":   []any{},
		"shard":              []int{0, 1},
	}
}

func (s *Server) dispatchTo(c *gwConn, event string, d any) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", event, err)
	}
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	return c.writeJSON(frame{Op: 0, D: raw, S: &seq, Type: event})
}

// Dispatch sends event with data d to every ready gateway connection,
// waiting up to 5 s for one (a client may be reconnecting).
func (s *Server) Dispatch(tb testing.TB, event string, d any) {
	tb.Helper()
	if err := s.waitConnected(5 * time.Second); err != nil {
		tb.Fatalf("dispatch %s: %v", event, err)
	}
	s.mu.Lock()
	conns := s.connList(true)
	s.mu.Unlock()
	for _, c := range conns {
		if err := s.dispatchTo(c, event, d); err != nil {
			tb.Fatalf("dispatch %s: %v", event, err)
		}
	}
}
