package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"

	"github.com/verbatimbot/verbatim/corpus/web"
	"github.com/verbatimbot/verbatim/openaicompat"
	"github.com/verbatimbot/verbatim/retrieval"
)

func cmdIndex(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("index", "[flags]", "Build or update the index of a corpus: new and changed articles are embedded,\nremoved ones deleted, unchanged ones reused.")
	src := a.sourceFlags(fs)
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	verbose := fs.Bool("verbose", false, "report the embedding model, its dimensions and the batch size used on stderr")
	full := fs.Bool("full", false, "re-read and parse every corpus file, even those the index knows to be unchanged")
	watching := fs.Bool("watch", false, "then keep watching the corpus directory, re-indexing what changes (and syncing the feeds every VERBATIM_FEEDS_INTERVAL), until interrupted")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("index takes no arguments (use --corpus DIR)")
	}
	if *watching && src.corpus == "" {
		return usagef("index --watch watches a corpus directory, and the bundled corpus never changes: set --corpus DIR or VERBATIM_CORPUS")
	}
	var progress func(done, total int)
	if !*asJSON {
		progress = a.progressBar()
	}
	ix, opened, err := a.openIndex(ctx, *src, openOptions{progress: progress, write: true, quiet: true, full: *full})
	if err != nil {
		return err
	}
	if err := a.printIndexed(ix, opened, *verbose, *asJSON); err != nil {
		return err
	}
	if *watching {
		return a.watchIndex(ctx, *src, ix, *asJSON)
	}
	return nil
}

// printIndexed prints what an index run found and changed.
func (a *app) printIndexed(ix *retrieval.Index, opened retrieval.CorpusReport, verbose, asJSON bool) error {
	rep := opened.Sync
	info := ix.Info()
	if verbose {
		a.describeEmbedder(info.Embedder)
	}
	if asJSON {
		type skipped struct {
			Path   string `json:"path"`
			Line   int    `json:"line,omitempty"`
			Reason string `json:"reason"`
		}
		out := struct {
			Added     []string  `json:"added"`
			Updated   []string  `json:"updated"`
			Removed   []string  `json:"removed"`
			Unchanged int       `json:"unchanged"`
			Skipped   []skipped `json:"skipped"`
			Files     struct {
				Parsed   int `json:"parsed"`
				Reused   int `json:"reused"`
				Verified int `json:"verified"`
			} `json:"files"`
			Rebuilt       bool   `json:"rebuilt"`
			RebuildReason string `json:"rebuild_reason,omitempty"`
			Articles      int    `json:"articles"`
			Passages      int    `json:"passages"`
			Dir           string `json:"index_dir"`
		}{Added: nonNil(rep.Added), Updated: nonNil(rep.Updated), Removed: nonNil(rep.Removed), Unchanged: len(rep.Unchanged),
			Skipped: []skipped{}, Rebuilt: rep.Rebuilt, RebuildReason: rep.RebuildReason, Articles: info.Articles, Passages: info.Passages, Dir: info.Dir}
		for _, p := range opened.Skipped {
			out.Skipped = append(out.Skipped, skipped{Path: p.Path, Line: p.Line, Reason: p.Err.Error()})
		}
		out.Files.Parsed, out.Files.Reused, out.Files.Verified = opened.Parsed, opened.Reused, opened.Verified
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if rep.Rebuilt && rep.RebuildReason != "" {
		fmt.Fprintf(a.out, "Rebuilt the index: %s.\n", rep.RebuildReason)
	}
	fmt.Fprintf(a.out, "Indexed %s (%s) in %s\n", plural(info.Articles, "article"), plural(info.Passages, "passage"), info.Dir)
	fmt.Fprintf(a.out, "  added %d, updated %d, removed %d, unchanged %d, skipped %d\n",
		len(rep.Added), len(rep.Updated), len(rep.Removed), len(rep.Unchanged), len(opened.Skipped))
	fmt.Fprintf(a.out, "  files: %d parsed, %d unchanged (%d of them checked by content)\n",
		opened.Parsed, opened.Reused+opened.Verified, opened.Verified)
	// Name the changed articles when there are few enough to read.
	list := func(label string, ids []string) {
		if len(ids) == 0 || len(ids) > 10 {
			return
		}
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = displayName(id)
		}
		fmt.Fprintf(a.out, "  %s: %s\n", label, strings.Join(names, ", "))
	}
	list("added", rep.Added)
	list("updated", rep.Updated)
	list("removed", rep.Removed)
	if len(opened.Skipped) > 0 {
		fmt.Fprintln(a.out, "Skipped files:")
		tw := tabwriter.NewWriter(a.out, 2, 4, 2, ' ', 0)
		for _, p := range opened.Skipped {
			fmt.Fprintf(tw, "  %s\t%s\n", problemPlace(p), a.errorLine(p.Err))
		}
		tw.Flush()
	}
	return nil
}

