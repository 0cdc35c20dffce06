package llm

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/openaicompat"
	"github.com/verbatimbot/verbatim/prompts"
)

// Rewrite asks the model to turn the follow-up q.Text into a standalone
// question using the latest HistoryTurns turns, as many of them as fit the
// context window (the oldest go first). Without history it returns q.Text
// without asking. A failure to get a reply is a *bot.ModelError.
func (l *Answerer) Rewrite(ctx context.Context, q bot.Question) (string, error) {
	hist := q.History
	if len(hist) == 0 {
		return q.Text, nil
	}
	ctx, cancel := l.withReserve(ctx)
	defer cancel()
	hist = bot.Recent(hist, l.cfg.HistoryTurns)
	sys, err := prompts.RenderCondenseSystem()
	if err != nil {
		return "", fmt.Errorf("rewrite follow-up: %w", err)
	}
	maxTokens := min(condenseTokens, l.answerTokens())
	var user string
	for {
		c := prompts.Condense{Question: q.Text}
		for _, t := range hist {
			c.History = append(c.History, prompts.Turn{Question: t.Question, Answer: bot.Clip(t.Answer, maxTurnAnswerChars)})
		}
		if user, err = prompts.RenderCondense(c); err != nil {
			return "", fmt.Errorf("rewrite follow-up: %w", err)
		}
		if len(hist) == 1 || promptTokens(sys, user)+maxTokens <= l.cfg.ContextTokens {
			break
		}
		hist = hist[1:]
	}
	model, err := l.Model(ctx)
	if err != nil {
		return "", l.failure(ctx, err)
	}
	reply, err := l.client.complete(ctx, chatRequest{Model: model, MaxTokens: maxTokens, Messages: []chatMessage{
		{Role: "system", Content: sys}, {Role: "user", Content: user},
	}}, nil)
	if err != nil {
		return "", l.failure(ctx, fmt.Errorf("rewrite follow-up with %s: %w", model, err))
	}
	s := cleanStandalone(reply.Content)
	if s == "" || utf8.RuneCountInString(s) > maxStandaloneChars {
		l.log.Warn("unusable standalone question; keeping the follow-up as asked", "reply", openaicompat.OneLine(reply.Content, 200))
		return q.Text, nil
	}
	return s, nil
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
