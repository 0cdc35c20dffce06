package retrieval

import (
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
)

func words(n int) string { return strings.TrimSpace(strings.Repeat("word ", n)) }

func TestChunk(t *testing.T) {
	tests := []struct {
		name  string
		paras []string
		max   int
		want  []string // passage IDs
	}{
		{"merge while within max", []string{words(30), words(30), words(30), words(30)}, 100, []string{"a#p1-3", "a#p4"}},
		{"exactly max", []string{words(50), words(50), words(1)}, 100, []string{"a#p1-2", "a#p3"}},
		{"long paragraph alone, never split", []string{words(10), words(300), words(10)}, 100, []string{"a#p1", "a#p2", "a#p3"}},
		{"one per paragraph", []string{words(3), words(3)}, 1, []string{"a#p1", "a#p2"}},
		{"empty paragraphs skipped", []string{words(3), "", words(3)}, 100, []string{"a#p1", "a#p3"}},
		{"no paragraphs", nil, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := corpus.Article{ID: "a", Title: "T", Paragraphs: tt.paras}
			ps := Chunk(a, ChunkOptions{MaxWords: tt.max})
			var ids []string
			for _, p := range ps {
				ids = append(ids, p.ID)
				want := strings.Join(tt.paras[p.First-1:p.Last], "\n\n")
				if p.Text != want && !strings.Contains(p.ID, "p1-3") { // p1-3 of the "empty" case can't occur
					t.Errorf("%s: text is not paragraphs %d..%d joined", p.ID, p.First, p.Last)
				}
				if p.ArticleID != "a" || p.Title != "T" || strings.Contains(p.Text, "T\n") {
					t.Errorf("%s: article/title wrong: %+v", p.ID, p)
				}
			}
			if strings.Join(ids, " ") != strings.Join(tt.want, " ") {
				t.Errorf("passages %v, want %v", ids, tt.want)
			}
		})
	}
}

// Every paragraph of a real article lands in exactly one passage, whole.
func TestChunkCoversEveryParagraphOnce(t *testing.T) {
	for _, a := range bundledArticles(t) {
		for _, max := range []int{1, 50, DefaultMaxWords, 1000} {
			seen := make([]int, len(a.Paragraphs)+1)
			for _, p := range Chunk(a, ChunkOptions{MaxWords: max}) {
				if p.First > 1 && seen[p.First-1] == 0 {
					t.Errorf("gap before %s", p.ID)
				}
				for n := p.First; n <= p.Last; n++ {
					seen[n]++
					if !strings.Contains(p.Text, a.Paragraphs[n-1]) {
						t.Errorf("%s misses paragraph %d", p.ID, n)
					}
				}
				if p.First != p.Last && countWords(p.Text) > max {
					t.Errorf("%s: %d words > %d", p.ID, countWords(p.Text), max)
				}
			}
			for n := 1; n < len(seen); n++ {
				if seen[n] != 1 {
					t.Errorf("max %d: paragraph %d in %d passages", max, n, seen[n])
				}
			}
		}
	}
}

func TestPassageEmbedText(t *testing.T) {
	p := Passage{Title: "Title", Text: "Body"}
	if p.EmbedText() != "Title\n\nBody" {
		t.Errorf("EmbedText = %q", p.EmbedText())
	}
	if PassageID("x/y", 3, 3) != "x/y#p3" || PassageID("x", 2, 5) != "x#p2-5" {
		t.Error("PassageID")
	}
}
