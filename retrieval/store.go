package retrieval

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// vectorStore holds the passage vectors and finds the nearest ones. It is the
// seam DESIGN.md keeps for scaling out: a pgvector-backed store would answer
// the same two calls. Stores are immutable once built; Sync builds a new one
// (copy on write), so searches never see a half-updated index.
type vectorStore interface {
	// Nearest returns up to k passages most similar to the L2-normalised
	// query, best first, by cosine similarity.
	Nearest(ctx context.Context, query []float32, k int) ([]vectorMatch, error)
	// Len is the number of vectors.
	Len() int
}

type vectorMatch struct {
	Row        int // the passage row (index into the snapshot's passages)
	Similarity float32
}

// columnStore keeps the vectors in one column-major (dimension-major)
// matrix of int8, each row scaled by its own float32 factor, and answers
// queries by an exhaustive scan of it.
//
// Why columns: the local embedder's query vectors are sparse (a question
// has ~10–150 hashed features, so most of the 768 dimensions are 0), and by
// columns a query reads only the columns of its non-zero dimensions — the
// same dot products for a fraction of the memory traffic. A dense query (a
// remote model's) reads every column, the same bytes as a row scan. Rows
// are split over GOMAXPROCS goroutines, each scoring blocks of rows in cache
// with its own lock-free top-k; the tops are merged. Measured on this 2-core
// machine with float32 columns (go test ./retrieval -bench Nearest, 768
// dims, top 50 of 1k / 10k / 55k rows, ms per query):
//
//	chromem-go QueryEmbedding        1.11   12.8   59.7
//	row-major scan, 1 goroutine      0.49    5.0   24.6  (~6.9 GB/s)
//	columns, dense query             0.63    4.2   20.8  (~8.1 GB/s)
//	columns, sparse (100 of 768)     0.11    0.78   2.98
//
// Why int8: a vector is stored as round(v/scale) with scale = max|v|/127
// per row, a quarter of the bytes of float32 — in memory, on disk, read
// from disk at a cold start and scanned per query. The dot product with
// the (float32) query is exact over the stored values and then scaled; the
// rounding moves a cosine by well under 0.01, and the eval sets' hit@1 did
// not move (BENCHMARKS.md).
//
// Why not chromem-go, which this store replaced: its Collection wants one
// []float32 row per document and queries them row by row through a map of
// *Document (pointer chasing, a mutex per candidate), 20× slower than the
// column scan; keeping its rows as well as the columns held every vector
// twice (and three copies at the peak of a build: 1.75–2.3 GB RSS at 64.6k
// passages). Its persistence (gob) took 4.5 s to load 55k vectors. One
// copy, by columns, is persisted as is (vectorFile) and read at disk speed;
// the vectorStore interface is the seam for another store (pgvector) when
// one process is not enough.
//
// A store is built once (rows filled by setRow, possibly concurrently for
// distinct rows, or copied from another store) and immutable after.
type columnStore struct {
	ids   []string  // row -> passage ID
	dims  int       // 0 when empty
	cols  []int8    // dimension d of row r at cols[d*len(ids)+r], in units of scale[r]
	scale []float32 // per row
}

var _ vectorStore = (*columnStore)(nil)

// newColumnStore returns a store of len(ids) zero rows of dims dimensions.
func newColumnStore(ids []string, dims int) *columnStore {
	if len(ids) == 0 {
		dims = 0
	}
	return &columnStore{ids: ids, dims: dims, cols: make([]int8, len(ids)*dims), scale: make([]float32, len(ids))}
}

// storeFromRows builds a store over the given rows: vectors[i] belongs to
// ids[i]; all must have the same length.
func storeFromRows(ids []string, vectors [][]float32) (*columnStore, error) {
	if len(ids) != len(vectors) {
		return nil, fmt.Errorf("build vector store: %d ids for %d vectors", len(ids), len(vectors))
	}
	dims := 0
	if len(vectors) > 0 {
		dims = len(vectors[0])
	}
	s := newColumnStore(ids, dims)
	for i, v := range vectors {
		if len(v) != dims {
			return nil, fmt.Errorf("build vector store: vector %s has %d dims, want %d", ids[i], len(v), dims)
		}
		s.setRow(i, v)
	}
	return s, nil
}

