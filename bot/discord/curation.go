package discord

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/verbatimbot/verbatim/bot/gaps"
	"github.com/verbatimbot/verbatim/corpus/web"
)

// The server managers' commands: /add a page by URL, /feeds to follow,
// list and drop feeds, /gaps to see what the articles do not answer.
// Discord offers them only to members with Manage Server
// (default_member_permissions; a server's admins may grant them to others
// under Server Settings → Integrations), in servers only; answers are
// private.

// Pages adds a web page to the corpus and indexes it; *web.Library
// implements it.
type Pages interface {
	Add(ctx context.Context, rawURL, by string, progress func(web.Stage)) (web.Added, error)
}

// Feeds follows feeds into the corpus; *web.Feeds implements it.
type Feeds interface {
	List(ctx context.Context) ([]web.Feed, error)
	Follow(ctx context.Context, rawURL, by string, progress func(string)) (web.FeedSync, error)
	Unfollow(ctx context.Context, rawURL string) (web.Feed, error)
}

// Gaps records the questions the articles did not answer (refused, or
// voted 👎) and lists them for /gaps; *gaps.File implements it.
type Gaps interface {
	Record(ctx context.Context, g gaps.Gap) error
	List(ctx context.Context) ([]gaps.Gap, []gaps.BadLine, error)
}

// Command names of the managers' commands.
const (
	cmdAdd   = "add"
	cmdFeeds = "feeds"
	cmdGaps  = "gaps"
)

// managerCommands are the commands for Manage Server, those whose
// collaborator is configured.
func (b *Bot) managerCommands() []*discordgo.ApplicationCommand {
	perms := int64(discordgo.PermissionManageGuild)
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	integrations := []discordgo.ApplicationIntegrationType{discordgo.ApplicationIntegrationGuildInstall}
	urlOption := func(desc string, autocomplete bool) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "url",
			Description: desc, Required: true, MaxLength: 2048, Autocomplete: autocomplete}
	}
	var out []*discordgo.ApplicationCommand
	if b.cfg.Pages != nil {
		out = append(out, &discordgo.ApplicationCommand{
			Name: cmdAdd, Description: "Add a web page to the articles I answer from (server managers).",
			DefaultMemberPermissions: &perms, Contexts: &guildOnly, IntegrationTypes: &integrations,
			Options: []*discordgo.ApplicationCommandOption{urlOption("The page's address (http or https)", false)},
		})
	}
	if b.cfg.Feeds != nil {
		out = append(out, &discordgo.ApplicationCommand{
			Name: cmdFeeds, Description: "Follow RSS and Atom feeds into the articles (server managers).",
			DefaultMemberPermissions: &perms, Contexts: &guildOnly, IntegrationTypes: &integrations,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "list", Description: "List the followed feeds"},
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "add", Description: "Follow a feed and add its items now",
					Options: []*discordgo.ApplicationCommandOption{urlOption("The feed's address", false)}},
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "remove", Description: "Stop following a feed (its articles stay)",
					Options: []*discordgo.ApplicationCommandOption{urlOption("The feed's address", true)}},
			},
		})
	}
	if b.cfg.Gaps != nil {
		minCount := 1.0
		out = append(out, &discordgo.ApplicationCommand{
			Name: cmdGaps, Description: "Questions the articles did not answer, most asked first (server managers).",
			DefaultMemberPermissions: &perms, Contexts: &guildOnly, IntegrationTypes: &integrations,
			Options: []*discordgo.ApplicationCommandOption{{Type: discordgo.ApplicationCommandOptionInteger, Name: "min",
				Description: "Only questions asked at least this many times (default 2)", MinValue: &minCount}},
		})
	}
	return out
}

// onManagerCommand handles /add, /feeds and /gaps; it reports whether the
// command was one of them.
func (b *Bot) onManagerCommand(ctx context.Context, r *interactionReply, data discordgo.ApplicationCommandInteractionData) bool {
	switch {
	case data.Name == cmdAdd && b.cfg.Pages != nil:
	case data.Name == cmdFeeds && b.cfg.Feeds != nil:
	case data.Name == cmdGaps && b.cfg.Gaps != nil:
	default:
		return false
	}
	if r.i.GuildID == "" || r.i.Member == nil {
		b.respondPages(ctx, r, []page{{Content: "That command works in a server, for its managers."}}, true)
		return true
	}
	switch data.Name {
	case cmdAdd:
		b.onAdd(ctx, r, stringOption(data, "url"))
	case cmdFeeds:
		b.onFeeds(ctx, r, data)
	case cmdGaps:
		b.onGaps(ctx, r, data)
	}
	return true
}

