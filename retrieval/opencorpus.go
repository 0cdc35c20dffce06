package retrieval

import (
	"context"
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
	// MaxFileBytes is corpus.Options.MaxFileBytes.
	MaxFileBytes int64
	// Full re-reads and parses every corpus file, trusting nothing the
	// index remembers about them (`verbatim index --full`).
	Full bool
	// Progress, if not nil, is Sync's progress callback.
	Progress func(done, total int)
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
}

// OpenCorpus opens the index of a corpus and brings it up to date, so that
// no command needs a prior `verbatim index`: it opens the index (Open),
// loads the corpus — files unchanged since the index last saw them are
// taken from the index instead of being parsed again (with thousands of
// articles, parsing was most of a cold start; see Reuse for how a file is
// known to be unchanged) — syncs the index with it (Sync) and remembers
// the corpus files for the next load.
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
	loaded := time.Now()
	set, err := ix.loadCorpus(ctx, dir, opts.MaxFileBytes, opts.Full)
	if err != nil {
		return nil, CorpusReport{}, err
	}
	rep := CorpusReport{Loaded: len(set.Articles), Skipped: set.Skipped, Warnings: set.Warnings,
		Parsed: set.Parsed, Reused: set.Reused, Verified: set.Verified}
	rep.Sync, err = ix.Sync(ctx, set.Articles, opts.Progress)
	if err != nil {
		return nil, rep, fmt.Errorf("index corpus: %w", err)
	}
	if dir != "" {
		if err := ix.RememberFiles(ctx, set, loaded); err != nil {
			// Only a later start gets slower.
			ix.log.Warn("remember corpus files", "err", err)
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
// is empty; unless full, files the index vouches for (Reuse) are not
// parsed.
func (ix *Index) loadCorpus(ctx context.Context, dir string, maxFileBytes int64, full bool) (corpus.Set, error) {
	if dir == "" {
		set, err := corpus.Bundled(ctx)
		if err != nil {
			return corpus.Set{}, fmt.Errorf("load bundled corpus: %w", err)
		}
		return set, nil
	}
	opts := corpus.Options{MaxFileBytes: maxFileBytes, Reuse: ix.Reuse}
	if full {
		opts.Reuse = nil
	}
	set, err := corpus.LoadDir(ctx, dir, opts)
	if err != nil {
		return corpus.Set{}, fmt.Errorf("load corpus %s: %w", dir, err)
	}
	return set, nil
}
