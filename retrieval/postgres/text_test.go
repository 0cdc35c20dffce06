package postgres_test

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/verbatimbot/verbatim/corpus/synth"
	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/postgres/pgtest"
)

// TestTextOnDemandLeavesTextInDatabase: a generation opened with
// TextOnDemand holds no paragraph text and no passages, only the layout
// (the conformance suite's TextOnDemand checks it answers alike), and its
// TextSource reads the text back.
func TestTextOnDemandLeavesTextInDatabase(t *testing.T) {
	url := pgtest.URL(t)
	emb := retrieval.NewLocalEmbedder()
	arts := synth.New(3).Articles(12)
	w, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: open(t, url)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Sync(t.Context(), arts, nil); err != nil {
		t.Fatal(err)
	}
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
	w, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: open(t, url)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Sync(t.Context(), arts, nil); err != nil {
		t.Fatal(err)
	}
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