// watchIndex is index --watch: it re-indexes the corpus directory each
// time it changes, printing what changed, and syncs the feeds every
// VERBATIM_FEEDS_INTERVAL, until ctx ends.
func (a *app) watchIndex(ctx context.Context, src source, ix *retrieval.Index, asJSON bool) error {
	w, err := a.newWatcher(src)
	if err != nil {
		return err
	}
	r := retrieval.NewRefresher(ix, a.refreshOptions(src, ix))
	lib, err := a.library(src, ix, r)
	if err != nil {
		return err
	}
	f := freshness{
		refresh: r, watcher: w, feeds: a.feeds(lib), interval: a.cfg.FeedsInterval,
		refreshed: func(rep retrieval.CorpusReport, err error) {
			if err != nil {
				fmt.Fprintf(a.err, "verbatim index: re-index failed (still watching): %s\n", a.errorLine(err))
				return
			}
			if rep.Sync.Changed() || len(rep.Unreported) > 0 {
				_ = a.printIndexed(ix, rep, false, asJSON)
			}
		},
		synced: func(syncs []web.FeedSync, err error) {
			added := 0
			for _, s := range syncs {
				added += len(s.Added)
				if !asJSON && (s.Err != nil || len(s.Added) > 0 || len(s.Failed) > 0) {
					a.describeSync(s)
				}
			}
			if added > 0 && err == nil && !asJSON {
				info := ix.Info() // the Refresher reloaded it
				fmt.Fprintf(a.out, "Indexed %s (%s) in %s\n", plural(info.Articles, "article"), plural(info.Passages, "passage"), info.Dir)
			}
			if err != nil {
				fmt.Fprintf(a.err, "verbatim index: feed sync failed: %s\n", a.errorLine(err))
			}
		},
	}
	fmt.Fprintf(a.err, "verbatim: watching %s (%d directories) for changes; feeds synced every %s; interrupt to stop\n",
		src.corpus, w.Dirs(), feedsEvery(a.cfg.FeedsInterval))
	f.run(ctx)
	return nil
}

// describeEmbedder reports on stderr the embedding model, its dimensions
// and, for a remote one, where it is and the batches it was sent.
func (a *app) describeEmbedder(info retrieval.EmbedderInfo) {
	line := fmt.Sprintf("embeddings: %s model %s, %d dims", info.Name, info.Model, info.Dims)
	if a.cfg.EmbedModel != "local" {
		base := a.cfg.EmbedBaseURL
		if base == "" {
			base = openaicompat.DefaultBaseURL
		}
		line += " at " + base
	}
	if b, ok := a.emb.(interface {
		BatchSize() int
		BatchStats() (largest, splits int)
	}); ok {
		largest, splits := b.BatchStats()
		texts := "texts"
		if largest == 1 {
			texts = "text"
		}
		switch {
		case largest == 0:
			line += fmt.Sprintf(", batch size %d (nothing embedded this run)", b.BatchSize())
		case splits > 0:
			line += fmt.Sprintf(", batches of up to %d %s (batch size %d; %d split to fit the server's input limit)", largest, texts, b.BatchSize(), splits)
		default:
			line += fmt.Sprintf(", batches of up to %d %s (batch size %d)", largest, texts, b.BatchSize())
		}
	}
	fmt.Fprintln(a.err, line)
}

// progressBar returns a progress callback that draws a bar on stderr when
// stderr is a terminal, else nil (no output).
func (a *app) progressBar() func(done, total int) {
	if !isTerminal(a.err) {
		return nil
	}
	var bar *progressbar.ProgressBar
	return func(done, total int) {
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(a.err),
				progressbar.OptionSetDescription("indexing articles"), progressbar.OptionShowCount(),
				progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100_000_000))
		}
		_ = bar.Set(done) // drawing errors are cosmetic
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func cmdSources(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("sources", "[flags]", "List the indexed articles with their paragraph counts.")
	src := a.sourceFlags(fs)
	asJSON := fs.Bool("json", false, "print the list as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("sources takes no arguments")
	}
	ix, _, err := a.openIndex(ctx, *src, openOptions{})
	if err != nil {
		return err
	}
	arts := ix.Articles()
	if *asJSON {
		type entry struct {
			ID         string `json:"id"`
			Title      string `json:"title"`
			URL        string `json:"url,omitempty"`
			Paragraphs int    `json:"paragraphs"`
		}
		out := make([]entry, 0, len(arts))
		for _, art := range arts {
			out = append(out, entry{ID: art.ID, Title: art.Title, URL: art.URL, Paragraphs: len(art.Paragraphs)})
		}
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(a.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ARTICLE\tPARAGRAPHS\tTITLE")
	total := 0
	for _, art := range arts {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", displayName(art.ID), len(art.Paragraphs), shown(art.Title, maxTitleRunes))
		total += len(art.Paragraphs)
	}
	tw.Flush()
	fmt.Fprintf(a.out, "%s, %s\n", plural(len(arts), "article"), plural(total, "paragraph"))
	return nil
}
