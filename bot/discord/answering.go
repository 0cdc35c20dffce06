package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/bot/gaps"
)

// surface is where one question's answer is shown: an interaction's
// response (slash command, context menu) or a chain of channel messages
// (DM, mention, thread). answerAndDeliver drives it the same way for
// every door.
type surface interface {
	// refuse turns the question down before any work was done.
	refuse(ctx context.Context, text string) error
	// acknowledge tells Discord and the user the question is being worked
	// on (a deferred response, the typing indicator).
	acknowledge(ctx context.Context) error
	// queued shows the question's place in the queue (1 is next).
	queued(ctx context.Context, position int) error
	// preview shows the unverified text of a streaming answer.
	preview(ctx context.Context, p page) error
	// deliver shows the final answer: the first page replaces whatever
	// was shown, the rest follow. It returns the first page's message ID.
	deliver(ctx context.Context, pages []page) (messageID string, err error)
	// fail replaces whatever was shown with text (an apology, "busy").
	fail(ctx context.Context, text string) error
	// plainText reports that the channel does not allow embeds.
	plainText() bool
	// finish ends what acknowledge started (the typing indicator).
	finish()
}

// asking is one question on its way from a door to a surface.
type asking struct {
	question string
	// door is where it was asked, for the coverage gaps ("discord /ask").
	door   string
	userID string
	// answerID names the answer in button custom IDs and votes: the
	// interaction or question message ID.
	answerID string
	// history is the conversation before the question; convKey where its
	// turn is recorded ("" records nothing).
	history []bot.Turn
	convKey string
	// thread: the surface may offer or start a thread once answered.
	thread threadOffer
	log    *slog.Logger
	out    surface
}

// Friendly refusals, shared by every door.
func (b *Bot) tooLong(n int) string {
	return fmt.Sprintf("That question is %d characters long; please keep it under %d.", n, b.cfg.MaxQuestionChars)
}

func slowDown(wait time.Duration) string {
	secs := int(wait.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return fmt.Sprintf("Slow down a little — you're asking faster than I can keep up. Try again in %d s.", secs)
}

const busy = "I'm answering a lot of questions right now and the queue is full — please try again in a minute."

const emptyQuestion = "Ask me a question about the articles, e.g. “What did the report conclude?”. /help has more."

func queuedText(position int) string {
	if position == 1 {
		return "⏳ Every answer slot is busy — yours is next in line."
	}
	return fmt.Sprintf("⏳ Every answer slot is busy — you're #%d in line.", position)
}

func apology(errID string, err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("Sorry — that took too long to answer. Please try again. (error ID: %s)", errID)
	}
	return fmt.Sprintf("Sorry — something went wrong while answering. (error ID: %s)", errID)
}

// check refuses a question that is empty or too long (before it costs the
// user anything).
func (b *Bot) check(question string) string {
	if question == "" {
		return emptyQuestion
	}
	if n := utf8.RuneCountInString(question); n > b.cfg.MaxQuestionChars {
		return b.tooLong(n)
	}
	return ""
}

