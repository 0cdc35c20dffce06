package postgres_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/corpus/synth"
	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/postgres"
	"github.com/verbatimbot/verbatim/retrieval/postgres/pgtest"
)

// TestSchemas: CreateSchema gives a URL whose store keeps its tables in
// the new schema; DropSchema removes it; names that are not plain
// identifiers are refused before reaching SQL.
func TestSchemas(t *testing.T) {
	pgtest.URL(t) // skips or fails without a database
	base := os.Getenv(pgtest.EnvURL)
	const name = "verbatim_schema_test"
	_ = postgres.DropSchema(t.Context(), base, name)
	url, err := postgres.CreateSchema(t.Context(), base, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = postgres.DropSchema(t.Context(), base, name) })
	s := open(t, url)
	var schema string
	if err := queryRow(t, url, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'passages' AND table_schema = $1`, &schema, name); err != nil || schema != name {
		t.Fatalf("passages not in %s: %q, %v", name, schema, err)
	}
	if n, err := s.Size(t.Context()); err != nil || n <= 0 {
		t.Errorf("Size of an empty index = %d, %v; want the empty tables' pages", n, err)
	}
	s.Close()
	if err := postgres.DropSchema(t.Context(), base, name); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := queryRow(t, base, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1`, &n, name); err != nil || n != 0 {
		t.Errorf("schema still there after DropSchema: %d, %v", n, err)
	}
	for _, bad := range []string{"Bench", "a;DROP TABLE x", "", "1abc"} {
		if _, err := postgres.CreateSchema(t.Context(), base, bad); err == nil || !strings.Contains(err.Error(), "want lower-case") {
			t.Errorf("CreateSchema(%q) = %v", bad, err)
		}
	}
}

// TestMeasureRecallAndSize over 150 synthetic articles (~830 passages):
// the size counts more than the passages table; with ef_search above the
// passage count the HNSW search finds the whole exact top 50, and a small
// ef_search finds no more. (On a graph this small HNSW misses little;
// BENCHMARKS.md checks the figure at 10k articles against an independent
// SQL measurement.)
func TestMeasureRecallAndSize(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	ix, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: retrieval.NewLocalEmbedder(), Store: s})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Sync(t.Context(), synth.New(1).Articles(150), nil); err != nil {
		t.Fatal(err)
	}
	size, err := s.Size(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var passages int64
	if err := queryRow(t, url, `SELECT pg_total_relation_size('passages')`, &passages); err != nil {
		t.Fatal(err)
	}
	if size <= passages {
		t.Errorf("Size %d ≤ the passages table's %d alone", size, passages)
	}
	// The index searches must be index scans: counted by the statistics,
	// which a backend sends within a second or so of its transaction.
	indexScans := func() int64 {
		var n int64
		if err := queryRow(t, url, `SELECT coalesce(sum(idx_scan), 0)::bigint FROM pg_stat_user_indexes WHERE schemaname = current_schema() AND indexrelname LIKE 'passages_hnsw_%'`, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := indexScans()
	rs, err := s.MeasureRecall(t.Context(), 20, 50, []int{10, 1000})
	if err != nil {
		t.Fatal(err)
	}
	scans := int64(0)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if scans = indexScans() - before; scans >= 2*20 {
			break
		}
	}
	if scans < 2*20 {
		t.Errorf("%d HNSW index scans for 2 × 20 index searches: the \"index\" phase searched without the index", scans)
	}
	if len(rs) != 2 || rs[0].EfSearch != 10 || rs[1].EfSearch != 1000 || rs[1].Queries != 20 || rs[1].K != 50 {
		t.Fatalf("MeasureRecall = %+v", rs)
	}
	if rs[1].Recall != 1 {
		t.Errorf("recall at ef_search 1000 over ~830 passages = %.3f, want 1", rs[1].Recall)
	}
	if rs[0].Recall > rs[1].Recall || rs[0].Recall <= 0 {
		t.Errorf("recall at ef_search 10 = %.3f, at 1000 %.3f", rs[0].Recall, rs[1].Recall)
	}
	t.Logf("recall@50: %+v; size %d bytes", rs, size)
}
