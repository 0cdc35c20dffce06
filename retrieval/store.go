package retrieval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/philippgille/chromem-go"
)

// chromemStore keeps the passage vectors in chromem-go, the product's
// in-process vector store, laid out as an inverted file (IVF) whose
// partitions are the articles: each article's passages are one
// chromem.Collection (documents with an ID — the passage ID — and an
// Embedding, nothing else), and one more collection holds a centroid per
// article (the normalised mean of its passage vectors). A query asks
// chromem for the nprobe articles whose centroids are nearest, adds the
// articles of the rows the lexical index found for the same question
// (Nearest's near), then runs chromem's Collection.QueryEmbedding on those
// articles' collections concurrently and merges their top hits. An index of at most exactMaxRows
// passages is one collection: exact search.
//
// Why partitions: chromem's query is exhaustive and costs ~1 µs per
// document on this 2-core machine (every document goes through a channel
// in filterDocs, a dense dot product and a mutex-guarded heap): ~45–60 ms
// for the 55k passages of 10k articles, over the 25 ms answer budget. The
// centroid query reads one vector per article (10k) and the probed
// articles a few hundred passages.
//
// Why articles and not k-means clusters: k-means partitions of ~1,000
// passages (tried first, BENCHMARKS.md) had near-random recall for the
// local embedder's sparse word-feature queries — scanning 12 of 54
// partitions found 41% of the exact top 50 — while a passage's own article
// is where a question's words are. Article centroids need no training, so
// the index stays deterministic and an incremental sync only touches the
// changed articles' collections.
//
// One copy of the vectors: chromem keeps the []float32 it is given when it
// is already normalised (collection.go: AddDocument copies only to
// normalise), so every row is normalised before it is added and rows holds
// the same slices (for persisting and for carrying kept rows into the next
// generation). Generations share the slices and the collections of
// unchanged articles. The centroids are extra vectors (one per article).
//
// Every vector is quantised to int8 as soon as it is embedded (see
// quantise), so the vectors in memory are exactly those the vector file
// holds and a search gives the same answer before and after a restart.
type chromemStore struct {
	db    *vectorDB
	dims  int
	ids   []string         // row -> passage ID (shared with the snapshot's passages)
	rows  [][]float32      // row -> its unit vector (chromem's slice); nil for a zero vector
	rowOf map[string]int32 // passage ID -> row
	// groups are the partitions' row ranges [first, end): one per
	// article, or one for all rows when the index is exact.
	groups [][2]int
	colls  []*chromem.Collection // per partition; nil for one without vectors
	// cents are the partitions' centroids (nil when exact, or for a
	// partition without vectors) and centColl the collection holding them,
	// document ID = partition number.
	cents    [][]float32
	centColl *chromem.Collection
	// nprobe is the number of partitions a query scans.
	nprobe int
}

const (
	// exactMaxRows is the largest index kept in one collection (exact).
	exactMaxRows = 5000
	// defaultProbe is the number of articles whose centroids are nearest
	// that a query scans, beside the articles its lexical hits come from
	// (TestIVFRecall at 10k articles: hybrid hit@1 .870 at 32 or 64
	// probes, .867 at 128, .860 exact).
	defaultProbe = 64
)

// vectorDB is the chromem-go database an Index keeps its collections in.
// Collections are named uniquely ("c<n>"); a generation that replaces
// another releases the collections it does not share.
type vectorDB struct {
	db   *chromem.DB
	next atomic.Int64
}

func newVectorDB() *vectorDB { return &vectorDB{db: chromem.NewDB()} }

// errNoEmbedding is what chromem would get if it were ever asked to embed
// text itself: every document and query comes with its vector.
var errNoEmbedding = errors.New("vectors are computed by the index's embedder, not by chromem-go")

func noEmbedding(context.Context, string) ([]float32, error) { return nil, errNoEmbedding }

func (v *vectorDB) newCollection() (*chromem.Collection, error) {
	c, err := v.db.CreateCollection("c"+strconv.FormatInt(v.next.Add(1), 10), nil, noEmbedding)
	if err != nil {
		return nil, fmt.Errorf("create vector collection: %w", err)
	}
	return c, nil
}

// release deletes old's collections that next does not share. Searches
// still running on old keep working: a deleted collection is only
// unnamed in the database.
func (v *vectorDB) release(old, next *chromemStore) {
	if old == nil || old.db != v {
		return
	}
	keep := map[*chromem.Collection]bool{next.centColl: true}
	for _, c := range next.colls {
		keep[c] = true
	}
	for _, c := range append(slices.Clone(old.colls), old.centColl) {
		if c != nil && !keep[c] {
			v.db.DeleteCollection(c.Name) // in memory: never fails
		}
	}
}

// emptyStore is a store of no vectors.
func emptyStore(db *vectorDB) *chromemStore {
	return &chromemStore{db: db, rowOf: map[string]int32{}, nprobe: defaultProbe}
}

// Len implements vectorStore.
func (s *chromemStore) Len() int { return len(s.ids) }

