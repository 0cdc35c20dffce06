package retrieval

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Refresher keeps an index up to date with its corpus from inside a
// long-running process (the Discord bot, `index --watch`): each Refresh
// re-indexes incrementally through OpenCorpus as a writer — as `verbatim
// index` would from outside — and then swaps the new generation into the
// serving Index with Reload, so searches move to it without a restart and
// never wait for it.
//
// Refreshes run one at a time, and calls made while one runs are served
// together by the next: a burst of requests costs at most two re-indexes,
// and each caller returns once a refresh that started after its call has
// finished, so what it wrote before calling is indexed.
//
// It uses only OpenCorpus and Reload; the re-index opens the index
// directory a second time (while the serving index keeps its own
// generation in memory), which is what a `verbatim index` run beside the
// bot costs too.
type Refresher struct {
	serving *Index
	opts    CorpusOptions

	sem  chan struct{} // held while a refresh runs
	mu   sync.Mutex
	reqs uint64 // calls so far
	done uint64 // the value of reqs when the last successful refresh started
	last CorpusReport
	runs atomic.Int64
}

// NewRefresher refreshes serving (which may be nil: only the index on disk
// is brought up to date) with opts, the options serving was opened with.
// opts.Index.Dir, when empty, is serving's directory; opts.Write is set.
func NewRefresher(serving *Index, opts CorpusOptions) *Refresher {
	if opts.Index.Dir == "" && serving != nil {
		opts.Index.Dir = serving.Info().Dir
	}
	opts.Write = true
	return &Refresher{serving: serving, opts: opts, sem: make(chan struct{}, 1)}
}

// Refresh brings the index up to date with the corpus and the serving
// index up to date with the index (see Refresher), returning what the
// re-index found and changed.
func (r *Refresher) Refresh(ctx context.Context) (CorpusReport, error) {
	r.mu.Lock()
	r.reqs++
	want := r.reqs
	r.mu.Unlock()
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return CorpusReport{}, fmt.Errorf("refresh index: %w", ctx.Err())
	}
	defer func() { <-r.sem }()
	r.mu.Lock()
	if r.done >= want {
		rep := r.last // a refresh that started after this call finished meanwhile
		r.mu.Unlock()
		return rep, nil
	}
	start := r.reqs
	r.mu.Unlock()
	rep, err := r.refresh(ctx)
	if err != nil {
		return rep, err
	}
	r.mu.Lock()
	r.done, r.last = start, rep
	r.mu.Unlock()
	return rep, nil
}

// Reindex is Refresh without its report.
func (r *Refresher) Reindex(ctx context.Context) error {
	_, err := r.Refresh(ctx)
	return err
}

// Runs is how many re-indexes have run.
func (r *Refresher) Runs() int { return int(r.runs.Load()) }

func (r *Refresher) refresh(ctx context.Context) (CorpusReport, error) {
	start := time.Now()
	r.runs.Add(1)
	ix, rep, err := OpenCorpus(ctx, r.opts)
	if err != nil {
		return rep, fmt.Errorf("refresh index: %w", err)
	}
	ix.Close()
	if r.serving == nil {
		return rep, nil
	}
	if _, err := r.serving.Reload(ctx); err != nil {
		return rep, fmt.Errorf("refresh index: %w", err)
	}
	if s := rep.Sync; s.Changed() {
		info := r.serving.Info()
		r.serving.log.Info("index refreshed", "dir", info.Dir, "added", len(s.Added), "updated", len(s.Updated),
			"removed", len(s.Removed), "articles", info.Articles, "took", time.Since(start))
	}
	return rep, nil
}