// startFetch checks the URL and the member's fetch allowance, then defers a
// private response. It reports whether to go on.
func (b *Bot) startFetch(ctx context.Context, r *interactionReply, rawURL string) bool {
	if _, err := web.ParseURL(rawURL); err != nil {
		b.respondPages(ctx, r, []page{{Content: "That isn't a web address I can fetch: give an http:// or https:// URL."}}, true)
		return false
	}
	user := interactionUser(r.i)
	if ok, wait := b.fetches.allow(user); !ok {
		r.log.Info("discord fetch refused", "reason", "rate limit", "wait", wait)
		secs := max(int(wait.Round(time.Second)/time.Second), 1)
		b.respondPages(ctx, r, []page{{Content: fmt.Sprintf("You've had me fetch %d pages in the last minute — try again in %d s.", b.cfg.FetchPerMinute, secs)}}, true)
		return false
	}
	r.ephemeral = true
	if err := r.acknowledge(ctx); err != nil {
		b.fetches.refund(user)
		return false
	}
	return true
}

// onAdd is /add url:.
func (b *Bot) onAdd(ctx context.Context, r *interactionReply, rawURL string) {
	rawURL = strings.TrimSpace(rawURL)
	if !b.startFetch(ctx, r, rawURL) {
		return
	}
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, r.expires)
	defer cancel()
	p := b.startProgress(ctx, r)
	res, err := b.cfg.Pages.Add(ctx, rawURL, "discord:"+interactionUser(r.i), func(s web.Stage) {
		p.set(stageText(s, rawURL))
	})
	p.stop()
	var text string
	switch {
	case err != nil && res.Changed():
		id := newErrorID()
		r.log.Error("discord /add: saved but not indexed", "error_id", id, "url", res.URL, "err", redactString(err.Error(), b.cfg.Token))
		text = fmt.Sprintf("Saved **%s**, but indexing it failed; it will be answerable after the next re-index. (error ID: %s)", plain(clip(res.Title, 200)), id)
	case err != nil:
		msg, known := fetchRefusal(err, "page")
		if !known {
			b.fail(ctx, r.log, err, func(msg string) error { return p.final(ctx, msg) })
			return
		}
		r.log.Info("discord /add refused", "url", rawURL, "err", err.Error())
		text = msg
	default:
		text = addedText(res)
	}
	if p.final(ctx, text) == nil {
		r.log.Info("discord page added", "status", res.Status, "url", res.URL, "path", res.Path, "took", time.Since(start))
	}
}

// stageText is the progress line of one stage of /add.
func stageText(s web.Stage, rawURL string) string {
	u := "<" + clip(rawURL, 300) + ">"
	switch s {
	case web.StageFetching:
		return "⏳ Fetching " + u + "…"
	case web.StageReading:
		return "⏳ Reading the article at " + u + "…"
	case web.StageSaving:
		return "⏳ Saving it to the articles…"
	case web.StageIndexing:
		return "⏳ Indexing it, so I can answer from it…"
	}
	return "⏳ Working on " + u + "…"
}

// addedText says what /add did.
func addedText(res web.Added) string {
	title := "**" + plain(clip(res.Title, 200)) + "**"
	u := "<" + clip(res.URL, 500) + ">"
	switch res.Status {
	case web.StatusAdded:
		return fmt.Sprintf("✅ Added %s (%d paragraphs) from %s. Ask about it with /ask.", title, res.Paragraphs, u)
	case web.StatusUpdated:
		return fmt.Sprintf("🔄 %s was already added by %s; the page has changed, so its article is updated (%d paragraphs).", u, addedBy(res.By, res.At), res.Paragraphs)
	case web.StatusUnchanged:
		return fmt.Sprintf("ℹ️ %s (%s) was already added by %s, and it hasn't changed since.", title, u, addedBy(res.By, res.At))
	case web.StatusDuplicate:
		return fmt.Sprintf("ℹ️ Not added: the articles already have the same text, from %s.", "<"+clip(res.DuplicateOf, 500)+">")
	}
	return "Done."
}

