package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/verbatimbot/verbatim/bot"
)

// commands are the slash commands, registered with one bulk overwrite.
func (b *Bot) commands() []*discordgo.ApplicationCommand {
	contexts := []discordgo.InteractionContextType{discordgo.InteractionContextGuild, discordgo.InteractionContextBotDM}
	integrations := []discordgo.ApplicationIntegrationType{discordgo.ApplicationIntegrationGuildInstall}
	return []*discordgo.ApplicationCommand{
		{
			Name:             "ask",
			Description:      "Ask a question; the answer quotes the articles word for word.",
			Contexts:         &contexts,
			IntegrationTypes: &integrations,
			Options: []*discordgo.ApplicationCommandOption{
				{
					Type:        discordgo.ApplicationCommandOptionString,
					Name:        "question",
					Description: "Your question",
					Required:    true,
					MaxLength:   b.cfg.MaxQuestionChars,
				},
				{
					Type:        discordgo.ApplicationCommandOptionBoolean,
					Name:        "private",
					Description: "Show the answer only to you",
				},
			},
		},
		{
			Name:             "sources",
			Description:      "List the articles answers are quoted from.",
			Contexts:         &contexts,
			IntegrationTypes: &integrations,
			Options: []*discordgo.ApplicationCommandOption{
				{
					Type:        discordgo.ApplicationCommandOptionString,
					Name:        "filter",
					Description: "Only articles whose title contains this",
				},
			},
		},
		{
			Name:             "help",
			Description:      "How to use verbatim.",
			Contexts:         &contexts,
			IntegrationTypes: &integrations,
		},
	}
}

// registerCommands bulk-overwrites the commands in the guild, or globally.
func (b *Bot) registerCommands(ctx context.Context, appID string) error {
	if appID == "" {
		return errors.New("register commands: READY carried no application ID")
	}
	cmds := b.commands()
	scope := "global"
	if b.cfg.GuildID != "" {
		scope = "guild " + b.cfg.GuildID
	}
	err := b.call(ctx, b.log, "register commands", "", func(opts ...discordgo.RequestOption) error {
		_, err := b.session.ApplicationCommandBulkOverwrite(appID, b.cfg.GuildID, cmds, opts...)
		return err
	})
	if err != nil {
		return err
	}
	b.log.Info("discord commands registered", "scope", scope, "count", len(cmds))
	return nil
}

func interactionUser(i *discordgo.Interaction) string {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User.ID
	}
	if i.User != nil {
		return i.User.ID
	}
	return ""
}

// onInteraction handles INTERACTION_CREATE.
func (b *Bot) onInteraction(ctx context.Context, i *discordgo.Interaction) {
	log := b.log.With("interaction_id", i.ID, "user_id", interactionUser(i), "channel_id", i.ChannelID, "guild_id", i.GuildID)
	if i.ID == "" || i.Token == "" || i.AppID == "" {
		log.Warn("discord interaction without id, token or application id; ignored")
		return
	}
	r := &interactionReply{b: b, i: i, log: log}
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		data := i.ApplicationCommandData()
		log = log.With("command", data.Name)
		r.log = log
		switch data.Name {
		case "ask":
			b.onAsk(ctx, r, data)
		case "sources":
			filter := ""
			if o := option(data, "filter"); o != nil {
				filter = o.StringValue()
			}
			b.respondPages(ctx, r, renderSources(b.lib, filter), false)
		case "help":
			b.respondPages(ctx, r, []page{{Content: helpText(b.cfg.MaxQuestionChars)}}, true)
		default:
			log.Warn("discord unknown command")
			b.respondPages(ctx, r, []page{{Content: "I don't know that command. Try /help."}}, true)
		}
	case discordgo.InteractionMessageComponent:
		b.onComponent(ctx, r, i.MessageComponentData())
	default:
		log.Debug("discord interaction type ignored", "type", i.Type.String())
	}
}

