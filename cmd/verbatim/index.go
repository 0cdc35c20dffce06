package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

func cmdIndex(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("index", "[flags]", "Build or update the index of a corpus: new and changed articles are embedded,\nremoved ones deleted, unchanged ones reused.")
	src := a.sourceFlags(fs)
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	full := fs.Bool("full", false, "re-read and parse every corpus file, even those the index knows to be unchanged")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("index takes no arguments (use --corpus DIR)")
	}
	var progress func(done, total int)
	if !*asJSON {
		progress = a.progressBar()
	}
	ix, opened, err := a.openIndex(ctx, *src, openOptions{progress: progress, write: true, quiet: true, full: *full})
	if err != nil {
		return err
	}
	rep := opened.Sync
	info := ix.Info()
	if *asJSON {
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
	fmt.Fprintf(a.out, "Indexed %d articles (%d passages) in %s\n", info.Articles, info.Passages, info.Dir)
	fmt.Fprintf(a.out, "  added %d, updated %d, removed %d, unchanged %d, skipped %d\n",
		len(rep.Added), len(rep.Updated), len(rep.Removed), len(rep.Unchanged), len(opened.Skipped))
	fmt.Fprintf(a.out, "  files: %d parsed, %d unchanged (%d of them checked by content)\n",
		opened.Parsed, opened.Reused+opened.Verified, opened.Verified)
	// Name the changed articles when there are few enough to read.
	list := func(label string, ids []string) {
		if len(ids) == 0 || len(ids) > 10 {
			return
		}
		fmt.Fprintf(a.out, "  %s: %s\n", label, strings.Join(ids, ", "))
	}
	list("added", rep.Added)
	list("updated", rep.Updated)
	list("removed", rep.Removed)
	if len(opened.Skipped) > 0 {
		fmt.Fprintln(a.out, "Skipped files:")
		tw := tabwriter.NewWriter(a.out, 2, 4, 2, ' ', 0)
		for _, p := range opened.Skipped {
			where := p.Path
			if p.Line > 0 {
				where = fmt.Sprintf("%s:%d", p.Path, p.Line)
			}
			fmt.Fprintf(tw, "  %s\t%s\n", where, p.Err)
		}
		tw.Flush()
	}
	return nil
}

// progressBar returns a progress callback that draws a bar on stderr when
// stderr is a terminal, else nil (no output).
func (a *app) progressBar() func(done, total int) {
	f, ok := a.err.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
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
		fmt.Fprintf(tw, "%s\t%d\t%s\n", art.ID, len(art.Paragraphs), art.Title)
		total += len(art.Paragraphs)
	}
	tw.Flush()
	fmt.Fprintf(a.out, "%d articles, %d paragraphs\n", len(arts), total)
	return nil
}