// addedBy names who added a page: a member (a mention, which never pings:
// every message has empty allowed_mentions), a feed or the command line,
// and when, as a Discord timestamp.
func addedBy(by string, at time.Time) string {
	who := "someone at the command line"
	switch {
	case strings.HasPrefix(by, "discord:") && isSnowflake(strings.TrimPrefix(by, "discord:")):
		who = "<@" + strings.TrimPrefix(by, "discord:") + ">"
	case strings.HasPrefix(by, "feed:"):
		who = "the feed <" + clip(strings.TrimPrefix(by, "feed:"), 300) + ">"
	}
	if at.IsZero() {
		return who
	}
	return fmt.Sprintf("%s on <t:%d:D>", who, at.Unix())
}

// fetchRefusal is what a member is told when a fetch was refused or failed
// for a reason they can act on; known is false for anything else (an
// apology with an error ID then).
func fetchRefusal(err error, what string) (msg string, known bool) {
	var se *web.StatusError
	switch {
	case errors.Is(err, web.ErrForbiddenAddress):
		return "🚫 I won't fetch that: it leads to a private network, this machine or a cloud metadata address.", true
	case errors.Is(err, web.ErrBadURL):
		return "That isn't a web address I can fetch: give an http:// or https:// URL.", true
	case errors.Is(err, web.ErrTooLarge):
		return "That " + what + " is too large for me to add.", true
	case errors.Is(err, web.ErrContentType) && what == "feed":
		return "That isn't a feed I can read (RSS, Atom or JSON Feed).", true
	case errors.Is(err, web.ErrContentType):
		return "That isn't a page I can read: I add HTML pages and plain text.", true
	case errors.Is(err, web.ErrNotAFeed):
		return "That isn't a feed I can read (RSS, Atom or JSON Feed). To add a single page, use /add.", true
	case errors.Is(err, web.ErrUnreadable):
		return "I fetched that page but found no article text on it.", true
	case errors.Is(err, web.ErrTooManyRedirects):
		return "That address redirects too many times.", true
	case errors.As(err, &se):
		return fmt.Sprintf("The site answered HTTP %d, so there was nothing to add.", se.Code), true
	case errors.Is(err, context.DeadlineExceeded), web.Temporary(err):
		return "The site took too long to answer or could not be reached; try again later.", true
	}
	return "", false
}

// onFeeds is /feeds list | add url: | remove url:.
func (b *Bot) onFeeds(ctx context.Context, r *interactionReply, data discordgo.ApplicationCommandInteractionData) {
	if len(data.Options) == 0 {
		b.respondPages(ctx, r, []page{{Content: "Use /feeds list, /feeds add or /feeds remove."}}, true)
		return
	}
	sub := data.Options[0]
	rawURL := ""
	for _, o := range sub.Options {
		if v, ok := o.Value.(string); ok && o.Name == "url" {
			rawURL = strings.TrimSpace(v)
		}
	}
	switch sub.Name {
	case "list":
		list, err := b.cfg.Feeds.List(ctx)
		if err != nil {
			b.fail(ctx, r.log, err, func(msg string) error {
				return r.respond(ctx, discordgo.InteractionResponseChannelMessageWithSource, &page{Content: msg})
			})
			return
		}
		b.respondPages(ctx, r, renderFeeds(list), true)
	case "remove":
		f, err := b.cfg.Feeds.Unfollow(ctx, rawURL)
		switch {
		case errors.Is(err, web.ErrNoFeed):
			b.respondPages(ctx, r, []page{{Content: "I'm not following that feed. /feeds list shows those I follow."}}, true)
		case err != nil:
			r.ephemeral = true
			b.fail(ctx, r.log, err, func(msg string) error {
				return r.respond(ctx, discordgo.InteractionResponseChannelMessageWithSource, &page{Content: msg})
			})
		default:
			r.log.Info("discord feed removed", "url", f.URL)
			b.respondPages(ctx, r, []page{{Content: fmt.Sprintf("No longer following <%s>; its %d articles stay.", clip(f.URL, 500), f.Articles)}}, true)
		}
	case "add":
		b.onFollow(ctx, r, rawURL)
	default:
		b.respondPages(ctx, r, []page{{Content: "Use /feeds list, /feeds add or /feeds remove."}}, true)
	}
}

