package openaicompat

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
)

// chatServer is a client of the fake server, whose chat completions all
// get reply.
func chatServer(t *testing.T, reply openaitest.Reply) *Client {
	t.Helper()
	srv := openaitest.New(t, openaitest.Options{APIKey: "sk-test"})
	srv.Chat(reply)
	return New(Config{BaseURL: srv.URL, APIKey: "sk-test", Timeout: 200 * time.Millisecond})
}

func apiError(status int, msg string) openaitest.Reply { return openaitest.Error(status, msg) }

func TestExplain(t *testing.T) {
	jsonBody := func(status int, body string) openaitest.Reply {
		return openaitest.Raw(status, "application/json", body)
	}
	text := func(status int, body string) openaitest.Reply {
		return openaitest.Raw(status, "text/plain; charset=utf-8", body+"\n")
	}
	tests := []struct {
		name  string
		reply openaitest.Reply
		want  string // {base} is the base URL
	}{
		{"401", apiError(401, "Incorrect API key provided: sk-test"), "{base} rejected the API key (401)"},
		{"401 without JSON", text(401, "Unauthorized"), "{base} rejected the API key (401)"},
		{"403", apiError(403, "Project  does not\nhave access"), "{base} refused access (403): Project does not have access"},
		{"openai model_not_found", jsonBody(404, `{"error":{"message":"The model `+"`m`"+` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}`),
			"model m is not available on {base}"},
		{"ollama model not found", jsonBody(404, `{"error":{"message":"model 'm' not found","type":"api_error","param":null,"code":null}}`),
			"model m is not available on {base}"},
		{"vllm model error without envelope", jsonBody(404, `{"object":"error","message":"The model `+"`m`"+` does not exist.","type":"NotFoundError","code":404}`),
			"model m is not available on {base}"},
		{"404 not about a model", text(404, "404 page not found"), "{base} answered 404 Not Found: is the base URL right? It usually ends in /v1"},
		{"429", apiError(429, "Rate limit reached"), "{base} is rate limiting requests (429): Rate limit reached"},
		{"503", apiError(503, "overloaded"), "{base} failed (503): overloaded"},
		{"400", apiError(400, "bad messages"), "{base} rejected the request (400): bad messages"},
		{"timeout", openaitest.Hang(), "{base} did not answer within 200ms"},
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
	if got := Explain(base, "m", other); !errors.Is(got, other) || got.Error() != other.Error() || got.(*Error).Cause != "failed: "+other.Error() {
		t.Errorf("Explain returned %#v for an error it has nothing to add to, want its message with the cause \"failed: …\"", got)
	}
	if e := Explain(base, "m", refused); Explain(base, "m", e) != e {
		t.Error("Explain of an explained error is not the error itself")
	}
	if Explain(base, "m", nil) != nil {
		t.Error("Explain(nil) != nil")
	}
}

func TestTimeoutIsDeadline(t *testing.T) {
	c := chatServer(t, openaitest.Hang())
	_, err := c.Chat(t.Context(), ChatRequest{Model: "m", Messages: []ChatMessage{{Role: "user", Content: "q"}}}, func(string) {})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasSuffix(err.Error(), "did not answer within 200ms") {
		t.Errorf("err = %v, want a timeout that is context.DeadlineExceeded", err)
	}
}

func TestSchemaRejected(t *testing.T) {
	tests := []struct {
		name  string
		reply openaitest.Reply
		want  bool
	}{
		{"openai param", openaitest.Raw(400, "application/json", `{"error":{"message":"Invalid value","type":"invalid_request_error","param":"response_format"}}`), true},
		{"422 in the message", apiError(422, "json_schema is not supported"), true},
		{"plain 400 body", openaitest.Raw(400, "text/plain; charset=utf-8", "structured output unsupported\n"), true},
		{"400 about something else", apiError(400, "bad messages"), false},
		{"500 naming it", apiError(500, "response_format crashed"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chatServer(t, tt.reply)
			_, err := c.Chat(t.Context(), ChatRequest{Model: "m", Messages: []ChatMessage{{Role: "user", Content: "q"}}, Schema: json.RawMessage(`{}`), SchemaName: "s"}, nil)
			if got := SchemaRejected(err); got != tt.want {
				t.Errorf("SchemaRejected(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}