// setRow sets row r to v (len(v) == dims), quantised. Calls for distinct
// rows may run concurrently.
func (s *columnStore) setRow(r int, v []float32) {
	n := len(s.ids)
	var m float32
	for _, x := range v {
		m = max(m, x, -x)
	}
	if m == 0 || m != m { // zero (or NaN) vector: all zero
		s.scale[r] = 0
		for d := range v {
			s.cols[d*n+r] = 0
		}
		return
	}
	s.scale[r] = m / 127
	inv := 127 / m
	for d, x := range v {
		s.cols[d*n+r] = int8(math.Round(float64(x * inv)))
	}
}

// row returns row r as stored (dequantised).
func (s *columnStore) row(r int) []float32 {
	n := len(s.ids)
	v := make([]float32, s.dims)
	for d := range v {
		v[d] = float32(s.cols[d*n+r]) * s.scale[r]
	}
	return v
}

// rowRun is a run of consecutive rows copied between stores.
type rowRun struct{ to, from, n int }

// copyRuns copies runs of rows of src (same dims) into s.
func (s *columnStore) copyRuns(src *columnStore, runs []rowRun) {
	n, m := len(s.ids), len(src.ids)
	for _, r := range runs {
		copy(s.scale[r.to:r.to+r.n], src.scale[r.from:r.from+r.n])
	}
	for d := range s.dims {
		dst, col := s.cols[d*n:(d+1)*n], src.cols[d*m:(d+1)*m]
		for _, r := range runs {
			copy(dst[r.to:r.to+r.n], col[r.from:r.from+r.n])
		}
	}
}

// Len implements vectorStore.
func (s *columnStore) Len() int { return len(s.ids) }

// scanParallelMin is the work (rows × non-zero query dimensions) below
// which one goroutine scans: starting goroutines costs more than it saves.
const scanParallelMin = 1 << 18

// Nearest implements vectorStore by an exhaustive, exact scan.
func (s *columnStore) Nearest(ctx context.Context, q []float32, k int) ([]vectorMatch, error) {
	n := len(s.ids)
	if n == 0 || k <= 0 {
		return nil, nil
	}
	if len(q) != s.dims {
		return nil, fmt.Errorf("nearest vectors: query has %d dims, index %d", len(q), s.dims)
	}
	nz := make([]int32, 0, len(q))
	for d, x := range q {
		if x != 0 {
			nz = append(nz, int32(d))
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if n*len(nz) < scanParallelMin {
		workers = 1
	}
	tops := make([]topK, workers)
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, n)
		tops[w] = newTopK(k)
		scan := func() { s.scan(q, nz, lo, hi, &tops[w]) }
		if w == workers-1 {
			scan() // the calling goroutine takes the last share
			continue
		}
		wg.Go(scan)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nearest vectors: %w", err)
	}
	all := tops[0]
	for _, t := range tops[1:] {
		for _, e := range t.items {
			all.push(e.row, e.score)
		}
	}
	res := all.sorted()
	out := make([]vectorMatch, len(res))
	for i, e := range res {
		out[i] = vectorMatch{Row: e.row, Similarity: e.score}
	}
	return out, nil
}

// scanBlock is the number of rows scored together: their scores (16 KiB)
// stay in L1 while the columns stream past.
const scanBlock = 4096

func (s *columnStore) scan(q []float32, nz []int32, lo, hi int, top *topK) {
	n := len(s.ids)
	var buf [scanBlock]float32
	for b := lo; b < hi; b += scanBlock {
		e := min(b+scanBlock, hi)
		scores := buf[:e-b]
		clear(scores)
		for _, d := range nz {
			axpy(scores, q[d], s.cols[int(d)*n+b:int(d)*n+e])
		}
		for i, sc := range scores {
			top.push(b+i, sc*s.scale[b+i])
		}
	}
}

// axpy adds a·x to y, unrolled by four.
func axpy(y []float32, a float32, x []int8) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		y[i] += a * float32(x[i])
		y[i+1] += a * float32(x[i+1])
		y[i+2] += a * float32(x[i+2])
		y[i+3] += a * float32(x[i+3])
	}
	for ; i < len(y); i++ {
		y[i] += a * float32(x[i])
	}
}

// dot is the inner product (used by tests and benchmarks for reference).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// scanBytes is the number of bytes Nearest reads for query q.
func (s *columnStore) scanBytes(q []float32) int64 {
	nz := 0
	for _, x := range q {
		if x != 0 {
			nz++
		}
	}
	return int64(nz)*int64(len(s.ids)) + int64(len(s.ids))*4 // columns and scales
}
