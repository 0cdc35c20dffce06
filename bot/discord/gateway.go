package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// The gateway client. discordgo v0.29.0 (the newest release) reconnects
// forever on every close code, including 4004 (the token was reset) and
// 4010–4014, so a bot with a dead token looks healthy; it resumes at the
// discovery URL instead of READY's resume_gateway_url, closes with 1000
// (which ends the session) before trying to resume it, and answers op 9
// with an immediate IDENTIFY instead of waiting 1–5 s. Its gateway code
// has no hooks to change that, so the bot speaks the gateway protocol
// itself, here, and keeps discordgo for REST, endpoints and the payload
// types it decodes events into.
//
// A gateway is one connection (one shard); sharding runs several with
// shard set, all dispatching to the same Bot (shards.go).

// GatewayError is a close of the gateway connection Discord says not to
// reconnect after (4004 authentication failed, 4010–4014): the process
// should stop and say why.
type GatewayError struct {
	Code   int
	Reason string
}

func (e *GatewayError) Error() string {
	return fmt.Sprintf("discord gateway closed the connection with %d: %s", e.Code, e.Reason)
}

// fatalClose explains the close codes a client must not reconnect after
// (https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes).
var fatalClose = map[int]string{
	4004: "authentication failed — DISCORD_TOKEN is wrong or was reset",
	4010: "invalid shard",
	4011: "sharding required — the bot is in too many guilds for one connection",
	4012: "invalid API version",
	4013: "invalid intents",
	4014: "disallowed intents — a privileged intent is not enabled for the application in the developer portal",
}

// Closes after which the session cannot be resumed: start a new one.
const (
	closeInvalidSeq     = 4007
	closeSessionTimeout = 4009
)

// The codes the client closes with: 1000 ends the session (shutdown);
// anything else keeps it resumable (op 7, a zombied connection).
const (
	closeNormal    = websocket.CloseNormalClosure
	closeReconnect = 4000
)

type outcome int

const (
	outStopped        outcome = iota // ctx ended; the session was closed with 1000
	outResume                        // reconnect and RESUME
	outIdentify                      // the session is gone: reconnect and IDENTIFY
	outInvalidSession                // op 9: wait 1–5 s, then identify (or resume when resumable)
	outFatal                         // a fatal close code
)

// connResult is how one connection ended.
type connResult struct {
	out       outcome
	err       error
	ready     bool // READY or RESUMED arrived: the connection worked
	resumable bool // for outInvalidSession
}

// readyInfo is what READY tells the bot about itself.
type readyInfo struct {
	SessionID        string `json:"session_id"`
	ResumeGatewayURL string `json:"resume_gateway_url"`
	User             struct {
		ID string `json:"id"`
	} `json:"user"`
	Application struct {
		ID string `json:"id"`
	} `json:"application"`
}

// gateway keeps one gateway session alive.
type gateway struct {
	token   string // with the "Bot " prefix
	intents discordgo.Intent
	shard   *[2]int // nil: one connection for all guilds
	url     string  // the discovered URL (GET /gateway/bot)
	dialer  *websocket.Dialer
	log     *slog.Logger
	// gate spaces the IDENTIFYs of the process's shards as
	// max_concurrency asks; first is this shard's place in its line for
	// the first one, taken before run started.
	gate  *identifyGate
	first *identifyTicket
	// dispatch receives every dispatch (op 0) but READY and RESUMED, on
	// the reading goroutine: it must not block.
	dispatch func(event string, data json.RawMessage)
	// onReady is called with each READY.
	onReady func(readyInfo)
	// backoff is the wait before reconnect attempt n (0-based) after a
	// connection failed; invalidWait the wait after op 9 (1–5 s).
	backoff     func(n int) time.Duration
	invalidWait func() time.Duration

	// The session, touched only by run's goroutine.
	sessionID string
	resumeURL string
	seq       atomic.Int64
}

// gatewayBackoff is the wait before reconnect attempt n (0-based) after a
// connection failed: 0.5 s … 32 s, jittered.
func gatewayBackoff(n int) time.Duration {
	d := 500 * time.Millisecond << min(n, 6)
	return d/2 + rand.N(d/2+1)
}

// invalidSessionWait is the random 1–5 s Discord asks for after op 9.
func invalidSessionWait() time.Duration { return time.Second + rand.N(4*time.Second) }

// shardID is the gateway's shard (0 without sharding).
func (g *gateway) shardID() int {
	if g.shard == nil {
		return 0
	}
	return g.shard[0]
}

