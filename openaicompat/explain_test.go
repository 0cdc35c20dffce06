package openaicompat

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// chatServer answers every request with reply.
func chatServer(t *testing.T, reply func(w http.ResponseWriter)) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reply(w) }))
	t.Cleanup(srv.Close)
	return New(Config{BaseURL: srv.URL + "/v1", APIKey: "sk-test", Timeout: 200 * time.Millisecond})
}

func writeJSON(t *testing.T, w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		t.Errorf("write response: %v", err)
	}
}

func apiError(t *testing.T, status int, msg, code string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		writeJSON(t, w, status, map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": code}})
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name  string
		reply func(w http.ResponseWriter)
		want  string // {base} is the base URL
	}{
		{"401", apiError(t, 401, "Incorrect API key provided: sk-test", "invalid_api_key"),
			"the server rejected the API key (401)"},
		{"401 without JSON", func(w http.ResponseWriter) { http.Error(w, "Unauthorized", http.StatusUnauthorized) },
			"the server rejected the API key (401)"},
		{"403", apiError(t, 403, "Project  does not\nhave access", ""),
			"the server refused access (403): Project does not have access"},
		{"openai model_not_found", apiError(t, 404, "The model `m` does not exist or you do not have access to it.", "model_not_found"),
			"model m is not available on {base}"},
		{"ollama model not pulled", func(w http.ResponseWriter) {
			writeJSON(t, w, 404, map[string]any{"error": map[string]any{"message": `model "m" not found, try pulling it first`, "type": "api_error"}})
		}, "model m is not available on {base}"},
		{"vllm model error without envelope", func(w http.ResponseWriter) {
			writeJSON(t, w, 404, map[string]any{"object": "error", "message": "The model `m` does not exist.", "type": "NotFoundError", "code": 404})
		}, "model m is not available on {base}"},
		{"404 not about a model", func(w http.ResponseWriter) { http.Error(w, "404 page not found", 404) },
			"{base} answered 404 Not Found: is the base URL right? It usually ends in /v1"},
		{"429", apiError(t, 429, "Rate limit reached", "rate_limit_exceeded"),
			"{base} is rate limiting requests (429): Rate limit reached rate_limit_exceeded"},
		{"503", apiError(t, 503, "overloaded", ""), "{base} failed (503): overloaded"},
		{"400", apiError(t, 400, "bad messages", ""), "{base} rejected the request (400): bad messages"},
		{"timeout", func(w http.ResponseWriter) { time.Sleep(time.Second) }, "{base} did not answer within 200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chatServer(t, tt.reply)
			_, err := c.Chat(t.Context(), ChatRequest{Model: "m", Messages: []ChatMessage{{Role: "user", Content: "q"}}}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			got := Explain(c.BaseURL(), "m", err)
			if want := strings.ReplaceAll(tt.want, "{base}", c.BaseURL()); got.Error() != want {
				t.Errorf("Explain = %q\nwant      %q", got, want)
			}
			if !errors.Is(got, err) {
				t.Errorf("the explanation does not wrap the original error %v", err)
			}
		})
	}
}

func TestExplainTransport(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/v1"
	ln.Close()
	_, refused := New(Config{BaseURL: base}).Models(t.Context())
	other := errors.New("the server returned no choices")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"connection refused", refused, "cannot reach " + base + ": connection refused"},
		{"unknown host", &url.Error{Op: "Post", URL: base, Err: &net.DNSError{Name: "gpu-box", Err: "no such host", IsNotFound: true}},
			"cannot reach " + base + ": unknown host gpu-box"},
		{"Retry-After too long", &RetryAfterError{Wait: time.Hour, Status: 429, Err: refused},
			base + " asks to retry after 1h0m0s (429): cannot reach " + base + ": connection refused"},
		{"no time left", &RetryAfterError{Wait: 1500 * time.Millisecond, Status: 503, Err: other, NoTimeLeft: true},
			"no time left to retry after 1.5s: the server returned no choices"},
		{"nothing to add", other, other.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Explain(base, "m", tt.err); got == nil || got.Error() != tt.want {
				t.Errorf("Explain = %v\nwant      %s", got, tt.want)
			}
		})
	}
	if got := Explain(base, "m", other); got != other {
		t.Errorf("Explain returned %#v for an error it has nothing to add to, want the error itself", got)
	}
	if Explain(base, "m", nil) != nil {
		t.Error("Explain(nil) != nil")
	}
}

func TestTimeoutIsDeadline(t *testing.T) {
	c := chatServer(t, func(w http.ResponseWriter) { time.Sleep(time.Second) })
	_, err := c.Chat(t.Context(), ChatRequest{Model: "m"}, func(string) {})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasSuffix(err.Error(), "did not answer within 200ms") {
		t.Errorf("err = %v, want a timeout that is context.DeadlineExceeded", err)
	}
}

func TestSchemaRejected(t *testing.T) {
	tests := []struct {
		name  string
		reply func(w http.ResponseWriter)
		want  bool
	}{
		{"openai param", func(w http.ResponseWriter) {
			writeJSON(t, w, 400, map[string]any{"error": map[string]any{"message": "Invalid value", "type": "invalid_request_error", "param": "response_format"}})
		}, true},
		{"422 in the message", apiError(t, 422, "json_schema is not supported", ""), true},
		{"plain 400 body", func(w http.ResponseWriter) { http.Error(w, "structured output unsupported", 400) }, true},
		{"400 about something else", apiError(t, 400, "bad messages", ""), false},
		{"500 naming it", apiError(t, 500, "response_format crashed", ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chatServer(t, tt.reply)
			_, err := c.Chat(t.Context(), ChatRequest{Model: "m", Schema: json.RawMessage(`{}`), SchemaName: "s"}, nil)
			if got := SchemaRejected(err); got != tt.want {
				t.Errorf("SchemaRejected(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}
