package eval

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints reports as an aligned table, one row per report, after
// a line naming what was measured.
func WriteTable(w io.Writer, title string, reports []Report) {
	if len(reports) == 0 {
		return
	}
	r0 := reports[0]
	fmt.Fprintf(w, "%s: %d questions (%d answerable, %d unanswerable, %d off-corpus)\n",
		title, r0.Questions, r0.Answerable, r0.Unanswerable, r0.OffCorpus)
	if r0.GoldMissing > 0 {
		fmt.Fprintf(w, "warning: %d answerable questions name a gold article that is not in the corpus; they count as misses\n", r0.GoldMissing)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\thit@1\thit@5\tMRR@10\tans-in-quote@1\trefusal P\trefusal R\tanswerable refused\toff-corpus refused\tfallbacks\terrors\ttimeouts\tp50 ms\tp95 ms\tdropped/ans\trepaired/ans\t")
	const dash = "–"
	for _, r := range reports {
		aq, rp, rr, ra, oc, dr, rep := dash, dash, dash, dash, dash, dash, dash
		if r.Answers {
			aq = f3(r.AnswerInQuote1)
			ra = fmt.Sprintf("%d (%.1f%%)", r.RefusedAnswerable, 100*r.RefusedAnswerableRate)
			dr = fmt.Sprintf("%.2f", r.DroppedPer)
			rep = fmt.Sprintf("%.2f", r.RepairedPer)
			if r.Unanswerable+r.OffCorpus > 0 {
				rp, rr = f3(r.RefusalPrecision), f3(r.RefusalRecall)
			}
			if r.OffCorpus > 0 {
				oc = f3(r.OffCorpusRefused)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%.1f\t%.1f\t%s\t%s\t\n",
			r.Mode, f3(r.HitAt1), f3(r.HitAt5), f3(r.MRRAt10), aq, rp, rr, ra, oc,
			r.Fallbacks, r.Errors, r.Timeouts, r.LatencyP50ms, r.LatencyP95ms, dr, rep)
	}
	tw.Flush()
}

func f3(x float64) string { return fmt.Sprintf("%.3f", x) }