// run connects, and reconnects as Discord's rules say, until ctx ends (nil)
// or Discord closes with a code that forbids reconnecting (*GatewayError).
func (g *gateway) run(ctx context.Context) error {
	defer func() {
		if g.first != nil { // never used: leave the line
			g.first.give()
		}
	}()
	failures := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		resume := g.sessionID != ""
		url := g.url
		if resume && g.resumeURL != "" {
			url = g.resumeURL
		}
		res := g.connect(ctx, url, resume)
		if res.ready {
			failures = 0
		}
		wait := time.Duration(0)
		switch res.out {
		case outStopped:
			return nil
		case outFatal:
			return res.err
		case outIdentify:
			g.endSession()
		case outInvalidSession:
			if !res.resumable {
				g.endSession()
			}
			wait = g.invalidWait()
		case outResume:
			if res.err != nil && !res.ready {
				if resume {
					// The resume failed to connect: start over at the
					// discovered URL with a new session.
					g.endSession()
				}
				wait = g.backoff(failures)
				failures++
			}
		}
		if res.err != nil {
			g.log.Warn("discord gateway connection ended; reconnecting", "err", res.err.Error(), "resume", g.sessionID != "", "wait", wait)
		}
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

func (g *gateway) endSession() {
	g.sessionID, g.resumeURL = "", ""
	g.seq.Store(0)
}

// sleep waits d or until ctx ends, reporting whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

type gatewayFrame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  string          `json:"t"`
}

// gwConn is one websocket connection: writes are serialised, and the first
// reason to end it wins.
type gwConn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex
	acked   atomic.Bool
	once    sync.Once
	ended   chan struct{}
	result  connResult
}

func (c *gwConn) write(v any) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	return c.ws.WriteJSON(v)
}

// end closes the connection with code, recording why (the first call wins).
func (c *gwConn) end(r connResult, code int, reason string) {
	c.once.Do(func() {
		c.result = r
		close(c.ended)
		c.writeMu.Lock()
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(2*time.Second))
		c.writeMu.Unlock()
		c.ws.Close()
	})
}

func (c *gwConn) endedWith() (connResult, bool) {
	select {
	case <-c.ended:
		return c.result, true
	default:
		return connResult{}, false
	}
}

