package discord

import (
	"context"
	"sync"

	"github.com/verbatimbot/verbatim/bot"
)

// Memory keeps the conversation of each DM (keyed by user) and each
// thread (keyed by channel), so follow-ups there have their history. The
// default (conversations) lives in process memory; Config.Memory may keep
// them where they survive a restart and every bot process shares them.
type Memory interface {
	// Turns returns key's turns, oldest first.
	Turns(ctx context.Context, key string) ([]bot.Turn, error)
	// Add records turns in key's conversation, keeping the last
	// HistoryTurns.
	Add(ctx context.Context, key string, turns ...bot.Turn) error
}

var _ Memory = (*conversations)(nil)

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

// Turns implements Memory: a copy of key's turns.
func (c *conversations) Turns(_ context.Context, key string) ([]bot.Turn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conv, ok := c.byKey[key]; ok {
		return conv.Turns(), nil
	}
	return nil, nil
}

// Add implements Memory.
func (c *conversations) Add(_ context.Context, key string, turns ...bot.Turn) error {
	if c.turns == 0 {
		return nil
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
	return nil
}

// history is key's turns from the memory; a memory that fails is logged
// and the question goes on without them.
func (b *Bot) history(ctx context.Context, log logger, key string) []bot.Turn {
	turns, err := b.convs.Turns(ctx, key)
	if err != nil {
		log.Warn("read conversation memory", "key", key, "err", err)
	}
	return turns
}

// remember records turns in key's conversation; a failure is logged: the
// answer was given, only a follow-up loses its context.
func (b *Bot) remember(ctx context.Context, log logger, key string, turns ...bot.Turn) {
	if err := b.convs.Add(ctx, key, turns...); err != nil {
		log.Warn("store conversation memory", "key", key, "err", err)
	}
}

// logger is what history and remember log to.
type logger interface {
	Warn(msg string, args ...any)
}
