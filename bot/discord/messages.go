package discord

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/verbatimbot/verbatim/bot"
)

// mentionsUser reports whether m mentions user id.
func mentionsUser(m *discordgo.Message, id string) bool {
	for _, u := range m.Mentions {
		if u != nil && u.ID == id {
			return true
		}
	}
	return false
}

// stripMentions removes the bot's mentions (<@id>, <@!id>, and its role's
// <@&role>) from content.
func stripMentions(content, id, roleID string) string {
	content = strings.ReplaceAll(content, "<@"+id+">", " ")
	content = strings.ReplaceAll(content, "<@!"+id+">", " ")
	if roleID != "" {
		content = strings.ReplaceAll(content, "<@&"+roleID+">", " ")
	}
	return strings.Join(strings.Fields(content), " ")
}

// roleHidden is the answer to a message that mentions only the bot's role,
// whose content Discord withheld (no Message Content intent).
const roleHidden = "I was mentioned through my role, but Discord doesn't show me what such messages say. Mention me directly (@verbatim) or use /ask."

// onMessage handles MESSAGE_CREATE: every DM is a question; in servers,
// messages that mention the bot (or its managed role) are, in the channels
// it is enabled in. A question in a thread follows up on the thread's
// conversation; a reply to one of the bot's answers follows up on that
// answer. The bot's own messages, other bots' and webhooks' are ignored.
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
	log := b.log.With("message_id", m.ID, "channel_id", m.ChannelID, "guild_id", m.GuildID, "user_id", m.Author.ID, "dm", dm)
	roleID := ""
	if !dm {
		mentioned := mentionsUser(m, self)
		if !mentioned && len(m.MentionRoles) > 0 {
			roleID = b.botRole(ctx, log, m.GuildID)
			mentioned = roleID != "" && containsString(m.MentionRoles, roleID)
		}
		if !mentioned {
			return
		}
		if refused, why := b.chans.refused(m.ChannelID); refused {
			log.Debug("discord channel refused the bot lately; not answering", "why", why)
			return
		}
	}
	var info channelInfo
	if !dm {
		info = b.channelInfo(ctx, log, m.ChannelID)
		if refused, why := b.chans.refused(m.ChannelID); refused {
			log.Warn("discord channel refused the bot; not answering there for a while", "why", why)
			return
		}
		if len(b.allowed) > 0 && !b.allowed[m.ChannelID] && !(info.thread() && b.allowed[info.parentID]) {
			log.Debug("discord mention outside the enabled channels; ignored")
			return
		}
	}
	r := &messageReply{b: b, m: m, log: log, reply: !dm}
	question := strings.TrimSpace(m.Content)
	if !dm {
		question = stripMentions(question, self, roleID)
		if question == "" && m.Content == "" && roleID != "" && !mentionsUser(m, self) {
			_ = r.refuse(ctx, roleHidden)
			return
		}
	}
	q := asking{question: cleanQuestion(question), door: "discord mention", userID: m.Author.ID, answerID: m.ID, log: log, out: r}
	switch {
	case dm:
		q.door = "discord DM"
		q.convKey = dmKey(m.Author.ID)
		q.history = b.history(ctx, log, q.convKey)
	case info.thread():
		q.door = "discord thread"
		q.convKey = threadKey(m.ChannelID)
		q.history = b.history(ctx, log, q.convKey)
		if len(q.history) == 0 {
			q.history = b.replyContext(m.ReferencedMessage, self)
		}
	default:
		q.history = b.replyContext(m.ReferencedMessage, self)
		if info.typ == discordgo.ChannelTypeGuildText {
			q.thread = threadOffer{channelID: m.ChannelID, canCreate: b.chans.can(m.ChannelID, capThreads)}
		}
	}
	b.answerAndDeliver(ctx, q)
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// replyContext is the conversation a reply to one of the bot's answers
// continues: that answer's history and the answer itself. After a restart
// the answer is read back from the message.
func (b *Bot) replyContext(ref *discordgo.Message, self string) []bot.Turn {
	if ref == nil || ref.Author == nil || ref.Author.ID != self {
		return nil
	}
	if e, ok := b.answers.byMessage(ref.ID); ok {
		return bot.Recent(append(append([]bot.Turn(nil), e.history...), bot.TurnOf(e.question, e.answer)), b.cfg.HistoryTurns)
	}
	if q, a, ok := readAnswer(ref); ok && b.cfg.HistoryTurns > 0 {
		return []bot.Turn{{Question: q, Answer: a}}
	}
	return nil
}

