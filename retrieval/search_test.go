package retrieval

import (
	"slices"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
)

func TestSearchSeedQuestions(t *testing.T) {
	ix := openIndex(t, t.TempDir(), NewLocalEmbedder(), ChunkOptions{})
	syncIndex(t, ix, bundledArticles(t))
	const article = "iran-and-russia-on-their-way-to-new-level-of-partnership"
	tests := []struct {
		question  string
		paragraph int
	}{
		{"Which missile system is Tehran interested in buying?", 9},
		{"What does INSTEX stand for?", 24},
		{"How many times has Zarif visited Moscow?", 11},
		{"When did the Iranian Defense Minister arrive in Moscow?", 2},
	}
	both := 0 // top hits found by both signals
	for _, tt := range tests {
		t.Run(tt.question, func(t *testing.T) {
			hits, err := ix.Search(t.Context(), tt.question, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 || hits[0].ArticleID != article || !hits[0].Contains(tt.paragraph) {
				t.Fatalf("top hits %v, want %s ¶%d first", hitIDs(hits), article, tt.paragraph)
			}
			h := hits[0]
			if slices.Equal(h.Signals(), []Signal{SignalVector, SignalLexical}) {
				both++
			}
			for _, h := range hits {
				if len(h.Signals()) == 0 || (h.VectorRank > 0) != (h.VectorScore > 0) ||
					(h.LexicalRank > 0) != (h.LexicalScore > 0) {
					t.Errorf("hit signals inconsistent: %+v", h)
				}
			}
			if h.Text == "" || h.Title == "" || h.First < 1 || h.Last < h.First {
				t.Errorf("passage not filled: %+v", h.Passage)
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Errorf("hits not sorted by score at %d", i)
				}
			}
		})
	}
	// The local vectors are the weaker signal (a two-word question like
	// "What does INSTEX stand for?" drowns in hash collisions), but they
	// agree with BM25 on most of these.
	if both < 3 {
		t.Errorf("only %d of %d top hits found by both signals", both, len(tests))
	}
}

func TestSearchEdgeCases(t *testing.T) {
	ix := openIndex(t, t.TempDir(), NewLocalEmbedder(), ChunkOptions{MaxWords: 1})
	if hits, err := ix.Search(t.Context(), "anything", 5); err != nil || hits != nil {
		t.Fatalf("empty index: %v, %v", hits, err)
	}
	syncIndex(t, ix, testArticles())
	if _, err := ix.Search(t.Context(), "coffee", 0); err == nil {
		t.Error("k=0 accepted")
	}
	hits, err := ix.Search(t.Context(), "coffee", 100)
	if err != nil || len(hits) == 0 || len(hits) > 7 {
		t.Fatalf("k > passages: %d hits, %v", len(hits), err)
	}
	// Only stop words: nothing lexical, and no meaningful vector match.
	hits, err = ix.Search(t.Context(), "what is the", 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if h.LexicalRank != 0 {
			t.Errorf("stop-word query matched lexically: %+v", h)
		}
	}
	// A word only the character n-grams know ("Icelandic" vs "Iceland").
	hits, _ = ix.search(t.Context(), "Icelandic", 3, vectorOnly, 1)
	if len(hits) == 0 || hits[0].ArticleID != "alpha" {
		t.Errorf("vector search for a word form: %v", hitIDs(hits))
	}
}

func TestIDF(t *testing.T) {
	ix := openIndex(t, t.TempDir(), NewLocalEmbedder(), ChunkOptions{MaxWords: 1})
	syncIndex(t, ix, testArticles())
	rare, common, unknown := ix.IDF("kasparov"), ix.IDF("coffe"), ix.IDF("zzz")
	if !(unknown > rare && rare > 0 && common > 0) {
		t.Errorf("IDF unknown %v, rare %v, common %v", unknown, rare, common)
	}
	if ix.IDF(Terms("Kasparov")[0]) != rare {
		t.Error("IDF should take analysed terms")
	}
}

// TestMergeNearest: the two halves of a split vector search merge into
// the best k rows, each once, ties to the lower row.
func TestMergeNearest(t *testing.T) {
	approx := []Scored{{Row: 4, Score: .9}, {Row: 1, Score: .5}, {Row: 7, Score: .4}}
	exact := []Scored{{Row: 9, Score: .8}, {Row: 4, Score: .9}, {Row: 2, Score: .5}}
	got := mergeNearest(approx, exact, 4)
	want := []Scored{{Row: 4, Score: .9}, {Row: 9, Score: .8}, {Row: 1, Score: .5}, {Row: 2, Score: .5}}
	if !slices.Equal(got, want) {
		t.Fatalf("mergeNearest = %v, want %v", got, want)
	}
}

// TestTextCacheBounds: the cache of articles read on demand keeps at most
// textCacheArticles of them and textCacheBytes of their text, the most
// recently used, and always the last one put.
func TestTextCacheBounds(t *testing.T) {
	c := newTextCache()
	for i := range textCacheArticles + 10 {
		c.put(newTextEntry(i, corpus.Article{Paragraphs: []string{"short"}}, nil))
	}
	if c.lru.Len() != textCacheArticles {
		t.Fatalf("%d articles kept, want %d", c.lru.Len(), textCacheArticles)
	}
	if _, ok := c.get(5); ok {
		t.Fatal("the least recently used article was kept")
	}
	if _, ok := c.get(textCacheArticles + 9); !ok {
		t.Fatal("the last article put was dropped")
	}
	huge := strings.Repeat("x", textCacheBytes/2+1)
	c.put(newTextEntry(-1, corpus.Article{Paragraphs: []string{huge}}, []Passage{{Text: huge}}))
	if c.lru.Len() != 1 || c.bytes != 2*len(huge) {
		t.Fatalf("after an article over the byte budget: %d kept, %d bytes", c.lru.Len(), c.bytes)
	}
	if _, ok := c.get(-1); !ok {
		t.Fatal("the article over the budget, the last put, was dropped")
	}
}
