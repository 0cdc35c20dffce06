package discordtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiError is Discord's JSON error body: an HTTP status, a JSON error code
// (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json)
// and a message, with the offending fields for 50035.
type apiError struct {
	status  int
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Errors  map[string]any `json:"errors,omitempty"`
}

func apiErr(status, code int, msg string) *apiError {
	return &apiError{status: status, Code: code, Message: msg}
}

// invalidForm is 400 50035 naming the field that broke the schema.
func invalidForm(field, msg string) *apiError {
	e := apiErr(http.StatusBadRequest, 50035, "Invalid Form Body")
	e.Errors = map[string]any{field: map[string]any{"_errors": []any{map[string]string{"code": "BASE_TYPE_INVALID", "message": msg}}}}
	return e
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// response is what a route answered, held until injected failures and
// rate-limit headers have had their say.
type response struct {
	status int
	body   any // nil: no body (204)
	header http.Header
}

func ok(v any) response           { return response{status: http.StatusOK, body: v} }
func noContent() response         { return response{status: http.StatusNoContent} }
func failed(e *apiError) response { return response{status: e.status, body: e} }

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, apiErr(http.StatusBadRequest, 0, "read body"))
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
	if body != nil && r.Header.Get("Content-Type") != "application/json" {
		s.tb.Errorf("discordtest: %s %s: JSON body sent as %q", c.Method, c.Path, r.Header.Get("Content-Type"))
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	n := len(s.calls) - 1
	s.notifyLocked()
	var delay time.Duration
	for _, l := range s.latency {
		if l.match(c) {
			delay += l.d
		}
	}
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	resp := s.answer(r, c)
	s.mu.Lock()
	s.calls[n].Status = resp.status
	s.calls[n].Done = time.Now()
	if resp.status == http.StatusUnauthorized || resp.status == http.StatusForbidden ||
		(resp.status == http.StatusTooManyRequests && resp.header.Get("X-RateLimit-Scope") != "shared") {
		s.rest.invalid++
	}
	s.notifyLocked()
	s.mu.Unlock()

	for k, vs := range resp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if resp.body == nil {
		w.WriteHeader(resp.status)
		return
	}
	writeJSON(w, resp.status, resp.body)
}

