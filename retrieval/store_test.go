package retrieval

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// randomRows returns n quantised unit vectors of dims dimensions around
// clusters centres (0 for plain random vectors); row 0 is a zero vector.
func randomRows(n, dims, clusters int, seed uint64) ([]string, [][]float32) {
	r := rand.New(rand.NewPCG(seed, 3))
	centres := make([][]float32, clusters)
	for c := range centres {
		centres[c] = make([]float32, dims)
		for d := range centres[c] {
			centres[c][d] = float32(r.NormFloat64()) * 3
		}
	}
	ids := make([]string, n)
	rows := make([][]float32, n)
	q := make([]int8, dims)
	for i := range rows {
		ids[i] = "p" + strconv.Itoa(i)
		v := make([]float32, dims)
		for d := range v {
			v[d] = float32(r.NormFloat64())
			if clusters > 0 {
				v[d] += centres[i%clusters][d]
			}
		}
		if i > 0 && quantise(v, q) {
			rows[i] = v
		}
	}
	return ids, rows
}

// exactTop is the brute-force cosine ranking of rows for q.
func exactTop(rows [][]float32, q []float32, k int) []int {
	top := newTopK(k)
	for i, v := range rows {
		if v != nil {
			top.push(i, dot(q, v))
		}
	}
	var out []int
	for _, e := range top.sorted() {
		out = append(out, e.row)
	}
	return out
}

func nearestRows(t *testing.T, s *chromemStore, q []float32, k int) []int {
	t.Helper()
	ms, err := s.Nearest(t.Context(), q, k)
	if err != nil {
		t.Fatal(err)
	}
	var rows []int
	for _, m := range ms {
		rows = append(rows, m.Row)
	}
	return rows
}

func roundTrip(t *testing.T, s *chromemStore, db *vectorDB) *chromemStore {
	t.Helper()
	var buf bytes.Buffer
	if err := s.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := readVectors(t.Context(), bytes.NewReader(buf.Bytes()), db, s.ids)
	if err != nil {
		t.Fatal(err)
	}
	return loaded
}

// A small store is one chromem collection and exact: it returns the
// brute-force cosine ranking, chromem keeps our slices (one copy of the
// vectors), and a persistence round trip restores every vector bit for
// bit.
func TestChromemStoreExact(t *testing.T) {
	for _, n := range []int{1, 2, 7, exactMaxRows} {
		ids, rows := randomRows(n, 64, 0, uint64(n))
		db := newVectorDB()
		s, err := buildStore(t.Context(), db, storeInput{ids: ids, rows: rows, dims: 64})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.colls) != 1 || s.Len() != n {
			t.Fatalf("n=%d: %d partitions, %d rows", n, len(s.colls), s.Len())
		}
		loaded := roundTrip(t, s, db)
		for r := range rows {
			if !slices.Equal(loaded.rows[r], rows[r]) {
				t.Fatalf("n=%d: row %d changed in a round trip", n, r)
			}
		}
		dense := slices.Clone(rows[n/2])
		if dense == nil {
			dense = make([]float32, 64)
			dense[5] = 1
		}
		sparse := make([]float32, 64)
		sparse[3], sparse[40] = 0.6, -0.8
		for name, q := range map[string][]float32{"dense": dense, "sparse": sparse} {
			want := exactTop(rows, q, 10)
			for _, st := range []*chromemStore{s, loaded} {
				if got := nearestRows(t, st, q, 10); !slices.Equal(got, want) {
					t.Errorf("n=%d %s: rows %v, want %v", n, name, got, want)
				}
			}
		}
		if n > 1 {
			res, err := s.colls[0].QueryEmbedding(t.Context(), dense, 1, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := s.rowOf[res[0].ID]
			if &res[0].Embedding[0] != &rows[r][0] {
				t.Errorf("n=%d: chromem holds a copy of row %d, not our slice", n, r)
			}
		}
	}
}