// connect runs one connection: HELLO, IDENTIFY or RESUME, heartbeats, and
// dispatches, until it ends.
func (g *gateway) connect(ctx context.Context, url string, resume bool) connResult {
	var ticket *identifyTicket
	if !resume {
		// A new session waits for its max_concurrency bucket, before
		// dialling: heartbeats would be owed while waiting on a socket.
		ticket, g.first = g.first, nil
		if ticket == nil {
			ticket = g.gate.queue(g.shardID())
		}
		if !ticket.wait(ctx) {
			return connResult{out: outStopped}
		}
		defer ticket.release() // if no IDENTIFY was sent; released at once after it
	}
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ws, resp, err := g.dialer.DialContext(dialCtx, strings.TrimSuffix(url, "/")+"/?v="+discordgo.APIVersion+"&encoding=json", nil)
	cancel()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return connResult{out: outStopped}
		}
		return connResult{out: outResume, err: fmt.Errorf("dial discord gateway: %w", err)}
	}
	c := &gwConn{ws: ws, ended: make(chan struct{})}
	c.acked.Store(true)
	defer ws.Close()

	// HELLO comes first.
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	var hello struct {
		HeartbeatInterval int `json:"heartbeat_interval"`
	}
	var f gatewayFrame
	if err := ws.ReadJSON(&f); err != nil {
		return g.readFailed(ctx, c, fmt.Errorf("read HELLO: %w", err))
	}
	if f.Op != 10 || json.Unmarshal(f.D, &hello) != nil || hello.HeartbeatInterval <= 0 {
		return connResult{out: outResume, err: fmt.Errorf("discord gateway sent op %d instead of HELLO", f.Op)}
	}
	_ = ws.SetReadDeadline(time.Time{})

	if resume {
		err = c.write(map[string]any{"op": 6, "d": map[string]any{"token": g.token, "session_id": g.sessionID, "seq": g.seq.Load()}})
	} else {
		id := map[string]any{
			"token":      g.token,
			"intents":    g.intents,
			"properties": map[string]string{"os": runtime.GOOS, "browser": "verbatim", "device": "verbatim"},
		}
		if g.shard != nil {
			id["shard"] = *g.shard
		}
		ticket.identified(time.Now())
		err = c.write(map[string]any{"op": 2, "d": id})
		ticket.release()
	}
	if err != nil {
		return connResult{out: outResume, err: fmt.Errorf("send %s: %w", map[bool]string{true: "RESUME", false: "IDENTIFY"}[resume], err)}
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	go func() { // shutdown ends the session: close with 1000
		defer wg.Done()
		select {
		case <-ctx.Done():
			c.end(connResult{out: outStopped}, closeNormal, "shutting down")
		case <-c.ended:
		}
	}()
	go func() {
		defer wg.Done()
		g.heartbeat(c, time.Duration(hello.HeartbeatInterval)*time.Millisecond)
	}()
	defer c.end(connResult{out: outResume}, closeReconnect, "") // stop the helpers on any return

	ready := false
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			r := g.readFailed(ctx, c, err)
			r.ready = ready
			return r
		}
		if err := json.Unmarshal(data, &f); err != nil {
			g.log.Warn("discord gateway frame is not JSON; ignored", "err", err.Error())
			continue
		}
		switch f.Op {
		case 0: // dispatch
			if f.S != nil {
				g.seq.Store(*f.S)
			}
			switch f.T {
			case "READY":
				var r readyInfo
				if err := json.Unmarshal(f.D, &r); err != nil || r.SessionID == "" {
					c.end(connResult{out: outIdentify, err: fmt.Errorf("READY without a session: %v", err)}, closeReconnect, "bad READY")
					continue
				}
				g.sessionID, g.resumeURL = r.SessionID, r.ResumeGatewayURL
				ready = true
				g.log.Info("discord gateway ready", "session", r.SessionID, "resume_url_set", r.ResumeGatewayURL != "")
				if g.onReady != nil {
					g.onReady(r)
				}
			case "RESUMED":
				ready = true
				g.log.Info("discord gateway resumed", "session", g.sessionID)
			default:
				g.dispatch(f.T, f.D)
			}
		case 1: // the server asks for a heartbeat now
			if err := c.write(map[string]any{"op": 1, "d": g.seqOrNil()}); err != nil {
				c.end(connResult{out: outResume, err: fmt.Errorf("send heartbeat: %w", err)}, closeReconnect, "")
			}
		case 7: // reconnect and resume
			g.log.Info("discord gateway asked to reconnect (op 7)")
			c.end(connResult{out: outResume, ready: ready}, closeReconnect, "reconnect requested")
		case 9: // invalid session
			var resumable bool
			_ = json.Unmarshal(f.D, &resumable)
			g.log.Info("discord gateway invalidated the session (op 9)", "resumable", resumable)
			c.end(connResult{out: outInvalidSession, resumable: resumable, ready: ready}, closeReconnect, "invalid session")
		case 11:
			c.acked.Store(true)
		}
	}
}

func (g *gateway) seqOrNil() any {
	if s := g.seq.Load(); s > 0 {
		return s
	}
	return nil
}

// readFailed turns the error that ended a connection into its outcome: a
// reason recorded by end (op 7, op 9, shutdown, zombie) wins; then the
// close code Discord sent.
func (g *gateway) readFailed(ctx context.Context, c *gwConn, err error) connResult {
	if r, ok := c.endedWith(); ok {
		return r
	}
	if ctx.Err() != nil {
		return connResult{out: outStopped}
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if reason, fatal := fatalClose[ce.Code]; fatal {
			return connResult{out: outFatal, err: &GatewayError{Code: ce.Code, Reason: reason}}
		}
		if ce.Code == closeInvalidSeq || ce.Code == closeSessionTimeout {
			return connResult{out: outIdentify, err: fmt.Errorf("discord gateway closed with %d (%s): starting a new session", ce.Code, ce.Text)}
		}
		return connResult{out: outResume, err: fmt.Errorf("discord gateway closed with %d (%s)", ce.Code, ce.Text)}
	}
	return connResult{out: outResume, err: fmt.Errorf("discord gateway: %w", err)}
}

// heartbeat sends op 1 every interval (the first after a random part of
// it, as Discord asks) until the connection ends; a beat that finds the
// previous one unacknowledged ends the connection as zombied, to resume.
func (g *gateway) heartbeat(c *gwConn, interval time.Duration) {
	t := time.NewTimer(rand.N(interval))
	defer t.Stop()
	for {
		select {
		case <-c.ended:
			return
		case <-t.C:
		}
		if !c.acked.Swap(false) {
			c.end(connResult{out: outResume, err: errors.New("no heartbeat ACK: connection zombied")}, closeReconnect, "zombied")
			return
		}
		if err := c.write(map[string]any{"op": 1, "d": g.seqOrNil()}); err != nil {
			c.end(connResult{out: outResume, err: fmt.Errorf("send heartbeat: %w", err)}, closeReconnect, "")
			return
		}
		t.Reset(interval)
	}
}
