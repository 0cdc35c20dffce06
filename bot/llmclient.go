package bot

// llmclient.go is the only file of bot that imports go-openai: chat
// completions (plain and streamed), structured-output detection, retries with
// backoff, and one-line errors for the failures a user can fix.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/verbatimbot/verbatim/prompts"
)

// chatMessage is one message of a chat request.
type chatMessage struct {
	Role    string // "system", "user" or "assistant"
	Content string
}

// chatRequest is what llm.go asks of the client.
type chatRequest struct {
	Model    string
	Messages []chatMessage
	// Schema, when set, is sent as response_format json_schema (strict).
	Schema json.RawMessage
	// OnContent, when set, streams the reply: it receives every content
	// delta as it arrives.
	OnContent func(delta string)
}

// errSchemaRejected reports that the server rejected response_format; the
// client has remembered it and the caller should retry in plain-text mode.
var errSchemaRejected = errors.New("the server does not support response_format json_schema")

// chatClient talks to one OpenAI-compatible server.
type chatClient struct {
	api      *openai.Client
	baseURL  string
	timeout  time.Duration
	retries  int
	backoff  time.Duration
	maxDelay time.Duration
	log      *slog.Logger
	// noSchema is set once the server rejected response_format, for the
	// client's lifetime.
	noSchema atomic.Bool
}

func newChatClient(cfg LLMConfig) *chatClient {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = cfg.BaseURL
	oc.HTTPClient = headerRecorder{hc}
	return &chatClient{
		api:      openai.NewClientWithConfig(oc),
		baseURL:  cfg.BaseURL,
		timeout:  cfg.Timeout,
		retries:  cfg.Retries,
		backoff:  cfg.Backoff,
		maxDelay: maxRetryDelay,
		log:      cfg.Logger,
	}
}

// maxRetryDelay caps one wait between attempts; a server asking for longer
// gets an error instead.
const maxRetryDelay = 60 * time.Second

// structured reports whether requests still carry response_format.
func (c *chatClient) structured() bool { return !c.noSchema.Load() }

