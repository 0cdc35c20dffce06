package retrieval

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// randomRows returns n quantised unit vectors of dims dimensions around
// clusters centres (0 for plain random vectors), the rows of an article
// (artRows long) around the same centre; row 0 is a zero vector.
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
				v[d] += centres[(i/artRows)%clusters][d]
			}
		}
		if i > 0 && quantise(v, q) {
			rows[i] = v
		}
	}
	return ids, rows
}

// exactTop is the brute-force cosine ranking of rows for q.
// artRows is the number of rows per article in the store tests.
const artRows = 6

func articleRanges(n int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; lo += artRows {
		out = append(out, [2]int{lo, min(lo+artRows, n)})
	}
	return out
}

func exactTop(rows [][]float32, q []float32, k int) []int {
	top := newTopK(k)
	for i, v := range rows {
		if v != nil {
			top.push(i, dot(q, v))
		}
	}
	var out []int
	for _, e := range top.sorted() {
		out = append(out, e.Row)
	}
	return out
}

func nearestRows(t *testing.T, s *chromemStore, q []float32, k int) []int {
	t.Helper()
	ms, err := s.Nearest(t.Context(), q, k, nil)
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
	loaded, err := readVectors(t.Context(), bytes.NewReader(buf.Bytes()), db, s.ids, articleRanges(len(s.ids)))
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
		s, err := buildStore(t.Context(), db, storeInput{ids: ids, rows: rows, dims: 64, articles: articleRanges(n)})
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

// A large store is partitioned by article; probing every article is
// exact, the default probe finds most of the exact top 10 on clustered
// vectors, and partitions and vectors survive a round trip.
func TestChromemStorePartitioned(t *testing.T) {
	const n, dims = 12_000, 32
	ids, rows := randomRows(n, dims, 200, 7)
	db := newVectorDB()
	s, err := buildStore(t.Context(), db, storeInput{ids: ids, rows: rows, dims: dims, articles: articleRanges(n)})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.colls) != len(articleRanges(n)) || s.centColl == nil || s.centColl.Count() != len(s.colls) {
		t.Fatalf("%d partitions, want one per article and a centroid each", len(s.colls))
	}
	total := 0
	for _, c := range s.colls {
		total += c.Count()
	}
	if total != n-1 { // row 0 is zero
		t.Errorf("partitions hold %d rows, want %d", total, n-1)
	}
	loaded := roundTrip(t, s, db)
	for r := range rows {
		if !slices.Equal(loaded.rows[r], rows[r]) {
			t.Fatalf("row %d changed in a round trip", r)
		}
	}
	found, want := 0, 0
	for i := 1; i < 50; i++ {
		q := rows[i*97]
		exact := exactTop(rows, q, 10)
		s.nprobe = len(s.colls)
		if got := nearestRows(t, s, q, 10); !slices.Equal(got, exact) {
			t.Errorf("query %d, all partitions: %v, want %v", i, got, exact)
		}
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

// An incremental build keeps the collections of unchanged articles (and
// their vectors); a new article gets its own, and removed rows are no
// longer found.
func TestChromemStoreIncremental(t *testing.T) {
	const n, dims = 8_004, 32
	ids, rows := randomRows(n, dims, 20, 9)
	db := newVectorDB()
	old, err := buildStore(t.Context(), db, storeInput{ids: ids, rows: rows, dims: dims, articles: articleRanges(n)})
	if err != nil {
		t.Fatal(err)
	}
	// Drop the last two articles and add one of 5 copies of row 1.
	m := n - 2*artRows
	ids2, rows2 := slices.Clone(ids[:m]), slices.Clone(rows[:m])
	arts := articleRanges(m)
	keptArticle := make([]int, len(arts))
	for a := range keptArticle {
		keptArticle[a] = a
	}
	for i := range 5 {
		ids2 = append(ids2, "new"+strconv.Itoa(i))
		rows2 = append(rows2, rows[1])
	}
	arts = append(arts, [2]int{m, m + 5})
	keptArticle = append(keptArticle, -1)
	s, err := buildStore(t.Context(), db, storeInput{ids: ids2, rows: rows2, dims: dims, articles: arts, old: old, keptArticle: keptArticle})
	if err != nil {
		t.Fatal(err)
	}
	for a := range arts[:len(arts)-1] {
		if s.colls[a] != old.colls[a] {
			t.Fatalf("article %d: collection not shared", a)
		}
	}
	s.nprobe = len(s.colls)
	got := nearestRows(t, s, rows[1], 6)
	slices.Sort(got)
	if want := []int{1, m, m + 1, m + 2, m + 3, m + 4}; !slices.Equal(got, want) {
		t.Errorf("nearest to row 1: %v, want %v", got, want)
	}
	for _, r := range nearestRows(t, s, rows[n-1], 20) {
		if r >= len(ids2) {
			t.Errorf("row %d out of range", r)
		}
	}
	db.release(old, s)
	if got, want := len(db.db.ListCollections()), len(s.colls)+1; got != want {
		t.Errorf("%d collections after release, want %d", got, want)
	}
}

// The articles of the rows another signal found (Nearest's near) are
// scanned beside those whose centroids are nearest.
func TestChromemStoreScansNearRows(t *testing.T) {
	const n, dims = 6_000, 32
	ids, rows := randomRows(n, dims, 200, 11)
	s, err := buildStore(t.Context(), newVectorDB(), storeInput{ids: ids, rows: rows, dims: dims, articles: articleRanges(n)})
	if err != nil {
		t.Fatal(err)
	}
	s.nprobe = 1
	q := rows[artRows*10+1] // in article 10
	far := artRows*500 + 2  // a row of article 500
	for _, tc := range []struct {
		name     string
		near     []int
		wantFar  bool
		wantPart int
	}{
		{"centroids only", nil, false, 10},
		{"with a lexical hit elsewhere", []int{far, far + 1}, true, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := s.Nearest(t.Context(), q, 50, tc.near)
			if err != nil {
				t.Fatal(err)
			}
			gotFar := false
			for _, m := range ms {
				switch p := s.partitionOf(m.Row); p {
				case tc.wantPart:
				case 500:
					gotFar = true
				default:
					t.Errorf("row %d of article %d scanned", m.Row, p)
				}
			}
			if gotFar != tc.wantFar {
				t.Errorf("rows of article 500 found: %t, want %t", gotFar, tc.wantFar)
			}
		})
	}
	for _, tc := range []struct{ row, part int }{{0, 0}, {artRows - 1, 0}, {artRows, 1}, {n - 1, len(s.groups) - 1}, {n, -1}, {-1, -1}} {
		if got := s.partitionOf(tc.row); got != tc.part {
			t.Errorf("partitionOf(%d) = %d, want %d", tc.row, got, tc.part)
		}
	}
}