// errNoEmbeds: the channel does not allow the bot's embeds; the answer is
// sent again as text.
var errNoEmbeds = errors.New("channel does not allow embeds")

// messageReply is the surface of DMs, mentions and threads: the first
// message replies to the question (in servers) and is edited as the answer
// streams; later pages are further messages.
type messageReply struct {
	b     *Bot
	m     *discordgo.Message
	log   *slog.Logger
	reply bool

	stopTyping func()
	msgID      string // the answer's first message, once sent
	shows      page   // what it shows
}

var _ surface = (*messageReply)(nil)

// messageBody is a channel message create or edit. discordgo's MessageSend
// has no nonce: a send retried with the same nonce and enforce_nonce is
// created once.
type messageBody struct {
	Content         string                            `json:"content"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
	Components      []discordgo.MessageComponent      `json:"components"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	Reference       *discordgo.MessageReference       `json:"message_reference,omitempty"`
	Nonce           string                            `json:"nonce,omitempty"`
	EnforceNonce    bool                              `json:"enforce_nonce,omitempty"`
}

func bodyOf(p page) messageBody {
	b := messageBody{Content: p.Content, Embeds: p.Embeds, Components: p.Components, AllowedMentions: noMentions()}
	if b.Embeds == nil {
		b.Embeds = []*discordgo.MessageEmbed{}
	}
	if b.Components == nil {
		b.Components = []discordgo.MessageComponent{}
	}
	return b
}

// noncedBody is p to create: with a fresh nonce Discord enforces, so a
// retried send makes one message.
func noncedBody(p page) messageBody {
	body := bodyOf(p)
	body.Nonce, body.EnforceNonce = newNonce(), true
	return body
}

// send posts p as a new message, a reply to the question when asked to.
func (r *messageReply) send(ctx context.Context, p page, reply bool) (string, error) {
	body := noncedBody(p)
	ch := r.m.ChannelID
	if reply && r.b.chans.can(ch, capReplies) {
		fail := false
		body.Reference = &discordgo.MessageReference{MessageID: r.m.ID, ChannelID: ch, GuildID: r.m.GuildID, FailIfNotExists: &fail}
	}
	ctx, cancel := context.WithTimeout(ctx, r.b.cfg.AnswerTimeout)
	defer cancel()
	url := discordgo.EndpointChannelMessages(ch)
	var sent discordgo.Message
	err := r.b.do(ctx, r.log, restCall{op: "send message", method: "POST", url: url, bucket: url, body: body}, &sent)
	if err == nil {
		return sent.ID, nil
	}
	return "", r.failed(ctx, err, body, func() (string, error) { return r.send(ctx, p, reply) })
}

// edit replaces the answer message's content with p.
func (r *messageReply) edit(ctx context.Context, p page) error {
	ctx, cancel := context.WithTimeout(ctx, r.b.cfg.AnswerTimeout)
	defer cancel()
	url := discordgo.EndpointChannelMessage(r.m.ChannelID, r.msgID)
	body := bodyOf(p)
	// Edits are a bucket apart from sends (as on Discord), per channel.
	bucket := discordgo.EndpointChannelMessage(r.m.ChannelID, "")
	err := r.b.do(ctx, r.log, restCall{op: "edit message", method: "PATCH", url: url, bucket: bucket, body: body}, nil)
	if err == nil {
		return nil
	}
	return r.failed(ctx, err, body, func() (string, error) { return "", r.edit(ctx, p) })
}

