// Package llm is the LLM answerer: it drafts answers with a chat model on an
// OpenAI-compatible server (OpenAI, Ollama, llama.cpp server, vLLM, LM
// Studio) and rewrites follow-up questions, for bot.Engine. It asks for an
// exact quote per claim and reads the reply leniently (structured JSON or
// plain text, complete or cut short); the engine's verifier decides which
// quotes are shown. It uses only exported bot types and talks to the server
// through openaicompat.
//
// Every failure to get a reply is a *bot.ModelError whose notice names the
// server and the cause, so that the engine can answer without the model
// and say why.
package llm

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/openaicompat"
)

// Config configures the LLM answerer. Its String method redacts APIKey.
type Config struct {
	// BaseURL of an OpenAI-compatible server, with the /v1 suffix the
	// OpenAI SDKs expect (http://localhost:11434/v1 for Ollama). Empty:
	// openaicompat.DefaultBaseURL.
	BaseURL string
	APIKey  string
	// Model is the chat model. Empty: PreferredModel when the server has it
	// (OpenAI is taken at its word), else the first chat model the server
	// lists at GET /models.
	Model string
	// PreferredModel is the model to use, if the server has it, when Model
	// is empty. Empty: DefaultModel(BaseURL).
	PreferredModel string
	// Timeout bounds one HTTP request (a streamed reply included). Zero: 60s.
	Timeout time.Duration
	// Retries on 429, 408, 5xx and broken connections (see
	// openaicompat.Retryable); never on 401 or other 4xx. Zero means
	// openaicompat.DefaultRetries, negative none (openaicompat.Retry). A
	// stream cut short is retried once at most, and only while none of it
	// was shown.
	Retries int
	// Backoff is the wait before the first retry when the server sends no
	// Retry-After; it doubles each retry. Zero: 1s.
	Backoff time.Duration
	// ContextTokens is the model's context window: the whole request
	// (instructions, passages, question and the reply's max_tokens) is
	// budgeted to fit it, lowest-ranked passages dropped first. Zero: 8192;
	// at least MinContextTokens.
	ContextTokens int
	// MaxAnswerTokens bounds a reply (max_tokens), so that a rambling model
	// stops; it is also what the budget keeps free for the reply, at most a
	// quarter of ContextTokens. Zero: 1024.
	MaxAnswerTokens int
	// HistoryTurns is how many of the latest conversation turns Rewrite
	// sends. Zero: every turn of Question.History.
	HistoryTurns int
	// HTTPClient sends the requests. Nil: a new http.Client (timeouts come
	// from Timeout and the caller's context).
	HTTPClient *http.Client
	// Logger receives retries, format fallbacks and reply diagnostics. Nil:
	// discarded.
	Logger *slog.Logger
}

// DefaultConfig is OpenAI with gpt-4o-mini and the documented defaults.
func DefaultConfig() Config {
	return Config{
		BaseURL:         openaicompat.DefaultBaseURL,
		Timeout:         60 * time.Second,
		Retries:         openaicompat.DefaultRetries,
		Backoff:         time.Second,
		ContextTokens:   8192,
		MaxAnswerTokens: 1024,
		HistoryTurns:    6,
	}
}

// DefaultModel is the chat model preferred on a server when none is
// configured: gpt-4o-mini on api.openai.com, llama3.1 on Ollama (port
// 11434), and "" elsewhere, meaning "the first model the server lists".
func DefaultModel(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	switch {
	case u.Hostname() == "api.openai.com":
		return "gpt-4o-mini"
	case u.Port() == "11434":
		return "llama3.1"
	}
	return ""
}

// String describes the configuration with the API key redacted.
func (c Config) String() string {
	key := ""
	if c.APIKey != "" {
		key = "<redacted>"
	}
	return fmt.Sprintf("base_url=%q model=%q api_key=%s timeout=%s retries=%d context_tokens=%d max_answer_tokens=%d history_turns=%d",
		c.BaseURL, c.Model, key, c.Timeout, c.Retries, c.ContextTokens, c.MaxAnswerTokens, c.HistoryTurns)
}

