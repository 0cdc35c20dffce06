package eval

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteFoldTable prints the leave-one-set-out table: per held-out fold,
// retrieval hit@1/hit@5 (BM25 alone and hybrid), answer hit@1,
// answer-in-quote@1, refusal precision/recall, answerable questions
// refused, and the off-corpus split's refusals.
func WriteFoldTable(w io.Writer, reports []FoldReport) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "held-out set\tBM25 hit@1/@5\tretrieval hit@1/@5\tanswer hit@1\tans-in-quote@1\trefusal P/R\tanswerable refused\tsplit: answer hit@1\tsplit: answerable refused\tsplit: off-corpus refused\tsmall: answerable refused\tsmall: off-corpus refused\tvector w\t")
	for _, r := range reports {
		a, s := r.Answers, r.Split
		pr := "–"
		if a.Unanswerable+a.OffCorpus > 0 {
			pr = fmt.Sprintf("%.3f/%.3f", a.RefusalPrecision, a.RefusalRecall)
		}
		sh, sr, so := "–", "–", "–"
		if s.Questions > 0 {
			sh = fmt.Sprintf("%.3f", s.HitAt1)
			sr = refused(s)
			so = fmt.Sprintf("%.3f (%d)", s.OffCorpusRefused, s.OffCorpus)
		}
		mr, mo := "–", "–"
		if r.Small.Questions > 0 {
			mr = refused(r.Small)
			mo = fmt.Sprintf("%.3f (%d)", r.Small.OffCorpusRefused, r.Small.OffCorpus)
		}
		fmt.Fprintf(tw, "%s\t%.3f/%.3f\t%.3f/%.3f\t%.3f\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t\n",
			r.Fold, r.BM25.HitAt1, r.BM25.HitAt5, r.Retrieval.HitAt1, r.Retrieval.HitAt5,
			a.HitAt1, a.AnswerInQuote1, pr, refused(a), sh, sr, so, mr, mo, r.VectorWeight)
	}
	tw.Flush()
	if len(reports) == 0 || reports[0].Lexical == nil {
		return
	}
	fmt.Fprintln(w, "\nWith the refusal model fitted without the vector signal (what an index of another embedder answers with):")
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "held-out set\tanswer hit@1\tanswerable refused\tsplit: answerable refused\tsplit: off-corpus refused\tsmall: answerable refused\tsmall: off-corpus refused\t")
	for _, r := range reports {
		l := r.Lexical
		sr, so, mr, mo := "–", "–", "–", "–"
		if l.Split.Questions > 0 {
			sr, so = refused(l.Split), fmt.Sprintf("%.3f (%d)", l.Split.OffCorpusRefused, l.Split.OffCorpus)
		}
		if l.Small.Questions > 0 {
			mr, mo = refused(l.Small), fmt.Sprintf("%.3f (%d)", l.Small.OffCorpusRefused, l.Small.OffCorpus)
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%s\t%s\t%s\t%s\t%s\t\n", r.Fold, l.Answers.HitAt1, refused(l.Answers), sr, so, mr, mo)
	}
	tw.Flush()
}

func refused(r Report) string {
	return fmt.Sprintf("%.1f%% (%d/%d)", 100*r.RefusedAnswerableRate, r.RefusedAnswerable, r.Answerable)
}
