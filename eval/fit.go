package eval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/retrieval"
)

// TopK is how many passages the engine retrieves by default, and so the
// evidence fits are made from.
const TopK = 8

// MaxRefusedAnswerable is the share of answerable questions the fitted
// refusal threshold may refuse, on average over the sets it is fitted on,
// each scored out of fold (see fitRefusal). Leave-one-set-out measured
// 3, 4 and 5 % refusing 2.8, 3.2 and 6.4 % of the held-out sets'
// answerable questions on average.
const MaxRefusedAnswerable = 0.04

// refuseUnanswerable names the sets whose unanswerable questions are about
// what the corpus does not cover (so a refusal model should learn from
// them). The public sets' unanswerable questions were written against the
// very paragraph they ask about — the topic is covered, the answer
// sentence is not — which word evidence cannot tell apart; they are
// measured, never fitted on.
var refuseUnanswerable = map[string]bool{"seed": true, "paraphrase": true}

// example is one question's evidence.
type example struct {
	fold string
	item Item
	ev   bot.Evidence
}

// collect gathers, for every item of s, the evidence the engine would: the
// passages retrieved with vector weight w and the candidate sentences of
// their paragraphs.
func collect(ctx context.Context, ix *retrieval.Index, fold string, s Set, w float64) ([]example, error) {
	x := bot.NewExtractive(ix, bot.ExtractiveOptions{})
	out := make([]example, 0, len(s.Items))
	for _, it := range s.Items {
		hits, err := ix.SearchWeighted(ctx, it.Question, TopK, w)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", it.ID, err)
		}
		ev, err := x.Evidence(ctx, it.Question, it.Question, hits)
		if err != nil {
			return nil, err
		}
		out = append(out, example{fold: fold, item: it, ev: ev})
	}
	return out, nil
}

// goldSentences returns which of ex's candidates are what an answer should
// quote first: sentences of the gold paragraph that hold a gold answer or
// the labelled answer sentence, or, when none does (the answer is a
// paraphrase), every sentence of the gold paragraph.
func goldSentences(ex example) []bool {
	it := ex.item
	if it.Kind != Answerable {
		return nil
	}
	inPara := make([]bool, len(ex.ev.Candidates))
	withAnswer := make([]bool, len(ex.ev.Candidates))
	anyAnswer := false
	sentence := foldForMatch(it.AnswerSentence)
	for i, c := range ex.ev.Candidates {
		if c.ArticleID != *it.Article || c.Paragraph != *it.Paragraph {
			continue
		}
		inPara[i] = true
		text := foldForMatch(c.Text)
		if ContainsAnswer(c.Text, it.Answers) || sentence != "" && (containsFold(text, sentence) || containsFold(sentence, text)) {
			withAnswer[i], anyAnswer = true, true
		}
	}
	if anyAnswer {
		return withAnswer
	}
	return inPara
}

// containsFold: a holds b, and b is long enough for that to mean it is the
// same sentence.
func containsFold(a, b string) bool { return len(b) >= 12 && strings.Contains(a, b) }

// sentenceSamples are the labelled candidates of the answerable examples.
// Each fold weighs the same in total, each question the same within its
// fold, and a question's positives and negatives half of it each, so the
// fit learns to rank within a question rather than to tell folds apart.
func sentenceSamples(exs []example) []sample {
	perFold := map[string]int{}
	golds := make([][]bool, len(exs))
	for i, ex := range exs {
		g := goldSentences(ex)
		if slices.Contains(g, true) && slices.Contains(g, false) {
			golds[i] = g
			perFold[ex.fold]++
		}
	}
	var out []sample
	for i, ex := range exs {
		g := golds[i]
		if g == nil {
			continue
		}
		npos := 0
		for _, v := range g {
			if v {
				npos++
			}
		}
		nneg := len(g) - npos
		q := 1 / float64(perFold[ex.fold])
		for j, c := range ex.ev.Candidates {
			s := sample{x: c.Features, weight: q / 2 / float64(nneg)}
			if g[j] {
				s.y, s.weight = 1, q/2/float64(npos)
			}
			out = append(out, s)
		}
	}
	return out
}

// refusalLabel is 1 for a question to answer, 0 for one to refuse, and
// ok=false for one not to fit on.
func refusalLabel(ex example) (y float64, ok bool) {
	switch ex.item.Kind {
	case Answerable:
		return 1, true
	case OffCorpus:
		return 0, true
	}
	return 0, refuseUnanswerable[ex.fold]
}

// refusalSamples weighs each fold's questions to answer and questions to
// refuse the same in total (a fold with only one kind adds only that).
func refusalSamples(exs []example) []sample {
	type key struct {
		fold string
		y    float64
	}
	n := map[key]int{}
	// Questions whose decisive term or wanted number is missing are refused
	// by rule; the model learns on the others.
	for _, ex := range exs {
		if y, ok := refusalLabel(ex); ok && !ex.ev.DecisiveMissing && !ex.ev.CueMissing {
			n[key{ex.fold, y}]++
		}
	}
	var out []sample
	for _, ex := range exs {
		if y, ok := refusalLabel(ex); ok && !ex.ev.DecisiveMissing && !ex.ev.CueMissing {
			out = append(out, sample{x: ex.ev.Features, y: y, weight: 1 / float64(n[key{ex.fold, y}])})
		}
	}
	return out
}

