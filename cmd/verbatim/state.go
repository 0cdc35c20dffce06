package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/bot/discord"
	"github.com/verbatimbot/verbatim/retrieval/postgres"
)

// With a database configured, the Discord bot keeps its conversation
// memory and votes there (retrieval/postgres stores the JSON documents;
// these adapters say what they hold), so they survive restarts and every
// bot process and shard shares them.

// dbMemory is discord.Memory in the database.
type dbMemory struct {
	db    *postgres.Store
	turns int // turns kept per conversation
}

var _ discord.Memory = dbMemory{}

func (m dbMemory) Turns(ctx context.Context, key string) ([]bot.Turn, error) {
	if m.turns == 0 {
		return nil, nil
	}
	raw, err := m.db.Turns(ctx, key, m.turns)
	if err != nil {
		return nil, err
	}
	turns := make([]bot.Turn, 0, len(raw))
	for _, r := range raw {
		var t bot.Turn
		if err := json.Unmarshal(r, &t); err != nil {
			return nil, fmt.Errorf("read conversation %s: %w", key, err)
		}
		turns = append(turns, t)
	}
	return turns, nil
}

func (m dbMemory) Add(ctx context.Context, key string, turns ...bot.Turn) error {
	if m.turns == 0 || len(turns) == 0 {
		return nil
	}
	raw := make([]json.RawMessage, len(turns))
	for i, t := range turns {
		var err error
		if raw[i], err = json.Marshal(t); err != nil {
			return fmt.Errorf("store conversation %s: %w", key, err)
		}
	}
	return m.db.AddTurns(ctx, key, m.turns, raw...)
}

// dbVotes is discord.VoteRecorder in the database.
type dbVotes struct{ db *postgres.Store }

var _ discord.VoteRecorder = dbVotes{}

func (v dbVotes) Record(ctx context.Context, vote discord.Vote) error {
	raw, err := json.Marshal(vote)
	if err != nil {
		return fmt.Errorf("store vote: %w", err)
	}
	return v.db.AddVote(ctx, vote.AnswerID, vote.UserID, vote.Time, raw)
}

// list is every user's last vote per answer, oldest first.
func (v dbVotes) list(ctx context.Context) ([]discord.Vote, error) {
	raw, err := v.db.Votes(ctx)
	if err != nil {
		return nil, err
	}
	votes := make([]discord.Vote, 0, len(raw))
	for _, r := range raw {
		var vote discord.Vote
		if err := json.Unmarshal(r, &vote); err != nil {
			return nil, fmt.Errorf("read vote: %w", err)
		}
		votes = append(votes, vote)
	}
	return votes, nil
}
