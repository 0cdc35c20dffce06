package discord

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/verbatimbot/verbatim/bot"
)

// Button custom IDs are "<action>:<answer id>"; the answer ID is the
// interaction or message ID the answer was given for (a snowflake, well
// under the 100-character limit).
const (
	actionUp         = "up"
	actionDown       = "down"
	actionParagraphs = "paras"
)

func customID(action, answerID string) string { return action + ":" + answerID }

func parseCustomID(id string) (action, answerID string, ok bool) {
	action, answerID, ok = strings.Cut(id, ":")
	return action, answerID, ok && answerID != ""
}

// answerButtons are the buttons under an answer: 👍, 👎, and "Show
// paragraphs" when it quotes any.
func answerButtons(answerID string, a bot.Answer) []discordgo.MessageComponent {
	row := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Style: discordgo.SecondaryButton, Emoji: &discordgo.ComponentEmoji{Name: "👍"}, CustomID: customID(actionUp, answerID)},
		discordgo.Button{Style: discordgo.SecondaryButton, Emoji: &discordgo.ComponentEmoji{Name: "👎"}, CustomID: customID(actionDown, answerID)},
	}}
	if len(a.Citations) > 0 {
		row.Components = append(row.Components, discordgo.Button{
			Style: discordgo.PrimaryButton, Label: "Show paragraphs", CustomID: customID(actionParagraphs, answerID),
		})
	}
	return []discordgo.MessageComponent{row}
}

// answerCache keeps the most recent answers by ID, for votes and "Show
// paragraphs". It is bounded: the oldest answer goes first.
type answerCache struct {
	mu    sync.Mutex
	max   int
	byID  map[string]bot.Answer
	order []string
}

func newAnswerCache(max int) *answerCache {
	return &answerCache{max: max, byID: make(map[string]bot.Answer)}
}

func (c *answerCache) put(id string, a bot.Answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[id]; !ok {
		c.order = append(c.order, id)
	}
	c.byID[id] = a
	for len(c.order) > c.max {
		delete(c.byID, c.order[0])
		c.order = c.order[1:]
	}
}

func (c *answerCache) get(id string) (bot.Answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.byID[id]
	return a, ok
}

const expired = "I no longer have that answer (it is old, or I restarted since). Please ask again."

// onComponent handles button clicks: votes are stored and acknowledged
// privately; "Show paragraphs" replies privately with the full paragraphs.
func (b *Bot) onComponent(ctx context.Context, r *interactionReply, data discordgo.MessageComponentInteractionData) {
	start := time.Now()
	action, id, ok := parseCustomID(data.CustomID)
	r.log = r.log.With("custom_id", data.CustomID)
	if !ok {
		r.log.Warn("discord unknown button")
		b.respondPages(ctx, r, []page{{Content: "I don't know that button."}}, true)
		return
	}
	a, found := b.answers.get(id)
	switch action {
	case actionUp, actionDown:
		if !found {
			b.respondPages(ctx, r, []page{{Content: expired}}, true)
			return
		}
		v := Vote{
			Time:      time.Now().UTC(),
			AnswerID:  id,
			UserID:    interactionUser(r.i),
			Value:     action,
			Question:  a.Question,
			Answer:    a.Text,
			Refused:   a.Refused,
			Mode:      a.Mode,
			Citations: a.Citations,
		}
		if err := b.votes.Add(v); err != nil {
			b.fail(ctx, r.log, err, func(msg string) error {
				r.ephemeral = true
				return r.respond(ctx, discordgo.InteractionResponseChannelMessageWithSource, &page{Content: msg})
			})
			return
		}
		r.log.Info("discord vote stored", "answer_id", id, "vote", action, "took", time.Since(start))
		thanks := "Thanks — glad it helped. 👍"
		if action == actionDown {
			thanks = "Thanks — noted that this answer didn't help. 👎"
		}
		b.respondPages(ctx, r, []page{{Content: thanks}}, true)
	case actionParagraphs:
		if !found {
			b.respondPages(ctx, r, []page{{Content: expired}}, true)
			return
		}
		b.respondPages(ctx, r, renderParagraphs(a, b.lib), true)
	default:
		r.log.Warn("discord unknown button")
		b.respondPages(ctx, r, []page{{Content: "I don't know that button."}}, true)
	}
}
