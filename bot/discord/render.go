package discord

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus"
)

// Discord's message limits, in characters. Lengths are counted in UTF-16
// code units, which is never less than what Discord counts.
const (
	maxContent     = 2000
	maxTitle       = 256
	maxDescription = 4096
	maxFooter      = 2048
	maxEmbedsChars = 6000 // all embeds of one message together
	maxEmbeds      = 10
	maxURL         = 2048
	// maxEchoed is the most of a question the bot shows back.
	maxEchoed = 200
)

const (
	colorAnswer  = 0x5865F2
	colorRefused = 0xFAA61A
	colorError   = 0xED4245
)

// page is one message to send: the first page edits the deferred response
// (or replies), the rest are follow-ups.
type page struct {
	Content    string
	Embeds     []*discordgo.MessageEmbed
	Components []discordgo.MessageComponent
}

// noMentions is put on every message the bot sends: an empty, non-nil Parse
// marshals to {"parse":[]}, so neither corpus text nor users make it ping.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// textLen is s's length as Discord limits count it (UTF-16 code units).
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// clip shortens s to at most max units, ending with "…" when cut.
func clip(s string, max int) string {
	if textLen(s) <= max {
		return s
	}
	return prefix(s, max-1) + "…"
}

// prefix is the longest prefix of s of at most max units.
func prefix(s string, max int) string {
	n := 0
	for i, r := range s {
		n += utf16.RuneLen(r)
		if n > max {
			return s[:i]
		}
	}
	return s
}

// splitText cuts s into pieces of at most max units, preferring to cut after
// a newline, then after a space, in the second half of a piece.
func splitText(s string, max int) []string {
	var out []string
	for textLen(s) > max {
		head := prefix(s, max)
		cut := len(head)
		if i := strings.LastIndexByte(head, '\n'); i >= len(head)/2 {
			cut = i + 1
		} else if i := strings.LastIndexByte(head, ' '); i >= len(head)/2 {
			cut = i + 1
		}
		if cut == 0 { // a single rune wider than max cannot happen for max ≥ 2
			_, cut = utf8.DecodeRuneInString(s)
		}
		piece := strings.TrimRight(s[:cut], " \n")
		if piece != "" {
			out = append(out, piece)
		}
		s = strings.TrimLeft(s[cut:], " \n")
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

func embedLen(e *discordgo.MessageEmbed) int {
	n := textLen(e.Title) + textLen(e.Description)
	if e.Footer != nil {
		n += textLen(e.Footer.Text)
	}
	if e.Author != nil {
		n += textLen(e.Author.Name)
	}
	for _, f := range e.Fields {
		n += textLen(f.Name) + textLen(f.Value)
	}
	return n
}

// packEmbeds puts embeds (each within the per-embed limits) into as few
// messages as Discord allows: at most 10 embeds and 6,000 characters each.
func packEmbeds(embeds []*discordgo.MessageEmbed) []page {
	var pages []page
	var cur page
	used := 0
	for _, e := range embeds {
		n := embedLen(e)
		if len(cur.Embeds) > 0 && (len(cur.Embeds) == maxEmbeds || used+n > maxEmbedsChars) {
			pages = append(pages, cur)
			cur, used = page{}, 0
		}
		cur.Embeds = append(cur.Embeds, e)
		used += n
	}
	if len(cur.Embeds) > 0 {
		pages = append(pages, cur)
	}
	return pages
}

// describe lays blocks out as pieces of at most max units (embed
// descriptions, or message contents), starting a new piece when the next
// block does not fit; a block longer than that is split.
func describe(blocks []string, max int) []string {
	var descs []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			descs = append(descs, cur.String())
			cur.Reset()
		}
	}
	for _, b := range blocks {
		for _, piece := range splitText(b, max) {
			sep := ""
			if cur.Len() > 0 {
				sep = "\n\n"
			}
			if textLen(cur.String())+textLen(sep)+textLen(piece) > max {
				flush()
				sep = ""
			}
			cur.WriteString(sep)
			cur.WriteString(piece)
		}
	}
	flush()
	return descs
}

