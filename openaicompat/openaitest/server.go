// Package openaitest is the one fake OpenAI-compatible server of verbatim's
// tests: chat completions (streamed and not), embeddings and the model list,
// speaking like llama.cpp's llama-server, Ollama or OpenAI, with scripted
// failures (a server that hangs, drops the stream, rambles, talks gibberish,
// answers 5xx or the 4xx bodies those servers send), and able to replay an
// exchange recorded from a real server byte for byte (see Replay and
// testdata/realservers).
//
// It is at least as strict as the servers it imitates: a malformed request
// fails the test (t.Errorf) and gets the 400 a real server would send; a
// wrong API key gets a 401 whose body echoes the key, as OpenAI's does; a
// prompt longer than the context window gets llama-server's 400 (or is cut
// silently, as Ollama does).
//
// It imports nothing of verbatim's, so every package's tests can use it.
package openaitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Flavour is the server a Server imitates: its error bodies, stream chunks,
// headers and how it fails.
type Flavour int

const (
	// LlamaServer is llama.cpp's llama-server (the zero value).
	LlamaServer Flavour = iota
	// Ollama is Ollama's OpenAI-compatible API.
	Ollama
	// OpenAI is api.openai.com.
	OpenAI
)

func (f Flavour) String() string {
	switch f {
	case Ollama:
		return "ollama"
	case OpenAI:
		return "openai"
	}
	return "llama-server"
}

// Options configure a Server. The zero value is a llama-server with one
// model, "test-model", an 8192-token window and embeddings on.
type Options struct {
	Flavour Flavour
	// Models are the IDs GET /v1/models lists. Empty: "test-model". On
	// Ollama and OpenAI a chat or embedding request for a model not listed
	// gets their 404 ("model 'x' not found"); Ollama also accepts a name
	// without its ":latest" tag. llama-server serves its one model under
	// any name.
	Models []string
	// APIKey, when set, must come as "Authorization: Bearer <key>"; any
	// other key gets a 401 whose message echoes the key sent ("Incorrect
	// API key provided: sk-…"), as OpenAI's does.
	APIKey string
	// ContextTokens is the model's context window, counted with Tokens. A
	// longer prompt gets llama-server's 400 exceed_context_size_error,
	// OpenAI's 400 context_length_exceeded (prompt plus max_tokens), or on
	// Ollama is silently cut to the window (usage.prompt_tokens says so).
	// Generation also stops when the window is full. Zero: 8192.
	ContextTokens int
	// NoSchema rejects response_format json_schema with a 400 naming it, as
	// servers without structured output do.
	NoSchema bool
	// NoEmbeddings answers /v1/embeddings with llama-server's 501 for a
	// server started without --embeddings.
	NoEmbeddings bool
	// BatchTokens is the embedding server's physical batch (-ub): an input
	// of more tokens gets llama-server's 500 "input (N tokens) is too large
	// to process". Zero: no limit.
	BatchTokens int
	// EmbedDims is the length of the vectors (see Vector). Zero: 32. Only
	// the OpenAI flavour honours a request's "dimensions".
	EmbedDims int
	// ReverseEmbeddings lists the vectors of a response last input first,
	// each with its "index", so a client must place them by index.
	ReverseEmbeddings bool
	// TokenDelay is how long the model takes per generated token; a
	// streamed reply sends a token per event. Zero: no delay.
	TokenDelay time.Duration
}

// Server is a fake OpenAI-compatible server on a local port. It is safe for
// concurrent use; requests are answered in the order they arrive.
type Server struct {
	// URL is the base URL with the /v1 suffix, as clients are configured.
	URL string

	t    testing.TB
	opts Options
	http *httptest.Server
	done chan struct{} // closed when the test ends: hanging replies return

	mu       sync.Mutex
	requests []Request
	queues   map[string][]Reply // endpoint → replies still to play
}

// Endpoints of the API, as Server.Script takes them.
const (
	ChatPath   = "/v1/chat/completions"
	EmbedPath  = "/v1/embeddings"
	ModelsPath = "/v1/models"
)

