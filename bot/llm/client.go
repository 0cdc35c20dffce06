package llm

// client.go holds the answerer's side of the chat server: structured-output
// detection and the rules for retrying a stream over openaicompat, which
// does the HTTP, the retries and the one-line errors.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/verbatimbot/verbatim/openaicompat"
	"github.com/verbatimbot/verbatim/prompts"
)

// chatMessage is one message of a chat request.
type chatMessage = openaicompat.ChatMessage

// chatRequest is what the answerer asks of the client.
type chatRequest struct {
	Model    string
	Messages []chatMessage
	// Schema, when set, is sent as response_format json_schema (strict).
	Schema json.RawMessage
	// MaxTokens bounds the reply.
	MaxTokens int
}

// chatReply is the server's reply and when its first token came.
type chatReply struct {
	openaicompat.ChatReply
	// firstDelta is when the first content of a streamed reply arrived;
	// zero when nothing was streamed.
	firstDelta time.Time
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

// complete sends req, retrying on 429, 408, 5xx and broken connections,
// and returns the reply; with preview set the reply is streamed through it.
// A streamed request is retried only while none of it was shown (a
// preview cannot be taken back), and a stream cut short (the server died
// mid-reply) once at most. Errors are explained (openaicompat.Explain).
func (c *chatClient) complete(ctx context.Context, req chatRequest, preview *streamFilter) (chatReply, error) {
	or := openaicompat.ChatRequest{Model: req.Model, Messages: req.Messages, MaxTokens: req.MaxTokens}
	if req.Schema != nil && c.structured() {
		or.Schema, or.SchemaName = req.Schema, prompts.SchemaName
	}
	var reply chatReply
	cuts := 0
	err := openaicompat.Do(ctx, c.retry, func(ctx context.Context) error {
		var onDelta func(string)
		if preview != nil {
			preview.reset()
			reply.firstDelta = time.Time{}
			onDelta = func(d string) {
				if reply.firstDelta.IsZero() {
					reply.firstDelta = time.Now()
				}
				preview.write(d)
			}
		}
		var err error
		reply.ChatReply, err = c.api.Chat(ctx, or, onDelta)
		switch {
		case err == nil:
			return nil
		case preview != nil && preview.shown():
			return openaicompat.Permanent(err)
		case errors.Is(err, openaicompat.ErrIncomplete):
			if cuts++; cuts > 1 {
				return openaicompat.Permanent(err)
			}
		}
		return err
	})
	switch {
	case err == nil:
		return reply, nil
	case ctx.Err() != nil:
		return reply, fmt.Errorf("chat completion: %w", ctx.Err())
	case or.Schema != nil && openaicompat.SchemaRejected(err):
		c.noSchema.Store(true)
		c.log.Info("server rejected response_format json_schema; using the plain-text format from now on", "base_url", c.api.BaseURL(), "err", err)
		return reply, errSchemaRejected
	}
	return reply, fmt.Errorf("chat completion: %w", openaicompat.Explain(c.api.BaseURL(), req.Model, err))
}

// models lists the model IDs the server offers (GET /models).
func (c *chatClient) models(ctx context.Context) ([]string, error) {
	ids, err := c.api.Models(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("list models: %w", ctx.Err())
		}
		return nil, openaicompat.Explain(c.api.BaseURL(), "", err)
	}
	return ids, nil
}