// onFollow is /feeds add url:.
func (b *Bot) onFollow(ctx context.Context, r *interactionReply, rawURL string) {
	if !b.startFetch(ctx, r, rawURL) {
		return
	}
	ctx, cancel := context.WithDeadline(ctx, r.expires)
	defer cancel()
	p := b.startProgress(ctx, r)
	p.set("⏳ Fetching the feed <" + clip(rawURL, 300) + ">…")
	res, err := b.cfg.Feeds.Follow(ctx, rawURL, "discord:"+interactionUser(r.i), func(s string) { p.set("⏳ " + plain(clip(s, 400)) + "…") })
	p.stop()
	var text string
	switch {
	case errors.Is(err, web.ErrFeedExists):
		text = "ℹ️ I'm already following that feed. /feeds list shows them all."
	case err != nil && res.Err == nil && (len(res.Added) > 0 || len(res.Kept) > 0):
		id := newErrorID()
		r.log.Error("discord /feeds add: items saved but not indexed", "error_id", id, "err", redactString(err.Error(), b.cfg.Token))
		text = fmt.Sprintf("Following the feed, but indexing its items failed; they will be answerable after the next re-index. (error ID: %s)", id)
	case err != nil:
		msg, known := fetchRefusal(err, "feed")
		if !known {
			b.fail(ctx, r.log, err, func(msg string) error { return p.final(ctx, msg) })
			return
		}
		text = msg
	default:
		text = followedText(res)
	}
	if p.final(ctx, text) == nil {
		r.log.Info("discord feed followed", "url", res.URL, "items", res.Items, "added", len(res.Added), "failed", len(res.Failed))
	}
}

// followedText says what /feeds add did.
func followedText(res web.FeedSync) string {
	name := "<" + clip(res.URL, 500) + ">"
	if res.Title != "" {
		name = "**" + plain(clip(res.Title, 200)) + "** (" + name + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "✅ Following %s: %d items, %d added now", name, res.Items, len(res.Added))
	if len(res.Kept) > 0 {
		fmt.Fprintf(&b, ", %d already in the articles", len(res.Kept))
	}
	if len(res.Failed) > 0 {
		fmt.Fprintf(&b, ", %d could not be added", len(res.Failed))
	}
	if res.Deferred > 0 {
		fmt.Fprintf(&b, "; %d more come with the next syncs", res.Deferred)
	}
	b.WriteString(".")
	for i, a := range res.Added {
		if i == 5 {
			fmt.Fprintf(&b, "\n…and %d more.", len(res.Added)-5)
			break
		}
		fmt.Fprintf(&b, "\n• %s", plain(clip(a.Title, 150)))
	}
	return clip(b.String(), 1900)
}

// renderFeeds lists the followed feeds, a page per 1,900 characters.
func renderFeeds(list []web.Feed) []page {
	if len(list) == 0 {
		return []page{{Content: "I'm not following any feed yet. /feeds add url: follows one."}}
	}
	lines := []string{fmt.Sprintf("**%d feeds followed:**", len(list))}
	for _, f := range list {
		line := "• <" + clip(f.URL, 300) + ">"
		if f.Title != "" {
			line += " — " + plain(clip(f.Title, 100))
		}
		line += fmt.Sprintf(" — %d articles", f.Articles)
		if !f.Checked.IsZero() {
			line += fmt.Sprintf(", checked <t:%d:R>", f.Checked.Unix())
		}
		if f.Error != "" {
			line += " — ⚠️ last sync failed"
		}
		lines = append(lines, line)
	}
	return linePages(lines)
}