// markdownEscaper keeps corpus text from being read as Discord markdown;
// the escaped text renders as the original characters.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, `*`, `\*`, `_`, `\_`, "`", "\\`", `~`, `\~`, `|`, `\|`, `[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`,
)

// escape makes corpus text, a question or a model's words safe to show:
// control characters and bidi overrides go (bot.Printable), markdown is
// escaped.
func escape(s string) string { return markdownEscaper.Replace(bot.Printable(s)) }

// plain is s without what a client would act on, for text that is not
// markdown-escaped (titles).
func plain(s string) string { return bot.Printable(s) }

// safeURL returns u when Discord accepts it as a link: absolute http(s)
// with a host, at most 2,048 characters, no spaces or control characters.
// Anything else is "" — the article is shown without a link, because one
// bad URL makes Discord reject the whole message (400, 50035).
func safeURL(u string) string {
	if u == "" || len(u) > maxURL || strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
		return ""
	}
	return u
}

// linkURL makes u safe inside a markdown link.
func linkURL(u string) string {
	return strings.NewReplacer(")", "%29", "(", "%28", " ", "%20").Replace(u)
}

// titleOf is a question as an embed title: printable, at most maxEchoed
// characters.
func titleOf(question string) string {
	return clip(bot.Clip(plain(strings.Join(strings.Fields(question), " ")), maxEchoed), maxTitle)
}

// source renders "Title, ¶N", as a link when the article's URL is usable.
func source(title, u string, paragraph int) string {
	if title == "" {
		title = "untitled"
	}
	if u = safeURL(u); u == "" {
		return fmt.Sprintf("%s, ¶%d", escape(title), paragraph)
	}
	return fmt.Sprintf("[%s](%s), ¶%d", escape(title), linkURL(u), paragraph)
}

// citationLine renders one citation: [n] “quote” — Title, ¶N.
func citationLine(c bot.Citation) string {
	marker := ""
	if c.Marker > 0 {
		marker = fmt.Sprintf("**[%d]** ", c.Marker)
	}
	return fmt.Sprintf("%s“%s” — %s", marker, escape(c.Quote), source(c.Article.Title, c.Article.URL, c.Paragraph))
}

// refusedLead opens a refused answer so nobody mistakes it for an answer.
const refusedLead = "**I couldn't find an answer to that in the articles I have.**"

// sourcesHeading starts the list of citations.
const sourcesHeading = "**Sources**"

// answerBlocks are an answer's paragraphs (markdown-safe), then its
// citations one per block, so a long answer splits between citations.
func answerBlocks(a bot.Answer) []string {
	var blocks []string
	if a.Refused {
		blocks = append(blocks, refusedLead)
	}
	if a.Fallback != "" {
		blocks = append(blocks, "*"+escape(a.Fallback)+"*")
	}
	for _, para := range strings.Split(strings.TrimSpace(plain(a.Text)), "\n\n") {
		if para = strings.TrimSpace(para); para != "" {
			blocks = append(blocks, para)
		}
	}
	if len(a.Citations) > 0 {
		blocks = append(blocks, sourcesHeading)
		for _, c := range a.Citations {
			blocks = append(blocks, citationLine(c))
		}
	}
	if len(blocks) == 0 {
		blocks = append(blocks, refusedLead)
	}
	return blocks
}

// footerOf says how an answer was made.
func footerOf(a bot.Answer) string {
	footer := string(a.Mode)
	if n := len(a.Citations); n > 0 {
		footer = fmt.Sprintf("%s · %d %s", footer, n, plural(n, "quote", "quotes"))
	}
	return strings.TrimPrefix(footer, " · ")
}

// renderAnswer turns an answer into pages: the answer text, then each
// citation, split to fit Discord's limits. The question is the first embed's
// title; the footer (on the last embed) says how the answer was made.
func renderAnswer(question string, a bot.Answer) []page {
	color := colorAnswer
	if a.Refused {
		color = colorRefused
	}
	descs := describe(answerBlocks(a), maxDescription)
	embeds := make([]*discordgo.MessageEmbed, len(descs))
	for i, d := range descs {
		embeds[i] = &discordgo.MessageEmbed{Description: d, Color: color}
	}
	embeds[0].Title = titleOf(question)
	if footer := footerOf(a); footer != "" {
		embeds[len(embeds)-1].Footer = &discordgo.MessageEmbedFooter{Text: clip(footer, maxFooter)}
	}
	return packEmbeds(embeds)
}

