package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// The Discord bot's state, kept beside the index when a database is
// configured so that it survives restarts and every bot process (and
// shard) shares it: the conversation of each DM and thread, and the votes.
// Rows are JSON documents the bot defines; this package only keeps them.

// Turns returns the last max turns of the conversation key, oldest first.
func (s *Store) Turns(ctx context.Context, key string, max int) ([]json.RawMessage, error) {
	rows, err := s.pool.Query(ctx, `SELECT turn FROM conversation_turns WHERE key = $1 ORDER BY seq DESC LIMIT $2`, key, max)
	if err != nil {
		return nil, fmt.Errorf("read conversation: %w", err)
	}
	turns, err := pgx.CollectRows(rows, pgx.RowTo[json.RawMessage])
	if err != nil {
		return nil, fmt.Errorf("read conversation: %w", err)
	}
	slices.Reverse(turns)
	return turns, nil
}

// AddTurns appends turns to the conversation key and forgets all but its
// last max.
func (s *Store) AddTurns(ctx context.Context, key string, max int, turns ...json.RawMessage) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, t := range turns {
			if _, err := tx.Exec(ctx, `INSERT INTO conversation_turns (key, turn) VALUES ($1, $2)`, key, t); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM conversation_turns WHERE key = $1 AND seq NOT IN
			(SELECT seq FROM conversation_turns WHERE key = $1 ORDER BY seq DESC LIMIT $2)`, key, max)
		return err
	})
	if err != nil {
		return fmt.Errorf("store conversation: %w", err)
	}
	return nil
}

// AddVote stores a user's vote on an answer, replacing the user's earlier
// vote on it.
func (s *Store) AddVote(ctx context.Context, answerID, userID string, at time.Time, vote json.RawMessage) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO votes (answer_id, user_id, at, vote) VALUES ($1, $2, $3, $4)
		ON CONFLICT (answer_id, user_id) DO UPDATE SET at = excluded.at, vote = excluded.vote`, answerID, userID, at, vote)
	if err != nil {
		return fmt.Errorf("store vote: %w", err)
	}
	return nil
}

// Votes returns every user's last vote on every answer, oldest first.
func (s *Store) Votes(ctx context.Context) ([]json.RawMessage, error) {
	rows, err := s.pool.Query(ctx, `SELECT vote FROM votes ORDER BY at, answer_id, user_id`)
	if err != nil {
		return nil, fmt.Errorf("read votes: %w", err)
	}
	votes, err := pgx.CollectRows(rows, pgx.RowTo[json.RawMessage])
	if err != nil {
		return nil, fmt.Errorf("read votes: %w", err)
	}
	return votes, nil
}
