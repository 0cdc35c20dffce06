package llm

import (
	"context"
	"errors"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/openaicompat"
)

// errNoTimeLeft ends a model call that would leave the engine no time to
// answer without the model.
var errNoTimeLeft = errors.New("no time left for the model")

// maxReserve is the most withReserve keeps back.
const maxReserve = 2 * time.Second

// withReserve ends ctx a little before its deadline (a tenth of the time
// left, at most maxReserve), so that when the model is slow the engine
// still has time to answer extractively within the question's deadline.
func (l *Answerer) withReserve(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := min(maxReserve, time.Until(dl)/10)
	return context.WithDeadlineCause(ctx, dl.Add(-reserve), errNoTimeLeft)
}

// failure turns err, from a call under ctx (see withReserve), into a
// *bot.ModelError whose notice names the server and the cause ("the model
// at http://127.0.0.1:8080/v1 did not answer within 60s"), the API key
// scrubbed. The caller's own cancellation is returned as it is.
func (l *Answerer) failure(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	if me, ok := errors.AsType[*bot.ModelError](err); ok {
		me.Notice = l.secrets.Scrub(me.Notice)
		return me
	}
	notice := "the model at " + l.cfg.BaseURL + " "
	oe, explained := errors.AsType[*openaicompat.Error](err)
	switch {
	case context.Cause(ctx) == errNoTimeLeft:
		notice += "did not answer in the time left for this question"
	case explained:
		notice += oe.Cause
	default:
		notice += "failed: " + openaicompat.OneLine(err.Error(), 200)
	}
	if openaicompat.ContextOverflow(err) {
		l.log.Warn("the prompt is longer than the server's context window: set VERBATIM_CONTEXT_TOKENS to the server's window (llama-server -c, Ollama num_ctx)",
			"context_tokens", l.cfg.ContextTokens, "err", err)
	}
	return &bot.ModelError{Notice: l.secrets.Scrub(notice), Err: err}
}
