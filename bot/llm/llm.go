// Package llm is the LLM answerer: it drafts answers with a chat model on an
// OpenAI-compatible server (OpenAI, Ollama, llama.cpp server, vLLM, LM
// Studio) and rewrites follow-up questions, for bot.Engine. It asks for an
// exact quote per claim and reads the reply leniently (structured JSON or
// plain text, complete or cut short); the engine's verifier decides which
// quotes are shown. It uses only exported bot types and talks to the server
// through openaicompat.
package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/openaicompat"
	"github.com/verbatimbot/verbatim/prompts"
	"github.com/verbatimbot/verbatim/retrieval"
)

// Config configures the LLM answerer. Its String method redacts APIKey.
type Config struct {
	// BaseURL of an OpenAI-compatible server, with the /v1 suffix the
	// OpenAI SDKs expect (http://localhost:11434/v1 for Ollama). Empty:
	// openaicompat.DefaultBaseURL.
	BaseURL string
	APIKey  string
	// Model is the chat model. Empty: DefaultModel(BaseURL), else the first
	// model the server lists at GET /models.
	Model string
	// Timeout bounds one HTTP request (a streamed reply included). Zero: 60s.
	Timeout time.Duration
	// Retries on 429, 408, 5xx and broken connections (see
	// openaicompat.Retryable); never on 401 or other 4xx. Zero means
	// openaicompat.DefaultRetries, negative none (openaicompat.Retry).
	Retries int
	// Backoff is the wait before the first retry when the server sends no
	// Retry-After; it doubles each retry. Zero: 1s.
	Backoff time.Duration
	// ContextTokens is the model's context window; the prompt is trimmed,
	// lowest-ranked passages first, to leave room for the answer. Zero: 8192.
	ContextTokens int
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
		BaseURL:       openaicompat.DefaultBaseURL,
		Model:         DefaultModel(openaicompat.DefaultBaseURL),
		Timeout:       60 * time.Second,
		Retries:       openaicompat.DefaultRetries,
		Backoff:       time.Second,
		ContextTokens: 8192,
		HistoryTurns:  6,
	}
}

// DefaultModel is the chat model used on a server when none is configured:
// gpt-4o-mini on api.openai.com, llama3.1 on Ollama (port 11434), and ""
// elsewhere, meaning "the first model the server lists".
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
	return fmt.Sprintf("base_url=%q model=%q api_key=%s timeout=%s retries=%d context_tokens=%d history_turns=%d",
		c.BaseURL, c.Model, key, c.Timeout, c.Retries, c.ContextTokens, c.HistoryTurns)
}

