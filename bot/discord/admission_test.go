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

func TestConversations(t *testing.T) {
	ctx := t.Context()
	add := func(m Memory, key string, turns ...bot.Turn) {
		if err := m.Add(ctx, key, turns...); err != nil {
			t.Fatal(err)
		}
	}
	get := func(m Memory, key string) []bot.Turn {
		turns, err := m.Turns(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return turns
	}
	h := newConversations(2, 2)
	add(h, "a", bot.Turn{Question: "1"})
	add(h, "a", bot.Turn{Question: "2"})
	add(h, "a", bot.Turn{Question: "3"})
	if got := get(h, "a"); len(got) != 2 || got[0].Question != "2" || got[1].Question != "3" {
		t.Errorf("history = %+v, want the last two turns", got)
	}
	add(h, "b", bot.Turn{Question: "b1"})
	add(h, "c", bot.Turn{Question: "c1"}) // evicts a, the least recently updated
	if got := get(h, "a"); len(got) != 0 {
		t.Errorf("a kept after eviction: %+v", got)
	}
	if got := get(h, "c"); len(got) != 1 {
		t.Errorf("c = %+v", got)
	}
	off := newConversations(0, 10)
	add(off, "a", bot.Turn{Question: "1"})
	if got := get(off, "a"); len(got) != 0 {
		t.Errorf("history kept with 0 turns: %+v", got)
	}
}

func TestRateLimiterRefund(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(1, func() time.Time { return now })
	if ok, _ := l.allow("u"); !ok {
		t.Fatal("first question refused")
	}
	l.refund("u") // turned away: the question did not count
	if ok, _ := l.allow("u"); !ok {
		t.Errorf("refused after a refund")
	}
	l.refund("u")
	l.refund("u") // refunds never exceed the bucket
	l.allow("u")
	if ok, _ := l.allow("u"); ok {
		t.Errorf("refunds filled the bucket past its size")
	}
}

// TestAdmissionQueue: slots first, then a first-come first-served line of
// bounded length whose members learn their place as it moves.
func TestAdmissionQueue(t *testing.T) {
	a := newAdmission(1, 2)
	ctx := t.Context()
	first, err := a.acquire(ctx, func(int) { t.Error("the first question waited") })
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		release func()
		err     error
	}
	positions := make(chan [2]int, 10)
	results := make([]chan got, 2)
	for i := range 2 {
		results[i] = make(chan got, 1)
		joined := make(chan struct{})
		go func() {
			once := false
			r, err := a.acquire(ctx, func(p int) {
				positions <- [2]int{i, p}
				if !once {
					once = true
					close(joined)
				}
			})
			results[i] <- got{r, err}
		}()
		<-joined
	}
	if _, err := a.acquire(ctx, func(int) {}); err != errQueueFull {
		t.Errorf("third waiter: err = %v, want errQueueFull", err)
	}
	if p := <-positions; p != [2]int{0, 1} {
		t.Errorf("first waiter's position = %v", p)
	}
	if p := <-positions; p != [2]int{1, 2} {
		t.Errorf("second waiter's position = %v", p)
	}
	first()
	g := <-results[0]
	if g.err != nil {
		t.Fatal(g.err)
	}
	if p := <-positions; p != [2]int{1, 1} {
		t.Errorf("second waiter after the first got in: %v, want position 1", p)
	}
	g.release()
	g = <-results[1]
	if g.err != nil {
		t.Fatal(g.err)
	}
	g.release()
	g.release() // releasing twice is harmless
	if n := a.busy(1); n != 0 {
		t.Errorf("busy = %d after every release", n)
	}

	// A waiter whose context ends leaves the line.
	hold, _ := a.acquire(ctx, nil)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := a.acquire(cctx, func(int) { cancel() })
		done <- err
	}()
	if err := <-done; err == nil {
		t.Errorf("cancelled waiter got a slot")
	}
	if n := a.busy(1); n != 1 {
		t.Errorf("busy = %d, want just the holder", n)
	}
	hold()
}
