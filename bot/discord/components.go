package discord

import (
	"context"
	"encoding/base64"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/bot/gaps"
	"github.com/verbatimbot/verbatim/corpus"
)

// Button custom IDs are "<action>:<data>", at most 100 characters. They
// carry what a click needs, so buttons keep working after a restart:
//
//	up:<answer id>, down:<answer id>   a vote (the interaction or question message ID)
//	paras:<key>:<n>,<n>;<key>:<n>      "Show paragraphs": article keys and paragraph numbers
//	thread:<answer id>                 "Continue in a thread"
//	src:<page>:<filter>                a page of /sources
const (
	actionUp         = "up"
	actionDown       = "down"
	actionParagraphs = "paras"
	actionThread     = "thread"
	actionSources    = "src"
)

// maxCustomID is Discord's limit on a custom_id.
const maxCustomID = 100

func customID(action, data string) string { return action + ":" + data }

func parseCustomID(id string) (action, data string, ok bool) {
	action, data, ok = strings.Cut(id, ":")
	return action, data, ok && data != ""
}

// articleKey is a short stable key for an article ID in a custom ID: 64
// bits of FNV-1a, 11 characters of base64url.
func articleKey(id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// paragraphRef is one article's paragraphs to show.
type paragraphRef struct {
	key        string
	paragraphs []int
}

// paragraphsCustomID encodes the cited paragraphs, article by article in
// citation order, as many whole ones as fit in a custom ID.
func paragraphsCustomID(cs []bot.Citation) string {
	var refs []paragraphRef
	index := map[string]int{}
	for _, c := range cs {
		k := articleKey(c.Article.ID)
		i, ok := index[k]
		if !ok {
			i = len(refs)
			index[k] = i
			refs = append(refs, paragraphRef{key: k})
		}
		if !containsInt(refs[i].paragraphs, c.Paragraph) {
			refs[i].paragraphs = append(refs[i].paragraphs, c.Paragraph)
		}
	}
	out := actionParagraphs + ":"
	for gi, r := range refs {
		group := r.key + ":"
		if gi > 0 {
			group = ";" + group
		}
		n := 0
		for _, p := range r.paragraphs {
			part := strconv.Itoa(p)
			if n > 0 {
				part = "," + part
			}
			if len(out)+len(group)+len(part) > maxCustomID {
				break
			}
			group += part
			n++
		}
		if n == 0 {
			break
		}
		out += group
	}
	return out
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// parseParagraphs decodes the data of a "paras:" custom ID.
func parseParagraphs(data string) ([]paragraphRef, bool) {
	var refs []paragraphRef
	for _, group := range strings.Split(data, ";") {
		key, nums, ok := strings.Cut(group, ":")
		if !ok || len(key) != 11 {
			return nil, false
		}
		r := paragraphRef{key: key}
		for _, s := range strings.Split(nums, ",") {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return nil, false
			}
			r.paragraphs = append(r.paragraphs, n)
		}
		refs = append(refs, r)
	}
	return refs, len(refs) > 0
}

// resolveArticles finds the library's articles for keys.
func resolveArticles(lib Library, refs []paragraphRef) map[string]corpus.Article {
	want := map[string]bool{}
	for _, r := range refs {
		want[r.key] = true
	}
	found := map[string]corpus.Article{}
	for _, meta := range lib.Articles() {
		if k := articleKey(meta.ID); want[k] {
			// The list may hold no text (an index with its text on
			// demand): the article itself has it.
			if a, ok := lib.Article(meta.ID); ok {
				found[k] = a
			}
			if len(found) == len(want) {
				break
			}
		}
	}
	return found
}

// answerButtons are the buttons under an answer: 👍, 👎, "Show paragraphs"
// when it quotes any, and "Continue in a thread" when offered.
func answerButtons(answerID string, a bot.Answer, thread bool) []discordgo.MessageComponent {
	row := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Style: discordgo.SecondaryButton, Emoji: &discordgo.ComponentEmoji{Name: "👍"}, CustomID: customID(actionUp, answerID)},
		discordgo.Button{Style: discordgo.SecondaryButton, Emoji: &discordgo.ComponentEmoji{Name: "👎"}, CustomID: customID(actionDown, answerID)},
	}}
	if len(a.Citations) > 0 {
		row.Components = append(row.Components, discordgo.Button{
			Style: discordgo.PrimaryButton, Label: "Show paragraphs", CustomID: paragraphsCustomID(a.Citations),
		})
	}
	if thread {
		row.Components = append(row.Components, discordgo.Button{
			Style: discordgo.SecondaryButton, Label: "Continue in a thread", Emoji: &discordgo.ComponentEmoji{Name: "🧵"},
			CustomID: customID(actionThread, answerID),
		})
	}
	return []discordgo.MessageComponent{row}
}

// answerEntry is an answer as the bot remembers it: for votes, threads and
// reply chains.
type answerEntry struct {
	question string
	answer   bot.Answer
	history  []bot.Turn // the conversation before it
	door     string     // where it was asked
}

