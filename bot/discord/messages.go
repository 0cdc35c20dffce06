package discord

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/verbatimbot/verbatim/bot"
)

// messageReply sends to a channel: in a guild, the first message replies to
// the question (message_reference); in a DM it is a plain message.
type messageReply struct {
	b   *Bot
	m   *discordgo.Message
	log *slog.Logger
}

func (r *messageReply) send(ctx context.Context, p page, reply bool) error {
	data := &discordgo.MessageSend{
		Content:         p.Content,
		Embeds:          p.Embeds,
		Components:      p.Components,
		AllowedMentions: noMentions(),
	}
	if reply {
		fail := false
		data.Reference = &discordgo.MessageReference{
			MessageID:       r.m.ID,
			ChannelID:       r.m.ChannelID,
			GuildID:         r.m.GuildID,
			FailIfNotExists: &fail, // the question was deleted: answer anyway
		}
	}
	return r.b.call(ctx, r.log, "send message", "", func(opts ...discordgo.RequestOption) error {
		_, err := r.b.session.ChannelMessageSendComplex(r.m.ChannelID, data, opts...)
		return err
	})
}

// deliver sends pages, the first as a reply when in a guild.
func (r *messageReply) deliver(ctx context.Context, pages []page) error {
	for n, p := range pages {
		if err := r.send(ctx, p, n == 0 && r.m.GuildID != ""); err != nil {
			return err
		}
	}
	return nil
}

// mentionsUser reports whether m mentions user id.
func mentionsUser(m *discordgo.Message, id string) bool {
	for _, u := range m.Mentions {
		if u != nil && u.ID == id {
			return true
		}
	}
	return false
}

// stripMention removes the bot's mentions (<@id> and <@!id>) from content.
func stripMention(content, id string) string {
	content = strings.ReplaceAll(content, "<@"+id+">", " ")
	content = strings.ReplaceAll(content, "<@!"+id+">", " ")
	return strings.Join(strings.Fields(content), " ")
}

// onMessage handles MESSAGE_CREATE: every DM is a question; in guilds only
// messages mentioning the bot are. The bot's own messages, other bots' and
// webhooks' are ignored.
func (b *Bot) onMessage(ctx context.Context, m *discordgo.Message) {
	if m == nil || m.Author == nil || m.Author.Bot || m.WebhookID != "" {
		return
	}
	if m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply {
		return
	}
	self, _ := b.identity()
	if self == "" || m.Author.ID == self {
		return
	}
	dm := m.GuildID == ""
	if !dm && !mentionsUser(m, self) {
		return
	}
	start := time.Now()
	log := b.log.With("message_id", m.ID, "channel_id", m.ChannelID, "guild_id", m.GuildID, "user_id", m.Author.ID, "dm", dm)
	r := &messageReply{b: b, m: m, log: log}

	question := strings.TrimSpace(m.Content)
	if !dm {
		question = stripMention(question, self)
	}
	release, refusal := b.admit(m.Author.ID, question)
	if refusal != "" {
		log.Info("discord question refused", "reason", refusal)
		_ = r.deliver(ctx, []page{{Content: refusal}}) // failure logged by call
		return
	}
	defer release()

	stopTyping := b.typing(ctx, r)
	q := bot.Question{Text: question}
	if dm {
		q.History = b.history.get(m.Author.ID)
	}
	a, err := b.ask(ctx, q)
	stopTyping()
	if err != nil {
		b.fail(ctx, log, err, func(msg string) error { return r.deliver(ctx, []page{{Content: msg}}) })
		return
	}
	if dm {
		b.history.add(m.Author.ID, bot.Turn{Question: question, Standalone: a.Standalone, Answer: a.Text})
	}
	id := m.ID
	b.answers.put(id, a)
	pages := renderAnswer(question, a)
	pages[len(pages)-1].Components = answerButtons(id, a)
	if err := r.deliver(ctx, pages); err != nil {
		return
	}
	log.Info("discord question answered", "answer_id", id, "mode", a.Mode, "refused", a.Refused,
		"citations", len(a.Citations), "pages", len(pages), "history", len(q.History), "took", time.Since(start))
}

// typing shows the typing indicator in r's channel now (before the answer
// can go out) and every typingEvery until the returned stop is called, which
// waits for the loop to end.
func (b *Bot) typing(ctx context.Context, r *messageReply) (stop func()) {
	send := func(ctx context.Context) {
		// A failed indicator is cosmetic: call logs it, we carry on.
		_ = b.call(ctx, r.log, "typing", "", func(opts ...discordgo.RequestOption) error {
			return b.session.ChannelTyping(r.m.ChannelID, opts...)
		})
	}
	send(ctx)
	ctx, cancel := context.WithCancel(ctx)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(b.typingEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				send(ctx)
			}
		}
	}()
	return func() {
		cancel()
		<-exited
	}
}
