package discord

import (
	"context"
	"log/slog"
	"strings"

	"github.com/bwmarrin/discordgo"
	"github.com/verbatimbot/verbatim/bot"
)

// threadOffer says whether an answer may move to a thread: it is public,
// in a server text channel (not a thread or a DM), where the bot may start
// threads as far as it knows.
type threadOffer struct {
	channelID string // "" when no thread is possible
	canCreate bool
}

// button reports whether the answer carries "Continue in a thread".
func (t threadOffer) button(mode ThreadMode) bool {
	return t.channelID != "" && t.canCreate && mode == ThreadsButton
}

// threadName is a question as a thread's name (1–100 characters).
func threadName(question string) string {
	name := clip(bot.Clip(strings.Join(strings.Fields(plain(question)), " "), 90), 100)
	if name == "" {
		return "Follow-up questions"
	}
	return name
}

// threadIntro is the bot's first message in a thread it started.
const threadIntro = "Follow-up questions here keep this answer's context: mention me (@verbatim) with your question."

// startThread starts a public thread on the answer message messageID in
// channelID, seeds the thread's conversation with seed, and posts a short
// note in it. The thread's ID is the message's.
func (b *Bot) startThread(ctx context.Context, log *slog.Logger, channelID, messageID, question string, seed []bot.Turn) error {
	url := discordgo.EndpointChannelMessageThread(channelID, messageID)
	body := &discordgo.ThreadStart{Name: threadName(question), AutoArchiveDuration: 1440}
	var th discordgo.Channel
	err := b.do(ctx, log, restCall{op: "start thread", method: "POST", url: url, bucket: discordgo.EndpointChannelThreads(channelID),
		body: body, optional: true, doneCode: codeThreadExists}, &th)
	if err != nil {
		if discordCode(err) == codeMissingPermissions || httpStatus(err) == 403 {
			log.Warn("discord channel does not allow the bot to start threads", "channel_id", channelID)
			b.chans.lacks(channelID, capThreads)
		}
		return err
	}
	id := th.ID
	if id == "" {
		id = messageID // a retry answered 160004: the thread exists, with the message's ID
	}
	b.chans.setInfo(id, channelInfo{typ: discordgo.ChannelTypeGuildPublicThread, parentID: channelID})
	b.remember(ctx, log, threadKey(id), seed...)
	log.Info("discord thread started", "thread_id", id, "seeded_turns", len(seed))
	note := discordgo.EndpointChannelMessages(id)
	_ = b.do(ctx, log, restCall{op: "thread note", method: "POST", url: note, bucket: note,
		body: noncedBody(page{Content: threadIntro}), optional: true}, nil)
	return nil
}

// onThreadButton starts a thread on the answer whose button was clicked
// and tells the clicker where it is.
func (b *Bot) onThreadButton(ctx context.Context, r *interactionReply, answerID string) {
	m := r.i.Message
	if m == nil {
		b.respondPages(ctx, r, []page{{Content: "I can't find the answer to start a thread on."}}, true)
		return
	}
	var seed []bot.Turn
	question := ""
	if e, ok := b.answers.get(answerID); ok {
		question = e.question
		seed = append(bot.Recent(e.history, b.cfg.HistoryTurns), bot.TurnOf(e.question, e.answer))
	} else if q, a, ok := readAnswer(m); ok {
		question = q
		seed = []bot.Turn{{Question: q, Answer: a}}
	}
	// Answer the click first: starting the thread may take longer than
	// the 3 s an initial response has.
	r.ephemeral = true
	if err := r.respond(ctx, discordgo.InteractionResponseDeferredChannelMessageWithSource, nil); err != nil {
		return
	}
	err := b.startThread(ctx, r.log, r.i.ChannelID, m.ID, question, seed)
	text := "Started a thread: <#" + m.ID + "> — mention me there with your follow-up question."
	switch {
	case err == nil:
	case discordCode(err) == codeThreadExists:
		text = "There already is a thread for this answer: <#" + m.ID + ">."
	case discordCode(err) == codeMissingPermissions || httpStatus(err) == 403:
		text = "I'm not allowed to start threads in this channel (I need Create Public Threads)."
	default:
		id := newErrorID()
		r.log.Error("discord thread not started", "error_id", id, "err", err.Error())
		text = apology(id, err)
	}
	_, _ = r.edit(ctx, page{Content: text})
}
