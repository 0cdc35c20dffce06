package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/verbatimbot/verbatim/bot/llm"
)

// newLLM builds the chat-model answerer and follow-up rewriter from the
// settings: OPENAI_BASE_URL and OPENAI_API_KEY, VERBATIM_CHAT_MODEL (empty:
// the provider's default if served, see llm.DefaultModel), VERBATIM_LLM_TIMEOUT,
// VERBATIM_LLM_RETRIES, VERBATIM_CONTEXT_TOKENS, VERBATIM_MAX_ANSWER_TOKENS
// and VERBATIM_HISTORY_TURNS.
// It does no I/O; a model left to the server is asked for on first use.
func newLLM(cfg Config, log *slog.Logger) (*llm.Answerer, error) {
	if cfg.OpenAIKey == "" && cfg.OpenAIBaseURL == "" {
		return nil, errors.New("LLM answers need OPENAI_API_KEY (for OpenAI) or OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama)")
	}
	c := llm.DefaultConfig()
	if cfg.OpenAIBaseURL != "" {
		c.BaseURL = cfg.OpenAIBaseURL
	}
	c.Model = cfg.ChatModel
	c.APIKey = cfg.OpenAIKey
	c.Timeout = cfg.LLMTimeout
	c.Retries = retries(cfg.LLMRetries)
	c.ContextTokens = cfg.ContextTokens
	c.MaxAnswerTokens = cfg.MaxAnswer
	c.HistoryTurns = cfg.HistoryTurns
	c.Logger = log
	answerer, err := llm.New(c)
	if err != nil {
		return nil, fmt.Errorf("configure LLM: %w", err)
	}
	if log != nil {
		log.Debug("LLM configured", "llm", answerer.Config().String())
	}
	return answerer, nil
}

// newLLM is newLLM over the app's settings and logger (open.go's engine
// calls it).
func (a *app) newLLM() (*llm.Answerer, error) { return newLLM(a.cfg, a.log) }
