package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/corpus/synth"
	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/postgres"
	"github.com/verbatimbot/verbatim/retrieval/postgres/pgtest"
)

// bench gen writes the same corpus for the same seed, and the corpus loads.
func TestBenchGenIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if r := verbatim(t, t.TempDir(), "", nil, "bench", "gen", "--articles", "12", "--seed", "4", "--out", dir); r.code != 0 {
			t.Fatalf("bench gen: %+v", r)
		}
	}
	for i := range 12 {
		x, err := os.ReadFile(filepath.Join(a, synth.Path(i)))
		if err != nil {
			t.Fatal(err)
		}
		y, _ := os.ReadFile(filepath.Join(b, synth.Path(i)))
		if string(x) != string(y) {
			t.Fatalf("%s differs between two runs with one seed", synth.Path(i))
		}
	}
	set, err := corpus.LoadDir(t.Context(), a, corpus.Options{})
	if err != nil || len(set.Articles) != 12 || len(set.Skipped)+len(set.Warnings) != 0 {
		t.Fatalf("load generated corpus: %d articles, %v, %v, %v", len(set.Articles), set.Skipped, set.Warnings, err)
	}
}

// The whole harness runs end to end at a tiny size and prints every row.
func TestBenchPrintsTable(t *testing.T) {
	r := verbatim(t, t.TempDir(), "", nil, "bench", "--sizes", "60", "--queries", "3", "--cold", "1")
	if r.code != 0 {
		t.Fatalf("bench: %+v", r)
	}
	for _, row := range []string{"articles / passages", "full build", "incremental, 1% changed", "retrieval p50",
		"extractive answer p50", "cold start", "every file checked by content", "peak RSS", "index on disk", "bytes read per query", "bandwidth"} {
		if !strings.Contains(r.stdout, row) {
			t.Errorf("no %q in:\n%s", row, r.stdout)
		}
	}
}

// --store postgres measures PostgreSQL beside the index directory, side
// by side in one table, with recall and the database's size, in a schema
// of its own that is gone afterwards; without a database it says what to
// set.
func TestBenchWithPostgres(t *testing.T) {
	r := verbatim(t, t.TempDir(), "", nil, "bench", "--store", "postgres", "--sizes", "60")
	if r.code == 0 || !strings.Contains(r.stderr, "set VERBATIM_DATABASE_URL") {
		t.Errorf("--store postgres without a database: exit %d\n%s", r.code, r.stderr)
	}
	url := pgtest.URL(t)
	r = verbatim(t, t.TempDir(), "", []string{"VERBATIM_DATABASE_URL=" + url}, "bench", "--store", "postgres",
		"--sizes", "60", "--queries", "3", "--cold", "1", "--askers", "2")
	if r.code != 0 {
		t.Fatalf("bench: %+v", r)
	}
	for _, want := range []string{"60 passages, index dir", "60 passages, PostgreSQL", "2 askers at once", "recall@50, HNSW vs exact",
		"at ef_search 100, ", "at ef_search 400", "the database's tables and indexes", "(1 · 2 askers)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q in:\n%s", want, r.stdout)
		}
	}
	_, after, ok := strings.Cut(r.stderr, "PostgreSQL schema ")
	schema, _, _ := strings.Cut(after, "\n")
	if !ok || !strings.HasPrefix(schema, "verbatim_bench_") {
		t.Fatalf("no schema named in the log:\n%s", r.stderr)
	}
	// Creating it again works only if the bench dropped it.
	if _, err := postgres.CreateSchema(t.Context(), url, schema); err != nil {
		t.Errorf("schema %s left behind: %v", schema, err)
	} else if err := postgres.DropSchema(t.Context(), url, schema); err != nil {
		t.Error(err)
	}
}

// BenchmarkAnswer is a full extractive answer (search, support check,
// sentence selection, verification) over a synthetic corpus; -short: 1k
// passages.
func BenchmarkAnswer(b *testing.B) {
	n := 1800 // ~10k passages
	if testing.Short() {
		n = 180
	}
	g := synth.New(1)
	ix, err := retrieval.Open(b.Context(), retrieval.Options{Dir: b.TempDir(), Embedder: retrieval.NewLocalEmbedder()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ix.Sync(b.Context(), g.Articles(n), nil); err != nil {
		b.Fatal(err)
	}
	eng := bot.NewEngine(ix, bot.EngineOptions{})
	qs := g.Questions(n, 64)
	i := 0
	for b.Loop() {
		if _, err := eng.Answer(b.Context(), bot.Question{Text: qs[i%len(qs)].Text}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
