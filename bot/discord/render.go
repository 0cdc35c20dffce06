package discord

import (
	"fmt"
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

// describe lays blocks out as embed descriptions of at most maxDescription
// units, starting a new embed when the next block does not fit; a block
// longer than that is split.
func describe(blocks []string) []string {
	var descs []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			descs = append(descs, cur.String())
			cur.Reset()
		}
	}
	for _, b := range blocks {
		for _, piece := range splitText(b, maxDescription) {
			sep := ""
			if cur.Len() > 0 {
				sep = "\n\n"
			}
			if textLen(cur.String())+textLen(sep)+textLen(piece) > maxDescription {
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

func escape(s string) string { return markdownEscaper.Replace(s) }

// linkURL makes u safe inside a markdown link.
func linkURL(u string) string {
	return strings.NewReplacer(")", "%29", "(", "%28", " ", "%20").Replace(u)
}

// source renders "Title, ¶N", as a link when the article's URL is known.
func source(title, url string, paragraph int) string {
	if title == "" {
		title = "untitled"
	}
	if url == "" {
		return fmt.Sprintf("%s, ¶%d", escape(title), paragraph)
	}
	return fmt.Sprintf("[%s](%s), ¶%d", escape(title), linkURL(url), paragraph)
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

// renderAnswer turns an answer into pages: the answer text, then each
// citation, split to fit Discord's limits. The question is the first embed's
// title; the footer (on the last embed) says how the answer was made.
func renderAnswer(question string, a bot.Answer) []page {
	var blocks []string
	color := colorAnswer
	if a.Refused {
		color = colorRefused
		blocks = append(blocks, refusedLead)
	}
	for _, para := range strings.Split(strings.TrimSpace(a.Text), "\n\n") {
		if para = strings.TrimSpace(para); para != "" {
			blocks = append(blocks, para)
		}
	}
	if len(a.Citations) > 0 {
		lines := make([]string, 0, len(a.Citations))
		for _, c := range a.Citations {
			lines = append(lines, citationLine(c))
		}
		// Citations are one block per line so a long list splits between
		// citations, not inside one.
		blocks = append(blocks, "**Sources**")
		blocks = append(blocks, lines...)
	}
	if len(blocks) == 0 {
		blocks = append(blocks, refusedLead)
	}
	descs := describe(blocks)
	embeds := make([]*discordgo.MessageEmbed, len(descs))
	for i, d := range descs {
		embeds[i] = &discordgo.MessageEmbed{Description: d, Color: color}
	}
	embeds[0].Title = clip(question, maxTitle)
	footer := string(a.Mode)
	if n := len(a.Citations); n > 0 {
		footer = fmt.Sprintf("%s · %d %s", footer, n, plural(n, "quote", "quotes"))
	}
	if footer = strings.TrimPrefix(footer, " · "); footer != "" {
		embeds[len(embeds)-1].Footer = &discordgo.MessageEmbedFooter{Text: clip(footer, maxFooter)}
	}
	return packEmbeds(embeds)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// renderPreview is the streaming preview: the text so far, marked as
// unverified work in progress.
func renderPreview(question, text string) page {
	text = strings.TrimSpace(text)
	if textLen(text) > maxDescription-2 {
		text = prefix(text, maxDescription-2) + " …"
	}
	if text == "" {
		text = "…"
	}
	return page{Embeds: []*discordgo.MessageEmbed{{
		Title:       clip(question, maxTitle),
		Description: text,
		Color:       colorAnswer,
		Footer:      &discordgo.MessageEmbedFooter{Text: "✍️ writing… quotes are checked when the answer is complete"},
	}}}
}

// renderParagraphs shows the full paragraphs an answer quotes, one embed per
// paragraph (split when longer than an embed holds).
func renderParagraphs(a bot.Answer, lib Library) []page {
	type key struct {
		id string
		n  int
	}
	seen := map[key]bool{}
	var embeds []*discordgo.MessageEmbed
	for _, c := range a.Citations {
		k := key{c.Article.ID, c.Paragraph}
		if seen[k] {
			continue
		}
		seen[k] = true
		title := c.Article.Title
		text := ""
		if art, ok := lib.Article(c.Article.ID); ok {
			text = paragraph(art, c.Paragraph)
			if title == "" {
				title = art.Title
			}
		}
		if text == "" {
			// The library no longer has it: the verified quote is all we know.
			text = c.Quote
		}
		for i, piece := range splitText(escape(text), maxDescription) {
			e := &discordgo.MessageEmbed{Description: piece, Color: colorAnswer}
			if i == 0 {
				e.Title = clip(fmt.Sprintf("%s, ¶%d", title, c.Paragraph), maxTitle)
				e.URL = c.Article.URL
			}
			embeds = append(embeds, e)
		}
	}
	if len(embeds) == 0 {
		return []page{{Content: "This answer quotes no paragraphs."}}
	}
	return packEmbeds(embeds)
}

// paragraph returns paragraph n (1-based) of a, or "".
func paragraph(a corpus.Article, n int) string {
	if n < 1 || n > len(a.Paragraphs) {
		return ""
	}
	return a.Paragraphs[n-1]
}

// renderSources lists the library's articles whose title or ID contains
// filter (case-insensitively).
func renderSources(lib Library, filter string) []page {
	arts := lib.Articles()
	f := strings.ToLower(strings.TrimSpace(filter))
	var lines []string
	for _, a := range arts {
		if f != "" && !strings.Contains(strings.ToLower(a.Title), f) && !strings.Contains(strings.ToLower(a.ID), f) {
			continue
		}
		title := a.Title
		if title == "" {
			title = a.ID
		}
		name := escape(title)
		if a.URL != "" {
			name = fmt.Sprintf("[%s](%s)", name, linkURL(a.URL))
		}
		lines = append(lines, fmt.Sprintf("• %s — %d %s", name, len(a.Paragraphs), plural(len(a.Paragraphs), "paragraph", "paragraphs")))
	}
	if len(lines) == 0 {
		if f == "" {
			return []page{{Content: "I have no articles yet."}}
		}
		return []page{{Content: clip(fmt.Sprintf("No article matches “%s”.", filter), maxContent)}}
	}
	// Lines are joined with single newlines, packed greedily.
	var descs []string
	var cur strings.Builder
	for _, l := range lines {
		l = clip(l, maxDescription)
		if cur.Len() > 0 && textLen(cur.String())+1+textLen(l) > maxDescription {
			descs = append(descs, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(l)
	}
	descs = append(descs, cur.String())
	embeds := make([]*discordgo.MessageEmbed, len(descs))
	for i, d := range descs {
		embeds[i] = &discordgo.MessageEmbed{Description: d, Color: colorAnswer}
	}
	title := fmt.Sprintf("Sources: %d of %d %s", len(lines), len(arts), plural(len(arts), "article", "articles"))
	if f == "" {
		title = fmt.Sprintf("Sources: %d %s", len(arts), plural(len(arts), "article", "articles"))
	}
	embeds[0].Title = title
	return packEmbeds(embeds)
}

// helpText answers /help.
func helpText(maxChars int) string {
	return fmt.Sprintf(`**verbatim** answers questions from its articles and backs every answer with word-for-word quotes.
• **/ask** question:<text> [private:true] — ask; private answers are shown only to you.
• **/sources** [filter:<text>] — list the articles I quote from.
• **/help** — this message.
You can also DM me a question (I remember the last few turns for follow-ups), or mention me in a channel.
Under each answer: 👍/👎 to tell us whether it helped, and **Show paragraphs** to read the quoted paragraphs in full. Questions are limited to %d characters.`, maxChars)
}
