package main

import (
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/bot/discord"
	"github.com/verbatimbot/verbatim/retrieval/postgres"
	"github.com/verbatimbot/verbatim/retrieval/postgres/pgtest"
)

// TestDatabaseMemoryAndVotes: the Discord bot's conversation memory and
// votes in the database keep the last turns per conversation and a user's
// last vote per answer, and survive a restart: another process's handle
// (a new Store on the same database) reads what the first wrote.
func TestDatabaseMemoryAndVotes(t *testing.T) {
	url := pgtest.URL(t)
	openDB := func() *postgres.Store {
		s, err := postgres.Open(t.Context(), url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := openDB(), openDB()
	ma, mb := dbMemory{db: a, turns: 2}, dbMemory{db: b, turns: 2}
	for _, q := range []string{"one", "two", "three"} {
		if err := ma.Add(t.Context(), "dm:1", bot.Turn{Question: q, Answer: "A " + q}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ma.Add(t.Context(), "thread:9", bot.Turn{Question: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	got, err := mb.Turns(t.Context(), "dm:1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Question != "two" || got[1].Question != "three" || got[1].Answer != "A three" {
		t.Fatalf("turns read by another process = %+v, want the last two", got)
	}
	if got, _ := mb.Turns(t.Context(), "dm:2"); len(got) != 0 {
		t.Fatalf("an unknown conversation has turns: %+v", got)
	}

	va, vb := dbVotes{db: a}, dbVotes{db: b}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cit := []bot.Citation{{Article: bot.ArticleRef{ID: "bees"}, Paragraph: 2, Quote: "A queen bee can lay two thousand eggs"}}
	for i, v := range []discord.Vote{
		{Time: t0, AnswerID: "m1", UserID: "u1", Value: "up", Question: "Q1", Citations: cit},
		{Time: t0.Add(time.Minute), AnswerID: "m2", UserID: "u1", Value: "down", Question: "Q2"},
		{Time: t0.Add(2 * time.Minute), AnswerID: "m1", UserID: "u1", Value: "down", Question: "Q1", Citations: cit},
	} {
		if err := []discord.VoteRecorder{va, vb}[i%2].Record(t.Context(), v); err != nil {
			t.Fatal(err)
		}
	}
	votes, err := vb.list(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(votes) != 2 || votes[0].AnswerID != "m2" || votes[1].AnswerID != "m1" || votes[1].Value != "down" ||
		len(votes[1].Citations) != 1 || votes[1].Citations[0].Paragraph != 2 {
		t.Fatalf("votes = %+v, want m2 then m1's last vote (down) with its citation", votes)
	}
}
