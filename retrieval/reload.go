package retrieval

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Reload loads the generation another process (a `verbatim index` run)
// committed to the index directory since this Index was opened or last
// synced, and reports whether there was one. Searches keep using the
// loaded generation until the new one is in place. A generation this build
// cannot use (another embedder, chunker or format, or a corrupt one) is
// left alone and reported as an error; the loaded one keeps serving.
func (ix *Index) Reload(ctx context.Context) (bool, error) {
	ix.syncMu.Lock()
	defer ix.syncMu.Unlock()
	ok, err := ix.reload(ctx)
	if err != nil {
		return false, fmt.Errorf("reload index: %w", err)
	}
	return ok, nil
}

// reload is Reload with syncMu held.
func (ix *Index) reload(ctx context.Context) (bool, error) {
	old := ix.snap.Load()
	gen, err := ix.store.Committed(ctx)
	if err != nil {
		return false, err
	}
	if gen == 0 || gen == old.Number {
		return false, nil
	}
	g, err := ix.store.Open(ctx, ix.want())
	if err != nil {
		return false, err
	}
	ix.snap.Store(newSnapshot(g))
	old.Index.Release(g.Index)
	ix.usable()
	return true, nil
}

// catchUp, with the store's lock and syncMu held, loads the generation
// another process committed after this one was loaded. A committed
// generation this build cannot use is left for the caller's write to
// replace (the loaded one is its base); so is the unusable one Open
// already saw.
func (ix *Index) catchUp(ctx context.Context) error {
	gen, err := ix.store.Committed(ctx)
	switch {
	case err != nil:
		return err
	case gen == 0 || gen == ix.snap.Load().Number || (ix.prev != nil && gen == ix.prev.Generation):
		return nil
	}
	if _, err := ix.reload(ctx); err != nil {
		if ctx.Err() != nil {
			return err
		}
		ix.log.Warn("index committed by another process is unusable; replacing it", "dir", ix.dir, "generation", gen, "err", err)
	}
	return nil
}

// diskGeneration reads the generation the manifest in dir names; an
// unreadable manifest counts as generation 0 (one no Index has loaded).
func diskGeneration(dir string) (uint64, error) {
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return 0, err
	}
	var m struct {
		Generation uint64 `json:"generation"`
	}
	if json.Unmarshal(data, &m) != nil {
		return 0, nil
	}
	return m.Generation, nil
}

// Announcer is implemented by stores that announce each generation
// committed, by any process, as it happens (PostgreSQL: LISTEN/NOTIFY).
type Announcer interface {
	// Listen calls committed, never concurrently, for each generation
	// committed from now on, until ctx ends or the announcements fail
	// (the returned error; nil when ctx ended). ready, if not nil, is
	// closed once it is listening.
	Listen(ctx context.Context, ready chan<- struct{}, committed func(gen uint64)) error
}

// relisten is how long ReloadEvery waits before listening again after the
// store's announcements failed.
const relisten = 5 * time.Second

// ReloadEvery calls Reload every interval (never, if interval ≤ 0) and,
// when the store announces commits (Announcer), at once on each, until
// ctx ends, so that a long-running server picks up what `verbatim index`
// commits without a restart. Reloads and failures are logged; a failed
// reload leaves the loaded generation serving. It returns when ctx is
// done.
func (ix *Index) ReloadEvery(ctx context.Context, interval time.Duration) {
	announced := make(chan struct{}, 1)
	if a, ok := ix.store.(Announcer); ok {
		go ix.listen(ctx, a, announced)
	} else if interval <= 0 {
		return
	}
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-announced:
		}
		ok, err := ix.Reload(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			ix.log.Warn("index reload failed; still serving the loaded index", "dir", ix.dir, "err", err)
		case ok:
			info := ix.Info()
			ix.log.Info("index reloaded", "dir", ix.dir, "articles", info.Articles, "passages", info.Passages)
		}
	}
}

// listen forwards the store's announcements to announced (coalesced:
// one pending reload stands for any number of commits) until ctx ends,
// listening again relisten after a failure.
func (ix *Index) listen(ctx context.Context, a Announcer, announced chan<- struct{}) {
	for {
		err := a.Listen(ctx, nil, func(gen uint64) {
			if gen != ix.snap.Load().Number {
				select {
				case announced <- struct{}{}:
				default:
				}
			}
		})
		if ctx.Err() != nil {
			return
		}
		ix.log.Warn("index commit announcements failed; listening again soon", "err", err, "in", relisten)
		t := time.NewTimer(relisten)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		// Whatever was committed meanwhile.
		select {
		case announced <- struct{}{}:
		default:
		}
	}
}
