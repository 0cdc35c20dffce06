package bot

// Conversation is the history of one conversation (a chat session, a
// Discord DM or thread) as the engine sees it: the latest turns, oldest
// first, never more than its maximum. It holds the one trimming rule every
// front end and answerer applies — keep the latest n turns — so a
// follow-up sees the same history through every door.
//
// A Conversation is not safe for concurrent use; a front end serving many
// users guards each one.
type Conversation struct {
	max   int
	turns []Turn
}

// NewConversation returns an empty conversation keeping at most maxTurns
// turns; maxTurns ≤ 0 keeps none (every question stands alone).
func NewConversation(maxTurns int) *Conversation {
	return &Conversation{max: max(maxTurns, 0)}
}

// Max is the most turns the conversation keeps.
func (c *Conversation) Max() int { return c.max }

// Len is the number of turns kept.
func (c *Conversation) Len() int { return len(c.turns) }

// Add appends t, dropping the oldest turns beyond the maximum.
func (c *Conversation) Add(t Turn) {
	if c.max == 0 {
		return
	}
	c.turns = append(c.turns, t)
	if len(c.turns) > c.max {
		// Copy, so the dropped turns' backing array can be collected.
		c.turns = append([]Turn(nil), Recent(c.turns, c.max)...)
	}
}

// Record adds the turn of question answered by a: the standalone question
// it was searched as keeps a chain of follow-ups on its topic.
func (c *Conversation) Record(question string, a Answer) {
	c.Add(TurnOf(question, a))
}

// Turns returns a copy of the turns, oldest first, for Question.History.
func (c *Conversation) Turns() []Turn {
	if len(c.turns) == 0 {
		return nil
	}
	return append([]Turn(nil), c.turns...)
}

// TurnOf is the turn a question and its answer make.
func TurnOf(question string, a Answer) Turn {
	return Turn{Question: question, Standalone: a.Standalone, Answer: a.Text}
}

// Recent returns the latest n of turns (all of them when n ≤ 0 or there are
// no more than n). It shares turns' backing array.
func Recent(turns []Turn, n int) []Turn {
	if n <= 0 || len(turns) <= n {
		return turns
	}
	return turns[len(turns)-n:]
}
