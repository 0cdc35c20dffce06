package discordtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The discovery URL (GET /gateway) and the resume_gateway_url READY hands
// out are different paths, as they are different hosts on Discord.
const (
	gatewayPath = "/gateway"
	resumePath  = "/resume-gateway"
)

// GatewayEvent is something the fake's gateway saw or did, in order, for
// tests of the connection's life.
type GatewayEvent struct {
	At time.Time
	// Kind is "identify", "resume", "ready", "resumed", "reconnect" (op 7
	// sent), "invalid_session" (op 9 sent), "identify_rate_limited" (op 9
	// for an IDENTIFY beyond max_concurrency), "dispatch", "server_close"
	// or "client_close".
	Kind string
	// Path is the URL path of the connection: "/gateway" or
	// "/resume-gateway".
	Path string
	// Code is the close code of a close.
	Code int
	// Shard is the connection's shard, once it identified or resumed.
	Shard Shard
	// Event and Guild are a dispatch's event name and the guild it is
	// about ("" for a DM).
	Event, Guild string
}

type gatewayState struct {
	conns      map[*gwConn]struct{}
	identifies []Identify
	resumes    int
	seq        int64
	sessions   map[string]bool // session ID → still resumable
	nSessions  int
	fatal      int // close code for every IDENTIFY and RESUME; 0: none
	interval   int
	noAcks     bool
	events     []GatewayEvent
	shards     shardState
}

func (g *gatewayState) init() {
	g.conns = map[*gwConn]struct{}{}
	g.sessions = map[string]bool{}
	g.interval = HeartbeatInterval
	g.shards.init()
}

// gwConn is one gateway websocket; writes are serialised by mu because
// dispatches and heartbeat ACKs come from different goroutines.
type gwConn struct {
	mu      sync.Mutex
	ws      *websocket.Conn
	path    string
	ready   bool   // identified or resumed; guarded by Server.mu
	session string // guarded by Server.mu
	shard   Shard  // guarded by Server.mu
}

func (c *gwConn) writeJSON(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeJSONLocked(v)
}

func (c *gwConn) writeJSONLocked(v any) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	return c.ws.WriteJSON(v)
}

func (c *gwConn) writeClose(code int, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(5*time.Second))
}

func (s *Server) gatewayURL() string {
	return "ws" + strings.TrimPrefix(s.srv.URL, "http") + gatewayPath
}

// ResumeURL is the resume_gateway_url READY announces.
func (s *Server) ResumeURL() string {
	return "ws" + strings.TrimPrefix(s.srv.URL, "http") + resumePath
}

// SetHeartbeatInterval changes the interval HELLO announces (milliseconds)
// for connections made from now on.
func (s *Server) SetHeartbeatInterval(ms int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gw.interval = ms
}

// StopHeartbeatAcks makes the gateway stop answering heartbeats, as a
// zombied connection does; false resumes answering.
func (s *Server) StopHeartbeatAcks(stop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gw.noAcks = stop
}

// RefuseSessions makes the gateway close every IDENTIFY and RESUME with
// code (4004, 4010–4014 are the ones a client must not retry); 0 stops.
func (s *Server) RefuseSessions(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gw.fatal = code
}

// ExpireSessions ends every session, as Discord does for a client that
// stays away too long: a RESUME gets op 9 (not resumable).
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.gw.sessions {
		s.gw.sessions[id] = false
	}
}

// Identifies returns every IDENTIFY received, oldest first.
func (s *Server) Identifies() []Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identify(nil), s.gw.identifies...)
}

// Resumes counts the RESUMEs received.
func (s *Server) Resumes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.resumes
}

// GatewayEvents returns what happened on the gateway, oldest first.
func (s *Server) GatewayEvents() []GatewayEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]GatewayEvent(nil), s.gw.events...)
}

func (s *Server) eventLocked(kind, path string, code int) {
	s.addEventLocked(GatewayEvent{Kind: kind, Path: path, Code: code})
}

func (s *Server) addEventLocked(e GatewayEvent) {
	e.At = time.Now()
	s.gw.events = append(s.gw.events, e)
	s.notifyLocked()
}

