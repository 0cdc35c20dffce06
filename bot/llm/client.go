package llm

// llmclient.go holds bot's side of the chat server: structured-output
// detection and the "no retry once anything was streamed" rule over
// openaicompat, which does the HTTP, the retries and the one-line errors.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/verbatimbot/verbatim/openaicompat"
	"github.com/verbatimbot/verbatim/prompts"
)

// chatMessage is one message of a chat request.
type chatMessage = openaicompat.ChatMessage

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
	api   *openaicompat.Client
	retry openaicompat.Retry
	log   *slog.Logger
	// noSchema is set once the server rejected response_format, for the
	// client's lifetime.
	noSchema atomic.Bool
}

func newChatClient(cfg Config) *chatClient {
	return &chatClient{
		api: openaicompat.New(openaicompat.Config{
			BaseURL: cfg.BaseURL, APIKey: cfg.APIKey, HTTPClient: cfg.HTTPClient, Timeout: cfg.Timeout,
		}),
		retry: openaicompat.Retry{Retries: cfg.Retries, Backoff: cfg.Backoff, Logger: cfg.Logger, Op: "chat completion"},
		log:   cfg.Logger,
	}
}

// structured reports whether requests still carry response_format.
func (c *chatClient) structured() bool { return !c.noSchema.Load() }

// complete sends req, retrying on 429, 408, 5xx and broken connections, and
// returns the reply's content. A streamed request is retried only while
// nothing was streamed.
func (c *chatClient) complete(ctx context.Context, req chatRequest) (string, error) {
	or := openaicompat.ChatRequest{Model: req.Model, Messages: req.Messages}
	if req.Schema != nil && c.structured() {
		or.Schema, or.SchemaName = req.Schema, prompts.SchemaName
	}
	var content string
	err := openaicompat.Do(ctx, c.retry, func(ctx context.Context) error {
		streamed := false
		var onContent func(string)
		if req.OnContent != nil {
			onContent = func(d string) { streamed = true; req.OnContent(d) }
		}
		var err error
		content, err = c.api.Chat(ctx, or, onContent)
		if err != nil && streamed {
			return openaicompat.Permanent(err)
		}
		return err
	})
	switch {
	case err == nil:
		return content, nil
	case ctx.Err() != nil:
		return "", fmt.Errorf("chat completion: %w", ctx.Err())
	case or.Schema != nil && openaicompat.SchemaRejected(err):
		c.noSchema.Store(true)
		c.log.Info("server rejected response_format json_schema; using the plain-text format from now on", "base_url", c.api.BaseURL(), "err", err)
		return "", errSchemaRejected
	}
	if e := openaicompat.Explain(c.api.BaseURL(), req.Model, err); e != err {
		return "", e
	}
	return "", fmt.Errorf("chat completion: %w", err)
}

// models lists the model IDs the server offers (GET /models).
func (c *chatClient) models(ctx context.Context) ([]string, error) {
	ids, err := c.api.Models(ctx)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", openaicompat.Explain(c.api.BaseURL(), "", err))
	}
	return ids, nil
}