// failed sorts out a failed send or edit: a refusal of embeds or of
// replies is remembered and, for replies, retried without; a channel that
// refuses the bot is remembered so it is not tried again for a while.
func (r *messageReply) failed(ctx context.Context, err error, body messageBody, again func() (string, error)) error {
	ch := r.m.ChannelID
	code := discordCode(err)
	switch {
	case (code == codeMissingPermissions || code == codeEmptyMessage) && len(body.Embeds) > 0 && strings.TrimSpace(body.Content) == "":
		// Without Embed Links Discord refuses an embed-only message, and
		// empties an edit to one.
		r.log.Warn("discord channel does not allow embeds; answering as text", "channel_id", ch)
		r.b.chans.lacks(ch, capEmbeds)
		return errNoEmbeds
	case code == codeMissingPermissions && body.Reference != nil:
		r.log.Warn("discord channel does not allow replies; answering without", "channel_id", ch)
		r.b.chans.lacks(ch, capReplies)
		_, err = again()
		return err
	}
	if r.b.noteRefusal(ch, err) {
		r.log.Warn("discord channel refused the bot; not answering there for a while", "channel_id", ch, "for", refusedFor, "err", err.Error())
	}
	return err
}

// show puts p in the answer message: sending it the first time, editing it
// after.
func (r *messageReply) show(ctx context.Context, p page) error {
	r.typingDone()
	if r.msgID == "" {
		id, err := r.send(ctx, p, r.reply)
		if err != nil {
			return err
		}
		r.msgID = id
	} else if err := r.edit(ctx, p); err != nil {
		return err
	}
	r.shows = p
	return nil
}

func (r *messageReply) refuse(ctx context.Context, text string) error {
	return r.show(ctx, page{Content: text})
}

func (r *messageReply) acknowledge(ctx context.Context) error {
	if refused, _ := r.b.chans.refused(r.m.ChannelID); refused {
		return errors.New("channel refused the bot")
	}
	r.stopTyping = r.b.typing(ctx, r)
	if refused, why := r.b.chans.refused(r.m.ChannelID); refused {
		// The typing indicator was refused: so would the answer be.
		r.typingDone()
		return errors.New("channel refused the bot: " + why)
	}
	return nil
}

func (r *messageReply) queued(ctx context.Context, position int) error {
	return r.show(ctx, page{Content: queuedText(position)})
}

func (r *messageReply) preview(ctx context.Context, p page) error {
	return r.show(ctx, p)
}

func (r *messageReply) deliver(ctx context.Context, pages []page) (string, error) {
	err := r.show(ctx, pages[0])
	if errors.Is(err, errNoEmbeds) {
		// Answer as text instead: re-rendered by the caller's renderer.
		return "", err
	}
	if err != nil {
		return "", err
	}
	for _, p := range pages[1:] {
		if _, err := r.send(ctx, p, false); err != nil {
			return r.msgID, err
		}
	}
	return r.msgID, nil
}

func (r *messageReply) fail(ctx context.Context, text string) error {
	return r.show(ctx, page{Content: text})
}

func (r *messageReply) plainText() bool {
	return r.m.GuildID != "" && !r.b.chans.can(r.m.ChannelID, capEmbeds)
}

func (r *messageReply) finish() { r.typingDone() }

func (r *messageReply) typingDone() {
	if r.stopTyping != nil {
		r.stopTyping()
		r.stopTyping = nil
	}
}

// typing shows the typing indicator in r's channel now (before the answer
// can go out) and every typingEvery until the returned stop is called, which
// waits for the loop to end.
func (b *Bot) typing(ctx context.Context, r *messageReply) (stop func()) {
	send := func(ctx context.Context) {
		// A failed indicator is cosmetic: do logs it, we carry on.
		url := discordgo.EndpointChannelTyping(r.m.ChannelID)
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := b.do(ctx, r.log, restCall{op: "typing", method: "POST", url: url, bucket: url, optional: true}, nil); err != nil {
			b.noteRefusal(r.m.ChannelID, err)
		}
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
