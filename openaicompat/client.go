// Package openaicompat talks to OpenAI-compatible servers (OpenAI, Ollama,
// vLLM, llama.cpp, LM Studio): chat completions, embeddings and the model
// list, retries that honour Retry-After, and one-line explanations of the
// failures a user can fix. It is the only package that imports go-openai;
// bot and retrieval use it through the small typed calls below.
package openaicompat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// DefaultBaseURL is OpenAI's own API, used when Config.BaseURL is empty.
const DefaultBaseURL = "https://api.openai.com/v1"

// Config says how to reach a server.
type Config struct {
	// BaseURL with the /v1 suffix, e.g. "http://localhost:11434/v1".
	// Empty: DefaultBaseURL.
	BaseURL string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// HTTPClient sends the requests. Nil: a new http.Client.
	HTTPClient *http.Client
	// Timeout bounds one request, a streamed reply included; a request
	// that outlives it fails with an error saying so. Zero: only the
	// caller's context and HTTPClient's own timeout bound it.
	Timeout time.Duration
}

// Client is one OpenAI-compatible server. It is safe for concurrent use.
type Client struct {
	api     *openai.Client
	baseURL string
	timeout time.Duration
}

// New returns a client for cfg. It does no I/O. The client records the
// Retry-After header of every response for Do.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = base
	oc.HTTPClient = retryAfterRecorder{hc}
	return &Client{api: openai.NewClientWithConfig(oc), baseURL: base, timeout: cfg.Timeout}
}

// BaseURL is the server's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

// ChatMessage is one message of a chat request.
type ChatMessage struct {
	Role    string // "system", "user" or "assistant"
	Content string
}

// ChatRequest is one chat completion request.
type ChatRequest struct {
	Model    string
	Messages []ChatMessage
	// Schema, when set, is sent as a strict response_format json_schema
	// named SchemaName.
	Schema     json.RawMessage
	SchemaName string
	// MaxTokens bounds the reply (max_tokens; max_completion_tokens on
	// api.openai.com, where max_tokens is deprecated). Zero: no bound.
	MaxTokens int
}

// ChatReply is a chat completion's reply.
type ChatReply struct {
	Content string
	// FinishReason is why the model stopped: "stop", or "length" when the
	// reply was cut at MaxTokens (or the context window).
	FinishReason string
	// PromptTokens is the prompt's length as the server counted it
	// (usage.prompt_tokens; streamed replies ask for it with
	// stream_options.include_usage), 0 when it did not say.
	PromptTokens int
}

// ErrIncomplete is a streamed reply that ended before the model finished:
// no choice carried a finish_reason. A killed llama-server cuts the
// connection so; Ollama ends the stream cleanly after an empty chunk when
// its model runner dies. Retryable treats it as a broken connection.
var ErrIncomplete = errors.New("the reply stream ended before the model finished")

// Chat sends req and returns the reply. With onDelta set the reply is
// streamed: onDelta receives every content delta as it arrives, and on
// failure Chat returns what arrived so far with the error. A stream that
// ends without a finish_reason fails with ErrIncomplete.
func (c *Client) Chat(ctx context.Context, req ChatRequest, onDelta func(delta string)) (ChatReply, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	or := openai.ChatCompletionRequest{Model: req.Model}
	if c.IsOpenAI() {
		or.MaxCompletionTokens = req.MaxTokens
	} else {
		//lint:ignore SA1019 llama-server and Ollama read max_tokens (recorded in openaitest/testdata/realservers); only OpenAI deprecates it
		or.MaxTokens = req.MaxTokens
	}
	for _, m := range req.Messages {
		or.Messages = append(or.Messages, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	if req.Schema != nil {
		or.ResponseFormat = &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name:   req.SchemaName,
				Schema: req.Schema,
				Strict: true,
			},
		}
	}
	reply, err := c.chat(ctx, or, onDelta)
	return reply, c.timedOut(ctx, err)
}

