package discord

import (
	"sync"

	"github.com/verbatimbot/verbatim/bot"
)

// conversations keeps the bot.Conversation of each DM (keyed by user) and
// each thread (keyed by channel), least recently used forgotten first. They
// live in memory: a restart forgets them.
type conversations struct {
	turns int
	max   int
	mu    sync.Mutex
	byKey map[string]*bot.Conversation
	order []string // keys, least recently updated first
}

func newConversations(turns, max int) *conversations {
	return &conversations{turns: turns, max: max, byKey: make(map[string]*bot.Conversation)}
}

// Keys of the conversations.
func dmKey(userID string) string        { return "dm:" + userID }
func threadKey(channelID string) string { return "thread:" + channelID }

// get returns a copy of key's turns, oldest first.
func (c *conversations) get(key string) []bot.Turn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conv, ok := c.byKey[key]; ok {
		return conv.Turns()
	}
	return nil
}

// add records a turn in key's conversation.
func (c *conversations) add(key string, turns ...bot.Turn) {
	if c.turns == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	conv, ok := c.byKey[key]
	if !ok {
		conv = bot.NewConversation(c.turns)
		c.byKey[key] = conv
	}
	for _, t := range turns {
		conv.Add(t)
	}
	for i, k := range c.order {
		if k == key {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	c.order = append(c.order, key)
	for len(c.order) > c.max {
		delete(c.byKey, c.order[0])
		c.order = c.order[1:]
	}
}
