package bot

import (
	"slices"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/retrieval"
)

// feature is the value of the named refusal feature of ev.
func feature(t *testing.T, ev Evidence, name string) float64 {
	t.Helper()
	i := slices.Index(RefusalFeatureNames, name)
	if i < 0 {
		t.Fatalf("no refusal feature %q", name)
	}
	return ev.Features[i]
}

// TestArticleAndMissingFeatures checks the two features that look past the
// best sentence: the question's terms found elsewhere in the best
// article's retrieved paragraphs, and the heaviest term its paragraph
// lacks.
func TestArticleAndMissingFeatures(t *testing.T) {
	arts := []corpus.Article{
		{ID: "kestrel", Title: "Kestrels", Paragraphs: []string{
			"The kestrel hovers over open fields while it hunts.",
			"Kestrels nest in old crow nests and church towers.",
		}},
		{ID: "lighthouse", Title: "Lighthouses", Paragraphs: []string{
			"A lighthouse keeper tended the lamp every night.",
		}},
	}
	ix := openIndex(t, arts)
	x := NewExtractive(ix, ExtractiveOptions{})
	evidence := func(q string) Evidence {
		hits, err := ix.Search(t.Context(), q, 8)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := x.Evidence(t.Context(), q, q, hits)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}

	// Every term in the best paragraph: nothing missing.
	ev := evidence("Where does the kestrel hunt?")
	if got := feature(t, ev, "missing_heaviest"); got != 0 {
		t.Errorf("kestrel hunt: missing_heaviest %.3f, want 0", got)
	}
	// "towers" is in the article's other paragraph, "hunt" in the best
	// one: the article covers more than any one paragraph does.
	ev = evidence("Does the kestrel hunt from church towers?")
	if a, p := feature(t, ev, "article"), feature(t, ev, "best_paragraph"); a <= p || a < 0.99 {
		t.Errorf("article coverage %.3f, best paragraph %.3f: want the article to cover all of it, more than the paragraph", a, p)
	}
	if got := feature(t, ev, "missing_heaviest"); got <= 0 {
		t.Errorf("kestrel towers: missing_heaviest %.3f, want > 0 (the best paragraph lacks a term)", got)
	}
	// A word no article has weighs the most a term can: missing_heaviest 1.
	ev = evidence("What colour is the kestrel's zygodactyl foot?")
	if got := feature(t, ev, "missing_heaviest"); got < 0.999 {
		t.Errorf("unknown word: missing_heaviest %.3f, want 1", got)
	}
}

// TestModelsForEmbedder: the committed refusal model's vector feature was
// fitted on the local embedder's cosines; an index of another embedder
// gets the lexical model, which never reads that feature.
func TestModelsForEmbedder(t *testing.T) {
	m := DefaultModels()
	local := retrieval.NewLocalEmbedder().Info()
	if got := m.For(local); got != m {
		t.Errorf("the local embedder (%s) does not get the committed models (fitted with %q)", local, m.VectorEmbedder)
	}
	other := m.For(retrieval.EmbedderInfo{Name: "openai", Model: "text-embedding-3-small", Dims: 1536})
	if other == m || !other.lexical || other.Refusal.Threshold != m.Lexical.Threshold {
		t.Fatal("another embedder does not get the lexical refusal model")
	}
	vec := slices.Index(RefusalFeatureNames, "vector")
	for i, tr := range other.Refusal.Trees {
		for _, n := range tr.Nodes {
			if !n.Leaf && n.Feature == vec {
				t.Fatalf("lexical tree %d splits on the vector feature", i)
			}
		}
	}
	// The same evidence with any cosine gets the same support from it.
	x := make([]float64, len(RefusalFeatureNames))
	x[vec] = 0.05
	lo := other.Refusal.Prob(x)
	x[vec] = 0.95
	if hi := other.Refusal.Prob(x); hi != lo {
		t.Errorf("lexical support moves with the cosine: %.4f → %.4f", lo, hi)
	}
}