func option(data discordgo.ApplicationCommandInteractionData, name string) *discordgo.ApplicationCommandInteractionDataOption {
	for _, o := range data.Options {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// interactionReply sends to one interaction: the initial response, edits
// of @original, and follow-ups.
type interactionReply struct {
	b         *Bot
	i         *discordgo.Interaction
	log       *slog.Logger
	ephemeral bool
}

func (r *interactionReply) flags() discordgo.MessageFlags {
	if r.ephemeral {
		return discordgo.MessageFlagsEphemeral
	}
	return 0
}

// respond sends the initial response of type typ (with p as its message for
// type 4, nothing but flags for a deferral).
func (r *interactionReply) respond(ctx context.Context, typ discordgo.InteractionResponseType, p *page) error {
	resp := &discordgo.InteractionResponse{Type: typ}
	if p != nil {
		resp.Data = &discordgo.InteractionResponseData{
			Content:         p.Content,
			Embeds:          p.Embeds,
			Components:      p.Components,
			AllowedMentions: noMentions(),
			Flags:           r.flags(),
		}
	} else if r.ephemeral {
		resp.Data = &discordgo.InteractionResponseData{Flags: r.flags(), AllowedMentions: noMentions()}
	}
	return r.b.call(ctx, r.log, "interaction respond", r.i.Token, func(opts ...discordgo.RequestOption) error {
		return r.b.session.InteractionRespond(r.i, resp, opts...)
	})
}

// edit replaces the deferred (or first) response with p.
func (r *interactionReply) edit(ctx context.Context, p page) error {
	content := p.Content
	embeds := p.Embeds
	if embeds == nil {
		embeds = []*discordgo.MessageEmbed{}
	}
	components := p.Components
	if components == nil {
		components = []discordgo.MessageComponent{}
	}
	return r.b.call(ctx, r.log, "edit response", r.i.Token, func(opts ...discordgo.RequestOption) error {
		_, err := r.b.session.InteractionResponseEdit(r.i, &discordgo.WebhookEdit{
			Content:         &content,
			Embeds:          &embeds,
			Components:      &components,
			AllowedMentions: noMentions(),
		}, opts...)
		return err
	})
}

// followup sends p as a follow-up message.
func (r *interactionReply) followup(ctx context.Context, p page) error {
	return r.b.call(ctx, r.log, "follow-up", r.i.Token, func(opts ...discordgo.RequestOption) error {
		_, err := r.b.session.FollowupMessageCreate(r.i, true, &discordgo.WebhookParams{
			Content:         p.Content,
			Embeds:          p.Embeds,
			Components:      p.Components,
			AllowedMentions: noMentions(),
			Flags:           r.flags(),
		}, opts...)
		return err
	})
}

// deliver edits the deferred response with the first page and sends the
// rest as follow-ups.
func (r *interactionReply) deliver(ctx context.Context, pages []page) error {
	for n, p := range pages {
		var err error
		if n == 0 {
			err = r.edit(ctx, p)
		} else {
			err = r.followup(ctx, p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// respondPages answers at once (type 4) with the first page and follows up
// with the rest.
func (b *Bot) respondPages(ctx context.Context, r *interactionReply, pages []page, ephemeral bool) {
	r.ephemeral = ephemeral
	start := time.Now()
	if err := r.respond(ctx, discordgo.InteractionResponseChannelMessageWithSource, &pages[0]); err != nil {
		return // logged by call; the interaction is lost
	}
	for _, p := range pages[1:] {
		if err := r.followup(ctx, p); err != nil {
			return
		}
	}
	r.log.Info("discord interaction answered", "pages", len(pages), "took", time.Since(start))
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

const busy = "I'm answering a lot of questions right now — please try again in a minute."

const emptyQuestion = "Ask me a question about the articles, e.g. “What did the report conclude?”. /help has more."

func apology(errID string, err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("Sorry — that took too long to answer. Please try again. (error ID: %s)", errID)
	}
	return fmt.Sprintf("Sorry — something went wrong while answering. (error ID: %s)", errID)
}

// admit checks a question against the length limit, the user's rate and
// the concurrency cap. It returns the refusal to send when not admitted.
func (b *Bot) admit(userID, question string) (release func(), refusal string) {
	if question == "" {
		return nil, emptyQuestion
	}
	if n := utf8.RuneCountInString(question); n > b.cfg.MaxQuestionChars {
		return nil, b.tooLong(n)
	}
	if ok, wait := b.limiter.allow(userID); !ok {
		return nil, slowDown(wait)
	}
	release, ok := b.acquire()
	if !ok {
		return nil, busy
	}
	return release, ""
}

// onAsk answers /ask: refusals go out at once (privately); otherwise the
// interaction is deferred, the answer streamed when the answerer streams,
// and the final answer edited in with its buttons.
func (b *Bot) onAsk(ctx context.Context, r *interactionReply, data discordgo.ApplicationCommandInteractionData) {
	start := time.Now()
	question := ""
	if o := option(data, "question"); o != nil {
		question = strings.TrimSpace(o.StringValue())
	}
	private := false
	if o := option(data, "private"); o != nil {
		private = o.BoolValue()
	}
	user := interactionUser(r.i)
	release, refusal := b.admit(user, question)
	if refusal != "" {
		r.log.Info("discord question refused", "reason", refusal)
		b.respondPages(ctx, r, []page{{Content: refusal}}, true)
		return
	}
	defer release()

	r.ephemeral = private
	if err := r.respond(ctx, discordgo.InteractionResponseDeferredChannelMessageWithSource, nil); err != nil {
		return
	}
	r.log.Debug("discord interaction deferred", "took", time.Since(start))

	lim := newEditLimiter(b.editBurst, b.editWindow)
	st := newStreamer(r, question, lim)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		st.run(ctx)
	}()
	a, err := b.ask(ctx, bot.Question{Text: question, OnDelta: st.add})
	st.stop()
	<-stopped

	if err != nil {
		b.fail(ctx, r.log, err, func(msg string) error {
			if werr := lim.wait(ctx); werr != nil {
				return werr
			}
			return r.edit(ctx, page{Content: msg})
		})
		return
	}
	id := r.i.ID
	b.answers.put(id, a)
	pages := renderAnswer(question, a)
	pages[len(pages)-1].Components = answerButtons(id, a)
	if err := lim.wait(ctx); err != nil {
		return
	}
	if err := r.deliver(ctx, pages); err != nil {
		return
	}
	r.log.Info("discord question answered", "answer_id", id, "mode", a.Mode, "refused", a.Refused,
		"citations", len(a.Citations), "pages", len(pages), "streamed_edits", st.edits(), "took", time.Since(start))
}

// fail logs err under a new error ID and sends the user an apology with it.
func (b *Bot) fail(ctx context.Context, log *slog.Logger, err error, send func(msg string) error) {
	id := newErrorID()
	log.Error("discord question failed", "error_id", id, "err", redactString(err.Error(), b.cfg.Token))
	if serr := send(apology(id, err)); serr != nil {
		log.Error("discord apology not delivered", "error_id", id)
	}
}
