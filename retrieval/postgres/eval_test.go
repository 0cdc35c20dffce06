package postgres_test

import (
	"errors"
	"math"
	"testing"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/eval"
	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/postgres/pgtest"
)

// TestEvalSetsSameWithEitherStore: every visible eval set (the bundled
// ones always; the public ones from ../shared/eval when it is there) gives
// the same retrieval and extractive-answer hit@1, within 0.005, indexed in
// PostgreSQL as in the index directory — by the index that wrote the
// database and by a reader with its text on demand (as `verbatim ask`
// and `verbatim discord` open it).
func TestEvalSetsSameWithEitherStore(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes every eval set twice")
	}
	pgtest.URL(t) // skips or fails now, before any work, without a database
	folds, err := eval.VisibleFolds(t.Context(), "../../testdata", "../../../shared/eval")
	if errors.Is(err, eval.ErrNoShared) {
		t.Logf("only the bundled sets are compared: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	emb := retrieval.NewLocalEmbedder()
	for _, f := range folds {
		t.Run(f.Name, func(t *testing.T) {
			s := f.InCorpus
			dir, err := eval.OpenIndex(t.Context(), s, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer dir.Close()
			url := pgtest.URL(t)
			store := open(t, url)
			pg, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: store})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pg.Sync(t.Context(), s.Articles, nil); err != nil {
				t.Fatal(err)
			}
			reader, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: open(t, url), TextOnDemand: true})
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			has := func(id string) bool { _, ok := dir.Article(id); return ok }
			for _, mode := range []string{"retrieval", "extractive"} {
				report := func(ix *retrieval.Index) eval.Report {
					var recs []eval.Record
					var err error
					if mode == "retrieval" {
						recs, err = eval.Retrieval(t.Context(), ix, s.Items, eval.RunOptions{Has: has})
					} else {
						recs, err = eval.Answers(t.Context(), bot.NewEngine(ix, bot.EngineOptions{}), s.Items, eval.RunOptions{Has: has})
					}
					if err != nil {
						t.Fatal(err)
					}
					return eval.Summarize(mode, recs, mode != "retrieval", false)
				}
				a, b, c := report(dir), report(pg), report(reader)
				t.Logf("%s %s hit@1: directory %.3f, postgres %.3f, postgres text on demand %.3f (%d answerable)", f.Name, mode, a.HitAt1, b.HitAt1, c.HitAt1, a.Answerable)
				if math.Abs(a.HitAt1-b.HitAt1) > 0.005 || math.Abs(a.HitAt1-c.HitAt1) > 0.005 {
					t.Errorf("%s %s hit@1: directory %.3f, postgres %.3f, postgres text on demand %.3f", f.Name, mode, a.HitAt1, b.HitAt1, c.HitAt1)
				}
			}
		})
	}
}