// answerAndDeliver is the one path every door's question takes: check →
// rate limit → acknowledge → queue → ask (streaming previews) → render →
// deliver → remember → offer a thread → log.
func (b *Bot) answerAndDeliver(ctx context.Context, q asking) {
	start := time.Now()
	log := q.log
	if refusal := b.check(q.question); refusal != "" {
		log.Info("discord question refused", "reason", refusal)
		_ = q.out.refuse(ctx, refusal) // a failure is logged by do
		return
	}
	if ok, wait := b.limiter.allow(q.userID); !ok {
		log.Info("discord question refused", "reason", "rate limit", "wait", wait)
		_ = q.out.refuse(ctx, slowDown(wait))
		return
	}
	if err := q.out.acknowledge(ctx); err != nil {
		b.limiter.refund(q.userID)
		return
	}
	defer q.out.finish()
	lim := newEditLimiter(b.editBurst, b.editWindow)
	release, err := b.queue.acquire(ctx, func(position int) {
		if lim.wait(ctx) == nil {
			_ = q.out.queued(ctx, position)
		}
	})
	if err != nil {
		b.limiter.refund(q.userID) // turned away: the question does not count
		if errors.Is(err, errQueueFull) {
			log.Info("discord question refused", "reason", "queue full")
			if lim.wait(ctx) == nil {
				_ = q.out.fail(ctx, busy)
			}
		}
		return
	}
	defer release()
	waited := time.Since(start)

	st := newStreamer(q.out, q.question, lim)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		st.run(ctx)
	}()
	a, err := b.ask(ctx, bot.Question{Text: q.question, History: q.history, OnDelta: st.add})
	st.stop()
	<-stopped
	if err != nil {
		b.fail(ctx, log, err, func(msg string) error {
			if werr := lim.wait(ctx); werr != nil {
				return werr
			}
			return q.out.fail(ctx, msg)
		})
		return
	}
	if a.Refused {
		b.recordGap(ctx, gaps.Gap{Time: time.Now(), Question: q.question, Door: q.door, Reason: gaps.Refused,
			Support: gaps.Score(a.Support), UserID: q.userID})
	}
	pages := b.renderFor(q.out, q.question, a)
	pages[len(pages)-1].Components = answerButtons(q.answerID, a, q.thread.button(b.cfg.Threads))
	if err := lim.wait(ctx); err != nil {
		return
	}
	msgID, err := q.out.deliver(ctx, pages)
	if errors.Is(err, errNoEmbeds) {
		// The channel refused the embeds: the same answer as text.
		pages = b.renderFor(q.out, q.question, a)
		pages[len(pages)-1].Components = answerButtons(q.answerID, a, q.thread.button(b.cfg.Threads))
		msgID, err = q.out.deliver(ctx, pages)
	}
	if err != nil {
		return
	}
	turn := bot.TurnOf(q.question, a)
	b.answers.put(q.answerID, msgID, answerEntry{answer: a, history: q.history, question: q.question, door: q.door})
	if q.convKey != "" {
		b.remember(ctx, log, q.convKey, turn)
	}
	if msgID != "" && q.thread.channelID != "" && b.cfg.Threads == ThreadsAuto && q.thread.canCreate {
		b.startThread(ctx, log, q.thread.channelID, msgID, q.question, append(bot.Recent(q.history, b.cfg.HistoryTurns), turn))
	}
	log.Info("discord question answered", "answer_id", q.answerID, "mode", a.Mode, "refused", a.Refused,
		"citations", len(a.Citations), "pages", len(pages), "history", len(q.history),
		"streamed_edits", st.edits(), "queued", waited.Round(time.Millisecond), "took", time.Since(start))
}

// renderFor renders an answer as the surface can show it.
func (b *Bot) renderFor(out surface, question string, a bot.Answer) []page {
	if out.plainText() {
		return renderAnswerText(question, a)
	}
	return renderAnswer(question, a)
}

// ask runs the answerer with the question's own deadline.
func (b *Bot) ask(ctx context.Context, q bot.Question) (bot.Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.AnswerTimeout)
	defer cancel()
	a, err := b.answerer.Answer(ctx, q)
	if err != nil {
		return bot.Answer{}, fmt.Errorf("answer: %w", err)
	}
	if a.Question == "" {
		a.Question = q.Text
	}
	return a, nil
}

// fail logs err under a new error ID and sends the user an apology with it.
func (b *Bot) fail(ctx context.Context, log *slog.Logger, err error, send func(msg string) error) {
	id := newErrorID()
	log.Error("discord question failed", "error_id", id, "err", redactString(err.Error(), b.cfg.Token))
	if serr := send(apology(id, err)); serr != nil {
		log.Error("discord apology not delivered", "error_id", id)
	}
}

// cleanQuestion is the text of a question as the engine gets it.
func cleanQuestion(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
