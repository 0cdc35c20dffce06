package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/verbatimbot/verbatim/bot/gaps"
	"github.com/verbatimbot/verbatim/corpus/watch"
	"github.com/verbatimbot/verbatim/corpus/web"
	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/postgres"
)

// The living corpus: pages added by URL, followed feeds, the watched
// corpus directory and the coverage gaps. What was added, the feeds and
// the gaps live in the index directory ("beside the index"); the articles
// themselves in the corpus directory.

// stateDir is the index directory of src without opening the index:
// --index, else the default one of its corpus.
func (a *app) stateDir(src source) (string, error) {
	if src.index != "" {
		return filepath.Abs(src.index)
	}
	key, err := corpusKey(src.corpus)
	if err != nil {
		return "", err
	}
	return retrieval.DefaultDir(key)
}

// requireCorpusDir is the usage error of commands that write articles when
// the corpus is the bundled one.
func requireCorpusDir(cmd string, src source) error {
	if src.corpus == "" {
		return usagef("%s writes articles into the corpus directory, and the bundled corpus is read-only: set --corpus DIR or VERBATIM_CORPUS", cmd)
	}
	return nil
}

// webClient is the fetching client the settings describe.
func (a *app) webClient() *web.Client {
	redirects := a.cfg.FetchMaxRedirects
	if redirects == 0 {
		redirects = -1 // web.Options: 0 is the default, negative none
	}
	return web.NewClient(web.Options{
		UserAgent:    "verbatim/" + strings.Fields(buildVersion())[0] + " (+https://github.com/verbatimbot/verbatim)",
		Timeout:      a.cfg.FetchTimeout,
		MaxBytes:     a.cfg.FetchMaxBytes,
		MaxRedirects: redirects,
		AllowPrivate: a.cfg.FetchAllowPrivate,
		Logger:       a.log,
	})
}

// library adds pages to src's corpus; catalog and indexer may be nil.
func (a *app) library(src source, catalog web.Catalog, indexer web.Indexer) (*web.Library, error) {
	state, err := a.stateDir(src)
	if err != nil {
		return nil, err
	}
	lib, err := web.NewLibrary(web.LibraryOptions{
		Corpus: src.corpus, State: state, Client: a.webClient(),
		Catalog: catalog, Indexer: indexer, ParseTimeout: a.cfg.ParseTimeout, Logger: a.log,
	})
	if err != nil {
		return nil, fmt.Errorf("%w (--corpus %s)", err, src.corpus)
	}
	return lib, nil
}

// feeds follows feeds into lib's corpus.
func (a *app) feeds(lib *web.Library) *web.Feeds {
	return web.NewFeeds(lib, web.FeedOptions{MaxItems: a.cfg.FeedMaxItems})
}

// gapStore is where refused and 👎 questions go, or nil with VERBATIM_GAPS=off.
func (a *app) gapStore(indexDir string) *gaps.File {
	if !a.cfg.Gaps {
		return nil
	}
	return gaps.NewFile(gapsPath(indexDir), gaps.FileOptions{Users: a.cfg.GapsUsers})
}

// gapsPath is the gaps file of an index directory.
func gapsPath(indexDir string) string { return filepath.Join(indexDir, "gaps.jsonl") }

// corpusOptions are the options openIndex opens src with (and a
// retrieval.Refresher of the same index refreshes it with).
func (a *app) corpusOptions(src source, emb retrieval.Embedder) retrieval.CorpusOptions {
	return retrieval.CorpusOptions{
		Index:        retrieval.Options{Dir: src.index, Embedder: emb, Logger: a.log},
		Corpus:       src.corpus,
		MaxFileBytes: a.cfg.MaxFileBytes,
		ParseTimeout: a.cfg.ParseTimeout,
	}
}

// refreshOptions are corpusOptions for re-indexing into ix: its store too
// (the database, when the index lives there), as a writer.
func (a *app) refreshOptions(src source, ix *retrieval.Index) retrieval.CorpusOptions {
	opts := a.corpusOptions(src, a.emb)
	if _, ok := ix.Store().(*postgres.Store); ok {
		opts.Index.Store = ix.Store()
	}
	return opts
}

// origin says who added something, from a web.Added.By or Feed.AddedBy.
func origin(by string) string {
	switch {
	case by == "":
		return "the command line"
	case strings.HasPrefix(by, "feed:"):
		return "the feed " + strings.TrimPrefix(by, "feed:")
	case strings.HasPrefix(by, "discord:"):
		return "Discord user " + strings.TrimPrefix(by, "discord:")
	}
	return by
}

// freshness keeps an index up to date while a long-running command runs:
// it re-indexes (through a retrieval.Refresher) when the corpus directory
// changes and syncs the followed feeds when it starts and every
// VERBATIM_FEEDS_INTERVAL.
type freshness struct {
	refresh  *retrieval.Refresher
	watcher  *watch.Watcher // nil: the directory is not watched
	feeds    *web.Feeds     // nil: no feeds are synced
	interval time.Duration
	// refreshed hears every re-index the watcher asked for, and feeds
	// every sync.
	refreshed func(retrieval.CorpusReport, error)
	synced    func([]web.FeedSync, error)
}

// newWatcher watches src's corpus directory.
func (a *app) newWatcher(src source) (*watch.Watcher, error) {
	w, err := watch.New(src.corpus, watch.Options{Quiet: a.cfg.WatchQuiet, Logger: a.log})
	if err != nil {
		return nil, fmt.Errorf("watch the corpus: %w", err)
	}
	return w, nil
}

// run keeps the index fresh until ctx ends.
func (f *freshness) run(ctx context.Context) {
	var wg sync.WaitGroup
	if f.watcher != nil {
		wg.Go(func() {
			_ = f.watcher.Run(ctx, func(ctx context.Context) {
				rep, err := f.refresh.Refresh(ctx)
				if ctx.Err() == nil {
					f.refreshed(rep, err)
				}
			})
		})
	}
	if f.feeds != nil && f.interval > 0 {
		wg.Go(func() {
			t := time.NewTicker(f.interval)
			defer t.Stop()
			for {
				// A sync at once (what was published while nothing
				// ran), then every interval.
				syncs, err := f.feeds.Sync(ctx, nil)
				if errors.Is(err, context.Canceled) && ctx.Err() != nil {
					return
				}
				f.synced(syncs, err)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Wait()
}
