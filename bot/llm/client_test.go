package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/retrieval"
)

// wireRequest is a chat completion request as the server receives it.
type wireRequest struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Strict bool            `json:"strict"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	Raw  []byte `json:"-"`
	Auth string `json:"-"`
}

func (r wireRequest) message(role string) string {
	for _, m := range r.Messages {
		if m.Role == role {
			return m.Content
		}
	}
	return ""
}

// fakeServer speaks the OpenAI wire format: POST /v1/chat/completions is
// answered by reply (n counts requests from 0); GET /v1/models lists models.
type fakeServer struct {
	*httptest.Server
	t      *testing.T
	reply  func(w http.ResponseWriter, r *http.Request, n int, req wireRequest)
	models []string

	mu       sync.Mutex
	requests []wireRequest
	paths    []string
}

func newFakeServer(t *testing.T, reply func(w http.ResponseWriter, r *http.Request, n int, req wireRequest)) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) URL() string { return f.Server.URL + "/v1" }

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	switch r.URL.Path {
	case "/v1/models":
		var data []map[string]string
		for _, m := range f.models {
			data = append(data, map[string]string{"id": m, "object": "model"})
		}
		writeJSON(f.t, w, http.StatusOK, map[string]any{"object": "list", "data": data})
		return
	case "/v1/chat/completions":
	default:
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("read request: %v", err)
		return
	}
	var req wireRequest
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("request is not JSON: %v\n%s", err, body)
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	req.Raw = body
	req.Auth = r.Header.Get("Authorization")
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	f.reply(w, r, n, req)
}

func (f *fakeServer) sent() []wireRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wireRequest(nil), f.requests...)
}

func writeJSON(t *testing.T, w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		t.Errorf("write response: %v", err)
	}
}

// writeCompletion answers a non-streamed request with content.
func writeCompletion(t *testing.T, w http.ResponseWriter, req wireRequest, content string) {
	if req.Stream {
		writeStream(t, w, splitRunes(content, 7))
		return
	}
	writeJSON(t, w, http.StatusOK, map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "model": req.Model,
		"choices": []map[string]any{{
			"index": 0, "finish_reason": "stop",
			"message": map[string]string{"role": "assistant", "content": content},
		}},
	})
}

// writeStream answers with server-sent events, one content delta each.
func writeStream(t *testing.T, w http.ResponseWriter, deltas []string) {
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	send := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Errorf("marshal chunk: %v", err)
		}
		fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
	}
	send(map[string]any{"id": "c", "object": "chat.completion.chunk", "choices": []map[string]any{{"index": 0, "delta": map[string]string{"role": "assistant"}}}})
	for _, d := range deltas {
		send(map[string]any{"id": "c", "object": "chat.completion.chunk", "choices": []map[string]any{{"index": 0, "delta": map[string]string{"content": d}}}})
	}
	send(map[string]any{"id": "c", "object": "chat.completion.chunk", "choices": []map[string]any{{"index": 0, "delta": map[string]string{}, "finish_reason": "stop"}}})
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func writeAPIError(t *testing.T, w http.ResponseWriter, status int, msg, code string) {
	writeJSON(t, w, status, map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": code}})
}

// splitRunes cuts s into pieces of n runes, as SSE deltas arrive.
func splitRunes(s string, n int) []string {
	var out []string
	r := []rune(s)
	for len(r) > 0 {
		k := min(n, len(r))
		out = append(out, string(r[:k]))
		r = r[k:]
	}
	return out
}

// testLLM is an LLM on the fake server with short waits.
func testLLM(t *testing.T, baseURL string, edit func(*Config)) *Answerer {
	t.Helper()
	cfg := Config{BaseURL: baseURL, APIKey: "sk-test", Model: "test-model", Timeout: 5 * time.Second,
		Retries: 2, Backoff: 10 * time.Millisecond, ContextTokens: 8192, HistoryTurns: 6}
	if edit != nil {
		edit(&cfg)
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testHits() []retrieval.Hit {
	return []retrieval.Hit{
		{Passage: retrieval.Passage{ID: "iran-s400#p3-4", ArticleID: "iran-s400", Title: "Tehran eyes Russian air defences", First: 3, Last: 4,
			Text: "Iran is interested in buying the S-400 missile system, a senior official said on Tuesday.\n\nThe deal, worth $3.67 billion, has not been signed yet."}, Score: 0.9},
		{Passage: retrieval.Passage{ID: "news/gas#p12", ArticleID: "news/gas", Title: "Gas prices", First: 12, Last: 12,
			Text: "Prices rose 6% in March, the ministry said."}, Score: 0.4},
	}
}

func testRequest(q string) bot.DraftRequest {
	return bot.DraftRequest{Question: bot.Question{Text: q}, Standalone: q, Hits: testHits()}
}

const goodJSONReply = `{"answer":"Tehran wants the S-400 system [1], a deal worth $3.67 billion [2].","citations":[{"marker":1,"label":"iran-s400 ¶3","quote":"Iran is interested in buying the S-400 missile system"},{"marker":2,"label":"[iran-s400 ¶4]","quote":"The deal, worth $3.67 billion, has not been signed yet."}],"refused":false}`

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		fail     func(w http.ResponseWriter)
		failures int
		wantReqs int
		wantErr  string // empty: success
		minWait  time.Duration
	}{
		{name: "429 with Retry-After seconds", failures: 1, wantReqs: 2, minWait: time.Second, fail: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			writeAPIError(t, w, http.StatusTooManyRequests, "Rate limit reached", "rate_limit_exceeded")
		}},
		{name: "500 then success", failures: 1, wantReqs: 2, fail: func(w http.ResponseWriter) {
			http.Error(w, "internal error", http.StatusInternalServerError)
		}},
		{name: "503 until retries run out", failures: 10, wantReqs: 3, wantErr: "failed (503)", fail: func(w http.ResponseWriter) {
			writeAPIError(t, w, http.StatusServiceUnavailable, "overloaded", "")
		}},
		{name: "401 never retried", failures: 10, wantReqs: 1, wantErr: "the server rejected the API key (401)", fail: func(w http.ResponseWriter) {
			writeAPIError(t, w, http.StatusUnauthorized, "Incorrect API key provided: sk-test", "invalid_api_key")
		}},
		{name: "400 never retried", failures: 10, wantReqs: 1, wantErr: "rejected the request (400): bad messages", fail: func(w http.ResponseWriter) {
			writeAPIError(t, w, http.StatusBadRequest, "bad messages", "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, req wireRequest) {
				if n < tt.failures {
					tt.fail(w)
					return
				}
				writeCompletion(t, w, req, goodJSONReply)
			})
			l := testLLM(t, srv.URL(), nil)
			start := time.Now()
			d, err := l.Draft(t.Context(), testRequest("Which missile system is Tehran interested in buying?"))
			took := time.Since(start)
			if got := len(srv.sent()); got != tt.wantReqs {
				t.Errorf("server got %d requests, want %d", got, tt.wantReqs)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Claims) != 2 {
				t.Errorf("draft has %d claims after retry, want 2", len(d.Claims))
			}
			if took < tt.minWait {
				t.Errorf("retried after %s, before the server's Retry-After of %s", took, tt.minWait)
			}
		})
	}
}

func TestRetryAfterTooLong(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, req wireRequest) {
		w.Header().Set("Retry-After", "3600")
		writeAPIError(t, w, http.StatusTooManyRequests, "quota", "")
	})
	l := testLLM(t, srv.URL(), nil)
	start := time.Now()
	_, err := l.Draft(t.Context(), testRequest("q"))
	if err == nil || !strings.Contains(err.Error(), "asks to retry after 1h0m0s") {
		t.Errorf("err = %v, want the server's long Retry-After reported", err)
	}
	if time.Since(start) > 2*time.Second || len(srv.sent()) != 1 {
		t.Errorf("waited %s and sent %d requests for a 1h Retry-After", time.Since(start), len(srv.sent()))
	}
}

func TestErrorsForUsers(t *testing.T) {
	tests := []struct {
		name  string
		reply func(w http.ResponseWriter)
		want  string
	}{
		{"openai model_not_found", func(w http.ResponseWriter) {
			writeAPIError(t, w, http.StatusNotFound, "The model `test-model` does not exist or you do not have access to it.", "model_not_found")
		}, "model test-model is not available on %s"},
		{"ollama model not pulled", func(w http.ResponseWriter) {
			writeJSON(t, w, http.StatusNotFound, map[string]any{"error": map[string]any{"message": `model "test-model" not found, try pulling it first`, "type": "api_error"}})
		}, "model test-model is not available on %s"},
		{"vllm model error without envelope", func(w http.ResponseWriter) {
			writeJSON(t, w, http.StatusNotFound, map[string]any{"object": "error", "message": "The model `test-model` does not exist.", "type": "NotFoundError", "code": 404})
		}, "model test-model is not available on %s"},
		{"wrong base URL", func(w http.ResponseWriter) {
			http.Error(w, "404 page not found", http.StatusNotFound)
		}, "%s answered 404 Not Found: is the base URL right? It usually ends in /v1"},
		{"401 without JSON", func(w http.ResponseWriter) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		}, "the server rejected the API key (401)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, req wireRequest) { tt.reply(w) })
			want := tt.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, srv.URL())
			}
			_, err := testLLM(t, srv.URL(), nil).Draft(t.Context(), testRequest("q"))
			if err == nil || !strings.HasSuffix(err.Error(), want) {
				t.Errorf("err = %v\nwant it to end in %q", err, want)
			}
			if n := len(srv.sent()); n != 1 {
				t.Errorf("%d requests, want 1 (no retry on 4xx)", n)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/v1"
	ln.Close()
	_, err = testLLM(t, base, nil).Draft(t.Context(), testRequest("q"))
	want := "cannot reach " + base + ": connection refused"
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("err = %v, want it to end in %q", err, want)
	}
}

func TestTimeout(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, req wireRequest) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
			writeCompletion(t, w, req, goodJSONReply)
		}
	})
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			l := testLLM(t, srv.URL(), func(c *Config) { c.Timeout = 200 * time.Millisecond })
			req := testRequest("q")
			if stream {
				req.OnDelta = func(string) {}
			}
			start := time.Now()
			_, err := l.Draft(t.Context(), req)
			if err == nil || !strings.HasSuffix(err.Error(), srv.URL()+" did not answer within 200ms") {
				t.Errorf("err = %v, want a timeout message", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s with a 200ms timeout", took)
			}
		})
	}
}

func TestCancelStopsImmediately(t *testing.T) {
	tests := []struct {
		name  string
		reply func(w http.ResponseWriter, r *http.Request)
	}{
		{"while the server thinks", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}},
		{"while waiting to retry", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "30")
			writeAPIError(t, w, http.StatusServiceUnavailable, "busy", "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, req wireRequest) { tt.reply(w, r) })
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(150*time.Millisecond, cancel)
			start := time.Now()
			_, err := testLLM(t, srv.URL(), nil).Draft(ctx, testRequest("q"))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %s to notice the cancel", took)
			}
		})
	}
}

func TestSchemaRejectedFallsBackAndRemembers(t *testing.T) {
	textReply := "Tehran wants the S-400 [1].\n\nCITATIONS:\n[1] (iran-s400 ¶3) \"Iran is interested in buying the S-400 missile system\"\n"
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, req wireRequest) {
		if req.ResponseFormat != nil {
			writeJSON(t, w, http.StatusBadRequest, map[string]any{"error": map[string]any{
				"message": "response_format of type json_schema is not supported by this model", "type": "invalid_request_error", "param": "response_format"}})
			return
		}
		writeCompletion(t, w, req, textReply)
	})
	l := testLLM(t, srv.URL(), nil)
	for i := range 2 {
		d, err := l.Draft(t.Context(), testRequest("Which missile system?"))
		if err != nil {
			t.Fatalf("draft %d: %v", i, err)
		}
		if len(d.Claims) != 1 || d.Claims[0].ArticleID != "iran-s400" || d.Claims[0].Paragraph != 3 {
			t.Errorf("draft %d: claims %+v, want one from iran-s400 ¶3", i, d.Claims)
		}
	}
	sent := srv.sent()
	if len(sent) != 3 {
		t.Fatalf("server got %d requests, want 3 (rejected, plain, plain)", len(sent))
	}
	if sent[0].ResponseFormat == nil || sent[0].ResponseFormat.Type != "json_schema" {
		t.Errorf("first request has no json_schema response_format: %s", sent[0].Raw)
	}
	for i, req := range sent[1:] {
		if strings.Contains(string(req.Raw), "response_format") {
			t.Errorf("request %d after the rejection still sends response_format: %s", i+2, req.Raw)
		}
		if sys := req.message("system"); !strings.Contains(sys, "CITATIONS:") || strings.Contains(sys, "JSON") {
			t.Errorf("request %d after the rejection does not ask for the plain-text format:\n%s", i+2, sys)
		}
	}
}

func TestModelFromServer(t *testing.T) {
	tests := []struct {
		name    string
		models  []string
		want    string
		wantErr string
	}{
		{"first listed", []string{"qwen2.5-7b-instruct", "other"}, "qwen2.5-7b-instruct", ""},
		{"none listed", nil, "", "no chat model configured (VERBATIM_CHAT_MODEL) and %s/models lists none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, req wireRequest) {
				writeCompletion(t, w, req, goodJSONReply)
			})
			srv.models = tt.models
			l := testLLM(t, srv.URL(), func(c *Config) { c.Model = "" })
			for range 2 {
				_, err := l.Draft(t.Context(), testRequest("q"))
				if tt.wantErr != "" {
					if want := fmt.Sprintf(tt.wantErr, srv.URL()); err == nil || err.Error() != want {
						t.Fatalf("err = %v, want %q", err, want)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			sent := srv.sent()
			if len(sent) != 2 || sent[0].Model != tt.want || sent[1].Model != tt.want {
				t.Errorf("requests used models %v, want %s twice", sent, tt.want)
			}
			n := 0
			for _, p := range srv.paths {
				if p == "GET /v1/models" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("asked for the model list %d times, want once", n)
			}
		})
	}
}

func TestDefaultModel(t *testing.T) {
	tests := []struct{ base, want string }{
		{"https://api.openai.com/v1", "gpt-4o-mini"},
		{"http://localhost:11434/v1", "llama3.1"},
		{"http://gpu-box:11434/v1", "llama3.1"},
		{"http://localhost:8080/v1", ""},
		{"http://localhost:1234/v1", ""},
	}
	for _, tt := range tests {
		if got := DefaultModel(tt.base); got != tt.want {
			t.Errorf("DefaultModel(%q) = %q, want %q", tt.base, got, tt.want)
		}
	}
}

func TestLLMConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.APIKey = "sk-secret-123"
	if s := cfg.String(); strings.Contains(s, "sk-secret") || !strings.Contains(s, "<redacted>") || !strings.Contains(s, "gpt-4o-mini") {
		t.Errorf("String() = %s: want the key redacted and the model shown", s)
	}
	if s := fmt.Sprintf("%v", cfg); strings.Contains(s, "sk-secret") {
		t.Errorf("%%v prints the key: %s", s)
	}
	for _, bad := range []string{"localhost:11434/v1", "ftp://x/v1", "http:///v1"} {
		if _, err := New(Config{BaseURL: bad}); err == nil {
			t.Errorf("New accepted base URL %q", bad)
		}
	}
	if _, err := New(Config{ContextTokens: 100}); err == nil {
		t.Error("New accepted a 100-token context window")
	}
	l, err := New(Config{BaseURL: "http://localhost:11434/v1/"})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Config(); got.Model != "llama3.1" || got.BaseURL != "http://localhost:11434/v1" || got.Timeout != 60*time.Second || got.ContextTokens != 8192 {
		t.Errorf("defaults not filled: %s", got)
	}
}

// TestNoOpenAIImport keeps go-openai behind openaicompat: bot talks to the
// server only through it.
func TestNoOpenAIImport(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if strings.Contains(imp.Path.Value, "sashabaranov/go-openai") {
				t.Errorf("%s imports go-openai; only openaicompat may", f)
			}
		}
	}
}
