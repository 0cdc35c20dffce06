package bot

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/verbatimbot/verbatim/retrieval"
)

// Model is a logistic model over named features: P = σ(bias + Σ wᵢ·zᵢ),
// zᵢ = (xᵢ − Meanᵢ)/Scaleᵢ. Two are used: one ranks candidate sentences for
// quoting, the other decides whether the articles support an answer at all.
// Both are fitted by the eval package on question sets under the
// leave-one-set-out protocol and committed in models.json with the report
// of their fit (see `go test ./eval -run TestFitModels -update`).
type Model struct {
	Features []string  `json:"features"`
	Mean     []float64 `json:"mean"`
	Scale    []float64 `json:"scale"`
	Weights  []float64 `json:"weights"`
	Bias     float64   `json:"bias"`
	// Threshold is the probability below which the refusal model refuses
	// (unused by the sentence model).
	Threshold float64 `json:"threshold,omitempty"`
	// FittedOn names the question sets the model was fitted on.
	FittedOn []string `json:"fitted_on,omitempty"`
	// Trees, when set, make the model boosted: the log-odds are Bias plus
	// the trees' values for the raw features (Mean, Scale and Weights are
	// then unused).
	Trees []Tree `json:"trees,omitempty"`
}

// Tree is a regression tree over raw feature values; Nodes[0] is the root.
type Tree struct {
	Nodes []TreeNode `json:"nodes"`
}

// TreeNode is a leaf with a Value, or a split sending x to Left when
// x[Feature] ≤ Threshold and to Right otherwise.
type TreeNode struct {
	Leaf      bool    `json:"leaf,omitempty"`
	Value     float64 `json:"value,omitempty"`
	Feature   int     `json:"feature,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	Left      int     `json:"left,omitempty"`
	Right     int     `json:"right,omitempty"`
}

// Value is the tree's value for x.
func (t *Tree) Value(x []float64) float64 {
	n := 0
	for !t.Nodes[n].Leaf {
		if x[t.Nodes[n].Feature] <= t.Nodes[n].Threshold {
			n = t.Nodes[n].Left
		} else {
			n = t.Nodes[n].Right
		}
	}
	return t.Nodes[n].Value
}

// Logit is the model's log-odds for x, whose features are in Features
// order.
func (m *Model) Logit(x []float64) float64 {
	z := m.Bias
	if len(m.Trees) > 0 {
		for i := range m.Trees {
			z += m.Trees[i].Value(x)
		}
		return z
	}
	for i, w := range m.Weights {
		z += w * (x[i] - m.Mean[i]) / m.Scale[i]
	}
	return z
}

// Prob is σ(Logit(x)).
func (m *Model) Prob(x []float64) float64 { return 1 / (1 + math.Exp(-m.Logit(x))) }

// check reports whether m fits the feature names it is used with.
func (m *Model) check(names []string) error {
	if !slices.Equal(m.Features, names) {
		return fmt.Errorf("model features %v, want %v", m.Features, names)
	}
	if len(m.Mean) != len(names) || len(m.Scale) != len(names) || len(m.Weights) != len(names) {
		return errors.New("model: mean, scale and weights must have one value per feature")
	}
	for i, s := range m.Scale {
		if s <= 0 || math.IsNaN(s) || math.IsNaN(m.Mean[i]) || math.IsNaN(m.Weights[i]) {
			return fmt.Errorf("model: bad scale, mean or weight for %s", names[i])
		}
	}
	for ti, t := range m.Trees {
		for ni, n := range t.Nodes {
			if !n.Leaf && (n.Feature < 0 || n.Feature >= len(names) || n.Left <= ni || n.Right <= ni || n.Left >= len(t.Nodes) || n.Right >= len(t.Nodes)) {
				return fmt.Errorf("model: tree %d node %d is malformed", ti, ni)
			}
		}
		if len(t.Nodes) == 0 {
			return fmt.Errorf("model: tree %d is empty", ti)
		}
	}
	return nil
}

// Models is the fitted pair the engine uses.
type Models struct {
	Sentence Model `json:"sentence"`
	Refusal  Model `json:"refusal"`
	// Lexical is a refusal model fitted without the vector signal (its
	// trees never split on the vector feature), and VectorEmbedder names
	// the embedder (retrieval.EmbedderInfo.String) Refusal's vector
	// feature was fitted with. Another embedder's cosines are on another
	// scale, so For swaps in Lexical for it.
	Lexical        Model  `json:"refusal_lexical"`
	VectorEmbedder string `json:"vector_embedder"`

	lexical bool // Refusal is Lexical (For)
}

// For returns the models to use over vectors made by emb: m itself for the
// embedder Refusal was fitted with, else m with Lexical as its refusal
// model.
func (m *Models) For(emb retrieval.EmbedderInfo) *Models {
	if emb.String() == m.VectorEmbedder || len(m.Lexical.Trees) == 0 {
		return m
	}
	out := *m
	out.Refusal, out.lexical = m.Lexical, true
	return &out
}

// Check reports whether the models fit this build's features.
func (m *Models) Check() error {
	if err := m.Sentence.check(SentenceFeatureNames); err != nil {
		return fmt.Errorf("sentence %w", err)
	}
	if err := checkRefusal("refusal", &m.Refusal); err != nil {
		return err
	}
	if len(m.Lexical.Features) == 0 {
		return nil // models fitted before it existed
	}
	return checkRefusal("lexical refusal", &m.Lexical)
}

func checkRefusal(name string, m *Model) error {
	if err := m.check(RefusalFeatureNames); err != nil {
		return fmt.Errorf("%s %w", name, err)
	}
	if t := m.Threshold; t <= 0 || t >= 1 {
		return fmt.Errorf("%s model: threshold %v outside (0, 1)", name, t)
	}
	return nil
}

//go:embed models.json
var modelsJSON []byte

// DefaultModels returns the committed models (models.json), parsed once.
var DefaultModels = sync.OnceValue(func() *Models {
	var m Models
	if err := json.Unmarshal(modelsJSON, &m); err != nil {
		panic("bot: models.json: " + err.Error())
	}
	if err := m.Check(); err != nil {
		panic("bot: models.json: " + err.Error())
	}
	return &m
})
