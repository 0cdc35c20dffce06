package eval

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/verbatimbot/verbatim/retrieval"
)

type searcherFunc func(ctx context.Context, q string, k int) ([]retrieval.Hit, error)

func (f searcherFunc) Search(ctx context.Context, q string, k int) ([]retrieval.Hit, error) {
	return f(ctx, q, k)
}

func only(s retrieval.Signal) func(ix *retrieval.Index) Searcher {
	return func(ix *retrieval.Index) Searcher {
		return searcherFunc(func(ctx context.Context, q string, k int) ([]retrieval.Hit, error) {
			return ix.SearchOnly(ctx, q, k, s)
		})
	}
}

func weightedBy(w float64) func(ix *retrieval.Index) Searcher {
	return func(ix *retrieval.Index) Searcher {
		return searcherFunc(func(ctx context.Context, q string, k int) ([]retrieval.Hit, error) {
			return ix.SearchWeighted(ctx, q, k, w)
		})
	}
}

// TestRetrievalNeverBelowBM25 holds issue 8's floor: on every visible set,
// hybrid retrieval ranks the gold paragraph first at least as often as
// BM25 alone. -v prints the per-signal table.
func TestRetrievalNeverBelowBM25(t *testing.T) {
	for _, f := range folds(t) {
		ix := index(t, f.InCorpus)
		score := func(s Searcher) Report {
			recs, err := Retrieval(t.Context(), s, f.InCorpus.Items, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return Summarize("", recs, false, false)
		}
		lex := score(only(retrieval.SignalLexical)(ix))
		vec := score(only(retrieval.SignalVector)(ix))
		hyb := score(ix)
		t.Logf("%-17s hit@1/hit@5: BM25 %.3f/%.3f  vector %.3f/%.3f  hybrid %.3f/%.3f  (%d answerable)",
			f.Name, lex.HitAt1, lex.HitAt5, vec.HitAt1, vec.HitAt5, hyb.HitAt1, hyb.HitAt5, hyb.Answerable)
		if hyb.HitAt1 < lex.HitAt1 {
			t.Errorf("%s: hybrid hit@1 %.3f < BM25 alone %.3f", f.Name, hyb.HitAt1, lex.HitAt1)
		}
	}
}

// TestVectorWeightSweep prints hit@1 per set for a range of vector weights
// (the fit behind retrieval.DefaultVectorWeight); it only runs with
// VERBATIM_EVAL_SWEEP=1 since it asserts nothing.
func TestVectorWeightSweep(t *testing.T) {
	if os.Getenv("VERBATIM_EVAL_SWEEP") == "" {
		t.Skip("set VERBATIM_EVAL_SWEEP=1 to print the vector-weight sweep")
	}
	weights := []float64{0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5}
	for _, f := range folds(t) {
		ix := index(t, f.InCorpus)
		line := fmt.Sprintf("%-17s", f.Name)
		for _, w := range weights {
			recs, err := Retrieval(t.Context(), weightedBy(w)(ix), f.InCorpus.Items, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := Summarize("", recs, false, false)
			line += fmt.Sprintf("  w=%.2f %.3f/%.3f", w, r.HitAt1, r.HitAt5)
		}
		t.Log(line)
	}
}