// WaitGatewayEvent waits for a gateway event of kind at or after since.
func (s *Server) WaitGatewayEvent(tb testing.TB, timeout time.Duration, kind string, since time.Time) GatewayEvent {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, e := range s.gw.events {
			if e.Kind == kind && !e.At.Before(since) {
				s.mu.Unlock()
				return e
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("no gateway %s after %v; events: %+v", kind, timeout, s.GatewayEvents())
			return GatewayEvent{}
		}
	}
}

// Connected counts gateway connections that identified or resumed.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.connList(true))
}

func (s *Server) connList(readyOnly bool) []*gwConn {
	var out []*gwConn
	for c := range s.gw.conns {
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
	_, err := s.waitRoute(timeout, func(*gwConn) bool { return true }, "no gateway connection")
	return err
}

// waitRoute waits until some ready connection satisfies match and returns
// every one that does.
func (s *Server) waitRoute(timeout time.Duration, match func(*gwConn) bool, what string) ([]*gwConn, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		var conns []*gwConn
		for _, c := range s.connList(true) {
			if match(c) {
				conns = append(conns, c)
			}
		}
		ch := s.changed
		s.mu.Unlock()
		if len(conns) > 0 {
			return conns, nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return nil, fmt.Errorf("%s after %v", what, timeout)
		}
	}
}

// takeReady marks every ready connection not ready (a client must identify
// or resume again) and returns them.
func (s *Server) takeReady() []*gwConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	conns := s.connList(true)
	for _, c := range conns {
		c.ready = false
	}
	s.notifyLocked()
	return conns
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

// CloseConnections closes every gateway connection with a close frame of
// code, as Discord does (4004 when the token is no longer valid, 4000 for
// an unknown error, …).
func (s *Server) CloseConnections(code int, reason string) {
	conns := s.takeReady()
	s.mu.Lock()
	for c := range s.gw.conns {
		if !containsConn(conns, c) {
			conns = append(conns, c)
		}
	}
	for _, c := range conns {
		s.eventLocked("server_close", c.path, code)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.writeClose(code, reason)
		c.ws.Close()
	}
}

func containsConn(cs []*gwConn, c *gwConn) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// SendReconnect sends op 7 (Reconnect) on every ready connection: the
// client should close and resume at resume_gateway_url.
func (s *Server) SendReconnect(tb testing.TB) {
	tb.Helper()
	if err := s.waitConnected(5 * time.Second); err != nil {
		tb.Fatalf("op 7: %v", err)
	}
	for _, c := range s.takeReady() {
		s.mu.Lock()
		s.eventLocked("reconnect", c.path, 0)
		s.mu.Unlock()
		if err := c.writeJSON(map[string]any{"op": 7, "d": nil}); err != nil {
			tb.Fatalf("op 7: %v", err)
		}
	}
}

// InvalidateSession sends op 9 (Invalid Session) with d = resumable on
// every ready connection; when not resumable the sessions end, so a RESUME
// gets op 9 again and the client must IDENTIFY.
func (s *Server) InvalidateSession(tb testing.TB, resumable bool) {
	tb.Helper()
	if err := s.waitConnected(5 * time.Second); err != nil {
		tb.Fatalf("op 9: %v", err)
	}
	for _, c := range s.takeReady() {
		s.mu.Lock()
		if !resumable {
			s.gw.sessions[c.session] = false
		}
		s.eventLocked("invalid_session", c.path, 0)
		s.mu.Unlock()
		if err := c.writeJSON(map[string]any{"op": 9, "d": resumable}); err != nil {
			tb.Fatalf("op 9: %v", err)
		}
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
	interval := s.gw.interval
	s.mu.Unlock()
	defer s.wg.Done()

	if v := r.URL.Query().Get("v"); v != "9" && v != "10" {
		s.tb.Errorf("discordtest: gateway connection with API version %q; want ?v=9 or 10", v)
	}
	if e := r.URL.Query().Get("encoding"); e != "json" {
		s.tb.Errorf("discordtest: gateway connection with encoding %q; want ?encoding=json", e)
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.tb.Errorf("discordtest: gateway upgrade: %v", err)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	c := &gwConn{ws: ws, path: path}
	s.mu.Lock()
	s.gw.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		ws.Close()
		s.mu.Lock()
		delete(s.gw.conns, c)
		s.notifyLocked()
		s.mu.Unlock()
	}()

	hello := map[string]any{"op": 10, "d": map[string]int{"heartbeat_interval": interval}}
	if err := c.writeJSON(hello); err != nil {
		return
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				s.mu.Lock()
				s.eventLocked("client_close", path, ce.Code)
				s.mu.Unlock()
			}
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			s.tb.Errorf("discordtest: gateway frame is not JSON: %q", data)
			_ = c.writeClose(4002, "Error while decoding payload.")
			return
		}
		if !s.gatewayFrame(c, f) {
			return
		}
	}
}

