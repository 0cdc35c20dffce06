package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/bot/gaps"
)

// recordGap records a refused answer as a coverage gap, warning on stderr
// when it cannot: the answer itself is not affected.
func (a *app) recordGap(ctx context.Context, door, question string, ans bot.Answer) {
	if a.gaps == nil || !ans.Refused {
		return
	}
	g := gaps.Gap{Time: time.Now(), Question: question, Door: door, Reason: gaps.Refused, Support: gaps.Score(ans.Support)}
	if err := a.gaps.Record(ctx, g); err != nil {
		fmt.Fprintf(a.err, "verbatim: warning: the refused question was not recorded: %s\n", a.errorLine(err))
	}
}

func cmdGaps(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("gaps", "[flags]", "Show the coverage gaps: questions refused for want of support in the articles, and\nanswers voted 👎 on Discord, grouped by their content terms, most asked first — what\nthe articles should cover next. Recorded beside the index unless VERBATIM_GAPS=off.")
	src := a.sourceFlags(fs)
	minCount := fs.Int("min", 2, "show questions asked at least this many times (1: all)")
	since := fs.Duration("since", 0, "only count gaps of this recent past, e.g. 720h (0: all)")
	limit := fs.Int("limit", 50, "show at most this many groups (0: all)")
	asJSON := fs.Bool("json", false, "print the groups as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("gaps takes no arguments")
	}
	if *minCount < 1 {
		return usagef("--min must be at least 1")
	}
	dir, err := a.stateDir(*src)
	if err != nil {
		return err
	}
	store := gaps.NewFile(gapsPath(dir), gaps.FileOptions{})
	list, skipped, err := store.List(ctx)
	if err != nil {
		return err
	}
	for _, bad := range skipped {
		fmt.Fprintf(a.err, "verbatim gaps: warning: %s\n", a.errorLine(bad))
	}
	if *since > 0 {
		cut := time.Now().Add(-*since)
		kept := list[:0]
		for _, g := range list {
			if g.Time.After(cut) {
				kept = append(kept, g)
			}
		}
		list = kept
	}
	all := gaps.Groups(list)
	shownGroups := gaps.Recurring(all, *minCount)
	if *limit > 0 && len(shownGroups) > *limit {
		shownGroups = shownGroups[:*limit]
	}
	if *asJSON {
		if shownGroups == nil {
			shownGroups = []gaps.Group{}
		}
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(shownGroups)
	}
	if len(list) == 0 {
		note := ""
		if !a.cfg.Gaps {
			note = " (VERBATIM_GAPS=off: none are recorded)"
		}
		fmt.Fprintf(a.out, "No coverage gaps recorded in %s%s.\n", store.Path(), note)
		return nil
	}
	if len(shownGroups) > 0 {
		tw := tabwriter.NewWriter(a.out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ASKED\tREFUSED\t👎\tLAST ASKED\tBEST SCORE\tQUESTION\tTERMS")
		for _, g := range shownGroups {
			best := "-"
			if g.BestSupport != nil {
				best = fmt.Sprintf("%.2f", *g.BestSupport)
			}
			q := shown(strings.Join(strings.Fields(g.Question), " "), 70)
			if g.Wordings > 1 {
				q += fmt.Sprintf(" (+%d wordings)", g.Wordings-1)
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\t%s\t%s\n", g.Count, g.Refused, g.Downvoted, g.Last.Local().Format("2006-01-02 15:04"),
				best, q, shown(strings.Join(g.Terms, " "), 40))
		}
		tw.Flush()
	}
	hidden := len(all) - len(gaps.Recurring(all, *minCount))
	fmt.Fprintf(a.out, "%s in %s", plural(len(list), "gap"), plural(len(all), "group"))
	if hidden > 0 {
		fmt.Fprintf(a.out, "; %d asked fewer than %d times not shown (--min 1 shows them)", hidden, *minCount)
	}
	fmt.Fprintf(a.out, " (%s)\n", store.Path())
	return nil
}
