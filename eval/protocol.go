package eval

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/retrieval"
)

// VectorWeights is the grid the fusion weight is fitted on.
var VectorWeights = []float64{0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5}

// FoldReport is what leave-one-set-out measured on one held-out fold, with
// what was fitted on the others.
type FoldReport struct {
	Fold string `json:"fold"`
	// FittedOn are the folds the weight and models were fitted on.
	FittedOn     []string    `json:"fitted_on"`
	VectorWeight float64     `json:"vector_weight"`
	Models       *bot.Models `json:"-"`
	// BM25 and Retrieval rank passages of the in-corpus set: BM25 alone,
	// and hybrid with the fitted weight.
	BM25      Report `json:"bm25"`
	Retrieval Report `json:"retrieval"`
	// Answers are the extractive answers over the in-corpus set; Split
	// over its off-corpus split; Small over the split of its small corpus.
	Answers Report `json:"answers"`
	Split   Report `json:"split"`
	Small   Report `json:"small"`
	// Lexical are Answers, Split and Small again with the refusal model
	// fitted without the vector signal: what an index built by another
	// embedder than the local one answers with (bot.Models.For).
	Lexical *FoldReport `json:"lexical,omitempty"`
}

// weighted is an index searched with another vector weight.
type weighted struct {
	*retrieval.Index
	w float64
}

func (x weighted) Search(ctx context.Context, q string, k int) ([]retrieval.Hit, error) {
	return x.SearchWeighted(ctx, q, k, x.w)
}

// prepared is a fold's indexes and what does not depend on the fit.
type prepared struct {
	fold      Fold
	in, split *retrieval.Index
	small     []*retrieval.Index // one per fold.Small
	// hit1[w] is hybrid retrieval hit@1 on the in-corpus set at weight w.
	hit1 map[float64]float64
	bm25 Report
	// examples[w] is the evidence of the in-corpus and split items at w.
	// (Fitting on the small splits' too was tried: leave-one-set-out
	// read no better.)
	examples map[float64][]example
}

// Protocol runs leave-one-set-out over folds: it builds each fold's
// indexes under dir, then for every fold fits the vector weight and the
// models on the others and measures the fold with them.
type Protocol struct {
	Folds []Fold
	Dir   string
	// Progress, if set, is told what is being done.
	Progress func(msg string)

	prep []*prepared
}

func (p *Protocol) progress(format string, args ...any) {
	if p.Progress != nil {
		p.Progress(fmt.Sprintf(format, args...))
	}
}

func (p *Protocol) prepare(ctx context.Context) error {
	if p.prep != nil {
		return nil
	}
	for i, f := range p.Folds {
		p.progress("indexing %s", f.Name)
		pr := &prepared{fold: f, hit1: map[float64]float64{}, examples: map[float64][]example{}}
		var err error
		if pr.in, err = OpenIndex(ctx, f.InCorpus, filepath.Join(p.Dir, fmt.Sprintf("%d-in", i))); err != nil {
			return err
		}
		if len(f.Split.Items) > 0 {
			if pr.split, err = OpenIndex(ctx, f.Split, filepath.Join(p.Dir, fmt.Sprintf("%d-split", i))); err != nil {
				return err
			}
		}
		for j, sm := range f.Small {
			ix, err := OpenIndex(ctx, sm, filepath.Join(p.Dir, fmt.Sprintf("%d-small-%d", i, j)))
			if err != nil {
				return err
			}
			pr.small = append(pr.small, ix)
		}
		lex, err := Retrieval(ctx, lexicalOnly{pr.in}, f.InCorpus.Items, RunOptions{})
		if err != nil {
			return err
		}
		pr.bm25 = Summarize("bm25", lex, false, false)
		for _, w := range VectorWeights {
			recs, err := Retrieval(ctx, weighted{pr.in, w}, f.InCorpus.Items, RunOptions{})
			if err != nil {
				return err
			}
			pr.hit1[w] = Summarize("", recs, false, false).HitAt1
		}
		p.prep = append(p.prep, pr)
	}
	return nil
}

type lexicalOnly struct{ *retrieval.Index }

func (x lexicalOnly) Search(ctx context.Context, q string, k int) ([]retrieval.Hit, error) {
	return x.SearchOnly(ctx, q, k, retrieval.SignalLexical)
}

// examplesAt is the evidence of the fold's items (in-corpus, then split)
// retrieved at weight w, gathered once.
func (p *Protocol) examplesAt(ctx context.Context, pr *prepared, w float64) ([]example, error) {
	if ex, ok := pr.examples[w]; ok {
		return ex, nil
	}
	p.progress("gathering evidence for %s at vector weight %.2f", pr.fold.Name, w)
	ex, err := collect(ctx, pr.in, pr.fold.Name, pr.fold.InCorpus, w)
	if err != nil {
		return nil, err
	}
	if pr.split != nil {
		sx, err := collect(ctx, pr.split, pr.fold.Name, pr.fold.Split, w)
		if err != nil {
			return nil, err
		}
		ex = append(ex, sx...)
	}
	pr.examples[w] = ex
	return ex, nil
}

