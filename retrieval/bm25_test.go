package retrieval

import "testing"

// TestBM25MatchesLexicalIndex holds the exported BM25 arithmetic, which
// other stores score with, to the in-process index's: bit for bit on every
// one-term query (a query of several terms may sum them in another order).
func TestBM25MatchesLexicalIndex(t *testing.T) {
	ps, _ := Layout(synthArticles(30), ChunkOptions{})
	b := newLexicalBuilder(len(ps))
	total := 0
	docTerms := make([][]string, len(ps))
	for r, p := range ps {
		docTerms[r] = Terms(p.Title + "\n\n" + p.Text)
		b.addDoc(r, docTerms[r])
		total += len(docTerms[r])
	}
	lex := b.build()
	bm := BM25{N: len(ps), AvgLen: float64(total) / float64(len(ps))}
	checked := 0
	for _, term := range lex.terms[:min(200, len(lex.terms))] {
		want := lex.search([]string{term, term}, len(ps))
		w := bm.Weight(2, lex.df(term))
		var rows []Scored
		for r, ts := range docTerms {
			tf := 0
			for _, x := range ts {
				if x == term {
					tf++
				}
			}
			if tf > 0 {
				rows = append(rows, Scored{r, bm.Score(w, uint16(tf), uint32(len(ts)))})
			}
		}
		got := Best(rows, len(ps))
		if len(got) != len(want) {
			t.Fatalf("%q: %d rows, want %d", term, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q [%d]: %+v, want %+v", term, i, got[i], want[i])
			}
		}
		if a, b := BM25IDF(len(ps), lex.df(term)), lex.idf(term); a != b {
			t.Fatalf("BM25IDF(%q) = %v, lexical index %v", term, a, b)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no terms")
	}
}