// Answerer drafts answers with a chat model on an OpenAI-compatible server
// and rewrites follow-up questions. It asks for structured output (a JSON
// schema) until the server rejects it, then uses a plain-text format for the
// rest of its lifetime. It is safe for concurrent use.
type Answerer struct {
	cfg     Config
	client  *chatClient
	log     *slog.Logger
	secrets *openaicompat.Secrets // the API key, kept out of notices

	mu    sync.Mutex
	model string // resolved lazily when cfg.Model is empty
}

var (
	_ bot.Answerer = (*Answerer)(nil)
	_ bot.Rewriter = (*Answerer)(nil)
)

// New checks cfg, fills its zero fields with defaults and returns the
// answerer. It does no I/O: a model left to the server is asked for on first
// use.
func New(cfg Config) (*Answerer, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = openaicompat.DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("chat base URL %q: want http(s)://host[:port]/v1", cfg.BaseURL)
	}
	if cfg.PreferredModel == "" {
		cfg.PreferredModel = DefaultModel(cfg.BaseURL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.ContextTokens <= 0 {
		cfg.ContextTokens = 8192
	}
	if cfg.ContextTokens < MinContextTokens {
		return nil, fmt.Errorf("chat context window of %d tokens is too small: the instructions, one passage and a short answer need %d", cfg.ContextTokens, MinContextTokens)
	}
	if cfg.MaxAnswerTokens <= 0 {
		cfg.MaxAnswerTokens = 1024
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Answerer{cfg: cfg, client: newChatClient(cfg), log: cfg.Logger, model: cfg.Model,
		secrets: openaicompat.NewSecrets(cfg.APIKey)}, nil
}

// Config is the configuration in use, defaults filled in.
func (l *Answerer) Config() Config { return l.cfg }

// Model is the chat model in use: the configured one; else PreferredModel
// when the server serves it (OpenAI is taken at its word); else the first
// chat model the server lists, said once in the log (a warning when the
// preferred one is missing). It asks the server
// once, then remembers.
func (l *Answerer) Model(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.model != "" {
		return l.model, nil
	}
	base, preferred := l.cfg.BaseURL, l.cfg.PreferredModel
	if preferred != "" && l.client.api.IsOpenAI() {
		l.model = preferred
		return l.model, nil
	}
	ids, err := l.client.models(ctx)
	if err != nil {
		return "", fmt.Errorf("%w (asked for its models because VERBATIM_CHAT_MODEL is not set)", err)
	}
	if m, ok := servedAs(preferred, ids); ok {
		l.model = m
		return l.model, nil
	}
	chat := chatModels(ids)
	if len(chat) == 0 {
		hint := "set VERBATIM_CHAT_MODEL to a model it serves"
		if preferred != "" {
			hint = fmt.Sprintf("run `ollama pull %s`, or set VERBATIM_CHAT_MODEL", preferred)
		}
		return "", &bot.ModelError{
			Notice: fmt.Sprintf("the model at %s is not available: the server lists no chat model", base),
			Err:    fmt.Errorf("%s/models lists no chat model: %s", base, hint),
		}
	}
	l.model = chat[0]
	if preferred != "" {
		l.log.Warn(fmt.Sprintf("VERBATIM_CHAT_MODEL is not set and %s has no %s; using %s, the first model it lists", base, preferred, l.model),
			"models", len(ids))
	} else {
		l.log.Info("chat model chosen from the server's list", "model", l.model, "base_url", base, "models", len(ids))
	}
	return l.model, nil
}

// servedAs finds model among the server's ids, also as Ollama's
// "model:latest".
func servedAs(model string, ids []string) (string, bool) {
	if model == "" {
		return "", false
	}
	for _, id := range ids {
		if id == model || id == model+":latest" {
			return id, true
		}
	}
	return "", false
}

// chatModels are the ids that do not name an embedding model (Ollama lists
// both kinds).
func chatModels(ids []string) []string {
	var out []string
	for _, id := range ids {
		if !strings.Contains(strings.ToLower(id), "embed") {
			out = append(out, id)
		}
	}
	return out
}
