package retrieval

import (
	"slices"
	"testing"
)

func TestTerms(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"stop words and stemming", "The ministers were meeting in Moscow", []string{"minist", "meet", "moscow"}},
		{"hyphenated model", "Tehran wants the S-400 system", []string{"tehran", "want", "s-400", "400", "system"}},
		{"hyphenated words", "high-ranking officials", []string{"high-ranking", "high", "rank", "offici"}},
		{"decimal", "It costs 3.67 billion.", []string{"cost", "3.67", "billion"}},
		{"abbreviation", "The U.S. and the E.U. disagree", []string{"u.s", "e.u", "disagre"}},
		{"US in capitals is the country", "What did the US do to us?", []string{"u.s"}},
		{"USA and U.S.A.", "USA, U.S.A. and US-led", []string{"u.s", "u.s", "us-led", "u.s", "led"}},
		{"thousands separator", "Employing over 6,000 people", []string{"employ", "6000", "peopl"}},
		{"list commas stay apart", "apples,pears", []string{"appl", "pear"}},
		{"possessive", "Iran's ministry", []string{"iran", "ministri"}},
		{"curly possessive", "Iran’s ministry", []string{"iran", "ministri"}},
		{"contraction", "don't panic", []string{"dont", "panic"}},
		{"quotes and dashes", "“Army 2020” — forum", []string{"armi", "2020", "forum"}},
		{"unicode", "Eyjafjallajökull erupted in Ísland", []string{"eyjafjallajokul", "erupt", "island"}},
		{"single letters dropped", "a b c plan", []string{"plan"}},
		{"sentence end is not a joiner", "in 2018.Then", []string{"2018.then"}},
		{"empty", " ... ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Terms(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Terms(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTermsQuestionMeetsPassage(t *testing.T) {
	q := Terms("Which missile system is Tehran interested in buying?")
	p := Terms("Tehran is interested in buying the Russian S-400 missile systems.")
	for _, term := range q {
		if !slices.Contains(p, term) {
			t.Errorf("question term %q not in passage terms %q", term, p)
		}
	}
}

func FuzzTerms(f *testing.F) {
	for _, s := range []string{"U.S.", "S-400", "6,000", "Iran’s", "a-", "-a", "x.'y", "\xff\xfe", "ǅ-ǆ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, term := range Terms(s) {
			if term == "" {
				t.Fatalf("empty term from %q", s)
			}
		}
	})
}

func BenchmarkTerms(b *testing.B) {
	text := synthText(0, 200)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		Terms(text)
	}
}

func TestTermsFold(t *testing.T) {
	tests := []struct{ a, b string }{
		{"What does ＩＮＳＴＥＸ stand for?", "What does INSTEX stand for?"},
		{"Zarïf visited Moscow", "Zarif visited Moscow"},
		{"the ﬁnal réseau", "the final reseau"},
		{"Tehran’s S‑400", "Tehran's S-400"},
		{"Ｓ－４００", "S-400"},
	}
	for _, tt := range tests {
		if got, want := Terms(tt.a), Terms(tt.b); !slices.Equal(got, want) {
			t.Errorf("Terms(%q) = %q, want %q (as Terms(%q))", tt.a, got, want, tt.b)
		}
	}
}