// renderAnswerText is renderAnswer for channels without Embed Links: the
// same blocks as message content, in pieces of at most 2,000 characters.
func renderAnswerText(question string, a bot.Answer) []page {
	blocks := append([]string{"**" + escape(titleOf(question)) + "**"}, answerBlocks(a)...)
	if footer := footerOf(a); footer != "" {
		blocks = append(blocks, "-# "+footer)
	}
	var pages []page
	for _, c := range describe(blocks, maxContent) {
		pages = append(pages, page{Content: c})
	}
	return pages
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

const previewFooter = "✍️ writing… quotes are checked when the answer is complete"

// previewText is the streamed text so far, printable and within max.
func previewText(text string, max int) string {
	text = strings.TrimSpace(plain(text))
	if textLen(text) > max-2 {
		text = prefix(text, max-2) + " …"
	}
	if text == "" {
		text = "…"
	}
	return text
}

// renderPreview is the streaming preview: the text so far, marked as
// unverified work in progress.
func renderPreview(question, text string) page {
	return page{Embeds: []*discordgo.MessageEmbed{{
		Title:       titleOf(question),
		Description: previewText(text, maxDescription),
		Color:       colorAnswer,
		Footer:      &discordgo.MessageEmbedFooter{Text: previewFooter},
	}}}
}

// renderPreviewText is renderPreview as plain content.
func renderPreviewText(question, text string) page {
	head := "**" + escape(titleOf(question)) + "**\n"
	tail := "\n-# " + previewFooter
	return page{Content: head + previewText(text, maxContent-textLen(head)-textLen(tail)) + tail}
}

// maxParagraphShown is how much of one paragraph "Show paragraphs" shows,
// in runes (three embeds' worth); a longer one ends with "…".
const maxParagraphShown = 3 * maxDescription

// renderParagraphs shows the full paragraphs a "Show paragraphs" button
// names, one embed per paragraph (split when longer than an embed holds).
func renderParagraphs(lib Library, refs []paragraphRef) []page {
	arts := resolveArticles(lib, refs)
	var embeds []*discordgo.MessageEmbed
	missing := 0
	for _, r := range refs {
		art, ok := arts[r.key]
		for _, n := range r.paragraphs {
			text := ""
			if ok {
				text = paragraph(art, n)
			}
			if text == "" {
				missing++
				continue
			}
			title := art.Title
			if title == "" {
				title = art.ID
			}
			// A paragraph of megabytes is shown in part, not as hundreds of
			// messages.
			text = bot.Clip(text, maxParagraphShown)
			for i, piece := range splitText(escape(text), maxDescription) {
				e := &discordgo.MessageEmbed{Description: piece, Color: colorAnswer}
				if i == 0 {
					e.Title = clip(plain(fmt.Sprintf("%s, ¶%d", title, n)), maxTitle)
					e.URL = safeURL(art.URL)
				}
				embeds = append(embeds, e)
			}
		}
	}
	if len(embeds) == 0 {
		return []page{{Content: "Those paragraphs are no longer in my library (it was re-indexed). Please ask again."}}
	}
	pages := packEmbeds(embeds)
	if missing > 0 {
		pages[0].Content = fmt.Sprintf("%d %s no longer in my library.", missing, plural(missing, "paragraph is", "paragraphs are"))
	}
	return pages
}

// paragraph returns paragraph n (1-based) of a, or "".
func paragraph(a corpus.Article, n int) string {
	if n < 1 || n > len(a.Paragraphs) {
		return ""
	}
	return a.Paragraphs[n-1]
}

// sourcesPerPage is how many articles one /sources page lists.
const sourcesPerPage = 15

// matchingArticles are the library's articles whose title or ID contains
// filter (case-insensitively), in library order.
func matchingArticles(lib Library, filter string) []corpus.Article {
	f := strings.ToLower(strings.TrimSpace(filter))
	var out []corpus.Article
	for _, a := range lib.Articles() {
		if f == "" || strings.Contains(strings.ToLower(a.Title), f) || strings.Contains(strings.ToLower(a.ID), f) {
			out = append(out, a)
		}
	}
	return out
}

// renderSources is page n (0-based) of the articles matching filter, with
// ◀ / ▶ buttons when there is more than one page.
func renderSources(lib Library, filter string, n int) page {
	all := len(lib.Articles())
	arts := matchingArticles(lib, filter)
	if len(arts) == 0 {
		if strings.TrimSpace(filter) == "" {
			return page{Content: "I have no articles yet."}
		}
		return page{Content: clip(fmt.Sprintf("No article matches “%s”.", escape(bot.Clip(filter, maxEchoed))), maxContent)}
	}
	pages := (len(arts) + sourcesPerPage - 1) / sourcesPerPage
	n = min(max(n, 0), pages-1)
	var lines []string
	for _, a := range arts[n*sourcesPerPage : min(len(arts), (n+1)*sourcesPerPage)] {
		title := a.Title
		if title == "" {
			title = a.ID
		}
		name := escape(clip(title, 200))
		if u := safeURL(a.URL); u != "" {
			name = fmt.Sprintf("[%s](%s)", name, linkURL(u))
		}
		lines = append(lines, fmt.Sprintf("• %s — %d %s", name, len(a.Paragraphs), plural(len(a.Paragraphs), "paragraph", "paragraphs")))
	}
	title := fmt.Sprintf("Sources: %d %s", all, plural(all, "article", "articles"))
	if strings.TrimSpace(filter) != "" {
		title = fmt.Sprintf("Sources: %d of %d %s", len(arts), all, plural(all, "article", "articles"))
	}
	e := &discordgo.MessageEmbed{Title: title, Description: clip(strings.Join(lines, "\n"), maxDescription), Color: colorAnswer}
	p := page{Embeds: []*discordgo.MessageEmbed{e}}
	if pages > 1 {
		e.Footer = &discordgo.MessageEmbedFooter{Text: fmt.Sprintf("Page %d of %d", n+1, pages)}
		p.Components = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Style: discordgo.SecondaryButton, Label: "◀ Previous", Disabled: n == 0, CustomID: sourcesCustomID(n-1, filter, "prev")},
			discordgo.Button{Style: discordgo.SecondaryButton, Label: "Next ▶", Disabled: n == pages-1, CustomID: sourcesCustomID(n+1, filter, "next")},
		}}}
	}
	return p
}

