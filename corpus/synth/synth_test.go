package synth

import (
	"slices"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
)

func TestArticlesAreDeterministicAndShaped(t *testing.T) {
	g1, g2 := New(7), New(7)
	for i := range 50 {
		a, b := g1.Article(i), g2.Article(i)
		if a.Title != b.Title || !slices.Equal(a.Paragraphs, b.Paragraphs) {
			t.Fatalf("article %d differs between generators of one seed", i)
		}
		if n := len(a.Paragraphs); n < 8 || n > 15 {
			t.Errorf("article %d has %d paragraphs, want 8–15", i, n)
		}
		words := 0
		for _, p := range a.Paragraphs {
			words += len(strings.Fields(p))
		}
		if words < 450 || words > 800 {
			t.Errorf("article %d has %d words, want about 600", i, words)
		}
	}
	if New(8).Article(0).Title == g1.Article(0).Title {
		t.Error("seeds 7 and 8 give the same first title")
	}
}

func TestEditChangesOneParagraph(t *testing.T) {
	g := New(1)
	for i := range 20 {
		a, e := g.Article(i), g.Edit(i, 1)
		if len(a.Paragraphs) != len(e.Paragraphs) {
			t.Fatalf("article %d: edit changed the paragraph count", i)
		}
		diff := 0
		for j := range a.Paragraphs {
			if a.Paragraphs[j] != e.Paragraphs[j] {
				diff++
			}
		}
		if diff != 1 {
			t.Errorf("article %d: edit changed %d paragraphs, want 1", i, diff)
		}
	}
}

// Written files load back as the generated articles.
func TestWriteDirRoundTrip(t *testing.T) {
	g := New(3)
	dir := t.TempDir()
	if err := g.WriteDir(dir, 0, 30, 0, 2); err != nil {
		t.Fatal(err)
	}
	set, err := corpus.LoadDir(t.Context(), dir, corpus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Articles) != 30 || len(set.Skipped) != 0 || len(set.Warnings) != 0 {
		t.Fatalf("loaded %d articles, skipped %v, warnings %v", len(set.Articles), set.Skipped, set.Warnings)
	}
	for i, got := range set.Articles {
		want := g.Article(i)
		if got.ID != want.ID || got.Title != want.Title || got.URL != want.URL || got.Author != want.Author ||
			!got.Published.Equal(want.Published) || !slices.Equal(got.Paragraphs, want.Paragraphs) {
			t.Errorf("article %d: loaded %+v\nwant %+v", i, got, want)
		}
	}
}

func TestQuestionsPointAtTheirParagraph(t *testing.T) {
	g := New(5)
	qs := g.Questions(100, 40)
	if len(qs) != 40 {
		t.Fatalf("%d questions", len(qs))
	}
	for _, q := range qs {
		if !strings.HasSuffix(q.Text, "?") || len(strings.Fields(q.Text)) < 5 {
			t.Errorf("question %q is too thin", q.Text)
		}
		if q.Paragraph < 1 {
			t.Errorf("question %q: paragraph %d", q.Text, q.Paragraph)
		}
	}
	if !slices.Equal(qs, g.Questions(100, 40)) {
		t.Error("questions are not deterministic")
	}
}

func BenchmarkArticle(b *testing.B) {
	g := New(1)
	i := 0
	for b.Loop() {
		g.Article(i)
		i++
	}
}