// fitModels fits the sentence model (a logistic regression), re-ranks every
// example with it, fits the refusal model (boosted trees) on the re-ranked
// evidence and sets its threshold so
// that on average over the folds at most MaxRefusedAnswerable of their
// answerable in-corpus questions are refused out of fold.
func fitModels(exs []example, folds []string) (*bot.Models, error) {
	sent, err := fitLogistic(bot.SentenceFeatureNames, sentenceSamples(exs))
	if err != nil {
		return nil, fmt.Errorf("sentence model: %w", err)
	}
	m := &bot.Models{Sentence: sent, Refusal: bot.DefaultModels().Refusal}
	for i := range exs {
		exs[i].ev.Rescore(m)
	}
	// The refusal model is boosted trees: the features interact (a missing
	// word weighs differently when the rest of the question is all there),
	// and leave-one-set-out measured trees refusing more off-corpus
	// questions than a logistic regression at the same share of answerable
	// ones refused on four of the five sets.
	mono := make([]int, len(bot.RefusalFeatureNames))
	for j, name := range bot.RefusalFeatureNames {
		mono[j] = refusalMonotone[name]
	}
	ref, err := fitRefusal(exs, folds, mono, false)
	if err != nil {
		return nil, fmt.Errorf("refusal model: %w", err)
	}
	m.Refusal = ref
	// The same without the vector signal, for embedders other than the
	// local one the evidence was gathered with (Models.For).
	lex, err := fitRefusal(exs, folds, mono, true)
	if err != nil {
		return nil, fmt.Errorf("lexical refusal model: %w", err)
	}
	m.Lexical = lex
	m.VectorEmbedder = retrieval.NewLocalEmbedder().Info().String()
	m.Sentence.FittedOn = folds
	m.Refusal.FittedOn = folds
	m.Lexical.FittedOn = folds
	for i := range exs {
		exs[i].ev.Rescore(m)
	}
	return m, nil
}

// fitRefusal fits the refusal model on exs (without the vector signal if
// lexical) and sets its threshold on out-of-fold support: each fold's
// answerable questions are scored by trees fitted on the other folds (and
// none of the items borrowed from it), so the threshold is set on support
// as the fitted model gives it to questions it has not seen. Trees read
// their own training questions as better supported than new ones; a
// threshold set on them refused more answerable questions of a held-out
// set than it promised.
func fitRefusal(exs []example, folds []string, mono []int, lexical bool) (bot.Model, error) {
	fit := func(exs []example) (bot.Model, error) {
		samples := refusalSamples(exs)
		if lexical {
			vec := slices.Index(bot.RefusalFeatureNames, "vector")
			for i := range samples {
				samples[i].x = slices.Clone(samples[i].x)
				samples[i].x[vec] = 0
			}
		}
		return fitBoosted(bot.RefusalFeatureNames, samples, mono)
	}
	m, err := fit(exs)
	if err != nil {
		return m, err
	}
	probs := map[string][]float64{}
	if len(folds) < 2 { // no other fold to score with: in sample
		probs[""] = answerableSupport(exs, &m)
		m.Threshold = threshold(probs, []string{""})
		return m, nil
	}
	// The folds' fits are independent: they run side by side.
	support := make([][]float64, len(folds))
	errs := make([]error, len(folds))
	var wg sync.WaitGroup
	for i, f := range folds {
		wg.Go(func() {
			var train, test []example
			for _, ex := range exs {
				switch {
				case ex.fold == f:
					test = append(test, ex)
				case ex.item.From != f:
					train = append(train, ex)
				}
			}
			inner, err := fit(train)
			if err != nil {
				errs[i] = fmt.Errorf("without %s: %w", f, err)
				return
			}
			support[i] = answerableSupport(test, &inner)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return m, err
	}
	for i, f := range folds {
		probs[f] = support[i]
	}
	m.Threshold = threshold(probs, folds)
	return m, nil
}

// answerableSupport is m's support for each answerable question of exs
// (0 for one a rule refuses).
func answerableSupport(exs []example, m *bot.Model) []float64 {
	var out []float64
	for _, ex := range exs {
		if ex.item.Kind == Answerable {
			p := 0.0
			if len(ex.ev.Candidates) > 0 && !ex.ev.DecisiveMissing && !ex.ev.CueMissing {
				p = m.Prob(ex.ev.Features)
			}
			out = append(out, p)
		}
	}
	return out
}

// threshold is the highest refusal threshold at which the mean share of
// answerable questions refused over the folds (probs[fold] their support)
// stays within MaxRefusedAnswerable.
func threshold(probs map[string][]float64, folds []string) float64 {
	var cands []float64
	for _, ps := range probs {
		sort.Float64s(ps)
		cands = append(cands, ps...)
	}
	sort.Float64s(cands)
	best := 1e-6
	for _, t := range cands {
		var rate float64
		n := 0
		for _, f := range folds {
			ps := probs[f]
			if len(ps) == 0 {
				continue
			}
			below := sort.SearchFloat64s(ps, t) // questions with p < t
			rate += float64(below) / float64(len(ps))
			n++
		}
		if n > 0 && rate/float64(n) <= MaxRefusedAnswerable {
			best = t
		}
	}
	return min(max(best, 1e-6), 1-1e-6)
}