// New starts a server that stops when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if len(opts.Models) == 0 {
		opts.Models = []string{"test-model"}
	}
	if opts.ContextTokens <= 0 {
		opts.ContextTokens = 8192
	}
	if opts.EmbedDims <= 0 {
		opts.EmbedDims = 32
	}
	s := &Server{t: t, opts: opts, done: make(chan struct{}), queues: map[string][]Reply{}}
	s.http = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.http.URL + "/v1"
	t.Cleanup(s.http.Close)
	t.Cleanup(func() { close(s.done) }) // runs first: hanging handlers return, then Close waits for them
	return s
}

// Chat queues the replies to the next chat completion requests, in order;
// the last one answers every request after them. Without any, a chat
// request fails the test.
func (s *Server) Chat(replies ...Reply) { s.Script(ChatPath, replies...) }

// Embeddings queues replies to the next embedding requests (see Chat).
// Without any, each input gets its Vector.
func (s *Server) Embeddings(replies ...Reply) { s.Script(EmbedPath, replies...) }

// Script queues replies for the endpoint path (ChatPath, EmbedPath,
// ModelsPath, or any other path a replayed exchange was recorded on).
func (s *Server) Script(path string, replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queues[path] = append(s.queues[path], replies...)
}

// peek is the reply next(path) would return.
func (s *Server) peek(path string) (Reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[path]
	if len(q) == 0 {
		return Reply{}, false
	}
	return q[0], true
}

// next pops the reply for path: ok is false when none was scripted.
func (s *Server) next(path string) (Reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[path]
	if len(q) == 0 {
		return Reply{}, false
	}
	r := q[0]
	if len(q) > 1 {
		s.queues[path] = q[1:]
	}
	return r, true
}

// Requests are the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ChatRequests are the chat completion requests received so far.
func (s *Server) ChatRequests() []ChatRequest {
	var out []ChatRequest
	for _, r := range s.Requests() {
		if r.Chat != nil {
			out = append(out, *r.Chat)
		}
	}
	return out
}

// EmbedRequests are the embedding requests received so far.
func (s *Server) EmbedRequests() []EmbedRequest {
	var out []EmbedRequest
	for _, r := range s.Requests() {
		if r.Embed != nil {
			out = append(out, *r.Embed)
		}
	}
	return out
}

// Count is the number of requests received on path.
func (s *Server) Count(path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// Request is one request as the server received it.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	// Chat or Embed is the decoded body of a chat or embedding request.
	Chat  *ChatRequest
	Embed *EmbedRequest
	At    time.Time
}

