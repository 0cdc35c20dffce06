package discord

import (
	"context"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot"
)

func TestRateLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(3, func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.allow("u"); !ok {
			t.Fatalf("question %d refused within the rate", i+1)
		}
	}
	ok, wait := l.allow("u")
	if ok || wait <= 0 || wait > 20*time.Second {
		t.Errorf("4th question: ok=%v wait=%v, want refused with wait ≤ 20s", ok, wait)
	}
	if ok, _ := l.allow("other"); !ok {
		t.Errorf("another user was limited")
	}
	now = now.Add(20 * time.Second) // one token back
	if ok, _ := l.allow("u"); !ok {
		t.Errorf("refused after refill")
	}
	if ok, _ := l.allow("u"); ok {
		t.Errorf("allowed beyond the refill")
	}
}

func TestEditLimiter(t *testing.T) {
	const window = 200 * time.Millisecond
	l := newEditLimiter(5, window)
	ctx := t.Context()
	var times []time.Time
	start := time.Now()
	for range 11 {
		if err := l.wait(ctx); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Now())
	}
	for i := 5; i < len(times); i++ {
		if gap := times[i].Sub(times[i-5]); gap < window {
			t.Errorf("edits %d..%d within %v", i-5, i, gap)
		}
	}
	if el := time.Since(start); el < 2*window {
		t.Errorf("11 edits took %v, want ≥ %v", el, 2*window)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.wait(cctx); err == nil {
		t.Errorf("wait with a cancelled context succeeded")
	}
}

func TestHistoryStore(t *testing.T) {
	h := newHistoryStore(2, 2)
	h.add("a", bot.Turn{Question: "1"})
	h.add("a", bot.Turn{Question: "2"})
	h.add("a", bot.Turn{Question: "3"})
	if got := h.get("a"); len(got) != 2 || got[0].Question != "2" || got[1].Question != "3" {
		t.Errorf("history = %+v, want the last two turns", got)
	}
	h.add("b", bot.Turn{Question: "b1"})
	h.add("c", bot.Turn{Question: "c1"}) // evicts a, the least recently updated
	if got := h.get("a"); len(got) != 0 {
		t.Errorf("a kept after eviction: %+v", got)
	}
	if got := h.get("c"); len(got) != 1 {
		t.Errorf("c = %+v", got)
	}
	off := newHistoryStore(0, 10)
	off.add("a", bot.Turn{Question: "1"})
	if got := off.get("a"); len(got) != 0 {
		t.Errorf("history kept with 0 turns: %+v", got)
	}
}
