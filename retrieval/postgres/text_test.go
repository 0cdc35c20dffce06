package postgres_test

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/corpus/synth"
	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/postgres/pgtest"
)

// written is an index that has written arts into the database at url.
func written(t *testing.T, url string, emb retrieval.Embedder, arts []corpus.Article) *retrieval.Index {
	t.Helper()
	w, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: open(t, url)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.Sync(t.Context(), arts, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestTextOnDemandLeavesTextInDatabase: a generation opened with
// TextOnDemand holds no paragraph text and no passages, only the layout
// (the conformance suite's TextOnDemand checks it answers alike), and its
// TextSource reads the text back.
func TestTextOnDemandLeavesTextInDatabase(t *testing.T) {
	url := pgtest.URL(t)
	emb := retrieval.NewLocalEmbedder()
	arts := synth.New(3).Articles(12)
	w := written(t, url, emb, arts)
	want := retrieval.Want{Embedder: emb.Info(), Chunk: retrieval.ChunkOptions{}.WithDefaults(), TextOnDemand: true}
	g, err := open(t, url).Open(t.Context(), want)
	if err != nil {
		t.Fatal(err)
	}
	if g.Text == nil || g.Passages != nil {
		t.Fatalf("opened with TextOnDemand: Text %v, %d passages in memory", g.Text, len(g.Passages))
	}
	full := w.Articles()
	for i, a := range g.Articles {
		if len(a.Paragraphs) != len(full[i].Paragraphs) || slices.ContainsFunc(a.Paragraphs, func(p string) bool { return p != "" }) {
			t.Fatalf("article %s: %d paragraphs (%q…) in memory, want %d empty ones", a.ID, len(a.Paragraphs), a.Paragraphs, len(full[i].Paragraphs))
		}
	}
	if n, exp := g.Rows(), w.Info().Passages; n != exp {
		t.Fatalf("%d rows, want %d", n, exp)
	}
	got, err := g.Text.Articles(t.Context(), []int{3, 0, 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range []int{3, 0, 3} {
		if got[i].ID != full[a].ID || !slices.Equal(got[i].Paragraphs, full[a].Paragraphs) {
			t.Fatalf("Text.Articles[%d] = %s with %d paragraphs, want %s with %d", i, got[i].ID, len(got[i].Paragraphs), full[a].ID, len(full[a].Paragraphs))
		}
	}
	if _, err := g.Text.Articles(t.Context(), []int{len(full)}); err == nil {
		t.Fatal("Text.Articles of an article past the generation's succeeded")
	}
}

// TestMigrationCountsExistingArticles: schema 3 adds each article
// version's paragraph and passage counts; on a database written by schema
// 2 it computes them, and a reader with its text on demand then answers
// as the writer does.
func TestMigrationCountsExistingArticles(t *testing.T) {
	url := pgtest.URL(t)
	emb := retrieval.NewLocalEmbedder()
	arts := synth.New(4).Articles(8)
	w := written(t, url, emb, arts)
	// Back to schema 2, as a database an older build wrote.
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(t.Context(), `ALTER TABLE articles DROP COLUMN n_paragraphs, DROP COLUMN n_passages; UPDATE verbatim_schema SET version = 2`)
	conn.Close(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: open(t, url), TextOnDemand: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if a, b := w.Info(), r.Info(); a.Passages != b.Passages || a.Articles != b.Articles || b.NeedsRebuild {
		t.Fatalf("after the migration: %+v, want %+v", b, a)
	}
	var version int
	if err := queryRow(t, url, `SELECT version FROM verbatim_schema`, &version); err != nil || version < 3 {
		t.Fatalf("schema version %d (%v) after opening, want at least 3", version, err)
	}
	for _, q := range synth.New(4).Questions(8, 6) {
		a, err := w.Search(t.Context(), q.Text, 5)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.Search(t.Context(), q.Text, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) {
			t.Fatalf("Search(%q): %d hits, the writer %d", q.Text, len(b), len(a))
		}
		for i := range a {
			if a[i].Passage != b[i].Passage {
				t.Fatalf("Search(%q)[%d] = %s, the writer's %s", q.Text, i, b[i].ID, a[i].ID)
			}
		}
	}
}

// TestNearestInSearchesTheNearArticles: the exact half of the split
// vector search (retrieval.SplitNearest, which Search runs after BM25)
// returns every passage of the near rows' articles and only those, with
// the similarities Nearest gives them.
func TestNearestInSearchesTheNearArticles(t *testing.T) {
	url := pgtest.URL(t)
	emb := retrieval.NewLocalEmbedder()
	written(t, url, emb, synth.New(5).Articles(20))
	g, err := open(t, url).Open(t.Context(), retrieval.Want{Embedder: emb.Info(), Chunk: retrieval.ChunkOptions{}.WithDefaults()})
	if err != nil {
		t.Fatal(err)
	}
	split, ok := g.Index.(retrieval.SplitNearest)
	if !ok {
		t.Fatal("the PostgreSQL store does not split its vector search")
	}
	q, err := emb.EmbedQuery(t.Context(), "what happened with the university", g.Index.IDF)
	if err != nil {
		t.Fatal(err)
	}
	// Rows of articles 2 and 7.
	near := []int{g.ArticleRows[2][0], g.ArticleRows[7][1] - 1}
	in, err := split.NearestIn(t.Context(), q, 1000, near)
	if err != nil {
		t.Fatal(err)
	}
	all, err := g.Index.Nearest(t.Context(), q, 1000, near)
	if err != nil {
		t.Fatal(err)
	}
	score := map[int]float32{}
	for _, s := range all {
		score[s.Row] = s.Score
	}
	want := (g.ArticleRows[2][1] - g.ArticleRows[2][0]) + (g.ArticleRows[7][1] - g.ArticleRows[7][0])
	if len(in) != want {
		t.Fatalf("NearestIn: %d rows, want the %d of the two articles", len(in), want)
	}
	for _, s := range in {
		inArticle := func(a int) bool { return s.Row >= g.ArticleRows[a][0] && s.Row < g.ArticleRows[a][1] }
		if !inArticle(2) && !inArticle(7) {
			t.Fatalf("NearestIn returned row %d, of neither article", s.Row)
		}
		if sc, ok := score[s.Row]; !ok || sc != s.Score {
			t.Fatalf("NearestIn row %d: %v, Nearest gives %v (found %v)", s.Row, s.Score, sc, ok)
		}
	}
	if none, err := split.NearestIn(t.Context(), q, 10, nil); err != nil || len(none) != 0 {
		t.Fatalf("NearestIn without near rows = %v, %v", none, err)
	}
}
