package openaicompat

import (
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
)

// replayed is a client of a fake server that answers its next request on
// the recording's path with the recording.
func replayed(t *testing.T, file string) (*Client, *openaitest.Exchange) {
	t.Helper()
	ex, err := openaitest.Load(filepath.Join("openaitest", "testdata", "realservers", file))
	if err != nil {
		t.Fatal(err)
	}
	srv := openaitest.New(t, openaitest.Options{})
	srv.Script(ex.Request.Path, openaitest.Replay(ex))
	return New(Config{BaseURL: srv.URL}), ex
}

var question = []ChatMessage{{Role: "user", Content: "Which missile system is Tehran interested in buying?"}}

// TestChatReplays runs Chat against every recorded chat behaviour of
// llama-server and Ollama.
func TestChatReplays(t *testing.T) {
	tests := []struct {
		file       string
		finish     string // "" : an error is expected
		prompt     int    // usage.prompt_tokens, 0: not reported
		incomplete bool   // ErrIncomplete (retryable)
		wantErr    string // in Explain's message
		retryable  bool
	}{
		{file: "llama-server/02-verbatim-ask-stream-json-schema.json", finish: "length"},
		{file: "llama-server/03-verbatim-ask-nostream-json-schema.json", finish: "length", prompt: 2813},
		{file: "llama-server/08-curl-stream-include-usage.json", finish: "length", prompt: 56},
		{file: "llama-server/10-curl-nostream-plain.json", finish: "length", prompt: 56},
		{file: "ollama/07-verbatim-ask-stream-json-schema.json", finish: "length"},
		{file: "ollama/06-curl-stream-include-usage.json", finish: "length", prompt: 56},
		{file: "ollama/15-verbatim-nostream-prompt-truncated-num_ctx512.json", finish: "length", prompt: 512},
		{file: "llama-server/18-verbatim-stream-server-killed.json", incomplete: true, retryable: true,
			wantErr: "broke off its reply: the stream ended before the model finished"},
		{file: "llama-server/19-curl-stream-server-killed.json", incomplete: true, retryable: true},
		{file: "ollama/13-verbatim-stream-runner-killed.json", incomplete: true, retryable: true},
		{file: "ollama/14-curl-stream-runner-killed.json", incomplete: true, retryable: true},
		{file: "llama-server/05-verbatim-chat-rewrite-500-peg-format.json", retryable: true,
			wantErr: "failed (500): The model produced output that does not match the expected peg-native format"},
		{file: "llama-server/12-verbatim-ask-stream-over-context-400.json",
			wantErr: "rejected the prompt as longer than its context window (400): request (2813 tokens) exceeds the available context size (512 tokens), try increasing it"},
		{file: "llama-server/13-verbatim-ask-nostream-over-context-400.json", wantErr: "longer than its context window"},
		{file: "ollama/03-verbatim-ask-model-not-found-404.json", wantErr: "model llama3.1 is not available on"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, ex := replayed(t, tt.file)
			var streamed strings.Builder
			var onDelta func(string)
			if ex.RequestStream() {
				onDelta = func(d string) { streamed.WriteString(d) }
			}
			reply, err := c.Chat(t.Context(), ChatRequest{Model: "llama3.1", Messages: question, MaxTokens: 64}, onDelta)
			if onDelta != nil && streamed.String() != reply.Content {
				t.Errorf("streamed %q but the reply holds %q", streamed.String(), reply.Content)
			}
			if tt.finish != "" {
				if err != nil {
					t.Fatal(err)
				}
				if reply.FinishReason != tt.finish || reply.PromptTokens != tt.prompt || reply.Content == "" {
					t.Errorf("finish %q, prompt tokens %d, %d chars; want %q, %d and the text", reply.FinishReason, reply.PromptTokens, len(reply.Content), tt.finish, tt.prompt)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; reply %+v", reply)
			}
			if errors.Is(err, ErrIncomplete) != tt.incomplete {
				t.Errorf("errors.Is(%v, ErrIncomplete) = %v, want %v", err, !tt.incomplete, tt.incomplete)
			}
			if tt.incomplete && reply.Content == "" {
				t.Error("the text that arrived before the stream broke is lost")
			}
			if got := Retryable(Status(err), err); got != tt.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tt.retryable)
			}
			if e := Explain(c.BaseURL(), "llama3.1", err); !strings.Contains(e.Error(), tt.wantErr) || strings.Contains(e.Error(), "\n") {
				t.Errorf("Explain = %q, want one line containing %q", e, tt.wantErr)
			}
		})
	}
}