// complete sends req, retrying on 429, 408 and 5xx, and returns the reply's
// content. A streamed request is retried only while nothing was streamed.
func (c *chatClient) complete(ctx context.Context, req chatRequest) (string, error) {
	for attempt := 0; ; attempt++ {
		var info responseInfo
		streamed := false
		onContent := req.OnContent
		if onContent != nil {
			onContent = func(d string) { streamed = true; req.OnContent(d) }
		}
		content, err := c.attempt(context.WithValue(ctx, responseInfoKey{}, &info), req, onContent)
		if err == nil {
			return content, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("chat completion: %w", ctx.Err())
		}
		if req.Schema != nil && schemaRejected(err) {
			c.noSchema.Store(true)
			c.log.Info("server rejected response_format json_schema; using the plain-text format from now on", "base_url", c.baseURL, "err", err)
			return "", errSchemaRejected
		}
		status := statusOf(err)
		if streamed || !retryable(status) || attempt >= c.retries {
			return "", c.explain(req.Model, err)
		}
		wait := c.delay(attempt, info.retryAfter)
		if wait > c.maxDelay {
			return "", fmt.Errorf("%s asks to retry after %s (%d): %w", c.baseURL, wait.Round(time.Second), status, c.explain(req.Model, err))
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return "", fmt.Errorf("no time left to retry after %s: %w", wait.Round(time.Millisecond), c.explain(req.Model, err))
		}
		c.log.Warn("chat completion failed; retrying", "status", status, "attempt", attempt+1, "retries", c.retries, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("chat completion: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// attempt makes one request under the per-request timeout.
func (c *chatClient) attempt(ctx context.Context, req chatRequest, onContent func(string)) (string, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.timeout, errTimeout)
		defer cancel()
	}
	or := openai.ChatCompletionRequest{Model: req.Model}
	for _, m := range req.Messages {
		or.Messages = append(or.Messages, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	if req.Schema != nil && c.structured() {
		or.ResponseFormat = &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name:   prompts.SchemaName,
				Schema: req.Schema,
				Strict: true,
			},
		}
	}
	content, err := c.send(ctx, or, onContent)
	if err != nil && context.Cause(ctx) == errTimeout {
		return "", &timeoutError{after: c.timeout, base: c.baseURL, err: err}
	}
	return content, err
}

func (c *chatClient) send(ctx context.Context, or openai.ChatCompletionRequest, onContent func(string)) (string, error) {
	if onContent == nil {
		resp, err := c.api.CreateChatCompletion(ctx, or)
		if err != nil {
			return "", err
		}
		if len(resp.Choices) == 0 {
			return "", errors.New("the server returned no choices")
		}
		return resp.Choices[0].Message.Content, nil
	}
	stream, err := c.api.CreateChatCompletionStream(ctx, or)
	if err != nil {
		return "", err
	}
	defer stream.Close()
	var b strings.Builder
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		if len(chunk.Choices) == 0 {
			continue
		}
		if d := chunk.Choices[0].Delta.Content; d != "" {
			b.WriteString(d)
			onContent(d)
		}
	}
}

// models lists the model IDs the server offers (GET /models).
func (c *chatClient) models(ctx context.Context) ([]string, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	list, err := c.api.ListModels(ctx)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", c.explain("", err))
	}
	ids := make([]string, 0, len(list.Models))
	for _, m := range list.Models {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// delay is the wait before retry attempt+1: the server's Retry-After when it
// sent one, else exponential backoff with jitter (backoff, 2×, 4×, …).
func (c *chatClient) delay(attempt int, retryAfter string) time.Duration {
	if d, ok := parseRetryAfter(retryAfter, time.Now()); ok {
		return d
	}
	d := c.backoff << attempt
	if d <= 0 || d > c.maxDelay {
		d = c.maxDelay
	}
	// ±20% jitter so that many clients do not retry in step.
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

// statusOf is the HTTP status of a failed request, 0 when there was none.
func statusOf(err error) int {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode
	}
	return 0
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500
}

// schemaRejected reports whether err is a server refusing response_format
// (OpenAI-compatible servers answer 400 or 422 naming the parameter).
func schemaRejected(err error) bool {
	status := statusOf(err)
	if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
		return false
	}
	msg := strings.ToLower(errorText(err))
	for _, s := range []string{"response_format", "json_schema", "response format", "structured output"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// errorText is the server's own message (and body) of err.
func errorText(err error) string {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		s := apiErr.Message
		if apiErr.Param != nil {
			s += " " + *apiErr.Param
		}
		if code, ok := apiErr.Code.(string); ok {
			s += " " + code
		}
		return s
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return string(reqErr.Body)
	}
	return err.Error()
}

// explain turns err into a one-line message a user can act on; the original
// error stays reachable with errors.Is / errors.As.
func (c *chatClient) explain(model string, err error) error {
	var te *timeoutError
	if errors.As(err, &te) {
		return err
	}
	msg := func(format string, args ...any) error {
		return &llmError{msg: fmt.Sprintf(format, args...), err: err}
	}
	status := statusOf(err)
	text := strings.ToLower(errorText(err))
	var apiErr *openai.APIError
	isAPI := errors.As(err, &apiErr)
	switch {
	case status == http.StatusUnauthorized:
		return msg("the server rejected the API key (401)")
	case status == http.StatusForbidden:
		return msg("the server refused access (403): %s", oneLine(errorText(err)))
	case isAPI && apiErr.Code == "model_not_found",
		status == http.StatusNotFound && model != "" && strings.Contains(text, "model"):
		return msg("model %s is not available on %s", model, c.baseURL)
	case status == http.StatusNotFound:
		return msg("%s answered 404 Not Found: is the base URL right? It usually ends in /v1", c.baseURL)
	case status == http.StatusTooManyRequests:
		return msg("%s is rate limiting requests (429): %s", c.baseURL, oneLine(errorText(err)))
	case status >= 500:
		return msg("%s failed (%d): %s", c.baseURL, status, oneLine(errorText(err)))
	case status != 0:
		return msg("%s rejected the request (%d): %s", c.baseURL, status, oneLine(errorText(err)))
	case errors.Is(err, syscall.ECONNREFUSED):
		return msg("cannot reach %s: connection refused", c.baseURL)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return msg("cannot reach %s: unknown host %s", c.baseURL, dnsErr.Name)
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return msg("cannot reach %s: %v", c.baseURL, err)
	}
	return fmt.Errorf("chat completion: %w", err)
}

// llmError is a one-line message for the user over the client's error.
type llmError struct {
	msg string
	err error
}

func (e *llmError) Error() string { return e.msg }
func (e *llmError) Unwrap() error { return e.err }

var errTimeout = errors.New("per-request timeout")

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

// oneLine shortens a server message for an error line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	if s == "" {
		s = "no message"
	}
	return s
}

// responseInfo receives the headers go-openai does not surface on errors.
type responseInfo struct{ retryAfter string }

type responseInfoKey struct{}

// headerRecorder notes the Retry-After header of every response into the
// responseInfo carried by the request's context.
type headerRecorder struct{ hc *http.Client }

func (h headerRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := h.hc.Do(req)
	if resp != nil {
		if info, ok := req.Context().Value(responseInfoKey{}).(*responseInfo); ok {
			info.retryAfter = resp.Header.Get("Retry-After")
		}
	}
	return resp, err
}
