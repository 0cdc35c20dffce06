package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/corpus/synth"
	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/postgres/pgtest"
)

// TestListenAnnouncesCommits: a commit by one store handle is announced
// to another's Listen, and a following Index (ReloadEvery with no polling
// at all) picks up the new generation from the announcement alone.
func TestListenAnnouncesCommits(t *testing.T) {
	url := pgtest.URL(t)
	emb := retrieval.NewLocalEmbedder()
	arts := synth.New(1).Articles(12)
	w, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: open(t, url)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Sync(t.Context(), arts[:6], nil); err != nil {
		t.Fatal(err)
	}

	// Listen directly.
	s := open(t, url)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan struct{})
	got := make(chan uint64, 4)
	done := make(chan error, 1)
	go func() { done <- s.Listen(ctx, ready, func(g uint64) { got <- g }) }()
	<-ready

	// Follow with an Index that never polls.
	r, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: open(t, url)})
	if err != nil {
		t.Fatal(err)
	}
	go r.ReloadEvery(ctx, 0)

	if _, err := w.Sync(t.Context(), arts, nil); err != nil {
		t.Fatal(err)
	}
	want, err := s.Committed(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-got:
		if g != want {
			t.Fatalf("announced generation %d, committed %d", g, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no announcement of the commit")
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.Info().Articles != len(arts) {
		if time.Now().After(deadline) {
			t.Fatalf("the following index still has %d articles, want %d", r.Info().Articles, len(arts))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Listen after its context ended: %v", err)
	}
}
