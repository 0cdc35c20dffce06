package discord

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Command names.
const (
	cmdAsk     = "ask"
	cmdSources = "sources"
	cmdHelp    = "help"
	// cmdAskMessage is the message context-menu command (Apps → Ask verbatim).
	cmdAskMessage = "Ask verbatim"
)

// maxFilterChars bounds /sources' filter so it fits a page button's custom ID.
const maxFilterChars = 80

// commands are the application commands, registered with one bulk
// overwrite. The question commands set no default_member_permissions:
// every member may use them, and a server's admins can still restrict them
// under Server Settings → Integrations. The managers' commands (/add,
// /feeds, /gaps: managerCommands) require Manage Server.
func (b *Bot) commands() []*discordgo.ApplicationCommand {
	return append(b.questionCommands(), b.managerCommands()...)
}

// questionCommands are the commands every member may use.
func (b *Bot) questionCommands() []*discordgo.ApplicationCommand {
	contexts := []discordgo.InteractionContextType{discordgo.InteractionContextGuild, discordgo.InteractionContextBotDM}
	integrations := []discordgo.ApplicationIntegrationType{discordgo.ApplicationIntegrationGuildInstall}
	return []*discordgo.ApplicationCommand{
		{
			Name:             cmdAsk,
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
			Name:             cmdSources,
			Description:      "List the articles answers are quoted from.",
			Contexts:         &contexts,
			IntegrationTypes: &integrations,
			Options: []*discordgo.ApplicationCommandOption{
				{
					Type:         discordgo.ApplicationCommandOptionString,
					Name:         "filter",
					Description:  "Only articles whose title contains this",
					Autocomplete: true,
					MaxLength:    maxFilterChars,
				},
				{
					Type:        discordgo.ApplicationCommandOptionBoolean,
					Name:        "private",
					Description: "Show the list only to you (the default); false shows it to the channel",
				},
			},
		},
		{
			Name:             cmdHelp,
			Description:      "How to use verbatim.",
			Contexts:         &contexts,
			IntegrationTypes: &integrations,
		},
		{
			Type:             discordgo.MessageApplicationCommand,
			Name:             cmdAskMessage,
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
	url := discordgo.EndpointApplicationGlobalCommands(appID)
	if b.cfg.GuildID != "" {
		scope = "guild " + b.cfg.GuildID
		url = discordgo.EndpointApplicationGuildCommands(appID, b.cfg.GuildID)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := b.do(ctx, b.log, restCall{op: "register commands", method: "PUT", url: url, bucket: url, body: cmds}, nil)
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

// onInteraction handles INTERACTION_CREATE; ch is the partial channel it
// happened in (nil when the payload had none).
func (b *Bot) onInteraction(ctx context.Context, i *discordgo.Interaction, ch *discordgo.Channel) {
	log := b.log.With("interaction_id", i.ID, "user_id", interactionUser(i), "channel_id", i.ChannelID, "guild_id", i.GuildID)
	if i.ID == "" || i.Token == "" || i.AppID == "" {
		log.Warn("discord interaction without id, token or application id; ignored")
		return
	}
	r := newInteractionReply(b, i, log)
	r.channel = ch
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		data := i.ApplicationCommandData()
		r.log = log.With("command", data.Name)
		switch {
		case b.onManagerCommand(ctx, r, data):
		case data.Name == cmdAsk && data.CommandType != discordgo.MessageApplicationCommand:
			b.onAsk(ctx, r, data)
		case data.Name == cmdAskMessage:
			b.onAskMessage(ctx, r, data)
		case data.Name == cmdSources:
			b.onSources(ctx, r, data)
		case data.Name == cmdHelp:
			b.respondPages(ctx, r, []page{{Content: helpText(b.cfg.MaxQuestionChars)}}, true)
		default:
			r.log.Warn("discord unknown command")
			b.respondPages(ctx, r, []page{{Content: "I don't know that command. Try /help."}}, true)
		}
	case discordgo.InteractionApplicationCommandAutocomplete:
		b.onAutocomplete(ctx, r, i.ApplicationCommandData())
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

func boolOption(data discordgo.ApplicationCommandInteractionData, name string, def bool) bool {
	if o := option(data, name); o != nil {
		if v, ok := o.Value.(bool); ok {
			return v
		}
	}
	return def
}

func stringOption(data discordgo.ApplicationCommandInteractionData, name string) string {
	if o := option(data, name); o != nil {
		if v, ok := o.Value.(string); ok {
			return v
		}
	}
	return ""
}

// appPermissions are the app's permissions where the interaction happened.
func appPermissions(i *discordgo.Interaction) int64 {
	return i.AppPermissions
}

// interactionInScope reports whether the bot answers in the interaction's
// channel.
func (b *Bot) interactionInScope(r *interactionReply) bool {
	if r.i.GuildID == "" || len(b.allowed) == 0 {
		return true
	}
	if b.allowed[r.i.ChannelID] {
		return true
	}
	return r.channel != nil && r.channel.IsThread() && b.allowed[r.channel.ParentID]
}

// onAsk answers /ask.
func (b *Bot) onAsk(ctx context.Context, r *interactionReply, data discordgo.ApplicationCommandInteractionData) {
	if !b.interactionInScope(r) {
		b.respondPages(ctx, r, []page{{Content: b.notHere()}}, true)
		return
	}
	r.ephemeral = boolOption(data, "private", false)
	q := asking{
		question: cleanQuestion(stringOption(data, "question")),
		door:     "discord /ask",
		userID:   interactionUser(r.i),
		answerID: r.i.ID,
		log:      r.log,
		out:      r,
	}
	if !r.ephemeral && r.i.GuildID != "" && r.channel != nil && r.channel.Type == discordgo.ChannelTypeGuildText {
		q.thread = threadOffer{channelID: r.i.ChannelID, canCreate: appPermissions(r.i)&discordgo.PermissionCreatePublicThreads != 0}
	}
	b.answerAndDeliver(ctx, q)
}

// onAskMessage answers the message context-menu command: the target
// message's text is the question, answered privately.
func (b *Bot) onAskMessage(ctx context.Context, r *interactionReply, data discordgo.ApplicationCommandInteractionData) {
	if !b.interactionInScope(r) {
		b.respondPages(ctx, r, []page{{Content: b.notHere()}}, true)
		return
	}
	r.ephemeral = true
	text := ""
	if data.Resolved != nil {
		if m, ok := data.Resolved.Messages[data.TargetID]; ok && m != nil {
			text = m.Content
		}
	}
	question := cleanQuestion(text)
	if question == "" {
		b.respondPages(ctx, r, []page{{Content: "That message has no text to ask about."}}, true)
		return
	}
	b.answerAndDeliver(ctx, asking{
		question: question,
		door:     "discord message menu",
		userID:   interactionUser(r.i),
		answerID: r.i.ID,
		log:      r.log.With("target_message_id", data.TargetID),
		out:      r,
	})
}

// notHere is the reply to a command used outside VERBATIM_DISCORD_CHANNELS.
func (b *Bot) notHere() string {
	var chans []string
	for _, id := range b.cfg.Channels {
		if len(chans) == 5 {
			chans = append(chans, "…")
			break
		}
		chans = append(chans, "<#"+id+">")
	}
	return "I don't answer questions in this channel. Ask me in " + strings.Join(chans, ", ") + ", or in a DM."
}

// interactionReply sends to one interaction: the initial response, edits
// of @original, and follow-ups. It is the surface of /ask and the context
// menu.
type interactionReply struct {
	b         *Bot
	i         *discordgo.Interaction
	channel   *discordgo.Channel // partial; nil when unknown
	log       *slog.Logger
	ephemeral bool
	acked     bool
	// ackBy is when the initial response must be in (3 s after the
	// interaction arrived); expires when the token stops working.
	ackBy, expires time.Time
}

func newInteractionReply(b *Bot, i *discordgo.Interaction, log *slog.Logger) *interactionReply {
	now := time.Now()
	return &interactionReply{b: b, i: i, log: log, ackBy: now.Add(3 * time.Second), expires: now.Add(15*time.Minute - 30*time.Second)}
}

var _ surface = (*interactionReply)(nil)

func (r *interactionReply) flags() discordgo.MessageFlags {
	if r.ephemeral {
		return discordgo.MessageFlagsEphemeral
	}
	return 0
}

// respond sends the initial response of type typ (with p as its message,
// or nothing but flags for a deferral). A retry answered with 40060 means
// the first attempt went through.
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
	ctx, cancel := context.WithDeadline(ctx, r.ackBy)
	defer cancel()
	url := discordgo.EndpointInteractionResponse(r.i.ID, r.i.Token)
	err := r.b.do(ctx, r.log, restCall{op: "interaction respond", method: "POST", url: url, bucket: url, body: resp,
		secret: r.i.Token, interaction: true, doneCode: codeAlreadyAcked}, nil)
	if err == nil {
		r.acked = true
	}
	return err
}

// respondUpdate answers a button click by editing the message it is on.
func (r *interactionReply) respondUpdate(ctx context.Context, p page) error {
	return r.respond(ctx, discordgo.InteractionResponseUpdateMessage, &p)
}

// edit replaces the deferred (or first) response with p, returning the
// response message's ID.
func (r *interactionReply) edit(ctx context.Context, p page) (string, error) {
	content := p.Content
	embeds := p.Embeds
	if embeds == nil {
		embeds = []*discordgo.MessageEmbed{}
	}
	components := p.Components
	if components == nil {
		components = []discordgo.MessageComponent{}
	}
	ctx, cancel := context.WithDeadline(ctx, r.expires)
	defer cancel()
	var m discordgo.Message
	err := r.b.do(ctx, r.log, restCall{op: "edit response", method: "PATCH",
		url:    discordgo.EndpointInteractionResponseActions(r.i.AppID, r.i.Token),
		bucket: r.b.editBucket(r.i.AppID, r.i.Token),
		body: &discordgo.WebhookEdit{
			Content:         &content,
			Embeds:          &embeds,
			Components:      &components,
			AllowedMentions: noMentions(),
		},
		secret: r.i.Token, interaction: true}, &m)
	return m.ID, err
}

// followup sends p as a follow-up message. It is not repeated after a
// failure that may have delivered it: a follow-up has no nonce to
// deduplicate by (sendFollowup checks before sending it again).
func (r *interactionReply) followup(ctx context.Context, p page) error {
	ctx, cancel := context.WithDeadline(ctx, r.expires)
	defer cancel()
	return r.b.do(ctx, r.log, restCall{op: "follow-up", method: "POST",
		url:    discordgo.EndpointFollowupMessage(r.i.AppID, r.i.Token) + "?wait=true",
		bucket: r.b.editBucket(r.i.AppID, r.i.Token),
		body: &discordgo.WebhookParams{
			Content:         p.Content,
			Embeds:          p.Embeds,
			Components:      p.Components,
			AllowedMentions: noMentions(),
			Flags:           r.flags(),
		},
		secret: r.i.Token, policy: retryUnsent, interaction: true}, nil)
}

// sendFollowup sends p as a follow-up. When the request failed in a way
// that may still have delivered it (a server error, or no answer after the
// request went out), the channel's messages since the interaction are
// checked first and p is sent again only if it is not among them; when the
// bot cannot look (an ephemeral reply, no Read Message History) it is not
// sent again, so a member never sees a page twice.
func (r *interactionReply) sendFollowup(ctx context.Context, p page) error {
	err := r.followup(ctx, p)
	if err == nil || !ambiguous(ctx, err) {
		return err
	}
	delivered, known := r.followupDelivered(ctx, p)
	switch {
	case !known:
		r.log.Warn("discord follow-up may not have been delivered; not sent again (the bot cannot check)", "err", err)
		return err
	case delivered:
		r.log.Info("discord follow-up failed but was delivered", "err", err)
		return nil
	}
	r.log.Info("discord follow-up was not delivered; sending it again", "err", err)
	return r.followup(ctx, p)
}

// ambiguous reports whether a failed call may have taken effect: Discord
// answered with a server error, or the request went out and no answer came.
func ambiguous(ctx context.Context, err error) bool {
	if st := httpStatus(err); st != 0 {
		return st >= 500
	}
	return ctx.Err() == nil && !errors.Is(err, errPastDeadline) && !errors.Is(err, errInvalidBudget)
}

// followupDelivered looks for p among the channel's messages after the
// interaction. known is false when the bot cannot tell: the reply is
// ephemeral (such messages are not in the channel's history), the app may
// not read the channel's history (Discord then answers an empty list), the
// look-up failed, or the channel moved on by a full page since.
func (r *interactionReply) followupDelivered(ctx context.Context, p page) (delivered, known bool) {
	const need = discordgo.PermissionViewChannel | discordgo.PermissionReadMessageHistory
	if r.ephemeral || r.i.ChannelID == "" || appPermissions(r.i)&need != need {
		return false, false
	}
	ctx, cancel := context.WithDeadline(ctx, r.expires)
	defer cancel()
	const limit = 100
	url := discordgo.EndpointChannelMessages(r.i.ChannelID)
	var msgs []*discordgo.Message
	if err := r.b.do(ctx, r.log, restCall{op: "check follow-up", method: "GET",
		url: url + "?limit=" + strconv.Itoa(limit) + "&after=" + r.i.ID, bucket: url}, &msgs); err != nil {
		return false, false
	}
	for _, m := range msgs {
		if m.WebhookID == r.i.AppID && samePage(m, p) {
			return true, true
		}
	}
	return false, len(msgs) < limit
}

// samePage reports whether m is p as Discord stored it: the same text and
// the same embeds' titles and descriptions.
func samePage(m *discordgo.Message, p page) bool {
	if strings.TrimSpace(m.Content) != strings.TrimSpace(p.Content) || len(m.Embeds) != len(p.Embeds) {
		return false
	}
	for i, e := range p.Embeds {
		if m.Embeds[i].Title != e.Title || strings.TrimSpace(m.Embeds[i].Description) != strings.TrimSpace(e.Description) {
			return false
		}
	}
	return true
}

func (r *interactionReply) refuse(ctx context.Context, text string) error {
	if r.acked {
		_, err := r.edit(ctx, page{Content: text})
		return err
	}
	r.ephemeral = true
	return r.respond(ctx, discordgo.InteractionResponseChannelMessageWithSource, &page{Content: text})
}

func (r *interactionReply) acknowledge(ctx context.Context) error {
	start := time.Now()
	err := r.respond(ctx, discordgo.InteractionResponseDeferredChannelMessageWithSource, nil)
	if err == nil {
		r.log.Debug("discord interaction deferred", "took", time.Since(start))
	}
	return err
}

func (r *interactionReply) queued(ctx context.Context, position int) error {
	_, err := r.edit(ctx, page{Content: queuedText(position)})
	return err
}

func (r *interactionReply) preview(ctx context.Context, p page) error {
	_, err := r.edit(ctx, p)
	return err
}

func (r *interactionReply) deliver(ctx context.Context, pages []page) (string, error) {
	id, err := r.edit(ctx, pages[0])
	if err != nil {
		return "", err
	}
	for _, p := range pages[1:] {
		err := r.sendFollowup(ctx, p)
		if st := httpStatus(err); err != nil && st != 0 && st < 500 {
			return id, err // refused: the pages after it would be too
		}
		// A page that may or may not have been delivered (and could not be
		// checked) is not sent again, and the pages after it still go.
	}
	if r.ephemeral {
		return "", nil // not a message others can reply to or thread from
	}
	return id, nil
}

func (r *interactionReply) fail(ctx context.Context, text string) error {
	_, err := r.edit(ctx, page{Content: text})
	return err
}

func (r *interactionReply) finish() {}

// plainText: the app may not embed links where the interaction happened.
func (r *interactionReply) plainText() bool {
	return r.i.GuildID != "" && appPermissions(r.i) != 0 && appPermissions(r.i)&discordgo.PermissionEmbedLinks == 0
}

// respondPages answers at once (type 4) with the first page and follows up
// with the rest.
func (b *Bot) respondPages(ctx context.Context, r *interactionReply, pages []page, ephemeral bool) {
	r.ephemeral = ephemeral
	start := time.Now()
	if err := r.respond(ctx, discordgo.InteractionResponseChannelMessageWithSource, &pages[0]); err != nil {
		return // logged by do; the interaction is lost
	}
	for _, p := range pages[1:] {
		if err := r.sendFollowup(ctx, p); err != nil {
			return
		}
	}
	r.log.Info("discord interaction answered", "pages", len(pages), "took", time.Since(start))
}

// onSources answers /sources with the first page of the list, privately
// unless private:false.
func (b *Bot) onSources(ctx context.Context, r *interactionReply, data discordgo.ApplicationCommandInteractionData) {
	filter := stringOption(data, "filter")
	b.respondPages(ctx, r, []page{renderSources(b.lib, filter, 0)}, boolOption(data, "private", true))
}

// onSourcesPage turns a /sources list to another page, in place.
func (b *Bot) onSourcesPage(ctx context.Context, r *interactionReply, data string) {
	n, filter, ok := parseSourcesCustomID(data)
	if !ok {
		b.respondPages(ctx, r, []page{{Content: "I don't know that button."}}, true)
		return
	}
	if err := r.respondUpdate(ctx, renderSources(b.lib, filter, n)); err == nil {
		r.log.Info("discord sources page", "page", n+1)
	}
}

// maxChoices is Discord's limit on autocomplete choices.
const maxChoices = 25

// onAutocomplete suggests article titles for /sources' filter: titles
// starting with what was typed first, then titles containing it.
func (b *Bot) onAutocomplete(ctx context.Context, r *interactionReply, data discordgo.ApplicationCommandInteractionData) {
	typed := ""
	for _, o := range data.Options {
		if o.Focused {
			typed, _ = o.Value.(string)
		}
	}
	var choices []*discordgo.ApplicationCommandOptionChoice
	switch {
	case data.Name == cmdSources:
		choices = titleChoices(b.lib, typed)
	case data.Name == cmdFeeds && b.cfg.Feeds != nil:
		choices = b.feedChoices(ctx, data)
	}
	// discordgo omits an empty choices list; Discord requires the field.
	resp := map[string]any{
		"type": discordgo.InteractionApplicationCommandAutocompleteResult,
		"data": map[string]any{"choices": choices},
	}
	ctx, cancel := context.WithDeadline(ctx, r.ackBy)
	defer cancel()
	url := discordgo.EndpointInteractionResponse(r.i.ID, r.i.Token)
	if err := b.do(ctx, r.log, restCall{op: "autocomplete", method: "POST", url: url, bucket: url, body: resp,
		secret: r.i.Token, interaction: true, doneCode: codeAlreadyAcked}, nil); err == nil {
		r.log.Debug("discord autocomplete", "typed", len(typed), "choices", len(choices))
	}
}

// titleChoices are up to 25 article titles matching typed.
func titleChoices(lib Library, typed string) []*discordgo.ApplicationCommandOptionChoice {
	t := strings.ToLower(strings.TrimSpace(typed))
	var starts, contains []string
	seen := map[string]bool{}
	for _, a := range lib.Articles() {
		title := strings.TrimSpace(plain(a.Title))
		if title == "" || seen[title] {
			continue
		}
		lt := strings.ToLower(title)
		switch {
		case strings.HasPrefix(lt, t):
			starts = append(starts, title)
		case strings.Contains(lt, t):
			contains = append(contains, title)
		default:
			continue
		}
		seen[title] = true
		if len(starts) >= maxChoices {
			break
		}
	}
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	for _, title := range append(starts, contains...) {
		if len(choices) == maxChoices {
			break
		}
		// The value becomes the filter: it must fit the option's max_length.
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: clip(title, 100), Value: prefix(title, maxFilterChars)})
	}
	return choices
}