// quantise rounds v (in place) to the int8 grid the vector file stores it
// on and normalises it: v becomes q/|q| with q = round(v·127/max|v|)
// (toInt8). It returns q in dst (len(v)), or false for a zero (or
// non-finite) vector, which becomes all zero. Quantising the result again
// gives the same q, so a vector survives any number of persist/load rounds
// bit for bit.
func quantise(v []float32, dst []int8) bool {
	if !toInt8(v, dst) {
		clear(v)
		return false
	}
	return dequantise(dst, v)
}

// toInt8 sets dst to round(v·127/max|v|); false (and dst zero) for a zero
// or non-finite v.
func toInt8(v []float32, dst []int8) bool {
	var m float32
	for _, x := range v {
		m = max(m, x, -x)
	}
	if m == 0 || m != m || math.IsInf(float64(m), 0) {
		clear(dst)
		return false
	}
	inv := 127 / m
	for i, x := range v {
		dst[i] = int8(math.Round(float64(x * inv)))
	}
	return true
}

// dequantise sets v to q/|q|; false if q is all zero.
func dequantise(q []int8, v []float32) bool {
	var s int64
	for _, x := range q {
		s += int64(x) * int64(x)
	}
	if s == 0 {
		clear(v)
		return false
	}
	inv := 1 / math.Sqrt(float64(s))
	for i, x := range q {
		v[i] = float32(float64(x) * inv)
	}
	return true
}

// storeInput is what a new store is built from.
type storeInput struct {
	ids  []string    // row -> passage ID
	rows [][]float32 // row -> quantised unit vector (see quantise), nil if zero
	dims int
	// articles are the articles' row ranges [first, end), in row order.
	articles [][2]int
	// old is the previous generation and keptArticle[a] the old partition
	// of new article a when its passages are unchanged, else -1 (nil: none
	// kept).
	old         *chromemStore
	keptArticle []int
}

// buildStore fills the chromem collections for the rows, reusing the old
// generation's collection and centroid of every unchanged article.
func buildStore(ctx context.Context, db *vectorDB, in storeInput) (*chromemStore, error) {
	n := len(in.ids)
	s := emptyStore(db)
	s.ids, s.rows, s.dims = in.ids, in.rows, in.dims
	if n == 0 {
		s.dims = 0
		return s, nil
	}
	s.rowOf = make(map[string]int32, n)
	for r, id := range in.ids {
		s.rowOf[id] = int32(r)
	}
	if n <= exactMaxRows || len(in.articles) <= 1 {
		s.groups = [][2]int{{0, n}}
		s.colls = make([]*chromem.Collection, 1)
		if err := s.fill(ctx); err != nil {
			return nil, fmt.Errorf("build vector store: %w", err)
		}
		return s, nil
	}
	s.groups = in.articles
	s.colls = make([]*chromem.Collection, len(s.groups))
	s.cents = make([][]float32, len(s.groups))
	old := in.old
	if old != nil && old.centColl != nil && len(in.keptArticle) == len(s.groups) {
		for a, o := range in.keptArticle {
			if o >= 0 {
				s.colls[a], s.cents[a] = old.colls[o], old.cents[o]
			}
		}
	}
	if err := s.fill(ctx); err != nil {
		return nil, fmt.Errorf("build vector store: %w", err)
	}
	return s, nil
}

// fill creates a collection (and, when partitioned, a centroid) for every
// partition that has none and adds its rows, then the centroid collection;
// partitions on bounded parallel workers, the first error cancels the rest
// (and the collections made so far are released).
func (s *chromemStore) fill(ctx context.Context) error {
	var todo []int
	for p := range s.colls {
		if s.colls[p] == nil {
			todo = append(todo, p)
		}
	}
	fresh := make([]*chromem.Collection, len(s.colls))
	err := forEach(ctx, len(todo), runtime.GOMAXPROCS(0), func(ctx context.Context, i int) error {
		p := todo[i]
		g := s.groups[p]
		var sum []float64
		for r := g[0]; r < g[1]; r++ {
			v := s.rows[r]
			if v == nil {
				continue // a zero vector matches nothing
			}
			if fresh[p] == nil {
				c, err := s.db.newCollection()
				if err != nil {
					return err
				}
				fresh[p] = c
				if s.cents != nil {
					sum = make([]float64, s.dims)
				}
			}
			// v is a unit vector, so chromem keeps this slice rather than
			// a normalised copy.
			if err := fresh[p].AddDocument(ctx, chromem.Document{ID: s.ids[r], Embedding: v}); err != nil {
				return fmt.Errorf("add vector %s: %w", s.ids[r], err)
			}
			for d, x := range v {
				if sum != nil {
					sum[d] += float64(x)
				}
			}
		}
		if sum != nil {
			s.cents[p] = unit(sum)
		}
		return nil
	})
	for _, p := range todo {
		s.colls[p] = fresh[p]
	}
	if err == nil && s.cents != nil {
		err = s.fillCentroids(ctx)
	}
	if err != nil {
		for _, p := range todo {
			if c := s.colls[p]; c != nil {
				s.db.db.DeleteCollection(c.Name)
			}
		}
		return err
	}
	return nil
}

