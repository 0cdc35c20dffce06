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

// vectorStore holds the passage vectors and finds the nearest ones. It is the
// seam DESIGN.md keeps for scaling out: a pgvector-backed store would answer
// the same two calls. Stores are immutable once built; Sync builds a new one
// (copy on write), so searches never see a half-updated index.
type vectorStore interface {
	// Nearest returns up to k passages most similar to the query, best
	// first, by cosine similarity.
	Nearest(ctx context.Context, query []float32, k int) ([]vectorMatch, error)
	// Len is the number of vectors.
	Len() int
}

type vectorMatch struct {
	Row        int // the passage row (index into the snapshot's passages)
	Similarity float32
}

// chromemStore keeps the passage vectors in chromem-go, the product's
// in-process vector store, laid out as an inverted file (IVF): the
// passages are partitioned by k-means over their vectors, each partition is
// one chromem.Collection (documents with an ID — the passage ID — and an
// Embedding, nothing else), and a query scores the partition centroids and
// runs chromem's exhaustive Collection.QueryEmbedding on the nprobe
// nearest partitions concurrently, merging their top hits. An index of at
// most exactMaxRows passages is one partition: exact search.
//
// Why partitions: chromem's query is exhaustive and costs ~1.1 µs per
// document at 768 dims on this 2-core machine (every document goes through
// a channel in filterDocs, a dense dot product, and a mutex-guarded heap):
// ~60 ms for the 55k passages of 10k articles, over the 25 ms answer
// budget. Probing a few of ~55 partitions reads a fraction of them; the
// recall this costs is measured in BENCHMARKS.md.
//
// One copy of the vectors: chromem keeps the []float32 it is given when it
// is already normalised (collection.go: AddDocument copies only to
// normalise), so every row is normalised before it is added and rows holds
// the same slices (for persisting, re-partitioning and copying kept rows
// into the next generation). Generations share the slices of unchanged
// passages, and partitions whose passages did not change share their
// Collection.
//
// Every vector is quantised to int8 as soon as it is embedded (round(v ·
// 127 / max|v|), then normalised back to a float32 unit vector: see
// quantise), so the vectors in memory are exactly those the vector file
// holds and a search gives the same answer before and after a restart.
type chromemStore struct {
	db        *vectorDB
	dims      int
	ids       []string         // row -> passage ID (shared with the snapshot's passages)
	rows      [][]float32      // row -> its unit vector (chromem's slice); nil for a zero vector
	rowOf     map[string]int32 // passage ID -> row
	part      []int32          // row -> partition
	centroids [][]float32      // unit vectors; one per partition
	colls     []*chromem.Collection
	counts    []int // documents per partition
	// trainedRows is the row count the partitions were trained for; a sync
	// that moves far from it re-partitions.
	trainedRows int
	// nprobe is the number of partitions a query scans.
	nprobe int
}

var _ vectorStore = (*chromemStore)(nil)

// Partitioning parameters (BENCHMARKS.md has the measurements behind them).
const (
	// exactMaxRows is the largest index kept in one partition (exact).
	exactMaxRows = 5000
	// rowsPerPartition is the target partition size: k = rows/rowsPerPartition.
	rowsPerPartition = 1000
	// defaultProbe is the number of partitions a query scans.
	defaultProbe = 12
	// trainPerPartition is the k-means training sample per partition.
	trainPerPartition = 128
	// trainIterations is the number of k-means (Lloyd) iterations.
	trainIterations = 8
	// trainSeed makes partitions deterministic.
	trainSeed = 0x5eed
)