// sourcesCustomID names page n of filter's list; dir keeps the two buttons'
// IDs distinct when both would name the same page. A filter that does not
// fit is cut (the option's max_length keeps that from happening).
func sourcesCustomID(n int, filter, dir string) string {
	head := fmt.Sprintf("%s:%d.%s:", actionSources, max(n, 0), dir)
	return head + prefix(filter, maxCustomID-textLen(head))
}

// parseSourcesCustomID decodes a "src:" custom ID's data.
func parseSourcesCustomID(data string) (n int, filter string, ok bool) {
	head, filter, ok := strings.Cut(data, ":")
	if !ok {
		return 0, "", false
	}
	num, _, _ := strings.Cut(head, ".")
	n, err := strconv.Atoi(num)
	return n, filter, err == nil && n >= 0
}

// helpText answers /help.
func helpText(maxChars int) string {
	return fmt.Sprintf(`**verbatim** answers questions from its articles and backs every answer with word-for-word quotes.
• **/ask** question:<text> [private:true] — ask; private answers are shown only to you.
• **/sources** [filter:<text>] [private:false] — list the articles I quote from (privately unless private:false).
• **Apps → Ask verbatim** on any message — ask that message's text as a question (only you see the answer).
• **/help** — this message.
You can also DM me a question (I remember the last few turns for follow-ups), mention me in a channel, or reply to one of my answers to follow up on it. In a thread, I remember the thread's conversation.
Under each answer: 👍/👎 to tell us whether it helped, **Show paragraphs** to read the quoted paragraphs in full, and **Continue in a thread** to take the conversation to a thread. Questions are limited to %d characters.
Server managers (Manage Server) also have **/add** url:<link> (add an article by its URL), **/feeds** (follow a site's RSS or Atom feed) and **/gaps** (the questions the articles could not answer).`, maxChars)
}
