package retrieval

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// CorpusOptions configure OpenCorpus.
type CorpusOptions struct {
	// Index configures the index. An empty Index.Dir means DefaultDir of
	// the corpus (its absolute path, or corpus.BundledName).
	Index Options
	// Corpus is the corpus directory; empty means the bundled articles.
	Corpus string
	// MaxFileBytes and ParseTimeout are corpus.Options'.
	MaxFileBytes int64
	ParseTimeout time.Duration
	// Full re-reads and parses every corpus file, trusting nothing the
	// index remembers about them (`verbatim index --full`).
	Full bool
	// Progress, if not nil, is Sync's progress callback.
	Progress func(done, total int)
	// Write makes OpenCorpus a writer (`verbatim index`): when another
	// process is writing the index, it waits for it and then brings the
	// index up to date. A reader (Write false: ask, chat, sources,
	// discord) waits only when there is no committed index to answer
	// from; otherwise it leaves the changes to the other process and
	// answers from the last committed generation (CorpusReport.Pending).
	Write bool
	// Waiting, if not nil, is called once when OpenCorpus starts waiting
	// for another process writing the index.
	Waiting func()
	// Committed makes OpenCorpus answer from the store's committed
	// generation as it is: no corpus is loaded and nothing is written.
	// It is for processes that share a store (Index.Store, e.g. a
	// database) that another process (`verbatim index`) writes; they
	// follow its commits with ReloadEvery. CorpusReport.Loaded is then the
	// number of articles in the generation. Corpus is ignored.
	Committed bool
}

// CorpusReport says what OpenCorpus found in the corpus and changed in the
// index.
type CorpusReport struct {
	// Sync is what bringing the index up to date changed.
	Sync SyncReport
	// Loaded is the number of articles loaded from the corpus.
	Loaded int
	// Skipped and Warnings are corpus.Set's: files (and JSON lines) not
	// loaded, and things ignored in files that did load.
	Skipped, Warnings []corpus.Problem
	// Parsed, Reused and Verified count the corpus files parsed, taken
	// from the index unread, and taken from it after a check of their
	// content (corpus.Set's counts).
	Parsed, Reused, Verified int
	// Unreported are the Skipped entries no earlier OpenCorpus of this
	// index reported — new ones, and those whose file changed — for
	// commands that name each bad file once and count the rest. They are
	// remembered as reported (unless another process holds the index).
	Unreported []corpus.Problem
	// Pending lists the corpus changes the index does not have yet
	// because another process is writing it (Pending.Changed() says if
	// there are any): a reader answers from the last committed generation
	// meanwhile, and a long-running one picks the new one up with Reload.
	Pending SyncReport
}