// answerCache keeps the most recent answers by answer ID, and which
// message shows each. It is bounded: the oldest answer goes first.
type answerCache struct {
	mu    sync.Mutex
	max   int
	byID  map[string]answerEntry
	byMsg map[string]string // message ID → answer ID
	msgOf map[string]string // answer ID → message ID
	order []string
}

func newAnswerCache(max int) *answerCache {
	return &answerCache{max: max, byID: map[string]answerEntry{}, byMsg: map[string]string{}, msgOf: map[string]string{}}
}

func (c *answerCache) put(answerID, messageID string, e answerEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[answerID]; !ok {
		c.order = append(c.order, answerID)
	}
	c.byID[answerID] = e
	if messageID != "" {
		c.byMsg[messageID] = answerID
		c.msgOf[answerID] = messageID
	}
	for len(c.order) > c.max {
		old := c.order[0]
		c.order = c.order[1:]
		delete(c.byID, old)
		delete(c.byMsg, c.msgOf[old])
		delete(c.msgOf, old)
	}
}

func (c *answerCache) get(answerID string) (answerEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[answerID]
	return e, ok
}

// byMessage finds the answer a message of the bot shows.
func (c *answerCache) byMessage(messageID string) (answerEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.byMsg[messageID]
	if !ok {
		return answerEntry{}, false
	}
	e, ok := c.byID[id]
	return e, ok
}

// onComponent handles button clicks.
func (b *Bot) onComponent(ctx context.Context, r *interactionReply, data discordgo.MessageComponentInteractionData) {
	action, rest, ok := parseCustomID(data.CustomID)
	r.log = r.log.With("custom_id", data.CustomID)
	switch {
	case !ok:
	case action == actionUp || action == actionDown:
		b.onVote(ctx, r, action, rest)
		return
	case action == actionParagraphs:
		if refs, ok := parseParagraphs(rest); ok {
			b.respondPages(ctx, r, renderParagraphs(b.lib, refs), true)
			return
		}
	case action == actionThread:
		b.onThreadButton(ctx, r, rest)
		return
	case action == actionSources:
		b.onSourcesPage(ctx, r, rest)
		return
	}
	r.log.Warn("discord unknown button")
	b.respondPages(ctx, r, []page{{Content: "I don't know that button."}}, true)
}

// onVote stores a vote and thanks the voter privately. An answer the bot
// no longer remembers (it restarted) is read back from the message the
// button is on.
func (b *Bot) onVote(ctx context.Context, r *interactionReply, action, answerID string) {
	start := time.Now()
	v := Vote{Time: time.Now().UTC(), AnswerID: answerID, UserID: interactionUser(r.i), Value: action}
	if e, ok := b.answers.get(answerID); ok {
		v.Question, v.Answer, v.Refused, v.Mode, v.Citations = e.question, e.answer.Text, e.answer.Refused, e.answer.Mode, e.answer.Citations
	} else if q, a, ok := readAnswer(r.i.Message); ok {
		v.Question, v.Answer, v.FromMessage = q, a, true
	} else {
		b.respondPages(ctx, r, []page{{Content: "I can't tell which answer that vote is for. Please ask again."}}, true)
		return
	}
	if err := b.votes.Record(ctx, v); err != nil {
		b.fail(ctx, r.log, err, func(msg string) error {
			r.ephemeral = true
			return r.respond(ctx, discordgo.InteractionResponseChannelMessageWithSource, &page{Content: msg})
		})
		return
	}
	if action == actionDown {
		g := gaps.Gap{Time: v.Time, Question: v.Question, Door: "discord", Reason: gaps.Downvoted, UserID: v.UserID}
		if e, ok := b.answers.get(answerID); ok {
			g.Door, g.Support = e.door, gaps.Score(e.answer.Support)
		}
		b.recordGap(ctx, g)
	}
	r.log.Info("discord vote stored", "answer_id", answerID, "vote", action, "from_message", v.FromMessage, "took", time.Since(start))
	thanks := "Thanks — glad it helped. 👍"
	if action == actionDown {
		thanks = "Thanks — noted that this answer didn't help. 👎"
	}
	b.respondPages(ctx, r, []page{{Content: thanks}}, true)
}

// readAnswer reads the question and answer text back from an answer
// message the bot sent: the first embed's title is the question, the
// descriptions up to the sources are the answer.
func readAnswer(m *discordgo.Message) (question, answer string, ok bool) {
	if m == nil || len(m.Embeds) == 0 || m.Embeds[0].Title == "" {
		return "", "", false
	}
	var text strings.Builder
	for _, e := range m.Embeds {
		d := e.Description
		if i := strings.Index(d, sourcesHeading); i >= 0 {
			text.WriteString(strings.TrimSpace(d[:i]))
			break
		}
		if text.Len() > 0 {
			text.WriteString("\n\n")
		}
		text.WriteString(strings.TrimSpace(d))
	}
	return m.Embeds[0].Title, strings.TrimSpace(strings.TrimPrefix(text.String(), refusedLead)), true
}
