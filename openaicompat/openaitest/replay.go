package openaitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Exchange is one HTTP exchange recorded against a real server, in the
// format of testdata/realservers (described in its README.md).
type Exchange struct {
	Server      string   `json:"server"`
	Version     string   `json:"version"`
	CommandLine string   `json:"command_line"`
	Client      string   `json:"client"`
	Notes       string   `json:"notes"`
	Trimmed     []string `json:"trimmed"`
	Request     struct {
		Method  string     `json:"method"`
		Path    string     `json:"path"`
		Headers [][]string `json:"headers"`
		Body    string     `json:"body"`
	} `json:"request"`
	Response struct {
		Status        int        `json:"status"`
		Reason        string     `json:"reason"`
		Headers       [][]string `json:"headers"`
		Body          string     `json:"body"`
		ConnectionEnd string     `json:"connection_end"`
	} `json:"response"`

	path string
}

// Load reads a recorded exchange.
func Load(path string) (*Exchange, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load exchange: %w", err)
	}
	var ex Exchange
	if err := json.Unmarshal(b, &ex); err != nil {
		return nil, fmt.Errorf("load exchange %s: %w", path, err)
	}
	for _, h := range append(ex.Request.Headers, ex.Response.Headers...) {
		if len(h) != 2 {
			return nil, fmt.Errorf("load exchange %s: header %q is not a [name, value] pair", path, h)
		}
	}
	if ex.Request.Method == "" || ex.Request.Path == "" || ex.Response.Status == 0 {
		return nil, fmt.Errorf("load exchange %s: no request method, path or response status", path)
	}
	ex.path = path
	return &ex, nil
}

// Header is the first value of a recorded response header, "" if absent.
func (e *Exchange) Header(name string) string {
	for _, h := range e.Response.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// Cut reports whether the server closed the connection without ending the
// response (connection_end "connection closed … without the terminating
// zero-length chunk"): the client saw the body cut short.
func (e *Exchange) Cut() bool {
	return strings.Contains(e.Response.ConnectionEnd, "without the terminating")
}

// Streamed reports whether the response is a server-sent-event stream.
func (e *Exchange) Streamed() bool {
	return strings.HasPrefix(e.Header("Content-Type"), "text/event-stream")
}

// Events splits a streamed body into its events, each with the blank line
// that ends it; the pieces join to the body exactly.
func (e *Exchange) Events() []string {
	body := e.Response.Body
	var out []string
	for body != "" {
		i := strings.Index(body, "\n\n")
		if i < 0 {
			out = append(out, body)
			break
		}
		out = append(out, body[:i+2])
		body = body[i+2:]
	}
	return out
}

// RequestStream reports whether the recorded request asked for a stream.
func (e *Exchange) RequestStream() bool {
	var req struct {
		Stream bool `json:"stream"`
	}
	_ = json.Unmarshal([]byte(e.Request.Body), &req) // GET requests have no body
	return req.Stream
}

// Replay answers with the recorded response byte for byte: its status,
// its headers (and no others: net/http's Date is suppressed when the
// server sent none), its body, streamed event by event with a flush after
// each when it was an event stream or chunked. A Content-Length that no
// longer matches a trimmed body (see the recording's "trimmed") is
// corrected. When the server cut the connection (Exchange.Cut), so does
// the replay, after the last byte and without the terminating chunk;
// otherwise the response ends cleanly.
//
// The request must be the recorded one's method and path, and for chat the
// same stream flag; otherwise the test fails.
func Replay(ex *Exchange) Reply { return Reply{kind: kindReplay, ex: ex} }

func (s *Server) replay(w http.ResponseWriter, r *http.Request, req Request, reply Reply) {
	ex := reply.ex
	if r.Method != ex.Request.Method || r.URL.Path != ex.Request.Path {
		s.t.Errorf("openaitest: replaying %s (%s %s) to %s %s", ex.path, ex.Request.Method, ex.Request.Path, r.Method, r.URL.Path)
		s.writeError(w, failure{status: http.StatusInternalServerError, msg: "openaitest: replay of another request"})
		return
	}
	if req.Chat != nil && req.Chat.Stream != ex.RequestStream() {
		s.t.Errorf("openaitest: replaying %s (stream %v) to a request with stream %v", ex.path, ex.RequestStream(), req.Chat.Stream)
	}
	if !s.wait(r, reply.delay) {
		return
	}
	h := w.Header()
	chunked := false
	for _, kv := range ex.Response.Headers {
		name, value := http.CanonicalHeaderKey(kv[0]), kv[1]
		switch name {
		case "Transfer-Encoding":
			chunked = strings.EqualFold(value, "chunked") // net/http frames it
			continue
		case "Content-Length":
			if n, err := strconv.Atoi(value); err != nil || n != len(ex.Response.Body) {
				value = strconv.Itoa(len(ex.Response.Body)) // a trimmed body
			}
		}
		h.Add(name, value)
	}
	for _, name := range []string{"Date", "Content-Type"} {
		if h.Get(name) == "" {
			h[name] = nil // net/http adds none the server did not send
		}
	}
	w.WriteHeader(ex.Response.Status)
	rc := http.NewResponseController(w)
	if chunked {
		_ = rc.Flush() // chunked from the first byte, as recorded
	}
	pieces := []string{ex.Response.Body}
	if ex.Streamed() {
		pieces = ex.Events()
	}
	for _, p := range pieces {
		if _, err := w.Write([]byte(p)); err != nil {
			return // the client went away
		}
		if chunked || ex.Streamed() {
			_ = rc.Flush()
		}
	}
	if ex.Cut() {
		s.cut(w, true)
	}
}