// linePages packs lines into pages of at most 1,900 characters.
func linePages(lines []string) []page {
	var pages []page
	var cur strings.Builder
	for _, l := range lines {
		if cur.Len() > 0 && textLen(cur.String())+textLen(l)+1 > 1900 {
			pages = append(pages, page{Content: cur.String()})
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(clip(l, 1900))
	}
	return append(pages, page{Content: cur.String()})
}

// maxGapGroups is how many groups /gaps shows.
const maxGapGroups = 25

// onGaps is /gaps [min:].
func (b *Bot) onGaps(ctx context.Context, r *interactionReply, data discordgo.ApplicationCommandInteractionData) {
	minCount := 2
	if o := option(data, "min"); o != nil {
		if v, ok := o.Value.(float64); ok && v >= 1 {
			minCount = int(v)
		}
	}
	list, skipped, err := b.cfg.Gaps.List(ctx)
	if err != nil {
		r.ephemeral = true
		b.fail(ctx, r.log, err, func(msg string) error {
			return r.respond(ctx, discordgo.InteractionResponseChannelMessageWithSource, &page{Content: msg})
		})
		return
	}
	for _, bad := range skipped {
		r.log.Warn("discord /gaps: skipped a line of the gaps file", "line", bad.Line, "err", bad.Err.Error())
	}
	groups := gaps.Recurring(gaps.Groups(list), minCount)
	if len(groups) == 0 {
		b.respondPages(ctx, r, []page{{Content: fmt.Sprintf("No question has been refused or voted 👎 %d times or more yet (%d recorded in all). Try /gaps min:1.", minCount, len(list))}}, true)
		return
	}
	lines := []string{fmt.Sprintf("**What the articles don't answer** — asked at least %d times, most asked first:", minCount)}
	for i, g := range groups {
		if i == maxGapGroups {
			lines = append(lines, fmt.Sprintf("…and %d more.", len(groups)-maxGapGroups))
			break
		}
		line := fmt.Sprintf("**%d×** “%s” — last asked <t:%d:R>", g.Count, plain(clip(g.Question, 200)), g.Last.Unix())
		if g.Downvoted > 0 {
			line += fmt.Sprintf(", %d 👎", g.Downvoted)
		}
		if g.BestSupport != nil {
			line += fmt.Sprintf(", best score %.2f", *g.BestSupport)
		}
		if g.Wordings > 1 {
			line += fmt.Sprintf(" (%d wordings)", g.Wordings)
		}
		lines = append(lines, line)
	}
	b.respondPages(ctx, r, linePages(lines), true)
	r.log.Info("discord gaps shown", "groups", len(groups), "gaps", len(list))
}

// recordGap records a refused answer or a 👎 as a coverage gap (when the
// bot keeps gaps); a failure is logged, never shown.
func (b *Bot) recordGap(ctx context.Context, g gaps.Gap) {
	if b.cfg.Gaps == nil {
		return
	}
	if err := b.cfg.Gaps.Record(ctx, g); err != nil {
		b.log.Warn("discord coverage gap not recorded", "door", g.Door, "err", err.Error())
	}
}

// progressNote shows the latest progress line of a deferred response, at
// most as often as the edit limiter lets, on a goroutine of its own so the
// work is never held up by Discord.
type progressNote struct {
	r    *interactionReply
	lim  *editLimiter
	mu   sync.Mutex
	text string
	kick chan struct{}
	done chan struct{}
	quit chan struct{}
}

func (b *Bot) startProgress(ctx context.Context, r *interactionReply) *progressNote {
	p := &progressNote{r: r, lim: newEditLimiter(b.editBurst, b.editWindow), kick: make(chan struct{}, 1), done: make(chan struct{}), quit: make(chan struct{})}
	go func() {
		defer close(p.done)
		shown := ""
		for {
			select {
			case <-p.quit:
				return
			case <-ctx.Done():
				return
			case <-p.kick:
			}
			if p.lim.wait(ctx) != nil {
				return
			}
			p.mu.Lock()
			text := p.text
			p.mu.Unlock()
			select {
			case <-p.quit:
				return // the final text is on its way
			default:
			}
			if text != shown {
				if _, err := r.edit(ctx, page{Content: text}); err == nil {
					shown = text
				}
			}
		}
	}()
	return p
}

// set makes text the progress shown next.
func (p *progressNote) set(text string) {
	p.mu.Lock()
	p.text = text
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// stop ends the progress edits, waiting for one in flight.
func (p *progressNote) stop() {
	close(p.quit)
	<-p.done
}

// final replaces the progress with the outcome (after stop).
func (p *progressNote) final(ctx context.Context, text string) error {
	if err := p.lim.wait(ctx); err != nil {
		return err
	}
	_, err := p.r.edit(ctx, page{Content: text})
	return err
}

// feedChoices suggests followed feeds for /feeds remove url:.
func (b *Bot) feedChoices(ctx context.Context, data discordgo.ApplicationCommandInteractionData) []*discordgo.ApplicationCommandOptionChoice {
	typed := ""
	for _, sub := range data.Options {
		for _, o := range sub.Options {
			if o.Focused {
				typed, _ = o.Value.(string)
			}
		}
	}
	list, err := b.cfg.Feeds.List(ctx)
	if err != nil {
		b.log.Warn("discord feed autocomplete", "err", err.Error())
	}
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	t := strings.ToLower(strings.TrimSpace(typed))
	for _, f := range list {
		if len(choices) == maxChoices {
			break
		}
		if len(f.URL) > 100 || !strings.Contains(strings.ToLower(f.URL+" "+f.Title), t) {
			continue // a value over 100 characters cannot be offered
		}
		name := f.URL
		if f.Title != "" {
			name = clip(plain(f.Title)+" — "+f.URL, 100)
		}
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: name, Value: f.URL})
	}
	return choices
}