// vectorDB is the chromem-go database an Index keeps its collections in,
// one per partition of the generations in use. Collections are named
// uniquely ("p<n>"); a generation that replaces another releases the
// collections it does not share.
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
	c, err := v.db.CreateCollection("p"+strconv.FormatInt(v.next.Add(1), 10), nil, noEmbedding)
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
	keep := make(map[*chromem.Collection]bool, len(next.colls))
	for _, c := range next.colls {
		keep[c] = true
	}
	for _, c := range old.colls {
		if !keep[c] {
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
	// old is the previous generation; kept[r] is the old row of new row r,
	// or -1 for a new passage. With repartition (or no old partitions) the
	// partitions are trained afresh.
	old         *chromemStore
	kept        []int32
	repartition bool
}

// buildStore partitions the rows (training k-means, or assigning new rows
// to the old centroids) and fills the chromem collections, reusing the old
// generation's collection for every partition whose passages are all
// unchanged.
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
	old := in.old
	reuse := !in.repartition && old != nil && len(old.centroids) > 0 && old.dims == in.dims &&
		!needsRepartition(len(old.centroids), old.trainedRows, n)
	s.part = make([]int32, n)
	if reuse {
		s.centroids, s.trainedRows = old.centroids, old.trainedRows
		var fresh []int
		for r, o := range in.kept {
			if o >= 0 {
				s.part[r] = old.part[o]
			} else {
				fresh = append(fresh, r)
			}
		}
		assign(s.rows, fresh, s.centroids, s.part)
	} else {
		s.centroids = trainCentroids(ctx, s.rows, s.dims, partitionsFor(n))
		s.trainedRows = n
		all := make([]int, n)
		for r := range all {
			all[r] = r
		}
		assign(s.rows, all, s.centroids, s.part)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build vector store: %w", err)
	}

	// Members of each partition, and whether the old collection can stay.
	k := len(s.centroids)
	members := s.members()
	s.colls, s.counts = newPartitions(k)
	if reuse {
		oldCount := make([]int, k)
		for p := range old.counts {
			oldCount[p] = old.counts[p]
		}
		for p, m := range members {
			same := len(m) == oldCount[p]
			for _, r := range m {
				if !same {
					break
				}
				o := in.kept[r]
				same = o >= 0 && (s.rows[r] == nil) == (old.rows[o] == nil)
			}
			if same {
				s.colls[p], s.counts[p] = old.colls[p], old.counts[p]
			}
		}
	}
	if err := s.fill(ctx, members); err != nil {
		return nil, fmt.Errorf("build vector store: %w", err)
	}
	return s, nil
}

// newPartitions returns k partitions without collections yet.
func newPartitions(k int) ([]*chromem.Collection, []int) {
	return make([]*chromem.Collection, k), make([]int, k)
}

// members lists the rows of each partition.
func (s *chromemStore) members() [][]int {
	m := make([][]int, len(s.centroids))
	for r, p := range s.part {
		m[p] = append(m[p], r)
	}
	return m
}

