package discord

import (
	"context"
	"strings"
	"sync"
	"time"
)

// editLimiter spaces the edits of one message: at most burst edits in any
// window, evenly spread (one per window/burst): with the defaults, one a
// second.
type editLimiter struct {
	burst  int
	window time.Duration
	mu     sync.Mutex
	times  []time.Time // of the last burst edits, oldest first
}

func newEditLimiter(burst int, window time.Duration) *editLimiter {
	return &editLimiter{burst: burst, window: window}
}

// next is when the next edit may go.
func (l *editLimiter) next() time.Time {
	if len(l.times) == 0 {
		return time.Time{}
	}
	t := l.times[len(l.times)-1].Add(l.window / time.Duration(l.burst))
	if len(l.times) >= l.burst {
		if w := l.times[len(l.times)-l.burst].Add(l.window); w.After(t) {
			t = w
		}
	}
	return t
}

// wait blocks until an edit may go, then counts it. It returns ctx's error
// if ctx ends first.
func (l *editLimiter) wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		d := time.Until(l.next())
		if d <= 0 {
			l.times = append(l.times, time.Now())
			if len(l.times) > l.burst {
				l.times = l.times[1:]
			}
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// streamer turns the answerer's OnDelta calls into throttled previews on a
// surface (edits of the deferred response or of the answer message). The
// preview is unverified; the final answer replaces it.
type streamer struct {
	out      surface
	question string
	lim      *editLimiter

	mu      sync.Mutex
	text    strings.Builder
	shown   int // text length in the last edit sent
	nEdits  int
	changed chan struct{} // 1-buffered: text grew
	done    chan struct{} // closed by stop
	once    sync.Once
}

func newStreamer(out surface, question string, lim *editLimiter) *streamer {
	return &streamer{
		out: out, question: question, lim: lim,
		changed: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

// add is the OnDelta hook: it appends an increment of answer text. It never
// blocks the answerer.
func (s *streamer) add(delta string) {
	if delta == "" {
		return
	}
	s.mu.Lock()
	s.text.WriteString(delta)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// stop ends run; an edit in progress completes first.
func (s *streamer) stop() { s.once.Do(func() { close(s.done) }) }

func (s *streamer) edits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nEdits
}

// run sends preview edits until stop, never more often than the limiter
// allows; text that arrives while waiting is coalesced into one edit.
func (s *streamer) run(ctx context.Context) {
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-waitCtx.Done():
		}
	}()
	for {
		select {
		case <-s.done:
			return
		case <-s.changed:
		}
		if err := s.lim.wait(waitCtx); err != nil {
			return // stopped while waiting: the final answer follows
		}
		s.mu.Lock()
		text := s.text.String()
		s.mu.Unlock()
		if len(text) == s.shown {
			continue
		}
		p := renderPreview(s.question, text)
		if s.out.plainText() {
			p = renderPreviewText(s.question, text)
		}
		if err := s.out.preview(ctx, p); err != nil {
			continue // logged; the final edit may still work
		}
		s.mu.Lock()
		s.shown = len(text)
		s.nEdits++
		s.mu.Unlock()
	}
}