// gatewayFrame handles one frame from the client; false ends the
// connection.
func (s *Server) gatewayFrame(c *gwConn, f frame) bool {
	switch f.Op {
	case 1: // heartbeat
		s.mu.Lock()
		noAcks := s.gw.noAcks
		s.mu.Unlock()
		if noAcks {
			return true
		}
		return c.writeJSON(map[string]any{"op": 11}) == nil
	case 2: // identify
		var id struct {
			Token      string         `json:"token"`
			Intents    *int           `json:"intents"`
			Properties map[string]any `json:"properties"`
			Shard      []int          `json:"shard"`
		}
		if err := json.Unmarshal(f.D, &id); err != nil || id.Token == "" || id.Intents == nil || id.Properties == nil {
			s.tb.Errorf("discordtest: IDENTIFY without token, intents or properties: %s", f.D)
			_ = c.writeClose(4002, "Error while decoding payload.")
			return false
		}
		s.mu.Lock()
		now := time.Now()
		s.gw.identifies = append(s.gw.identifies, Identify{Token: id.Token, Intents: *id.Intents, Shard: id.Shard, At: now})
		sh, shardClose := s.checkShardLocked(id.Shard)
		s.addEventLocked(GatewayEvent{Kind: "identify", Path: c.path, Shard: sh})
		fatal := s.gw.fatal
		s.mu.Unlock()
		if fatal == 0 {
			fatal = shardClose
		}
		if fatal != 0 {
			s.refuse(c, fatal)
			return false
		}
		s.mu.Lock()
		if !s.identifyAllowedLocked(sh, now) {
			s.addEventLocked(GatewayEvent{Kind: "identify_rate_limited", Path: c.path, Shard: sh})
			s.mu.Unlock()
			return c.writeJSON(map[string]any{"op": 9, "d": false}) == nil
		}
		s.gw.nSessions++
		session := SessionID
		if s.gw.nSessions > 1 {
			session = fmt.Sprintf("fake-session-%04d", s.gw.nSessions)
		}
		s.gw.sessions[session] = true
		s.gw.shards.sessionShard[session] = sh
		c.session = session
		c.shard = sh
		ready := s.readyPayloadLocked(session, sh)
		s.mu.Unlock()
		if err := s.dispatchReady(c, "READY", ready, "ready"); err != nil {
			return false
		}
	case 6: // resume
		var res struct {
			Token     string `json:"token"`
			SessionID string `json:"session_id"`
			Seq       *int64 `json:"seq"`
		}
		if err := json.Unmarshal(f.D, &res); err != nil || res.Token == "" || res.SessionID == "" || res.Seq == nil {
			s.tb.Errorf("discordtest: RESUME without token, session_id or seq: %s", f.D)
			_ = c.writeClose(4002, "Error while decoding payload.")
			return false
		}
		s.mu.Lock()
		s.gw.resumes++
		s.eventLocked("resume", c.path, 0)
		fatal := s.gw.fatal
		valid := s.gw.sessions[res.SessionID]
		wrongURL := c.path != resumePath
		s.mu.Unlock()
		if wrongURL {
			s.tb.Errorf("discordtest: RESUME sent to %s; a client must resume at the resume_gateway_url from READY (%s)", c.path, resumePath)
		}
		if fatal != 0 {
			s.refuse(c, fatal)
			return false
		}
		if !valid {
			s.mu.Lock()
			s.eventLocked("invalid_session", c.path, 0)
			s.mu.Unlock()
			return c.writeJSON(map[string]any{"op": 9, "d": false}) == nil
		}
		s.mu.Lock()
		c.session = res.SessionID
		c.shard = s.gw.shards.sessionShard[res.SessionID]
		s.mu.Unlock()
		if err := s.dispatchReady(c, "RESUMED", map[string]any{}, "resumed"); err != nil {
			return false
		}
	case 3, 4, 8, 31: // presence, voice, guild members, soundboard: accepted
	default:
		_ = c.writeClose(4001, "Unknown opcode.")
		return false
	}
	return true
}