// TestOllamaRunnerKilledSaysSo: the empty-model chunk is named as the cause.
func TestOllamaRunnerKilledSaysSo(t *testing.T) {
	c, _ := replayed(t, "ollama/13-verbatim-stream-runner-killed.json")
	_, err := c.Chat(t.Context(), ChatRequest{Model: "tiny", Messages: question}, func(string) {})
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "Ollama does when its model runner stops") {
		t.Errorf("err = %v", err)
	}
}

func TestEmbedReplays(t *testing.T) {
	tests := []struct {
		file      string
		vectors   int
		tooLarge  [2]int // got, limit
		retryable bool
		wantErr   string
	}{
		{file: "llama-server/14-verbatim-index-embeddings.json", vectors: 15},
		{file: "llama-server/15-verbatim-query-embedding.json", vectors: 1},
		{file: "llama-server/17-curl-embeddings-two-inputs.json", vectors: 2},
		{file: "ollama/12-verbatim-index-embeddings.json", vectors: 15},
		{file: "llama-server/11-embeddings-not-enabled-501.json",
			wantErr: "does not support this request (501): This server does not support embeddings. Start it with `--embeddings`"},
		{file: "llama-server/16-embeddings-input-too-large-500.json", tooLarge: [2]int{1202, 512}, wantErr: "is too large to process"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, _ := replayed(t, tt.file)
			texts := make([]string, max(tt.vectors, 1))
			for i := range texts {
				texts[i] = "Which missile system is Tehran interested in buying?"
			}
			vecs, err := c.Embed(t.Context(), EmbedRequest{Model: "tiny-embed", Texts: texts})
			if tt.wantErr == "" {
				if err != nil || len(vecs) != tt.vectors || len(vecs[0]) != 8 {
					t.Fatalf("%d vectors, %v", len(vecs), err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if Retryable(Status(err), err) {
				t.Errorf("Retryable(%v): a request that cannot succeed is retried", err)
			}
			got, limit, ok := InputTooLarge(err)
			if ok != (tt.tooLarge != [2]int{}) || got != tt.tooLarge[0] || limit != tt.tooLarge[1] {
				t.Errorf("InputTooLarge = %d, %d, %v; want %v", got, limit, ok, tt.tooLarge)
			}
			if e := Explain(c.BaseURL(), "tiny-embed", err); !strings.Contains(e.Error(), tt.wantErr) {
				t.Errorf("Explain = %q, want it to contain %q", e, tt.wantErr)
			}
		})
	}
}

func TestModelsReplays(t *testing.T) {
	for file, want := range map[string]string{
		"llama-server/01-models.json": "tiny.gguf",
		"ollama/01-models.json":       "tiny-c512:latest tiny-np40:latest tiny-np:latest tiny:latest tiny-embed:latest",
	} {
		c, _ := replayed(t, file)
		ids, err := c.Models(t.Context())
		if err != nil || strings.Join(ids, " ") != want {
			t.Errorf("%s: %q, %v; want %s", file, ids, err, want)
		}
	}
}

// rewriteHost sends every request to the fake server instead.
type rewriteHost struct{ to *url.URL }

func (r rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	return http.DefaultTransport.RoundTrip(req)
}

// TestMaxTokensOnTheWire: the bound goes out as max_tokens, except to
// api.openai.com, which wants max_completion_tokens; streams ask for usage.
func TestMaxTokensOnTheWire(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	srv.Chat(openaitest.Ramble())
	u, _ := url.Parse(srv.URL)
	for _, base := range []string{srv.URL, DefaultBaseURL} {
		c := New(Config{BaseURL: base, HTTPClient: &http.Client{Transport: rewriteHost{u}}})
		reply, err := c.Chat(t.Context(), ChatRequest{Model: "m", Messages: question, MaxTokens: 12}, func(string) {})
		if err != nil || reply.FinishReason != "length" || len(strings.Fields(reply.Content)) != 12 {
			t.Errorf("%s: %+v, %v; want a reply cut at 12 tokens", base, reply, err)
		}
	}
	reqs := srv.ChatRequests()
	if reqs[0].MaxTokens == nil || *reqs[0].MaxTokens != 12 || reqs[0].MaxCompletionTokens != nil {
		t.Errorf("local server got %s, want max_tokens 12", reqs[0].Raw)
	}
	if reqs[1].MaxCompletionTokens == nil || *reqs[1].MaxCompletionTokens != 12 || reqs[1].MaxTokens != nil {
		t.Errorf("api.openai.com got %s, want max_completion_tokens 12", reqs[1].Raw)
	}
	if reqs[0].StreamOptions == nil || !reqs[0].StreamOptions.IncludeUsage {
		t.Errorf("a stream without stream_options.include_usage: %s", reqs[0].Raw)
	}
}
