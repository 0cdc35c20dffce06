package llm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/openaicompat"
	"github.com/verbatimbot/verbatim/prompts"
	"github.com/verbatimbot/verbatim/retrieval"
)

// Draft asks the model to answer from req.Hits with a marker and an exact
// quote per claim. With req.OnDelta set (or req.Question.OnDelta) the reply
// is streamed and the answer text forwarded as it arrives. Malformed replies
// and replies cut at MaxAnswerTokens are parsed as far as they go; a reply
// with nothing usable is a Draft without claims, which the engine answers
// extractively. A failure to get a reply is a *bot.ModelError.
func (l *Answerer) Draft(ctx context.Context, req bot.DraftRequest) (bot.Draft, error) {
	if len(req.Hits) == 0 {
		return bot.Draft{Refused: true}, nil
	}
	start := time.Now()
	ctx, cancel := l.withReserve(ctx)
	defer cancel()
	model, err := l.Model(ctx)
	if err != nil {
		return bot.Draft{}, l.failure(ctx, err)
	}
	onDelta := req.OnDelta
	if onDelta == nil {
		onDelta = req.Question.OnDelta
	}
	for {
		structured := l.client.structured()
		msgs, idx, est, err := l.answerMessages(req, structured)
		if err != nil {
			return bot.Draft{}, fmt.Errorf("draft answer: %w", err)
		}
		cr := chatRequest{Model: model, Messages: msgs, MaxTokens: l.answerTokens()}
		if structured {
			cr.Schema = prompts.AnswerSchema()
		}
		var preview *streamFilter
		if onDelta != nil {
			preview = newStreamFilter(onDelta, structured)
		}
		reply, err := l.client.complete(ctx, cr, preview)
		if errors.Is(err, errSchemaRejected) {
			continue // the client now sends no response_format
		}
		if err != nil {
			return bot.Draft{}, l.failure(ctx, fmt.Errorf("draft answer with %s: %w", model, err))
		}
		d := parseReply(reply.Content).draft(idx)
		if !reply.firstDelta.IsZero() {
			d.FirstToken = reply.firstDelta.Sub(start)
		}
		l.log.Debug("llm draft", "model", model, "structured", structured, "stream", onDelta != nil,
			"first_token", d.FirstToken, "took", time.Since(start), "finish", reply.FinishReason,
			"reply_chars", len(reply.Content), "claims", len(d.Claims), "refused", d.Refused)
		if reply.FinishReason == "length" {
			l.log.Info("model reply cut at max_tokens; what it says is verified as it stands",
				"max_tokens", cr.MaxTokens, "claims", len(d.Claims))
		}
		l.checkTruncated(est, reply.PromptTokens)
		if len(d.Claims) == 0 && !d.Refused {
			l.log.Info("model reply has no usable citation", "model", model, "reply", openaicompat.OneLine(reply.Content, 200))
		}
		return d, nil
	}
}

// answerMessages renders the system and user messages for req, keeping the
// best-ranked paragraphs that fit the context budget, and indexes the
// paragraphs shown so that the reply's labels can be resolved. est is the
// estimated prompt length in tokens.
func (l *Answerer) answerMessages(req bot.DraftRequest, structured bool) (msgs []chatMessage, idx paragraphIndex, est int, err error) {
	sys, err := prompts.RenderSystem(prompts.System{JSON: structured})
	if err != nil {
		return nil, paragraphIndex{}, 0, err
	}
	a := prompts.Answer{Question: req.Question.Text, Standalone: req.Standalone}
	if a.Question == "" {
		a.Question = req.Standalone
	}
	all := presentHits(req.Hits)
	empty, err := prompts.RenderAnswer(a)
	if err != nil {
		return nil, paragraphIndex{}, 0, err
	}
	budget := l.promptBudget()
	kept, total, shown := trimPassages(all, budget-promptTokens(sys, empty))
	for {
		a.Passages = kept
		user, err := prompts.RenderAnswer(a)
		if err != nil {
			return nil, paragraphIndex{}, 0, err
		}
		used := promptTokens(sys, user)
		if used > budget && shown > 1 {
			kept = dropLastParagraph(kept) // the estimate per paragraph was short
			shown--
			continue
		}
		if used > budget {
			// One paragraph, too long for the window alone: show as much of
			// it as fits (any quote from it is still its exact text).
			kept = clipParagraph(kept, budget-promptTokens(sys, empty)-passageOverhead(kept[0]))
			a.Passages = kept
			if user, err = prompts.RenderAnswer(a); err != nil {
				return nil, paragraphIndex{}, 0, err
			}
			used = promptTokens(sys, user)
		}
		l.warnBudget(shown, total, used)
		return []chatMessage{{Role: "system", Content: sys}, {Role: "user", Content: user}},
			newParagraphIndex(req.Hits, kept), used, nil
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