func (s *Server) refuse(c *gwConn, code int) {
	s.mu.Lock()
	s.eventLocked("server_close", c.path, code)
	s.mu.Unlock()
	_ = c.writeClose(code, closeReason(code))
	c.ws.Close()
}

func closeReason(code int) string {
	switch code {
	case 4004:
		return "Authentication failed."
	case 4010:
		return "Invalid shard."
	case 4011:
		return "Sharding required."
	case 4012:
		return "Invalid API version."
	case 4013:
		return "Invalid intent(s)."
	case 4014:
		return "Disallowed intent(s)."
	}
	return "Unknown error."
}

func (s *Server) markReady(c *gwConn, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.gw.conns[c]; ok {
		c.ready = true
	}
	s.addEventLocked(GatewayEvent{Kind: kind, Path: c.path, Shard: c.shard})
}

// readyPayloadLocked is READY for a session of shard sh: the guilds on
// its shard, as unavailable guilds (GUILD_CREATEs would follow).
func (s *Server) readyPayloadLocked(session string, sh Shard) map[string]any {
	return map[string]any{
		"v":                  9,
		"session_id":         session,
		"resume_gateway_url": s.ResumeURL(),
		"user":               userJSON(User{ID: BotID, Name: "verbatim", Bot: true}),
		"application":        map[string]any{"id": AppID, "flags": 0},
		"guilds":             s.guildsOfLocked(sh),
		"private_channels":   []any{},
		"shard":              []int{sh.ID, sh.Count},
	}
}

// dispatchReady sends READY or RESUMED on c and marks c ready as one step:
// a dispatch that finds c ready waits for c's writer, so it follows READY
// on the wire, and one sent after the client read READY always finds c
// ready (Discord delivers a session's events from READY on). Lock order:
// c.mu, then s.mu; nothing takes c.mu holding s.mu.
func (s *Server) dispatchReady(c *gwConn, event string, d any, kind string) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", event, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s.mu.Lock()
	s.gw.seq++
	seq := s.gw.seq
	s.mu.Unlock()
	s.markReady(c, kind)
	return c.writeJSONLocked(frame{Op: 0, D: raw, S: &seq, Type: event})
}

func (s *Server) dispatchRaw(c *gwConn, event string, raw json.RawMessage) error {
	s.mu.Lock()
	s.gw.seq++
	seq := s.gw.seq
	s.mu.Unlock()
	return c.writeJSON(frame{Op: 0, D: raw, S: &seq, Type: event})
}

// Dispatch sends event with data d to the ready gateway connections that
// receive it — those of the shard of d's guild_id, or of shard 0 when d
// has none (a DM) — waiting up to 5 s for one (a client may be
// reconnecting).
func (s *Server) Dispatch(tb testing.TB, event string, d any) {
	tb.Helper()
	raw, err := json.Marshal(d)
	if err != nil {
		tb.Fatalf("dispatch %s: %v", event, err)
	}
	var about struct {
		GuildID string `json:"guild_id"`
	}
	if err := json.Unmarshal(raw, &about); err != nil {
		tb.Fatalf("dispatch %s: %v", event, err)
	}
	where := "for guild " + about.GuildID
	if about.GuildID == "" {
		where = "for DMs (shard 0)"
	}
	conns, err := s.waitRoute(5*time.Second, func(c *gwConn) bool { return c.shard.receives(about.GuildID) }, "no gateway connection "+where)
	if err != nil {
		tb.Fatalf("dispatch %s: %v (connected shards: %v)", event, err, s.Shards())
	}
	for _, c := range conns {
		s.mu.Lock()
		s.addEventLocked(GatewayEvent{Kind: "dispatch", Path: c.path, Shard: c.shard, Event: event, Guild: about.GuildID})
		s.mu.Unlock()
		if err := s.dispatchRaw(c, event, raw); err != nil {
			tb.Fatalf("dispatch %s: %v", event, err)
		}
	}
}
