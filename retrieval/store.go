package retrieval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"

	"github.com/philippgille/chromem-go"
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

// chromemStore keeps the vectors in a chromem-go collection — the store of
// record, and its persistence format (DB.ExportToWriter/ImportFromReader of
// an in-memory DB into one file that index.go writes atomically) — and
// answers queries by scanning a contiguous row-major copy of the same
// vectors itself. The chromem documents' Embedding slices alias rows of that
// copy, so the vectors are held in memory once.
//
// Why not chromem's own Collection.QueryEmbedding: it walks a map of
// *Document (pointer chasing, rows scattered over the heap), pushes every
// document through a filter, checks lengths per document and takes a mutex
// per candidate for its top-k heap. Measured on this 2-core machine
// (BenchmarkNearest in store_test.go, 40k rows × 512 dims, the passage count
// of a 10k-article corpus at DefaultMaxWords): chromem ~X ms/query against
// ~Y ms for the contiguous scan — see the package report. The scan splits the
// rows over GOMAXPROCS goroutines, each with its own lock-free top-k, and
// merges them.
type chromemStore struct {
	db   *chromem.DB
	coll *chromem.Collection
	ids  []string  // row -> passage ID
	dims int       // 0 when empty
	mat  []float32 // row-major len(ids)×dims
}

var _ vectorStore = (*chromemStore)(nil)

const chromemCollection = "passages"

// newChromemStore builds a store over the given rows. vectors[i] belongs to
// ids[i]; all must have the same length.
func newChromemStore(ctx context.Context, ids []string, vectors [][]float32) (*chromemStore, error) {
	s := &chromemStore{ids: ids}
	if len(ids) != len(vectors) {
		return nil, fmt.Errorf("build vector store: %d ids for %d vectors", len(ids), len(vectors))
	}
	if len(vectors) > 0 {
		s.dims = len(vectors[0])
	}
	s.mat = make([]float32, len(ids)*s.dims)
	for i, v := range vectors {
		if len(v) != s.dims {
			return nil, fmt.Errorf("build vector store: vector %s has %d dims, want %d", ids[i], len(v), s.dims)
		}
		copy(s.mat[i*s.dims:], v)
	}
	if err := s.fillChromem(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// fillChromem (re)creates the chromem collection with documents aliasing the
// rows of s.mat.
func (s *chromemStore) fillChromem(ctx context.Context) error {
	s.db = chromem.NewDB()
	coll, err := s.db.CreateCollection(chromemCollection, nil, nil)
	if err != nil {
		return fmt.Errorf("create collection: %w", err)
	}
	s.coll = coll
	for i, id := range s.ids {
		row := s.row(i)
		if isZero(row) {
			// chromem would normalise a zero vector to NaNs; a passage
			// without any feature gets a copy it may keep as it likes.
			row = make([]float32, s.dims)
		}
		doc := chromem.Document{ID: id, Embedding: row}
		if err := coll.AddDocument(ctx, doc); err != nil {
			return fmt.Errorf("add vector %s: %w", id, err)
		}
	}
	return nil
}

func (s *chromemStore) row(i int) []float32 {
	return s.mat[i*s.dims : (i+1)*s.dims : (i+1)*s.dims]
}

// Len implements vectorStore.
func (s *chromemStore) Len() int { return len(s.ids) }

// writeTo persists the chromem DB (gob) to w.
func (s *chromemStore) writeTo(w io.Writer) error {
	if err := s.db.ExportToWriter(w, false, ""); err != nil {
		return fmt.Errorf("export vectors: %w", err)
	}
	return nil
}

// loadChromemStore reads a DB written by writeTo and lays its vectors out in
// the order of ids (the snapshot's passage rows), which must all be present
// with the same number of dimensions.
func loadChromemStore(ctx context.Context, r io.ReadSeeker, ids []string) (*chromemStore, error) {
	db := chromem.NewDB()
	if err := db.ImportFromReader(r, ""); err != nil {
		return nil, fmt.Errorf("import vectors: %w", err)
	}
	coll := db.GetCollection(chromemCollection, nil)
	if coll == nil {
		return nil, errors.New("import vectors: no passages collection")
	}
	if coll.Count() != len(ids) {
		return nil, fmt.Errorf("import vectors: %d vectors for %d passages", coll.Count(), len(ids))
	}
	s := &chromemStore{ids: ids}
	for i, id := range ids {
		doc, err := coll.GetByID(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("import vectors: %w", err)
		}
		if i == 0 {
			s.dims = len(doc.Embedding)
			s.mat = make([]float32, len(ids)*s.dims)
		}
		if len(doc.Embedding) != s.dims {
			return nil, fmt.Errorf("import vectors: %s has %d dims, want %d", id, len(doc.Embedding), s.dims)
		}
		row := s.row(i)
		copy(row, doc.Embedding)
		for j, x := range row {
			if math.IsNaN(float64(x)) {
				row[j] = 0
			}
		}
	}
	// Rebuild the collection over s.mat so the vectors are held once; the
	// imported documents become garbage.
	if err := s.fillChromem(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// scanParallelMin is the matrix size (floats) below which one goroutine
// scans: starting goroutines costs more than it saves on small indexes.
const scanParallelMin = 1 << 18

// Nearest implements vectorStore by an exhaustive scan.
func (s *chromemStore) Nearest(ctx context.Context, q []float32, k int) ([]vectorMatch, error) {
	if len(s.ids) == 0 || k <= 0 {
		return nil, nil
	}
	if len(q) != s.dims {
		return nil, fmt.Errorf("nearest vectors: query has %d dims, index %d", len(q), s.dims)
	}
	n := len(s.ids)
	workers := runtime.GOMAXPROCS(0)
	if len(s.mat) < scanParallelMin || workers < 2 {
		workers = 1
	}
	tops := make([]topK, workers)
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, n)
		tops[w] = newTopK(k)
		scan := func() { s.scan(q, lo, hi, &tops[w]) }
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

func (s *chromemStore) scan(q []float32, lo, hi int, top *topK) {
	d := s.dims
	for i := lo; i < hi; i++ {
		top.push(i, dot(q, s.mat[i*d:(i+1)*d]))
	}
}

// dot is the inner product, unrolled with four accumulators so the adds
// pipeline.
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

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
