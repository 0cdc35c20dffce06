package retrieval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// OpenAIEmbedConfig configures an embedder speaking the OpenAI
// /v1/embeddings API (OpenAI itself or any compatible server).
type OpenAIEmbedConfig struct {
	// BaseURL of the API, e.g. "https://api.openai.com/v1" (the default)
	// or "http://localhost:11434/v1".
	BaseURL string
	// APIKey is sent as a bearer token; never printed (see String).
	APIKey string
	// Model, e.g. "text-embedding-3-small". Required.
	Model string
	// Dims requests that many dimensions from models that support it
	// (text-embedding-3-*); 0 takes the model's own, learned from the
	// first response.
	Dims int
	// BatchSize is the most texts per request; 0 means 96.
	BatchSize int
	// Concurrency is how many requests Sync keeps in flight; 0 means 4.
	Concurrency int
	// MaxRetries on 429 and 5xx responses and network errors; 0 means 5,
	// negative none. 401/403 and other 4xx are never retried.
	MaxRetries int
	// MinBackoff is the first retry delay (doubled each retry, with
	// jitter, capped at MaxBackoff) unless the server sends Retry-After.
	// Zero means 500ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// HTTPClient is used for requests; nil means a client with a 60s
	// timeout.
	HTTPClient *http.Client
	// Logger receives retry notes; nil discards them.
	Logger *slog.Logger
}

// DefaultOpenAIEmbedConfig returns a config for OpenAI's
// text-embedding-3-small with the given key.
func DefaultOpenAIEmbedConfig(apiKey string) OpenAIEmbedConfig {
	return OpenAIEmbedConfig{APIKey: apiKey, Model: string(openai.SmallEmbedding3)}
}

// String describes the config with the API key redacted.
func (c OpenAIEmbedConfig) String() string {
	key := "unset"
	if c.APIKey != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("openai embedder{base_url=%q model=%q dims=%d key=%s}", c.BaseURL, c.Model, c.Dims, key)
}

// OpenAIEmbedder embeds through an OpenAI-compatible API with go-openai.
type OpenAIEmbedder struct {
	cfg    OpenAIEmbedConfig
	client *openai.Client
	log    *slog.Logger
	dims   atomic.Int64 // learned from the first response when cfg.Dims is 0
}

var _ Embedder = (*OpenAIEmbedder)(nil)

// NewOpenAIEmbedder returns an embedder for cfg. It does no I/O.
func NewOpenAIEmbedder(cfg OpenAIEmbedConfig) (*OpenAIEmbedder, error) {
	if cfg.Model == "" {
		return nil, errors.New("openai embedder: no model")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 96
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	oc.HTTPClient = retryAfterRecorder{hc}
	e := &OpenAIEmbedder{cfg: cfg, client: openai.NewClientWithConfig(oc), log: cfg.Logger}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.dims.Store(int64(cfg.Dims))
	return e, nil
}

// Info reports Name "openai", the model, and the dimensions (0 until the
// first response when not configured).
func (e *OpenAIEmbedder) Info() EmbedderInfo {
	return EmbedderInfo{Name: "openai", Model: e.cfg.Model, Dims: int(e.dims.Load())}
}

// Concurrency is how many Embed calls Sync runs at once.
func (e *OpenAIEmbedder) Concurrency() int { return e.cfg.Concurrency }

// Embed embeds texts in requests of at most BatchSize inputs, retrying
// rate limits and server errors, and returns L2-normalised vectors.
func (e *OpenAIEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += e.cfg.BatchSize {
		batch := texts[start:min(start+e.cfg.BatchSize, len(texts))]
		vecs, err := e.embedBatch(ctx, batch)
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

func (e *OpenAIEmbedder) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	req := openai.EmbeddingRequestStrings{
		Input:      texts,
		Model:      openai.EmbeddingModel(e.cfg.Model),
		Dimensions: e.cfg.Dims,
	}
	for attempt := 0; ; attempt++ {
		rec := &retryAfter{}
		resp, err := e.client.CreateEmbeddings(context.WithValue(ctx, retryAfterKey{}, rec), req)
		if err == nil {
			return e.vectors(resp, len(texts))
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("openai embeddings: %w", ctx.Err())
		}
		status := httpStatus(err)
		if !retryable(status, err) || attempt >= e.cfg.MaxRetries {
			if status == http.StatusUnauthorized || status == http.StatusForbidden {
				return nil, fmt.Errorf("openai embeddings: not authorised (HTTP %d), check the API key: %w", status, err)
			}
			return nil, fmt.Errorf("openai embeddings: %w", err)
		}
		wait := e.backoff(attempt, rec.get())
		e.log.Warn("openai embeddings: retrying", "status", status, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("openai embeddings: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func (e *OpenAIEmbedder) vectors(resp openai.EmbeddingResponse, n int) ([][]float32, error) {
	if len(resp.Data) != n {
		return nil, fmt.Errorf("openai embeddings: %d vectors for %d inputs", len(resp.Data), n)
	}
	out := make([][]float32, n)
	for i, d := range resp.Data {
		idx := d.Index
		if idx < 0 || idx >= n || out[idx] != nil {
			idx = i // servers that omit or botch "index": trust the order
		}
		v := d.Embedding
		if len(v) == 0 {
			return nil, fmt.Errorf("openai embeddings: empty vector for input %d", idx)
		}
		normalize(v)
		out[idx] = v
	}
	dims := len(out[0])
	for _, v := range out {
		if v == nil || len(v) != dims {
			return nil, errors.New("openai embeddings: vectors of mixed sizes")
		}
	}
	if !e.dims.CompareAndSwap(0, int64(dims)) && int(e.dims.Load()) != dims {
		return nil, fmt.Errorf("openai embeddings: got %d dims, want %d", dims, e.dims.Load())
	}
	return out, nil
}

// backoff is the delay before retry attempt+1: Retry-After when the server
// sent one (capped at MaxBackoff), else exponential with jitter.
func (e *OpenAIEmbedder) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, e.cfg.MaxBackoff)
	}
	d := e.cfg.MinBackoff << min(attempt, 16)
	d = min(d, e.cfg.MaxBackoff)
	// ±25% jitter, deterministic enough for tests, spread enough for herds.
	j := time.Duration(time.Now().UnixNano()%int64(d/2+1)) - d/4
	return max(d+j, 0)
}

func httpStatus(err error) int {
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

// retryable: rate limits, server errors and transport failures (status 0).
func retryable(status int, err error) bool {
	switch {
	case status == http.StatusTooManyRequests, status >= 500:
		return true
	case status == 0:
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	return false
}

// retryAfterRecorder wraps the HTTP client to read Retry-After from
// responses, which go-openai's errors do not carry: the request's context
// holds a *retryAfter that the response fills.
type retryAfterRecorder struct{ c *http.Client }

type retryAfterKey struct{}

type retryAfter struct {
	mu sync.Mutex
	d  time.Duration
}

func (r *retryAfter) get() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.d
}

func (r retryAfterRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.c.Do(req)
	if err != nil || resp == nil {
		return resp, err
	}
	if rec, ok := req.Context().Value(retryAfterKey{}).(*retryAfter); ok {
		if d := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 {
			rec.mu.Lock()
			rec.d = d
			rec.mu.Unlock()
		}
	}
	return resp, nil
}

// parseRetryAfter reads delta-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}
