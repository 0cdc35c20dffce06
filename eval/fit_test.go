package eval

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/retrieval"
)

var update = flag.Bool("update", false, "refit and rewrite bot/models.json and bot/models-fit.md")

const (
	modelsFile    = "../bot/models.json"
	fitReportFile = "../bot/models-fit.md"
)

// TestFitModels fits the vector weight and both models on every visible
// set, as committed: with -update it rewrites bot/models.json and its fit
// report (which also holds the leave-one-set-out table); without, it checks
// that the committed models are what the fit gives, so a change to the
// features or the data cannot leave a stale fit in place.
//
//	go test ./eval -run TestFitModels -update
func TestFitModels(t *testing.T) {
	skipUnderRace(t)
	if testing.Short() {
		t.Skip("fits on every visible set (about a minute); skipped with -short")
	}
	fs, err := VisibleFolds(t.Context(), testdataDir, sharedEval)
	if errors.Is(err, ErrNoShared) {
		t.Skipf("the fit needs the public sets: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	p := &Protocol{Folds: fs, Dir: t.TempDir()}
	w, m, err := p.Fit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !*update {
		committed := bot.DefaultModels()
		if d := diffModels(committed, m); d != "" {
			t.Errorf("bot/models.json is not the fit of the visible sets (%s); refit with: go test ./eval -run TestFitModels -update", d)
		}
		if w != retrieval.DefaultVectorWeight {
			t.Errorf("retrieval.DefaultVectorWeight = %v, the fit gives %v", retrieval.DefaultVectorWeight, w)
		}
		return
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(modelsFile, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	reps, err := p.LeaveOneSetOut(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fitReportFile, []byte(fitReport(w, m, reps)), 0o644); err != nil {
		t.Fatal(err)
	}
	if w != retrieval.DefaultVectorWeight {
		t.Errorf("set retrieval.DefaultVectorWeight to %v", w)
	}
	t.Logf("wrote %s and %s", modelsFile, fitReportFile)
}

func diffModels(a, b *bot.Models) string {
	if a.VectorEmbedder != b.VectorEmbedder {
		return "vector embedder differs"
	}
	for _, pair := range []struct {
		name string
		x, y bot.Model
	}{{"sentence", a.Sentence, b.Sentence}, {"refusal", a.Refusal, b.Refusal}, {"lexical refusal", a.Lexical, b.Lexical}} {
		x, y := pair.x, pair.y
		if strings.Join(x.Features, ",") != strings.Join(y.Features, ",") {
			return pair.name + " features differ"
		}
		all := func(m bot.Model) []float64 {
			v := append(append(append(append([]float64{}, m.Mean...), m.Scale...), m.Weights...), m.Bias, m.Threshold, float64(len(m.Trees)))
			for _, t := range m.Trees {
				for _, n := range t.Nodes {
					v = append(v, n.Value, n.Threshold, float64(n.Feature))
				}
			}
			return v
		}
		xs, ys := all(x), all(y)
		if len(xs) != len(ys) {
			return pair.name + " model shapes differ"
		}
		for i := range xs {
			// Floating-point sums in another order move the last digits;
			// a change of features or data moves far more.
			if math.Abs(xs[i]-ys[i]) > 1e-3*max(1, math.Abs(ys[i])) {
				return fmt.Sprintf("%s model values differ", pair.name)
			}
		}
	}
	return ""
}

// fitReport is the Markdown committed beside bot/models.json.
func fitReport(w float64, m *bot.Models, reps []FoldReport) string {
	var b strings.Builder
	b.WriteString("# The fitted models (bot/models.json)\n\n")
	b.WriteString("Written by `go test ./eval -run TestFitModels -update`; do not edit. The models are fitted by the\n")
	b.WriteString("eval package on every visible set, each set weighing the same — the sentence model a logistic regression\n")
	b.WriteString("(L2-regularised), the refusal model gradient-boosted trees (logistic loss):\n")
	fmt.Fprintf(&b, "%s. The fusion weight of the vector signal is %.2f (retrieval.DefaultVectorWeight).\n\n", strings.Join(m.Refusal.FittedOn, ", "), w)
	b.WriteString("## Leave-one-set-out\n\nEach row is measured with the weight and models fitted on the *other* sets only.\n\n```\n")
	WriteFoldTable(&b, reps)
	b.WriteString("```\n\n")
	for _, mm := range []struct {
		name string
		m    bot.Model
	}{{"Sentence model (ranks the sentences to quote)", m.Sentence}, {"Refusal model (P(the articles answer))", m.Refusal},
		{"Lexical refusal model (the same without the vector signal, for an index of another embedder than " + m.VectorEmbedder + ")", m.Lexical}} {
		if len(mm.m.Trees) > 0 {
			splits := make([]int, len(mm.m.Features))
			for _, t := range mm.m.Trees {
				for _, n := range t.Nodes {
					if !n.Leaf {
						splits[n.Feature]++
					}
				}
			}
			fmt.Fprintf(&b, "## %s\n\n%d trees of depth %d (learning rate %.2f, leaf L2 %.1f), monotone in each feature with a direction (+: support never falls as it grows; −: never rises); the splits per feature:\n\n| feature | direction | splits |\n|---|---|---|\n",
				mm.name, len(mm.m.Trees), boostDepth, boostRate, boostLambda)
			for i, f := range mm.m.Features {
				dir := map[int]string{1: "+", -1: "−", 0: ""}[refusalMonotone[f]]
				fmt.Fprintf(&b, "| %s | %s | %d |\n", f, dir, splits[i])
			}
		} else {
			fmt.Fprintf(&b, "## %s\n\n| feature | mean | scale | weight (standardised) |\n|---|---|---|---|\n", mm.name)
			for i, f := range mm.m.Features {
				fmt.Fprintf(&b, "| %s | %.4f | %.4f | %+.4f |\n", f, mm.m.Mean[i], mm.m.Scale[i], mm.m.Weights[i])
			}
			fmt.Fprintf(&b, "| (bias) | | | %+.4f |\n", mm.m.Bias)
		}
		if mm.m.Threshold > 0 {
			fmt.Fprintf(&b, "\nThreshold: refuse when P < %.4f — the highest at which, on average over the sets, at most %.0f%% of answerable questions are refused, each set's scored by trees fitted on the others (out of fold).\n", mm.m.Threshold, 100*MaxRefusedAnswerable)
		}
		b.WriteString("\n")
	}
	return b.String()
}