// fillCentroids makes the collection of partition centroids.
func (s *chromemStore) fillCentroids(ctx context.Context) error {
	c, err := s.db.newCollection()
	if err != nil {
		return err
	}
	for p, v := range s.cents {
		if v == nil {
			continue
		}
		if err := c.AddDocument(ctx, chromem.Document{ID: strconv.Itoa(p), Embedding: v}); err != nil {
			s.db.db.DeleteCollection(c.Name)
			return fmt.Errorf("add centroid %d: %w", p, err)
		}
	}
	s.centColl = c
	return nil
}

// unit returns sum scaled to unit length as float32, or nil if it is zero.
func unit(sum []float64) []float32 {
	var norm float64
	for _, x := range sum {
		norm += x * x
	}
	if norm == 0 {
		return nil
	}
	inv := 1 / math.Sqrt(norm)
	v := make([]float32, len(sum))
	for d, x := range sum {
		v[d] = float32(x * inv)
	}
	return v
}

// Nearest returns up to k rows most similar to q, best first, by cosine
// similarity: those of the probed partitions and of the partitions of the
// rows in near (rows another signal found for the same question). It is
// immutable once built; a new generation builds a new one (copy on
// write), so searches never see a half-updated store.
func (s *chromemStore) Nearest(ctx context.Context, q []float32, k int, near []int) ([]Scored, error) {
	if len(s.ids) == 0 || k <= 0 {
		return nil, nil
	}
	if len(q) != s.dims {
		return nil, fmt.Errorf("nearest vectors: query has %d dims, index %d", len(q), s.dims)
	}
	var norm float64
	for _, x := range q {
		norm += float64(x) * float64(x)
	}
	if norm == 0 {
		return nil, nil // chromem would divide by zero; nothing is similar to nothing
	}
	probe, err := s.probes(ctx, q, near)
	if err != nil {
		return nil, fmt.Errorf("nearest vectors: %w", err)
	}
	results := make([][]chromem.Result, len(probe))
	err = forEach(ctx, len(probe), runtime.GOMAXPROCS(0), func(ctx context.Context, i int) error {
		c := s.colls[probe[i]]
		n := min(k, c.Count())
		if n == 0 {
			return nil
		}
		res, err := c.QueryEmbedding(ctx, q, n, nil, nil)
		results[i] = res
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("nearest vectors: %w", err)
	}
	top := newTopK(k)
	for _, res := range results {
		for _, r := range res {
			row, ok := s.rowOf[r.ID]
			if !ok {
				return nil, fmt.Errorf("nearest vectors: unknown passage %q", r.ID)
			}
			top.push(int(row), r.Similarity)
		}
	}
	return top.sorted(), nil
}

// probes returns the partitions a query scans: the only one when exact,
// else the nprobe whose centroids chromem finds nearest to q, plus the
// partitions (articles) of the rows in near that those miss.
func (s *chromemStore) probes(ctx context.Context, q []float32, near []int) ([]int, error) {
	if s.centColl == nil {
		var all []int
		for p, c := range s.colls {
			if c != nil {
				all = append(all, p)
			}
		}
		return all, nil
	}
	n := min(s.nprobe, s.centColl.Count())
	if n == 0 {
		return nil, nil
	}
	res, err := s.centColl.QueryEmbedding(ctx, q, n, nil, nil)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(res), len(res)+len(near))
	for i, r := range res {
		if out[i], err = strconv.Atoi(r.ID); err != nil {
			return nil, fmt.Errorf("centroid id %q: %w", r.ID, err)
		}
	}
	for _, row := range near {
		p := s.partitionOf(row)
		if p >= 0 && s.colls[p] != nil && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// partitionOf is the partition holding row, -1 if none does.
func (s *chromemStore) partitionOf(row int) int {
	p, found := SpanOf(s.groups, row)
	if !found {
		return -1
	}
	return p
}

// scanBytes is the number of vector bytes Nearest reads for query q: the
// centroids and the float32 rows of the probed partitions.
func (s *chromemStore) scanBytes(ctx context.Context, q []float32) int64 {
	if len(s.ids) == 0 {
		return 0
	}
	var n int64
	if s.centColl != nil {
		n = int64(s.centColl.Count()) * int64(s.dims) * 4
	}
	probe, _ := s.probes(ctx, q, nil)
	for _, p := range probe {
		n += int64(s.colls[p].Count()) * int64(s.dims) * 4
	}
	return n
}

// forEach calls f(ctx, i) for i in [0, n) on at most workers goroutines;
// the first error cancels the context of the others and is returned.
func forEach(ctx context.Context, n, workers int, f func(context.Context, int) error) error {
	if n == 0 {
		return ctx.Err()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= n || ctx.Err() != nil {
				return
			}
			if err := f(ctx, i); err != nil {
				cancel(err)
				return
			}
		}
	}
	for range min(workers, n) - 1 {
		wg.Go(work)
	}
	work() // the calling goroutine is one of the workers
	wg.Wait()
	return context.Cause(ctx)
}
