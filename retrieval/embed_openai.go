package retrieval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/verbatimbot/verbatim/openaicompat"
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
	// Retries on 429, 408 and 5xx responses and broken connections (see
	// openaicompat.Retryable); zero means openaicompat.DefaultRetries,
	// negative none (openaicompat.Retry). 401/403 and other 4xx are never
	// retried.
	Retries int
	// MinBackoff is the first retry delay (doubled each retry, with
	// jitter, capped at MaxBackoff) unless the server sends Retry-After,
	// which is honoured up to openaicompat.MaxRetryAfter. Zero means 500ms
	// and 30s.
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
	return OpenAIEmbedConfig{APIKey: apiKey, Model: "text-embedding-3-small"}
}

// String describes the config with the API key redacted.
func (c OpenAIEmbedConfig) String() string {
	key := "unset"
	if c.APIKey != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("openai embedder{base_url=%q model=%q dims=%d key=%s}", c.BaseURL, c.Model, c.Dims, key)
}

// OpenAIEmbedder embeds through an OpenAI-compatible API.
type OpenAIEmbedder struct {
	cfg    OpenAIEmbedConfig
	client *openaicompat.Client
	retry  openaicompat.Retry
	log    *slog.Logger
	dims   atomic.Int64 // learned from the first response when cfg.Dims is 0
	// largest is the most texts one request carried; splits counts the
	// batches split because the server found an input too large.
	largest, splits atomic.Int64
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
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &OpenAIEmbedder{
		cfg:    cfg,
		log:    log,
		client: openaicompat.New(openaicompat.Config{BaseURL: cfg.BaseURL, APIKey: cfg.APIKey, HTTPClient: hc}),
		retry: openaicompat.Retry{Retries: cfg.Retries, Backoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff,
			Logger: log, Op: "openai embeddings"},
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
// rate limits and server errors, and returns L2-normalised vectors. A text
// too long for the server is embedded shortened (EmbedTruncating), with a
// warning.
func (e *OpenAIEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	vecs, cuts, err := e.EmbedTruncating(ctx, texts)
	for _, c := range cuts {
		e.log.Warn("text too long for the embedding server; embedded its first part only", "kept_chars", c.Kept, "chars", c.Total)
	}
	return vecs, err
}

// Truncation is a text an embedder shortened to what its server accepts.
type Truncation struct {
	Index       int // of the text among those embedded
	Kept, Total int // characters
}

// EmbedTruncating is Embed that says which texts it shortened. When the
// server finds an input too large (llama-server's 500 "input (N tokens) is
// too large to process", a 413, a context-length 400: never retried), the
// batch is split in halves until the input is alone, and that input is cut
// at a word to the share of it the server said it takes (half when it does
// not say), again until it is accepted.
func (e *OpenAIEmbedder) EmbedTruncating(ctx context.Context, texts []string) ([][]float32, []Truncation, error) {
	out := make([][]float32, 0, len(texts))
	var cuts []Truncation
	for start := 0; start < len(texts); start += e.cfg.BatchSize {
		batch := texts[start:min(start+e.cfg.BatchSize, len(texts))]
		vecs, bc, err := e.embedFitting(ctx, batch)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range bc {
			c.Index += start
			cuts = append(cuts, c)
		}
		out = append(out, vecs...)
	}
	return out, cuts, nil
}

// maxCuts bounds how often one text is shortened.
const maxCuts = 8

// embedFitting embeds texts, splitting the batch and cutting a text the
// server finds too large.
func (e *OpenAIEmbedder) embedFitting(ctx context.Context, texts []string) ([][]float32, []Truncation, error) {
	vecs, err := e.embedBatch(ctx, texts)
	got, limit, tooLarge := openaicompat.InputTooLarge(err)
	if err == nil || !tooLarge {
		return vecs, nil, err
	}
	if len(texts) > 1 {
		e.splits.Add(1)
		mid := len(texts) / 2
		a, ca, err := e.embedFitting(ctx, texts[:mid])
		if err != nil {
			return nil, nil, err
		}
		b, cb, err := e.embedFitting(ctx, texts[mid:])
		if err != nil {
			return nil, nil, err
		}
		for _, c := range cb {
			c.Index += mid
			ca = append(ca, c)
		}
		return append(a, b...), ca, nil
	}
	total := utf8.RuneCountInString(texts[0])
	kept := texts[0]
	for range maxCuts {
		n := utf8.RuneCountInString(kept)
		keep := n / 2
		if got > limit && limit > 0 {
			keep = int(float64(n) * float64(limit) / float64(got) * 0.9)
		}
		if kept = cutAtWord(kept, keep); kept == "" {
			break
		}
		vecs, err = e.embedBatch(ctx, []string{kept})
		if err == nil {
			return vecs, []Truncation{{Index: 0, Kept: utf8.RuneCountInString(kept), Total: total}}, nil
		}
		if got, limit, tooLarge = openaicompat.InputTooLarge(err); !tooLarge {
			return nil, nil, err
		}
	}
	return nil, nil, err
}

// cutAtWord is the first n characters of s, ended at a word.
func cutAtWord(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := string([]rune(s)[:n])
	if i := strings.LastIndexAny(cut, " \n\t"); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut)
}

// BatchStats reports the most texts one request carried and how many
// batches were split because the server found an input too large.
func (e *OpenAIEmbedder) BatchStats() (largest, splits int) {
	return int(e.largest.Load()), int(e.splits.Load())
}

// BatchSize is the most texts a request carries (OpenAIEmbedConfig.BatchSize).
func (e *OpenAIEmbedder) BatchSize() int { return e.cfg.BatchSize }

func (e *OpenAIEmbedder) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	req := openaicompat.EmbedRequest{Model: e.cfg.Model, Dims: e.cfg.Dims, Texts: texts}
	var vecs [][]float32
	err := openaicompat.Do(ctx, e.retry, func(ctx context.Context) error {
		var err error
		vecs, err = e.client.Embed(ctx, req)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("openai embeddings: %w", ctx.Err())
		}
		return nil, fmt.Errorf("openai embeddings: %w", openaicompat.Explain(e.client.BaseURL(), e.cfg.Model, err))
	}
	for n := int64(len(texts)); ; {
		if cur := e.largest.Load(); cur >= n || e.largest.CompareAndSwap(cur, n) {
			break
		}
	}
	return e.vectors(vecs)
}

// vectors normalises vecs and checks that they all have the expected size.
func (e *OpenAIEmbedder) vectors(vecs [][]float32) ([][]float32, error) {
	dims := len(vecs[0])
	for _, v := range vecs {
		if len(v) != dims {
			return nil, errors.New("openai embeddings: vectors of mixed sizes")
		}
		normalize(v)
	}
	if !e.dims.CompareAndSwap(0, int64(dims)) && int(e.dims.Load()) != dims {
		return nil, fmt.Errorf("openai embeddings: got %d dims, want %d", dims, e.dims.Load())
	}
	return vecs, nil
}
