package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/verbatimbot/verbatim/corpus/web"
)

func cmdFeeds(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("feeds", "add URL | list | remove URL | sync [flags]",
		"Follow RSS, Atom and JSON feeds: their items' pages are added to the corpus directory as\n`verbatim add` adds a page. add follows a feed and adds its items now; sync fetches every\nfeed (a 304 when unchanged) and adds the new items; `verbatim discord` and `index --watch`\nsync every VERBATIM_FEEDS_INTERVAL.")
	src := a.sourceFlags(fs)
	asJSON := fs.Bool("json", false, "list: print the feeds as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("feeds needs add URL, list, remove URL or sync")
	}
	verb, rest := pos[0], pos[1:]
	want := map[string]int{"add": 1, "remove": 1, "list": 0, "sync": 0}
	n, known := want[verb]
	switch {
	case !known:
		return usagef("unknown feeds command %q (want add, list, remove or sync)", verb)
	case len(rest) != n && n == 1:
		return usagef("feeds %s needs one feed URL", verb)
	case len(rest) != n:
		return usagef("feeds %s takes no arguments", verb)
	}
	if err := requireCorpusDir("feeds", *src); err != nil {
		return err
	}
	if verb == "add" {
		if _, err := web.ParseURL(rest[0]); err != nil {
			return usagef("%q: %v", rest[0], err)
		}
	}
	switch verb {
	case "list":
		lib, err := a.library(*src, nil, nil)
		if err != nil {
			return err
		}
		return a.listFeeds(ctx, a.feeds(lib), *asJSON)
	case "remove":
		lib, err := a.library(*src, nil, nil)
		if err != nil {
			return err
		}
		f, err := a.feeds(lib).Unfollow(ctx, rest[0])
		if errors.Is(err, web.ErrNoFeed) {
			return fmt.Errorf("%w ('verbatim feeds list' lists them)", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(a.out, "No longer following %s; its %s stay in the corpus.\n", shown(f.URL, 0), plural(f.Articles, "article"))
		return nil
	}
	ix, _, err := a.openIndex(ctx, *src, openOptions{write: true, progress: a.progressBar()})
	if err != nil {
		return err
	}
	lib, err := a.library(*src, ix, nil)
	if err != nil {
		return err
	}
	feeds := a.feeds(lib)
	var syncs []web.FeedSync
	if verb == "add" {
		res, err := feeds.Follow(ctx, rest[0], "", nil)
		if errors.Is(err, web.ErrFeedExists) {
			return fmt.Errorf("%s: %w", shown(rest[0], 0), err)
		}
		if err != nil {
			return fmt.Errorf("not following %s: %s", shown(rest[0], 0), a.fetchError(err))
		}
		syncs = []web.FeedSync{res}
	} else if syncs, err = feeds.Sync(ctx, nil); err != nil {
		return err
	}
	written, failed := 0, 0
	for _, s := range syncs {
		a.describeSync(s)
		written += len(s.Added)
		if s.Err != nil {
			failed++
		}
	}
	if verb == "sync" && len(syncs) == 0 {
		fmt.Fprintln(a.out, "No feeds are followed ('verbatim feeds add URL' follows one).")
	}
	if written > 0 {
		if err := a.indexAdded(ctx, *src, true); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %s could not be read", failed, plural(len(syncs), "feed"))
	}
	return nil
}

// describeSync prints what one sync of one feed did.
func (a *app) describeSync(s web.FeedSync) {
	name := s.URL
	if s.Title != "" {
		name = fmt.Sprintf("%q (%s)", shown(s.Title, maxTitleRunes), shown(s.URL, 0))
	}
	switch {
	case s.Err != nil:
		fmt.Fprintf(a.out, "%s: failed: %s\n", name, a.fetchError(s.Err))
		return
	case s.NotModified:
		fmt.Fprintf(a.out, "%s: not modified since the last sync\n", name)
		return
	}
	fmt.Fprintf(a.out, "%s: %s, %d new: %d added, %d already in the corpus, %d failed",
		name, plural(s.Items, "item"), s.New, len(s.Added), len(s.Kept), len(s.Failed))
	if s.Deferred > 0 {
		fmt.Fprintf(a.out, ", %d left for the next sync", s.Deferred)
	}
	fmt.Fprintln(a.out)
	for _, res := range s.Added {
		fmt.Fprintf(a.out, "  %-10s %s\n", res.Status, describeAdded(res))
	}
	for _, f := range s.Failed {
		again := "will be tried again"
		if f.GivenUp {
			again = "given up"
		}
		fmt.Fprintf(a.out, "  failed     %s: %s (%s)\n", shown(f.Link, 0), a.fetchError(f.Err), again)
	}
}

func (a *app) listFeeds(ctx context.Context, feeds *web.Feeds, asJSON bool) error {
	list, err := feeds.List(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		if list == nil {
			list = []web.Feed{}
		}
		for i := range list {
			list[i].Seen, list[i].Failures = nil, nil // state, not for scripts
		}
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(a.out, "No feeds are followed ('verbatim feeds add URL' follows one).")
		return nil
	}
	tw := tabwriter.NewWriter(a.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEED\tARTICLES\tCHECKED\tTITLE")
	for _, f := range list {
		checked := "never"
		if !f.Checked.IsZero() {
			checked = f.Checked.Local().Format("2006-01-02 15:04")
		}
		if f.Error != "" {
			checked += " (failed: " + shown(strings.TrimSpace(a.errorLine(f.Error)), 60) + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", shown(f.URL, 0), f.Articles, checked, shown(f.Title, maxTitleRunes))
	}
	tw.Flush()
	fmt.Fprintf(a.out, "%s; synced every %s by `verbatim discord` and `index --watch`\n", plural(len(list), "feed"), feedsEvery(a.cfg.FeedsInterval))
	return nil
}

func feedsEvery(d time.Duration) string {
	if d <= 0 {
		return "never (VERBATIM_FEEDS_INTERVAL=0)"
	}
	return d.String()
}