// fill creates a collection for every partition that has none and adds
// its rows, partitions on bounded parallel workers; the first error
// cancels the rest (and the collections made so far are released).
func (s *chromemStore) fill(ctx context.Context, members [][]int) error {
	var todo []int
	for p := range s.colls {
		if s.colls[p] == nil {
			todo = append(todo, p)
		}
	}
	err := forEach(ctx, len(todo), runtime.GOMAXPROCS(0), func(ctx context.Context, i int) error {
		p := todo[i]
		c, err := s.db.newCollection()
		if err != nil {
			return err
		}
		s.colls[p] = c
		count := 0
		for _, r := range members[p] {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			count++
			if s.rows[r] == nil {
				continue // a zero vector matches nothing: counted, not added
			}
			// Embedding is a unit vector, so chromem keeps this slice
			// rather than a normalised copy.
			if err := c.AddDocument(ctx, chromem.Document{ID: s.ids[r], Embedding: s.rows[r]}); err != nil {
				return fmt.Errorf("add vector %s: %w", s.ids[r], err)
			}
		}
		s.counts[p] = count
		return nil
	})
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

// partitionsFor is the number of partitions for n rows.
func partitionsFor(n int) int {
	if n <= exactMaxRows {
		return 1
	}
	return max(1, n/rowsPerPartition)
}

// needsRepartition reports whether partitions trained as k for trained rows
// no longer suit n rows: the exact/partitioned boundary was crossed, or the
// row count halved or doubled.
func needsRepartition(k, trained, n int) bool {
	if (k == 1) != (partitionsFor(n) == 1) {
		return true
	}
	return n > 2*trained || 2*n < trained
}

// Nearest implements vectorStore.
func (s *chromemStore) Nearest(ctx context.Context, q []float32, k int) ([]vectorMatch, error) {
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
	probe := s.probes(q)
	results := make([][]chromem.Result, len(probe))
	err := forEach(ctx, len(probe), runtime.GOMAXPROCS(0), func(ctx context.Context, i int) error {
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
	sorted := top.sorted()
	out := make([]vectorMatch, len(sorted))
	for i, e := range sorted {
		out[i] = vectorMatch{Row: e.row, Similarity: e.score}
	}
	return out, nil
}

// probes returns the partitions a query scans: all of them if there are at
// most nprobe, else the nprobe whose centroids are most similar to q.
func (s *chromemStore) probes(q []float32) []int {
	k := len(s.centroids)
	if k <= s.nprobe {
		all := make([]int, k)
		for p := range all {
			all[p] = p
		}
		return all
	}
	nz := make([]int, 0, len(q))
	for d, x := range q {
		if x != 0 {
			nz = append(nz, d)
		}
	}
	top := newTopK(s.nprobe)
	for p, c := range s.centroids {
		var sc float32
		for _, d := range nz { // local queries are sparse: only their dimensions count
			sc += q[d] * c[d]
		}
		top.push(p, sc)
	}
	var out []int
	for _, e := range top.sorted() {
		out = append(out, e.row)
	}
	return out
}

// scanBytes is the number of vector bytes Nearest reads for query q: the
// centroids and the float32 rows of the probed partitions.
func (s *chromemStore) scanBytes(q []float32) int64 {
	if len(s.ids) == 0 {
		return 0
	}
	n := int64(len(s.centroids)) * int64(s.dims) * 4
	for _, p := range s.probes(q) {
		n += int64(s.counts[p]) * int64(s.dims) * 4
	}
	return n
}

// trainCentroids runs spherical k-means (unit centroids, cosine
// assignment) on a deterministic sample of the non-zero rows and returns k
// unit centroids (fewer if there are fewer distinct rows). One partition
// needs no training: its centroid is never scored.
func trainCentroids(ctx context.Context, rows [][]float32, dims, k int) [][]float32 {
	var idx []int
	for r, v := range rows {
		if v != nil {
			idx = append(idx, r)
		}
	}
	if k <= 1 || len(idx) <= k {
		return [][]float32{make([]float32, dims)}
	}
	// A sample spread evenly over the rows (which are in article order).
	if want := k * trainPerPartition; len(idx) > want {
		sample := make([]int, want)
		for i := range sample {
			sample[i] = idx[i*len(idx)/want]
		}
		idx = sample
	}
	// Initial centroids: k sample rows at evenly spaced positions of a
	// seeded shuffle.
	perm := slices.Clone(idx)
	rng := newSplitMix(trainSeed)
	for i := len(perm) - 1; i > 0; i-- {
		j := int(rng.next() % uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	cents := make([][]float32, k)
	for p := range cents {
		cents[p] = slices.Clone(rows[perm[p]])
	}
	part := make([]int32, len(rows))
	for range trainIterations {
		if ctx.Err() != nil {
			break
		}
		assign(rows, idx, cents, part)
		sums := make([][]float64, k)
		for p := range sums {
			sums[p] = make([]float64, dims)
		}
		sizes := make([]int, k)
		for _, r := range idx {
			p := part[r]
			sizes[p]++
			for d, x := range rows[r] {
				sums[p][d] += float64(x)
			}
		}
		for p := range cents {
			if sizes[p] == 0 { // an empty partition starts again from a random row
				copy(cents[p], rows[idx[int(rng.next()%uint64(len(idx)))]])
				continue
			}
			var norm float64
			for _, x := range sums[p] {
				norm += x * x
			}
			if norm == 0 {
				continue
			}
			inv := 1 / math.Sqrt(norm)
			for d, x := range sums[p] {
				cents[p][d] = float32(x * inv)
			}
		}
	}
	return cents
}

// assign sets part[r] to the nearest centroid of rows[r] for each r in
// which, on GOMAXPROCS goroutines. A zero row goes to partition 0.
func assign(rows [][]float32, which []int, cents [][]float32, part []int32) {
	if len(cents) == 1 {
		for _, r := range which {
			part[r] = 0
		}
		return
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), len(which)/256))
	var wg sync.WaitGroup
	per := (len(which) + workers - 1) / workers
	for w := range workers {
		lo, hi := min(w*per, len(which)), min((w+1)*per, len(which))
		wg.Go(func() {
			for _, r := range which[lo:hi] {
				v := rows[r]
				best, bestSim := 0, float32(math.Inf(-1))
				if v != nil {
					for p, c := range cents {
						if sim := dot(v, c); sim > bestSim {
							best, bestSim = p, sim
						}
					}
				}
				part[r] = int32(best)
			}
		})
	}
	wg.Wait()
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

// splitMix is a tiny deterministic generator for k-means initialisation.
type splitMix struct{ s uint64 }

func newSplitMix(seed uint64) *splitMix { return &splitMix{seed} }

func (g *splitMix) next() uint64 {
	g.s += 0x9e3779b97f4a7c15
	z := g.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// dot is the inner product, unrolled by four.
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
