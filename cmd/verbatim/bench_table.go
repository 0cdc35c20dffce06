package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// printBenchTable prints the results as one Markdown table, one column per
// corpus size (and store, with --store postgres).
func printBenchTable(w io.Writer, m machine, rs []benchResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	row := func(name string, cell func(r benchResult) string) {
		fmt.Fprintf(tw, "| %s\t", name)
		for _, r := range rs {
			fmt.Fprintf(tw, " %s\t", cell(r))
		}
		fmt.Fprintln(tw)
	}
	someHas := func(has func(r benchResult) bool) bool { return slices.ContainsFunc(rs, has) }
	askers := 1
	for _, r := range rs {
		askers = max(askers, r.askers)
	}
	row("", func(r benchResult) string { return r.label })
	fmt.Fprintf(tw, "|---\t")
	for range rs {
		fmt.Fprintf(tw, "---:\t")
	}
	fmt.Fprintln(tw)
	row("articles / passages", func(r benchResult) string { return fmt.Sprintf("%d / %d", r.articles, r.passages) })
	row("full build (index command)", func(r benchResult) string { return dur(r.build.wall) })
	row("  articles/s · passages/s", func(r benchResult) string {
		s := r.build.wall.Seconds()
		return fmt.Sprintf("%.0f · %.0f", float64(r.articles)/s, float64(r.passages)/s)
	})
	row("incremental, 1% changed", func(r benchResult) string {
		return fmt.Sprintf("%s (%d articles)", dur(r.incremental.wall), r.changed)
	})
	row("  changed articles/s · passages/s", func(r benchResult) string {
		s := r.incremental.wall.Seconds()
		return fmt.Sprintf("%.0f · %.0f", float64(r.changed)/s, float64(r.embedded)/s)
	})
	row("retrieval p50 / p95 / p99", func(r benchResult) string { return pcts(r.Retrieval) })
	row("extractive answer p50 / p95 / p99", func(r benchResult) string { return pcts(r.Answer) })
	row("  refused", func(r benchResult) string { return fmt.Sprintf("%d of %d", r.Refused, len(r.Answer)) })
	if askers > 1 {
		row(fmt.Sprintf("retrieval p50 / p95 / p99, %d askers at once", askers), func(r benchResult) string { return pcts(r.latencyN.Retrieval) })
		row(fmt.Sprintf("extractive answer p50 / p95 / p99, %d askers at once", askers), func(r benchResult) string { return pcts(r.latencyN.Answer) })
	}
	row("cold start to first answer (median, max)", func(r benchResult) string { return medianMax(r.cold) })
	row("  every file checked by content (median, max)", func(r benchResult) string { return medianMax(r.coldVerify) })
	rss := "peak RSS: build / incremental / ask / latency run"
	if askers > 1 {
		rss += fmt.Sprintf(" (1 · %d askers)", askers)
	}
	row(rss, func(r benchResult) string {
		var ask int64
		for _, c := range r.cold {
			ask = max(ask, c.maxRSS)
		}
		serve := mib(r.serve.maxRSS)
		if askers > 1 {
			serve += " · " + mib(r.serveN.maxRSS)
		}
		return fmt.Sprintf("%s / %s / %s / %s", mib(r.build.maxRSS), mib(r.incremental.maxRSS), mib(ask), serve)
	})
	size := "index on disk"
	if someHas(func(r benchResult) bool { return r.recall != nil }) {
		size = "on disk: index directory, or the database's tables and indexes"
	}
	row(size, func(r benchResult) string { return mib(r.diskBytes) })
	row("bytes read per query: vectors + postings", func(r benchResult) string {
		if r.VectorBytes+r.LexicalBytes == 0 {
			return "–" // the database reads them, unseen
		}
		return fmt.Sprintf("%.1f + %.1f MB", r.VectorBytes/1e6, r.LexicalBytes/1e6)
	})
	row("  ÷ retrieval p50, vs 1-core bandwidth", func(r benchResult) string {
		if r.VectorBytes+r.LexicalBytes == 0 {
			return "–"
		}
		p50 := percentile(r.Retrieval, 0.5).Seconds()
		gbs := (r.VectorBytes + r.LexicalBytes) / p50
		return fmt.Sprintf("%.1f GB/s = %.0f%%", gbs/1e9, 100*gbs/m.bw1)
	})
	if someHas(func(r benchResult) bool { return r.recall != nil }) {
		row(fmt.Sprintf("vector recall@%d, HNSW vs exact (%d queries)", recallK, recallQueries), func(r benchResult) string {
			if r.recall == nil {
				return "–"
			}
			var parts []string
			for _, x := range r.recall {
				parts = append(parts, fmt.Sprintf("%.3f at ef_search %d", x.Recall, x.EfSearch))
			}
			return strings.Join(parts, ", ")
		})
	}
	tw.Flush()
}

// medianMax formats the median and the largest wall time of runs.
func medianMax(runs []childRun) string {
	if len(runs) == 0 {
		return "–"
	}
	ws := make([]time.Duration, len(runs))
	for i, c := range runs {
		ws[i] = c.wall
	}
	return fmt.Sprintf("%s, %s", dur(percentile(ws, 0.5)), dur(slices.Max(ws)))
}

// percentile is the nearest-rank percentile q (0–1] of ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func pcts(ds []time.Duration) string {
	return fmt.Sprintf("%s / %s / %s", dur(percentile(ds, 0.5)), dur(percentile(ds, 0.95)), dur(percentile(ds, 0.99)))
}

// dur formats a duration with three significant digits in ms or s.
func dur(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// short formats a size as 1k, 10k, 47k or 100k when it is a round number.
func short(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		mult := 1
		if strings.HasSuffix(f, "k") {
			f, mult = strings.TrimSuffix(f, "k"), 1000
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n*mult)
	}
	return out, nil
}