// OpenCorpus opens the index of a corpus and brings it up to date, so that
// no command needs a prior `verbatim index`: it opens the index (Open),
// loads the corpus — files unchanged since the index last saw them are
// taken from the index instead of being parsed again (with thousands of
// articles, parsing was most of a cold start; see reuse for how a file is
// known to be unchanged) — syncs the index with it and remembers the
// corpus files for the next load.
//
// Only writing takes the directory's lock: an up-to-date index opens
// without it, so any number of readers use it at once. A reader that finds
// changes while another process is writing does not wait: it answers from
// the last committed generation and reports the changes as Pending (see
// CorpusOptions.Write).
func OpenCorpus(ctx context.Context, opts CorpusOptions) (*Index, CorpusReport, error) {
	dir, err := corpusDir(opts.Corpus)
	if err != nil {
		return nil, CorpusReport{}, err
	}
	if opts.Index.Dir == "" {
		key := dir
		if key == "" {
			key = corpus.BundledName
		}
		if opts.Index.Dir, err = DefaultDir(key); err != nil {
			return nil, CorpusReport{}, err
		}
	}
	ix, err := Open(ctx, opts.Index)
	if err != nil {
		return nil, CorpusReport{}, err
	}
	if opts.Committed {
		if ix.rebuild != "" {
			ix.Close()
			return nil, CorpusReport{}, fmt.Errorf("open index: the committed index is unusable (%s); run verbatim index", ix.rebuild)
		}
		s := ix.snap.Load()
		return ix, CorpusReport{Loaded: len(s.Articles), Sync: SyncReport{Passages: s.Rows()}}, nil
	}
	if opts.Index.TextOnDemand {
		ix.Close()
		return nil, CorpusReport{}, fmt.Errorf("open index: %w", errReadOnly)
	}
	loaded := time.Now()
	set, err := ix.loadCorpus(ctx, dir, corpus.Options{MaxFileBytes: opts.MaxFileBytes, ParseTimeout: opts.ParseTimeout}, opts.Full)
	if err != nil {
		return nil, CorpusReport{}, err
	}
	rep := CorpusReport{Loaded: len(set.Articles), Skipped: set.Skipped, Warnings: set.Warnings,
		Parsed: set.Parsed, Reused: set.Reused, Verified: set.Verified}

	var reported []reportedProblem
	if dir != "" {
		reported = problemKeys(dir, set.Skipped)
		rep.Unreported = ix.unreported(set.Skipped, reported)
	}

	ix.syncMu.Lock()
	defer ix.syncMu.Unlock()
	start := time.Now()
	in, err := sortedArticles(set.Articles)
	if err != nil {
		return nil, rep, fmt.Errorf("index corpus: %w", err)
	}
	p := ix.plan(in)
	filesChanged := false
	if dir != "" {
		_, filesChanged = ix.filesFor(set, loaded, reported)
	}
	if !p.write && !filesChanged {
		rep.Sync = p.report(start)
		return ix, rep, nil // nothing to write: no lock
	}
	unlock, err := ix.store.Lock(ctx, false)
	if errors.Is(err, ErrLocked) {
		switch {
		case !p.write:
			// Only the remembered files are out of date: leave them (and
			// report the unreported problems again next time).
			rep.Sync = p.report(start)
			return ix, rep, nil
		case !opts.Write && ix.snap.Load().Number > 0:
			rep.Sync = SyncReport{Passages: len(ix.snap.Load().Passages), Duration: time.Since(start)}
			rep.Pending = p.rep
			ix.log.Info("corpus changes are being indexed by another process; using the last committed index",
				"dir", ix.dir, "added", len(p.rep.Added), "updated", len(p.rep.Updated), "removed", len(p.rep.Removed))
			return ix, rep, nil
		}
		if opts.Waiting != nil {
			opts.Waiting()
		}
		unlock, err = ix.store.Lock(ctx, true)
	}
	if err != nil {
		return nil, rep, fmt.Errorf("index corpus: %w", err)
	}
	defer unlock()
	if rep.Sync, err = ix.commit(ctx, in, start, opts.Progress); err != nil {
		return nil, rep, fmt.Errorf("index corpus: %w", err)
	}
	if dir != "" {
		// After the sync: only articles the index now holds are recorded.
		if files, changed := ix.filesFor(set, loaded, reported); changed {
			if err := ix.writeFiles(ctx, files); err != nil {
				// Only a later start gets slower.
				ix.log.Warn("remember corpus files", "err", err)
			}
		}
	}
	return ix, rep, nil
}

// corpusDir is the absolute corpus directory, or "" for the bundled
// articles.
func corpusDir(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("corpus %s: %w", dir, err)
	}
	return abs, nil
}

// loadCorpus reads the corpus directory, or the bundled articles when dir
// is empty; unless full, files the index vouches for (reuse) are not
// parsed.
func (ix *Index) loadCorpus(ctx context.Context, dir string, opts corpus.Options, full bool) (corpus.Set, error) {
	if dir == "" {
		set, err := corpus.Bundled(ctx)
		if err != nil {
			return corpus.Set{}, fmt.Errorf("load bundled corpus: %w", err)
		}
		return set, nil
	}
	if !full {
		opts.Reuse = ix.reuse
	}
	set, err := corpus.LoadDir(ctx, dir, opts)
	if err != nil {
		return corpus.Set{}, fmt.Errorf("load corpus %s: %w", dir, err)
	}
	return set, nil
}