// ChatRequest is the part of a chat completion request the server reads.
type ChatRequest struct {
	Model         string    `json:"model"`
	Messages      []Message `json:"messages"`
	Stream        bool      `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	ResponseFormat      *ResponseFormat `json:"response_format"`
	// Raw is the request body.
	Raw []byte `json:"-"`
}

// Message is one message of a chat request.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ResponseFormat is a chat request's response_format.
type ResponseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string          `json:"name"`
		Strict bool            `json:"strict"`
		Schema json.RawMessage `json:"schema"`
	} `json:"json_schema"`
}

// Message is the content of the first message with role, "" if none.
func (r ChatRequest) Message(role string) string {
	for _, m := range r.Messages {
		if m.Role == role {
			return m.Content
		}
	}
	return ""
}

// Limit is the max_tokens (or max_completion_tokens) of the request, 0
// when it sets none.
func (r ChatRequest) Limit() int {
	switch {
	case r.MaxTokens != nil:
		return *r.MaxTokens
	case r.MaxCompletionTokens != nil:
		return *r.MaxCompletionTokens
	}
	return 0
}

// JSON reports whether the request asks for a JSON reply.
func (r ChatRequest) JSON() bool {
	return r.ResponseFormat != nil && (r.ResponseFormat.Type == "json_schema" || r.ResponseFormat.Type == "json_object")
}

// PromptTokens is the prompt's length as the server counts it: Tokens of
// every message plus the chat template's tokens: 16 per message and 8 for
// the assistant's turn (ChatML in the recorded model's GPT-2 vocabulary,
// where "<|im_start|>" alone is seven tokens).
func (r ChatRequest) PromptTokens() int {
	n := 8
	for _, m := range r.Messages {
		n += Tokens(m.Content) + 16
	}
	return n
}

// EmbedRequest is an embeddings request.
type EmbedRequest struct {
	Model          string
	Input          []string
	Dimensions     int
	EncodingFormat string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("openaitest: read request body: %v", err)
		return
	}
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()}
	var fail *failure
	switch r.URL.Path {
	case ChatPath:
		req.Chat, fail = s.readChat(r, body)
	case EmbedPath:
		req.Embed, fail = s.readEmbed(r, body)
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	if fail == nil {
		fail = s.checkKey(r)
	}
	if fail != nil {
		s.writeError(w, *fail)
		return
	}
	if reply, ok := s.peek(r.URL.Path); ok && reply.kind == kindReplay {
		s.next(r.URL.Path)
		s.replay(w, r, req, reply)
		return
	}
	switch r.URL.Path {
	case ModelsPath:
		if r.Method != http.MethodGet {
			s.writeError(w, failure{status: http.StatusMethodNotAllowed, msg: "method not allowed"})
			return
		}
		if reply, ok := s.next(r.URL.Path); ok {
			s.play(w, r, req, reply)
			return
		}
		s.writeModels(w)
	case ChatPath:
		if f := s.checkModel(req.Chat.Model); f != nil {
			s.writeError(w, *f)
			return
		}
		if f := s.checkContext(*req.Chat); f != nil {
			s.writeError(w, *f)
			return
		}
		reply, ok := s.next(r.URL.Path)
		if !ok {
			s.t.Errorf("openaitest: chat request with no reply scripted (Server.Chat)")
			s.writeError(w, failure{status: http.StatusInternalServerError, msg: "openaitest: no reply scripted"})
			return
		}
		s.play(w, r, req, reply)
	case EmbedPath:
		if f := s.checkModel(req.Embed.Model); f != nil {
			s.writeError(w, *f)
			return
		}
		if reply, ok := s.next(r.URL.Path); ok {
			s.play(w, r, req, reply)
			return
		}
		s.writeEmbeddings(w, *req.Embed)
	default:
		if reply, ok := s.next(r.URL.Path); ok {
			s.play(w, r, req, reply)
			return
		}
		s.writeError(w, failure{status: http.StatusNotFound, msg: "File Not Found", typ: "not_found_error"})
	}
}

// failure is an error reply the server makes up itself.
type failure struct {
	status int
	msg    string
	typ    string // error type; "" picks the flavour's for the status
	code   any    // OpenAI's error code, nil for none
	extra  map[string]any
}

// bad is a request that a real server would reject with 400: the test
// fails too, since verbatim should never send one.
func (s *Server) bad(format string, args ...any) *failure {
	msg := fmt.Sprintf(format, args...)
	s.t.Errorf("openaitest: bad request: %s", msg)
	return &failure{status: http.StatusBadRequest, msg: msg, typ: "invalid_request_error"}
}

func (s *Server) readChat(r *http.Request, body []byte) (*ChatRequest, *failure) {
	req := &ChatRequest{Raw: body}
	if r.Method != http.MethodPost {
		return req, s.bad("%s %s: want POST", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return req, s.bad("Content-Type %q: want application/json", ct)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return req, s.bad("body is not a JSON object: %v", err)
	}
	if err := decodeBody(body, req); err != nil {
		return req, s.bad("%v", err)
	}
	for _, m := range rawMessages(raw["messages"]) {
		var content any
		if err := json.Unmarshal(m["content"], &content); err != nil || content == nil {
			return req, s.bad("every message needs a string content: %s", m["content"])
		}
		if _, ok := content.(string); !ok {
			return req, s.bad("message content must be a string (verbatim sends no content parts): %s", m["content"])
		}
	}
	switch {
	case req.Model == "":
		return req, s.bad("you must provide a model parameter")
	case len(req.Messages) == 0:
		return req, s.bad("'messages' must contain at least one message")
	case req.MaxTokens != nil && *req.MaxTokens < 1:
		return req, s.bad("max_tokens must be at least 1, got %d", *req.MaxTokens)
	case req.StreamOptions != nil && !req.Stream:
		return req, s.bad("The 'stream_options' parameter is only allowed when 'stream' is enabled.")
	}
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "user", "assistant", "developer":
		default:
			return req, s.bad("messages[%d].role %q: want system, user or assistant", i, m.Role)
		}
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "text", "json_object":
		case "json_schema":
			if rf.JSONSchema == nil || rf.JSONSchema.Name == "" || !json.Valid(rf.JSONSchema.Schema) {
				return req, s.bad("response_format json_schema needs a name and a schema object")
			}
			if s.opts.NoSchema {
				// Not a test failure: this is the server's limit, not the client's mistake.
				return req, &failure{status: http.StatusBadRequest, msg: "response_format of type json_schema is not supported by this server",
					typ: "invalid_request_error", extra: map[string]any{"param": "response_format"}}
			}
		default:
			return req, s.bad("response_format.type %q: want text, json_object or json_schema", rf.Type)
		}
	}
	return req, nil
}

// rawMessages decodes the messages array for the content check; a broken
// one was already reported by decodeBody.
func rawMessages(b json.RawMessage) []map[string]json.RawMessage {
	var ms []map[string]json.RawMessage
	_ = json.Unmarshal(b, &ms)
	return ms
}

// decodeBody decodes body into v, failing on values of the wrong type
// (unknown fields are ignored, as the servers do).
func decodeBody(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request: %v", err)
	}
	return nil
}

func (s *Server) readEmbed(r *http.Request, body []byte) (*EmbedRequest, *failure) {
	req := &EmbedRequest{}
	if r.Method != http.MethodPost {
		return req, s.bad("%s %s: want POST", r.Method, r.URL.Path)
	}
	var wire struct {
		Model          string          `json:"model"`
		Input          json.RawMessage `json:"input"`
		Dimensions     int             `json:"dimensions"`
		EncodingFormat string          `json:"encoding_format"`
	}
	if err := decodeBody(body, &wire); err != nil {
		return req, s.bad("%v", err)
	}
	req.Model, req.Dimensions, req.EncodingFormat = wire.Model, wire.Dimensions, wire.EncodingFormat
	var one string
	if err := json.Unmarshal(wire.Input, &one); err == nil {
		req.Input = []string{one}
	} else if err := json.Unmarshal(wire.Input, &req.Input); err != nil {
		return req, s.bad("'input' must be a string or an array of strings")
	}
	switch {
	case req.Model == "":
		return req, s.bad("you must provide a model parameter")
	case len(req.Input) == 0:
		return req, s.bad("'input' must not be empty")
	case req.EncodingFormat != "" && req.EncodingFormat != "float":
		return req, s.bad("encoding_format %q: want float", req.EncodingFormat)
	}
	for i, in := range req.Input {
		if in == "" {
			return req, s.bad("'input[%d]' must not be an empty string", i)
		}
	}
	if s.opts.NoEmbeddings {
		return req, &failure{status: http.StatusNotImplemented, msg: "This server does not support embeddings. Start it with `--embeddings`", typ: "not_supported_error"}
	}
	return req, nil
}

// checkKey enforces Options.APIKey.
func (s *Server) checkKey(r *http.Request) *failure {
	if s.opts.APIKey == "" {
		return nil
	}
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if got == s.opts.APIKey {
		return nil
	}
	msg := "You didn't provide an API key."
	if got != "" {
		msg = "Incorrect API key provided: " + got + ". You can find your API key at https://platform.openai.com/account/api-keys."
	}
	return &failure{status: http.StatusUnauthorized, msg: msg, typ: "invalid_request_error", code: "invalid_api_key"}
}

// checkModel answers the flavour's 404 for a model the server does not
// have.
func (s *Server) checkModel(model string) *failure {
	if s.opts.Flavour == LlamaServer || s.hasModel(model) {
		return nil
	}
	if s.opts.Flavour == Ollama {
		return &failure{status: http.StatusNotFound, msg: fmt.Sprintf("model '%s' not found", model), typ: "api_error"}
	}
	return &failure{status: http.StatusNotFound, msg: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model),
		typ: "invalid_request_error", code: "model_not_found"}
}

func (s *Server) hasModel(model string) bool {
	for _, m := range s.opts.Models {
		if m == model || (s.opts.Flavour == Ollama && m == model+":latest") {
			return true
		}
	}
	return false
}

// writeError sends f in the flavour's error envelope.
func (s *Server) writeError(w http.ResponseWriter, f failure) {
	typ := f.typ
	if typ == "" {
		typ = s.errorType(f.status)
	}
	e := map[string]any{"message": f.msg, "type": typ}
	switch s.opts.Flavour {
	case LlamaServer:
		e["code"] = f.status
		w.Header().Set("Server", "llama.cpp")
		w.Header().Set("Connection", "close") // as llama-server sends with every error
	default:
		e["param"], e["code"] = nil, f.code
	}
	for k, v := range f.extra {
		e[k] = v
	}
	s.writeJSON(w, f.status, map[string]any{"error": e})
}

// errorType is the type llama-server, Ollama or OpenAI give an error of
// that status.
func (s *Server) errorType(status int) string {
	switch s.opts.Flavour {
	case Ollama:
		if status == http.StatusBadRequest {
			return "invalid_request_error"
		}
		return "api_error"
	case LlamaServer:
		switch status {
		case 400:
			return "invalid_request_error"
		case 401:
			return "authentication_error"
		case 403:
			return "permission_error"
		case 404:
			return "not_found_error"
		case 501:
			return "not_supported_error"
		case 503:
			return "unavailable_error"
		}
		return "server_error"
	}
	if status >= 500 {
		return "server_error"
	}
	return "invalid_request_error"
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.t.Errorf("openaitest: encode response: %v", err)
		return
	}
	if s.opts.Flavour == LlamaServer {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Server", "llama.cpp")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	if _, err := w.Write(b); err != nil {
		s.t.Logf("openaitest: write response: %v", err) // the client went away
	}
}

func (s *Server) writeModels(w http.ResponseWriter) {
	data := []map[string]any{}
	for _, m := range s.opts.Models {
		d := map[string]any{"id": m, "object": "model", "created": 1796133738, "owned_by": "library"}
		if s.opts.Flavour == LlamaServer {
			d["owned_by"] = "llamacpp"
			d["meta"] = map[string]any{"n_ctx": s.opts.ContextTokens, "n_ctx_train": s.opts.ContextTokens}
		}
		data = append(data, d)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *Server) writeEmbeddings(w http.ResponseWriter, req EmbedRequest) {
	if lim := s.opts.BatchTokens; lim > 0 {
		for _, in := range req.Input {
			if n := Tokens(in); n > lim {
				s.writeError(w, failure{status: http.StatusInternalServerError, typ: "server_error",
					msg: fmt.Sprintf("input (%d tokens) is too large to process. increase the physical batch size (current batch size: %d)", n, lim)})
				return
			}
		}
	}
	dims := s.opts.EmbedDims
	if req.Dimensions > 0 && s.opts.Flavour == OpenAI {
		dims = req.Dimensions // only OpenAI's text-embedding-3 models shorten; the others ignore it
	}
	data := make([]map[string]any, 0, len(req.Input))
	tokens := 0
	for i, in := range req.Input {
		tokens += Tokens(in)
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": Vector(in, dims)})
	}
	if s.opts.ReverseEmbeddings {
		for i, j := 0, len(data)-1; i < j; i, j = i+1, j-1 {
			data[i], data[j] = data[j], data[i]
		}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"object": "list", "model": req.Model, "data": data,
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens}})
}

// checkContext holds the context window: llama-server rejects a prompt
// longer than it, OpenAI a prompt that leaves no room for max_tokens;
// Ollama cuts it silently (see promptTokens).
func (s *Server) checkContext(req ChatRequest) *failure {
	n, window := req.PromptTokens(), s.opts.ContextTokens
	switch s.opts.Flavour {
	case LlamaServer:
		if n > window {
			return &failure{status: http.StatusBadRequest, typ: "exceed_context_size_error",
				msg:   fmt.Sprintf("request (%d tokens) exceeds the available context size (%d tokens), try increasing it", n, window),
				extra: map[string]any{"n_prompt_tokens": n, "n_ctx": window}}
		}
	case OpenAI:
		if n+req.Limit() > window {
			return &failure{status: http.StatusBadRequest, typ: "invalid_request_error", code: "context_length_exceeded",
				msg: fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.",
					window, n+req.Limit(), n, req.Limit()),
				extra: map[string]any{"param": "messages"}}
		}
	}
	return nil
}

// promptTokens is the prompt length the server reports in usage: Ollama's
// is cut to the window.
func (s *Server) promptTokens(req ChatRequest) int {
	n := req.PromptTokens()
	if s.opts.Flavour == Ollama {
		n = min(n, s.opts.ContextTokens)
	}
	return n
}