// A large store is partitioned; probing every partition is exact, the
// default probe finds most of the exact top 10 on clustered vectors, and
// the partitions survive a round trip.
func TestChromemStorePartitioned(t *testing.T) {
	const n, dims = 12_000, 32
	ids, rows := randomRows(n, dims, 40, 7)
	db := newVectorDB()
	s, err := buildStore(t.Context(), db, storeInput{ids: ids, rows: rows, dims: dims})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.colls) != partitionsFor(n) {
		t.Fatalf("%d partitions, want %d", len(s.colls), partitionsFor(n))
	}
	total := 0
	for p, c := range s.colls {
		total += s.counts[p]
		if c.Count() > s.counts[p] {
			t.Errorf("partition %d: %d documents, counted %d", p, c.Count(), s.counts[p])
		}
	}
	if total != n {
		t.Errorf("partitions hold %d rows, want %d", total, n)
	}
	loaded := roundTrip(t, s, db)
	if !slices.Equal(loaded.part, s.part) || len(loaded.centroids) != len(s.centroids) {
		t.Fatal("partitions changed in a round trip")
	}
	found, want := 0, 0
	for i := 1; i < 50; i++ {
		q := rows[i*97]
		exact := exactTop(rows, q, 10)
		s.nprobe = len(s.colls)
		if got := nearestRows(t, s, q, 10); !slices.Equal(got, exact) {
			t.Errorf("query %d, all partitions: %v, want %v", i, got, exact)
		}
		loaded.nprobe = defaultProbe
		for _, r := range nearestRows(t, loaded, q, 10) {
			if slices.Contains(exact, r) {
				found++
			}
		}
		want += len(exact)
	}
	if recall := float64(found) / float64(want); recall < 0.9 {
		t.Errorf("recall@10 with %d probes: %.3f", defaultProbe, recall)
	}
}

// An incremental build keeps the partitions: kept rows stay where they
// were (sharing their vectors), new ones go to the nearest centroid,
// partitions whose rows did not change keep their collection, and removed
// rows are no longer found.
func TestChromemStoreIncremental(t *testing.T) {
	const n, dims = 8_000, 32
	ids, rows := randomRows(n, dims, 20, 9)
	db := newVectorDB()
	old, err := buildStore(t.Context(), db, storeInput{ids: ids, rows: rows, dims: dims})
	if err != nil {
		t.Fatal(err)
	}
	// Drop the last 10 rows and add 5 copies of row 1 under new IDs.
	var ids2 []string
	var rows2 [][]float32
	var kept []int32
	for r := range n - 10 {
		ids2 = append(ids2, ids[r])
		rows2 = append(rows2, rows[r])
		kept = append(kept, int32(r))
	}
	for i := range 5 {
		ids2 = append(ids2, "new"+strconv.Itoa(i))
		rows2 = append(rows2, rows[1])
		kept = append(kept, -1)
	}
	s, err := buildStore(t.Context(), db, storeInput{ids: ids2, rows: rows2, dims: dims, old: old, kept: kept})
	if err != nil {
		t.Fatal(err)
	}
	changed := map[int32]bool{old.part[1]: true}
	for r := n - 10; r < n; r++ {
		changed[old.part[r]] = true
	}
	for p := range s.colls {
		if shared := s.colls[p] == old.colls[p]; shared == changed[int32(p)] {
			t.Errorf("partition %d: shared %v, changed %v", p, shared, changed[int32(p)])
		}
	}
	if s.part[n-10] != old.part[1] {
		t.Errorf("new row went to partition %d, its twin is in %d", s.part[n-10], old.part[1])
	}
	s.nprobe = len(s.colls)
	got := nearestRows(t, s, rows[1], 6)
	slices.Sort(got)
	if want := []int{1, n - 10, n - 9, n - 8, n - 7, n - 6}; !slices.Equal(got, want) {
		t.Errorf("nearest to row 1: %v, want %v", got, want)
	}
	for _, r := range nearestRows(t, s, rows[n-1], 20) {
		if r >= len(ids2) {
			t.Errorf("row %d out of range", r)
		}
	}
	db.release(old, s)
	if len(db.db.ListCollections()) != len(s.colls) {
		t.Errorf("%d collections after release, want %d", len(db.db.ListCollections()), len(s.colls))
	}
}