func (c *Client) chat(ctx context.Context, or openai.ChatCompletionRequest, onDelta func(string)) (ChatReply, error) {
	if onDelta == nil {
		resp, err := c.api.CreateChatCompletion(ctx, or)
		if err != nil {
			return ChatReply{}, err
		}
		if len(resp.Choices) == 0 {
			return ChatReply{}, errors.New("the server returned no choices")
		}
		ch := resp.Choices[0]
		return ChatReply{Content: ch.Message.Content, FinishReason: string(ch.FinishReason), PromptTokens: resp.Usage.PromptTokens}, nil
	}
	or.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	stream, err := c.api.CreateChatCompletionStream(ctx, or)
	if err != nil {
		return ChatReply{}, err
	}
	defer stream.Close()
	var (
		b      strings.Builder
		reply  ChatReply
		model  string
		broken error // why the stream may have ended early
	)
	for {
		chunk, err := stream.Recv()
		reply.Content = b.String()
		switch {
		case err == nil:
		case reply.FinishReason != "" && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
			return reply, nil // finished; [DONE] or the chunked end got lost
		case errors.Is(err, io.EOF):
			if broken == nil {
				broken = errors.New("no finish_reason before the end of the stream")
			}
			return reply, fmt.Errorf("%w (%w)", ErrIncomplete, broken)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return reply, fmt.Errorf("%w (%w)", ErrIncomplete, err)
		default:
			return reply, err
		}
		if chunk.Usage != nil {
			reply.PromptTokens = chunk.Usage.PromptTokens
		}
		if chunk.Model != "" {
			model = chunk.Model
		} else if model != "" && len(chunk.Choices) > 0 {
			// Ollama's chunk when its runner died: the error it could not
			// put into the OpenAI format.
			broken = errors.New("the server sent an empty chunk, as Ollama does when its model runner stops")
		}
		if len(chunk.Choices) == 0 {
			continue
		}
		ch := chunk.Choices[0]
		if d := ch.Delta.Content; d != "" {
			b.WriteString(d)
			onDelta(d)
		}
		if ch.FinishReason != "" && ch.FinishReason != openai.FinishReasonNull {
			reply.FinishReason = string(ch.FinishReason)
		}
	}
}

// IsOpenAI reports whether the server is OpenAI's own API (api.openai.com).
func (c *Client) IsOpenAI() bool {
	u, err := url.Parse(c.baseURL)
	return err == nil && u.Hostname() == "api.openai.com"
}

// EmbedRequest is one embeddings request.
type EmbedRequest struct {
	Model string
	// Dims asks models that support it (text-embedding-3-*) for that many
	// dimensions; 0 takes the model's own.
	Dims  int
	Texts []string
}

// Embed returns one vector per text, in the order of req.Texts (placed by
// the response's "index", or by position when a server botches it).
func (c *Client) Embed(ctx context.Context, req EmbedRequest) ([][]float32, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	resp, err := c.api.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{
		Input:      req.Texts,
		Model:      openai.EmbeddingModel(req.Model),
		Dimensions: req.Dims,
	})
	if err != nil {
		return nil, c.timedOut(ctx, err)
	}
	n := len(req.Texts)
	if len(resp.Data) != n {
		return nil, fmt.Errorf("%d vectors for %d inputs", len(resp.Data), n)
	}
	out := make([][]float32, n)
	for i, d := range resp.Data {
		idx := d.Index
		if idx < 0 || idx >= n || out[idx] != nil {
			idx = i // servers that omit or botch "index": trust the order
		}
		if len(d.Embedding) == 0 {
			return nil, fmt.Errorf("empty vector for input %d", idx)
		}
		out[idx] = d.Embedding
	}
	for i, v := range out {
		if v == nil {
			return nil, fmt.Errorf("no vector for input %d", i)
		}
	}
	return out, nil
}

// Models lists the model IDs the server offers (GET /models).
func (c *Client) Models(ctx context.Context) ([]string, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	list, err := c.api.ListModels(ctx)
	if err != nil {
		return nil, c.timedOut(ctx, err)
	}
	ids := make([]string, 0, len(list.Models))
	for _, m := range list.Models {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

var errTimeout = errors.New("per-request timeout")

func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, c.timeout, errTimeout)
}

// timedOut turns err into a *timeoutError when the request outlived the
// client's timeout.
func (c *Client) timedOut(ctx context.Context, err error) error {
	if err != nil && context.Cause(ctx) == errTimeout {
		return &timeoutError{after: c.timeout, base: c.baseURL, err: err}
	}
	return err
}

// timeoutError is a request that outlived the per-request timeout.
type timeoutError struct {
	after time.Duration
	base  string
	err   error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%s did not answer within %s", e.base, e.after)
}
func (e *timeoutError) Unwrap() []error { return []error{context.DeadlineExceeded, e.err} }