// answer runs the checks Discord makes before a route (authorization, rate
// limits, injected failures), the route itself, and failures injected after
// processing.
func (s *Server) answer(r *http.Request, c Call) response {
	route := routeOf(c)
	if resp, stop := s.checkAuth(c, route); stop {
		return resp
	}
	if resp, limited := s.rateLimit(c, route); limited {
		return resp
	}
	s.mu.Lock()
	var inject *failure
	for _, f := range s.failures {
		if f.left > 0 && f.match(c) {
			f.left--
			inject = f
			break
		}
	}
	s.mu.Unlock()
	if inject != nil && !inject.processed {
		return failed(apiErr(inject.status, inject.code, http.StatusText(inject.status)))
	}
	resp := s.route(r, c)
	if inject != nil {
		return failed(apiErr(inject.status, inject.code, http.StatusText(inject.status)))
	}
	resp.header = s.limitHeaders(c, route, resp.header)
	return resp
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

func splitPath(path string) []string { return strings.Split(strings.Trim(path, "/"), "/") }

// route names a call's route with its major parameters kept (Discord's
// per-resource rate limits), e.g. "PATCH /webhooks/{app}/{token}/messages/{id}"
// keyed by token.
type route struct {
	name  string // e.g. "POST /channels/{id}/messages"
	major string // the top-level resource: channel ID, guild ID, webhook token
	// interaction: one of the interaction endpoints, which the global rate
	// limit does not bind.
	interaction bool
	// webhook: authenticated by the token in the path, not the header.
	webhook bool
}

func routeOf(c Call) route {
	p := splitPath(c.Path)
	switch {
	case len(p) >= 4 && p[0] == "interactions":
		return route{name: c.Method + " /interactions/{id}/{token}/callback", major: p[2], interaction: true, webhook: true}
	case len(p) >= 3 && p[0] == "webhooks":
		name := c.Method + " /webhooks/{app}/{token}"
		if len(p) > 3 {
			name += "/messages/{id}"
		}
		return route{name: name, major: p[2], interaction: true, webhook: true}
	case len(p) >= 2 && p[0] == "channels":
		rest := ""
		for _, part := range p[2:] {
			if isSnowflake(part) {
				part = "{id}"
			}
			rest += "/" + part
		}
		return route{name: c.Method + " /channels/{id}" + rest, major: p[1]}
	case len(p) >= 2 && p[0] == "guilds":
		return route{name: c.Method + " /guilds/{id}/" + strings.Join(p[2:], "/"), major: p[1]}
	}
	return route{name: c.Method + " " + c.Path}
}

func isSnowflake(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// checkAuth answers 401 when the bot token was revoked (the webhook routes
// of interactions authenticate by their own token).
func (s *Server) checkAuth(c Call, rt route) (response, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt.webhook || c.Path == "/gateway" {
		return response{}, false
	}
	if s.rest.revoked || !strings.HasPrefix(c.Auth, "Bot ") {
		return failed(apiErr(http.StatusUnauthorized, 0, "401: Unauthorized")), true
	}
	return response{}, false
}

func (s *Server) route(r *http.Request, c Call) response {
	p := splitPath(c.Path)
	m := c.Method
	switch {
	case m == "GET" && match(p, "gateway"):
		return ok(map[string]string{"url": s.gatewayURL()})
	case m == "GET" && match(p, "gateway", "bot"):
		return s.gatewayBot()
	case m == "PUT" && (match(p, "applications", "*", "commands") || match(p, "applications", "*", "guilds", "*", "commands")):
		return s.putCommands(c, p)
	case m == "POST" && match(p, "interactions", "*", "*", "callback"):
		return s.interactionCallback(c, p[1], p[2])
	case (m == "PATCH" || m == "GET" || m == "DELETE") && match(p, "webhooks", "*", "*", "messages", "*"):
		return s.webhookMessage(c, p[1], p[2], p[4])
	case m == "POST" && match(p, "webhooks", "*", "*"):
		return s.followup(c, p[1], p[2])
	case m == "POST" && match(p, "channels", "*", "messages"):
		return s.createMessage(c, p[1])
	case m == "PATCH" && match(p, "channels", "*", "messages", "*"):
		return s.editMessage(c, p[1], p[3])
	case m == "GET" && match(p, "channels", "*", "messages"):
		return s.listMessages(c, p[1])
	case m == "GET" && match(p, "channels", "*", "messages", "*"):
		return s.getMessage(p[1], p[3])
	case m == "POST" && match(p, "channels", "*", "typing"):
		return s.typing(p[1])
	case m == "POST" && match(p, "channels", "*", "messages", "*", "threads"):
		return s.threadFromMessage(c, p[1], p[3])
	case m == "POST" && match(p, "channels", "*", "threads"):
		return s.threadWithoutMessage(c, p[1])
	case m == "GET" && match(p, "channels", "*"):
		return s.getChannel(p[1])
	case m == "GET" && match(p, "guilds", "*", "roles"):
		return s.guildRoles(p[1])
	case m == "POST" && match(p, "users", "@me", "channels"):
		return s.createDM(c)
	}
	s.tb.Errorf("discordtest: no such route: %s %s", m, r.URL.Path)
	return failed(apiErr(http.StatusNotFound, 0, "404: Not Found"))
}

// decodeBody decodes c's JSON body into v, or answers 400 50035 as Discord
// does for a body that does not parse.
func decodeBody(c Call, v any) *apiError {
	if c.Body == nil {
		return invalidForm("_", "body required")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body))
	if err := dec.Decode(v); err != nil {
		return invalidForm("_", err.Error())
	}
	return nil
}
