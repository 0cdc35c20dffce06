package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/verbatimbot/verbatim/bot"
)

// TestThresholdOutOfFold fits the refusal model on three synthetic sets
// whose support has one weak real signal among noise, and measures the
// share of a fourth set's answerable questions (drawn the same way) its
// threshold refuses. Set on out-of-fold support, the threshold refuses
// about the MaxRefusedAnswerable it promises; set on the trees' support for
// their own training questions — which they read as better supported than
// new ones — it refuses more.
func TestThresholdOutOfFold(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	n := len(bot.RefusalFeatureNames)
	draw := func(fold string, count int) []example {
		var out []example
		for i := range count {
			x := make([]float64, n)
			for j := range x {
				x[j] = rng.Float64()
			}
			kind := OffCorpus
			if i%2 == 0 {
				kind = Answerable
				x[2] = min(1, x[2]+0.4*rng.Float64()) // the signal: bm25
			}
			out = append(out, example{fold: fold, item: Item{ID: fmt.Sprint(fold, i), Kind: kind},
				ev: bot.Evidence{Candidates: []bot.Candidate{{}}, Features: x}})
		}
		return out
	}
	folds := []string{"a", "b", "c"}
	var train []example
	for _, f := range folds {
		train = append(train, draw(f, 400)...)
	}
	fresh := draw("new", 4000)
	mono := make([]int, n)
	m, err := fitRefusal(train, folds, mono, false)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(th float64) float64 {
		ps := answerableSupport(fresh, &m)
		return float64(len(slices.DeleteFunc(ps, func(p float64) bool { return p >= th }))) / float64(len(answerableSupport(fresh, &m)))
	}
	inSample := threshold(map[string][]float64{"": answerableSupport(train, &m)}, []string{""})
	oof, in := refused(m.Threshold), refused(inSample)
	t.Logf("fresh answerable questions refused: out-of-fold threshold %.4f → %.1f %%, in-sample threshold %.4f → %.1f %% (target %.0f %%)",
		m.Threshold, 100*oof, inSample, 100*in, 100*MaxRefusedAnswerable)
	if math.Abs(oof-MaxRefusedAnswerable) >= math.Abs(in-MaxRefusedAnswerable) {
		t.Errorf("the out-of-fold threshold refuses %.1f %% of new answerable questions, no nearer the %.0f %% target than the in-sample one (%.1f %%)", 100*oof, 100*MaxRefusedAnswerable, 100*in)
	}
	if oof > 2*MaxRefusedAnswerable {
		t.Errorf("the out-of-fold threshold refuses %.1f %% of new answerable questions, over twice the %.0f %% target", 100*oof, 100*MaxRefusedAnswerable)
	}
}
