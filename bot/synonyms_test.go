package bot

import (
	"slices"
	"testing"
)

func TestSynonymsTable(t *testing.T) {
	if n := len(synonymsOnce().lines); n < 50000 {
		t.Fatalf("%d entries, want the WordNet lemmas (over 50,000)", n)
	}
	for term, want := range map[string]string{"defenc": "defense", "buy": "purchase", "normalis": "normalization"} {
		if syns := synonymsOf(term); !slices.Contains(syns, want) {
			t.Errorf("synonyms of %q = %v, want %q among them", term, syns, want)
		}
	}
	if synonymsOf("zzzz") != nil || synonymsOf("") != nil {
		t.Error("a term not in the table has synonyms")
	}
	if !isWord("capit") || isWord("khatami") {
		t.Error("isWord: capital is an English word, Khatami is not")
	}
}

// BenchmarkSynonymsLoad is what the first answer of a process pays to read
// the table.
func BenchmarkSynonymsLoad(b *testing.B) {
	for b.Loop() {
		_ = loadSynonyms()
	}
}

// TestPertainyms: an adjective and the noun it pertains to are synonyms
// both ways, so "Iranian Ambassador" covers "ambassador of Iran".
func TestPertainyms(t *testing.T) {
	for _, tc := range []struct{ term, syn string }{
		{"iranian", "iran"}, {"iran", "iranian"}, {"russia", "russian"}, {"presidenti", "president"},
	} {
		if got := synonymsOf(tc.term); !slices.Contains(got, tc.syn) {
			t.Errorf("synonymsOf(%q) = %v, want %q among them", tc.term, got, tc.syn)
		}
	}
}

// TestUntaggedSenses: a lemma WordNet has no sense frequencies for gives
// synonyms from more than its first two senses ("drill" is listed as a
// tool, a baboon, then an exercise), so "military drills" covers "joint
// exercises".
func TestUntaggedSenses(t *testing.T) {
	if got := synonymsOf("drill"); !slices.Contains(got, "exercise") {
		t.Errorf("synonymsOf(drill) = %v, want exercise among them", got)
	}
}