// Answerer drafts answers with a chat model on an OpenAI-compatible server
// and rewrites follow-up questions. It asks for structured output (a JSON
// schema) until the server rejects it, then uses a plain-text format for the
// rest of its lifetime. It is safe for concurrent use.
type Answerer struct {
	cfg    Config
	client *chatClient
	log    *slog.Logger

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
	if cfg.Model == "" {
		cfg.Model = DefaultModel(cfg.BaseURL)
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
	if cfg.ContextTokens < minContextTokens {
		return nil, fmt.Errorf("chat context window of %d tokens is too small: want at least %d", cfg.ContextTokens, minContextTokens)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Answerer{cfg: cfg, client: newChatClient(cfg), log: cfg.Logger, model: cfg.Model}, nil
}

// Config is the configuration in use, defaults filled in.
func (l *Answerer) Config() Config { return l.cfg }

// Model is the chat model in use: the configured one, or the first model the
// server lists (asked once, then remembered).
func (l *Answerer) Model(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.model != "" {
		return l.model, nil
	}
	ids, err := l.client.models(ctx)
	if err != nil {
		return "", fmt.Errorf("no chat model configured (VERBATIM_CHAT_MODEL) and asking the server failed: %w", err)
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("no chat model configured (VERBATIM_CHAT_MODEL) and %s/models lists none", l.cfg.BaseURL)
	}
	l.model = ids[0]
	l.log.Info("chat model chosen from the server's list", "model", l.model, "base_url", l.cfg.BaseURL, "models", len(ids))
	return l.model, nil
}

// Draft asks the model to answer from req.Hits with a marker and an exact
// quote per claim. With req.OnDelta set (or req.Question.OnDelta) the reply
// is streamed and the answer text forwarded as it arrives. Malformed replies
// are parsed as far as they go; a reply with nothing usable is a Draft
// without claims, which the engine answers extractively.
func (l *Answerer) Draft(ctx context.Context, req bot.DraftRequest) (bot.Draft, error) {
	if len(req.Hits) == 0 {
		return bot.Draft{Refused: true}, nil
	}
	model, err := l.Model(ctx)
	if err != nil {
		return bot.Draft{}, err
	}
	onDelta := req.OnDelta
	if onDelta == nil {
		onDelta = req.Question.OnDelta
	}
	for {
		structured := l.client.structured()
		msgs, idx, err := l.answerMessages(req, structured)
		if err != nil {
			return bot.Draft{}, err
		}
		cr := chatRequest{Model: model, Messages: msgs}
		if structured {
			cr.Schema = prompts.AnswerSchema()
		}
		if onDelta != nil {
			cr.OnContent = newStreamFilter(onDelta, structured).write
		}
		start := time.Now()
		content, err := l.client.complete(ctx, cr)
		if errors.Is(err, errSchemaRejected) {
			continue // the client now sends no response_format
		}
		if err != nil {
			return bot.Draft{}, fmt.Errorf("draft answer with %s: %w", model, err)
		}
		d := parseReply(content).draft(idx)
		l.log.Debug("llm draft", "model", model, "structured", structured, "stream", onDelta != nil,
			"took", time.Since(start), "reply_chars", len(content), "claims", len(d.Claims), "refused", d.Refused)
		if len(d.Claims) == 0 && !d.Refused {
			l.log.Warn("model reply has no usable citation", "model", model, "reply", openaicompat.OneLine(content, 200))
		}
		return d, nil
	}
}

// Rewrite asks the model to turn the follow-up q.Text into a standalone
// question using the latest HistoryTurns turns. Without history it returns
// q.Text without asking.
func (l *Answerer) Rewrite(ctx context.Context, q bot.Question) (string, error) {
	hist := q.History
	if len(hist) == 0 {
		return q.Text, nil
	}
	if n := l.cfg.HistoryTurns; n > 0 && len(hist) > n {
		hist = hist[len(hist)-n:]
	}
	c := prompts.Condense{Question: q.Text}
	for _, t := range hist {
		c.History = append(c.History, prompts.Turn{Question: t.Question, Answer: bot.Clip(t.Answer, maxTurnAnswerChars)})
	}
	sys, err := prompts.RenderCondenseSystem()
	if err != nil {
		return "", err
	}
	user, err := prompts.RenderCondense(c)
	if err != nil {
		return "", err
	}
	model, err := l.Model(ctx)
	if err != nil {
		return "", err
	}
	content, err := l.client.complete(ctx, chatRequest{Model: model, Messages: []chatMessage{
		{Role: "system", Content: sys}, {Role: "user", Content: user},
	}})
	if err != nil {
		return "", fmt.Errorf("rewrite follow-up with %s: %w", model, err)
	}
	s := cleanStandalone(content)
	if s == "" || utf8.RuneCountInString(s) > maxStandaloneChars {
		l.log.Warn("unusable standalone question; keeping the follow-up as asked", "reply", openaicompat.OneLine(content, 200))
		return q.Text, nil
	}
	return s, nil
}

const (
	// charsPerToken estimates tokens from characters (English prose with
	// common BPE vocabularies averages about four).
	charsPerToken = 4
	// answerReserve is the part of the context window kept for the reply.
	answerReserve    = 1024
	minContextTokens = 512
	// messageOverhead covers the chat template around each message.
	messageOverhead = 8
	// maxTurnAnswerChars bounds each earlier answer sent for condensing.
	maxTurnAnswerChars = 800
	maxStandaloneChars = 1000
)

// estimateTokens is a provider-independent upper-bound-ish estimate.
func estimateTokens(s string) int {
	return (utf8.RuneCountInString(s) + charsPerToken - 1) / charsPerToken
}

// promptBudget is the number of prompt tokens that leaves room for a reply.
func (l *Answerer) promptBudget() int {
	reserve := min(answerReserve, l.cfg.ContextTokens/4)
	return l.cfg.ContextTokens - reserve
}

// answerMessages renders the system and user messages for req, keeping the
// best-ranked paragraphs that fit the context budget, and indexes the
// paragraphs shown so that the reply's labels can be resolved.
func (l *Answerer) answerMessages(req bot.DraftRequest, structured bool) ([]chatMessage, paragraphIndex, error) {
	sys, err := prompts.RenderSystem(prompts.System{JSON: structured})
	if err != nil {
		return nil, paragraphIndex{}, err
	}
	a := prompts.Answer{Question: req.Question.Text, Standalone: req.Standalone}
	if a.Question == "" {
		a.Question = req.Standalone
	}
	all := presentHits(req.Hits)
	empty, err := prompts.RenderAnswer(a)
	if err != nil {
		return nil, paragraphIndex{}, err
	}
	budget := l.promptBudget() - estimateTokens(sys) - estimateTokens(empty) - 2*messageOverhead
	kept, total, shown := trimPassages(all, budget)
	for {
		a.Passages = kept
		user, err := prompts.RenderAnswer(a)
		if err != nil {
			return nil, paragraphIndex{}, err
		}
		used := estimateTokens(sys) + estimateTokens(user) + 2*messageOverhead
		if used > l.promptBudget() && shown > 1 {
			kept = dropLastParagraph(kept) // the estimate per paragraph was short
			shown--
			continue
		}
		if shown < total {
			l.log.Debug("passages trimmed to the context budget", "paragraphs_kept", shown, "paragraphs", total,
				"prompt_tokens", used, "context_tokens", l.cfg.ContextTokens)
		}
		return []chatMessage{{Role: "system", Content: sys}, {Role: "user", Content: user}},
			newParagraphIndex(req.Hits, kept), nil
	}
}

// presentHits turns ranked hits into labelled passages, best first, showing
// each paragraph once (chunks may overlap).
func presentHits(hits []retrieval.Hit) []prompts.Passage {
	type key struct {
		article string
		n       int
	}
	seen := make(map[key]bool)
	var out []prompts.Passage
	for _, h := range hits {
		p := prompts.Passage{ArticleID: h.ArticleID, Title: h.Title}
		for i, text := range strings.Split(h.Text, "\n\n") {
			n := h.First + i
			text = strings.TrimSpace(text)
			if text == "" || seen[key{h.ArticleID, n}] {
				continue
			}
			seen[key{h.ArticleID, n}] = true
			p.Paragraphs = append(p.Paragraphs, prompts.Para{Label: prompts.Label(h.ArticleID, n), N: n, Text: text})
		}
		if len(p.Paragraphs) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// trimPassages keeps passages in rank order while their estimated cost fits
// budget tokens, cutting the first passage that does not fit after its last
// fitting paragraph. The best paragraph is always kept.
func trimPassages(ps []prompts.Passage, budget int) (kept []prompts.Passage, total, shown int) {
	for _, p := range ps {
		total += len(p.Paragraphs)
	}
	used := 0
	for _, p := range ps {
		cost := estimateTokens("## " + p.Title + " (article " + p.ArticleID + ")\n\n")
		q := prompts.Passage{ArticleID: p.ArticleID, Title: p.Title}
		for _, para := range p.Paragraphs {
			c := estimateTokens(para.Label + " " + para.Text + "\n\n")
			if used+cost+c > budget && shown > 0 {
				if len(q.Paragraphs) > 0 {
					kept = append(kept, q)
				}
				return kept, total, shown
			}
			cost += c
			q.Paragraphs = append(q.Paragraphs, para)
			shown++
		}
		used += cost
		kept = append(kept, q)
	}
	return kept, total, shown
}

func dropLastParagraph(ps []prompts.Passage) []prompts.Passage {
	last := &ps[len(ps)-1]
	last.Paragraphs = last.Paragraphs[:len(last.Paragraphs)-1]
	if len(last.Paragraphs) == 0 {
		return ps[:len(ps)-1]
	}
	return ps
}

// cleanStandalone extracts the question from a condensing reply.
func cleanStandalone(reply string) string {
	reply = stripThink(reply)
	for _, line := range strings.Split(reply, "\n") {
		s := strings.TrimSpace(line)
		s = strings.Trim(s, "*`")
		if i := strings.Index(strings.ToLower(s), "standalone question:"); i >= 0 {
			s = strings.TrimSpace(s[i+len("standalone question:"):])
		}
		s = strings.TrimSpace(trimQuotes(s))
		if s != "" {
			return s
		}
	}
	return ""
}
