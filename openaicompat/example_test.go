package openaicompat_test

import (
	"context"
	"fmt"
	"time"

	"github.com/verbatimbot/verbatim/openaicompat"
)

// A chat completion retried on rate limits and server errors, with the
// failure, if any, worded for the user.
func ExampleDo() {
	ctx := context.TODO()
	c := openaicompat.New(openaicompat.Config{BaseURL: "http://localhost:11434/v1", Timeout: time.Minute})
	req := openaicompat.ChatRequest{Model: "llama3.1", Messages: []openaicompat.ChatMessage{
		{Role: "user", Content: "Which missile system is Tehran interested in buying?"},
	}}
	var reply openaicompat.ChatReply
	err := openaicompat.Do(ctx, openaicompat.Retry{Retries: 3, Backoff: time.Second}, func(ctx context.Context) error {
		var err error
		reply, err = c.Chat(ctx, req, nil)
		return err
	})
	if err != nil {
		fmt.Println(openaicompat.Explain(c.BaseURL(), req.Model, err))
		return
	}
	fmt.Println(reply.Content)
}
