package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/verbatimbot/verbatim/corpus/web"
)

// addedJSON is one line of `add --json`.
type addedJSON struct {
	URL         string `json:"url"`
	Status      string `json:"status"` // added, updated, unchanged, duplicate or failed
	Canonical   string `json:"canonical_url,omitempty"`
	ArticleID   string `json:"article_id,omitempty"`
	Path        string `json:"path,omitempty"`
	Title       string `json:"title,omitempty"`
	Paragraphs  int    `json:"paragraphs,omitempty"`
	DuplicateOf string `json:"duplicate_of,omitempty"`
	Error       string `json:"error,omitempty"`
}

func cmdAdd(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("add", "[flags] URL...", "Fetch web pages and add each to the corpus directory as a Markdown article (under web/),\nthen index them. A page already added is updated only when it changed; the same\ntext from another URL is not added twice.")
	src := a.sourceFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per URL")
	urls, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(urls) == 0 {
		return usagef("add needs at least one URL")
	}
	if err := requireCorpusDir("add", *src); err != nil {
		return err
	}
	for _, u := range urls {
		if _, err := web.ParseURL(u); err != nil {
			return usagef("%q: %v", u, err)
		}
	}
	ix, _, err := a.openIndex(ctx, *src, openOptions{write: true, progress: a.progressBar()})
	if err != nil {
		return err
	}
	lib, err := a.library(*src, ix, nil)
	if err != nil {
		return err
	}
	changed, failed := 0, 0
	enc := json.NewEncoder(a.out)
	for _, u := range urls {
		res, err := lib.Add(ctx, u, "", nil)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			failed++
			if *asJSON {
				_ = enc.Encode(addedJSON{URL: u, Status: "failed", Error: a.fetchError(err)})
			} else {
				fmt.Fprintf(a.out, "failed     %s: %s\n", shown(u, 0), a.fetchError(err))
			}
			continue
		}
		if res.Changed() {
			changed++
		}
		if *asJSON {
			_ = enc.Encode(addedJSON{URL: u, Status: string(res.Status), Canonical: res.URL, ArticleID: res.ArticleID, Path: res.Path,
				Title: res.Title, Paragraphs: res.Paragraphs, DuplicateOf: res.DuplicateOf})
			continue
		}
		fmt.Fprintf(a.out, "%-10s %s\n", res.Status, describeAdded(res))
	}
	if changed > 0 {
		if err := a.indexAdded(ctx, *src, !*asJSON); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %s could not be added", failed, plural(len(urls), "page"))
	}
	return nil
}

// describeAdded is what the add command (and the feeds command, per item)
// says of one page.
func describeAdded(res web.Added) string {
	title := fmt.Sprintf("%q", shown(res.Title, maxTitleRunes))
	switch res.Status {
	case web.StatusAdded, web.StatusUpdated:
		return fmt.Sprintf("%s (%s) → %s\n           %s", title, plural(res.Paragraphs, "paragraph"), res.Path, shown(res.URL, 0))
	case web.StatusUnchanged:
		return fmt.Sprintf("%s: already in the corpus as %s, added %s from %s", title, res.Path, res.At.Local().Format(time.DateOnly), origin(res.By))
	default:
		return fmt.Sprintf("%s: not added, the corpus has the same article as %s", title, shown(res.DuplicateOf, 0))
	}
}

// indexAdded indexes the articles add or feeds wrote, saying so when say.
func (a *app) indexAdded(ctx context.Context, src source, say bool) error {
	ix, opened, err := a.openIndex(ctx, src, openOptions{write: true, quiet: true})
	if err != nil {
		return fmt.Errorf("index the added pages: %w", err)
	}
	if say {
		info := ix.Info()
		fmt.Fprintf(a.out, "Indexed %s (%s): added %d, updated %d\n", plural(info.Articles, "article"), plural(info.Passages, "passage"),
			len(opened.Sync.Added), len(opened.Sync.Updated))
	}
	return nil
}

// fetchError is a failed fetch as one line, saying which setting allows an
// address the safety rules refused.
func (a *app) fetchError(err error) string {
	line := a.errorLine(err)
	if errors.Is(err, web.ErrForbiddenAddress) {
		line += " (VERBATIM_FETCH_ALLOW_PRIVATE=true allows such addresses)"
	}
	return line
}