// fitWeight picks the vector weight with the best mean hybrid hit@1 over
// train among those that keep every one of them at or above BM25 alone
// (the best mean overall if none does); ties go to the smaller weight.
func fitWeight(train []*prepared) float64 {
	best, bestMean, bestOK := 0.0, -1.0, false
	for _, w := range VectorWeights {
		var mean float64
		ok := true
		for _, pr := range train {
			mean += pr.hit1[w]
			if pr.hit1[w] < pr.bm25.HitAt1 {
				ok = false
			}
		}
		mean /= float64(len(train))
		if (ok && !bestOK) || (ok == bestOK && mean > bestMean+1e-12) {
			best, bestMean, bestOK = w, mean, ok
		}
	}
	return best
}

// fit fits the weight and models on train. Items a training fold borrowed
// from held (the distractors of the bundled sets' splits) are left out, so
// no question of the held-out set is fitted on.
func (p *Protocol) fit(ctx context.Context, train []*prepared, held string) (float64, *bot.Models, error) {
	w := fitWeight(train)
	var exs []example
	var names []string
	for _, pr := range train {
		ex, err := p.examplesAt(ctx, pr, w)
		if err != nil {
			return 0, nil, err
		}
		for _, e := range ex {
			if held == "" || e.item.From != held {
				exs = append(exs, e)
			}
		}
		names = append(names, pr.fold.Name)
	}
	m, err := fitModels(exs, names)
	return w, m, err
}

// Fit fits the weight and models on every fold: what is committed.
func (p *Protocol) Fit(ctx context.Context) (float64, *bot.Models, error) {
	if err := p.prepare(ctx); err != nil {
		return 0, nil, err
	}
	return p.fit(ctx, p.prep, "")
}

// LeaveOneSetOut measures every fold with the weight and models fitted on
// the others.
func (p *Protocol) LeaveOneSetOut(ctx context.Context) ([]FoldReport, error) {
	if err := p.prepare(ctx); err != nil {
		return nil, err
	}
	var out []FoldReport
	for i, held := range p.prep {
		train := slices.Concat(p.prep[:i], p.prep[i+1:])
		w, m, err := p.fit(ctx, train, held.fold.Name)
		if err != nil {
			return nil, fmt.Errorf("fit without %s: %w", held.fold.Name, err)
		}
		p.progress("measuring %s", held.fold.Name)
		r, err := measure(ctx, held, w, m)
		if err != nil {
			return nil, err
		}
		lex, err := measure(ctx, held, w, m.For(retrieval.EmbedderInfo{Name: "other"}))
		if err != nil {
			return nil, err
		}
		r.Lexical = &lex
		r.BM25 = held.bm25
		for _, pr := range train {
			r.FittedOn = append(r.FittedOn, pr.fold.Name)
		}
		out = append(out, r)
	}
	return out, nil
}

// measure runs a fold through the engine with weight w and models m: the
// retrieval of its in-corpus set, and the extractive answers over it, its
// split and its small split (where it has them).
func measure(ctx context.Context, pr *prepared, w float64, m *bot.Models) (r FoldReport, err error) {
	f := pr.fold
	r = FoldReport{Fold: f.Name, VectorWeight: w, Models: m}
	// The per-question records stay out of the report: it is a summary.
	defer func() { r.Retrieval.Records, r.Answers.Records, r.Split.Records, r.Small.Records = nil, nil, nil, nil }()
	recs, err := Retrieval(ctx, weighted{pr.in, w}, f.InCorpus.Items, RunOptions{})
	if err != nil {
		return r, err
	}
	r.Retrieval = Summarize("retrieval", recs, false, false)
	records := func(ix *retrieval.Index, s Set) ([]Record, error) {
		eng := bot.NewEngine(weighted{ix, w}, bot.EngineOptions{Models: m})
		return Answers(ctx, eng, s.Items, RunOptions{Has: s.Has})
	}
	answer := func(ix *retrieval.Index, s Set) (Report, error) {
		recs, err := records(ix, s)
		if err != nil {
			return Report{}, err
		}
		rep := Summarize("extractive", recs, true, false)
		rep.Set = s.Name
		return rep, nil
	}
	if r.Answers, err = answer(pr.in, f.InCorpus); err != nil {
		return r, err
	}
	if pr.split != nil {
		if r.Split, err = answer(pr.split, f.Split); err != nil {
			return r, err
		}
	}
	// The small corpora are measured together: one report over all their
	// questions.
	var small []Record
	for j, ix := range pr.small {
		recs, err := records(ix, f.Small[j])
		if err != nil {
			return r, err
		}
		small = append(small, recs...)
	}
	if len(small) > 0 {
		r.Small = Summarize("extractive", small, true, false)
		r.Small.Set = fmt.Sprintf("%s/%d×%d", f.Name, smallArticles, len(pr.small))
	}
	return r, nil
}
