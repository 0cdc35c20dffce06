package retrieval

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/philippgille/chromem-go"
	"github.com/verbatimbot/verbatim/corpus"
)

// synthArticles returns the first n articles of the synthetic corpus
// (corpus/synth, seed 1): ~600 words in 8–15 paragraphs, ~5.5 passages each
// with DefaultMaxWords.
func synthArticles(n int) []corpus.Article { return synthGen().Articles(n) }

// articlesForPassages returns a synthetic corpus of about n passages.
func articlesForPassages(n int) []corpus.Article {
	sample := synthArticles(50)
	per := 0
	for _, a := range sample {
		per += len(Chunk(a, ChunkOptions{}))
	}
	return synthArticles(max(1, n*len(sample)/per))
}

func benchIndex(b *testing.B, passages int) *Index {
	dir := b.TempDir()
	ix, err := Open(b.Context(), Options{Dir: dir, Embedder: NewLocalEmbedder()})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	rep, err := ix.Sync(b.Context(), articlesForPassages(passages), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d articles, %d passages in %v", len(rep.Added), rep.Passages, time.Since(start))
	return ix
}

var benchQuestions = func() []string {
	qs := make([]string, 64)
	for i := range qs {
		qs[i] = synthText(uint64(5e8+i), 8) + "?"
	}
	return qs
}()

// BenchmarkSearch is the full hybrid search (query embedding, vector scan,
// BM25, fusion) for k=10.
func BenchmarkSearch(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("passages=%d", n), func(b *testing.B) {
			ix := benchIndex(b, n)
			i := 0
			for b.Loop() {
				if _, err := ix.Search(b.Context(), benchQuestions[i%len(benchQuestions)], 10); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkNearest is the vector query of the chromem-go store on random
// 768-dim unit vectors (as the local embedder's): with the default probe
// ("ivf") and probing every partition ("all-partitions", exact), against
// one chromem collection holding every vector and a plain row scan.
func BenchmarkNearest(b *testing.B) {
	const dims = 768
	for _, n := range benchSizes(b) {
		r := rand.New(rand.NewPCG(uint64(n), 1))
		ids := make([]string, n)
		vecs := make([][]float32, n)
		q8 := make([]int8, dims)
		for i := range vecs {
			ids[i] = "p" + strconv.Itoa(i)
			v := make([]float32, dims)
			for j := range v {
				v[j] = float32(r.NormFloat64())
			}
			quantise(v, q8)
			vecs[i] = v
		}
		s, err := buildStore(b.Context(), newVectorDB(), storeInput{ids: ids, rows: vecs, dims: dims, articles: benchArticles(n)})
		if err != nil {
			b.Fatal(err)
		}
		q := vecs[n/2]
		b.Run(fmt.Sprintf("rows=%d/ivf", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Nearest(b.Context(), q, candidates, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.scanBytes(b.Context(), q))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		b.Run(fmt.Sprintf("rows=%d/all-partitions", n), func(b *testing.B) {
			all := *s
			all.nprobe = len(s.colls)
			for b.Loop() {
				if _, err := all.Nearest(b.Context(), q, candidates, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("rows=%d/rows", n), func(b *testing.B) {
			for b.Loop() {
				top := newTopK(candidates)
				for i, v := range vecs {
					top.push(i, dot(q, v))
				}
			}
			b.ReportMetric(float64(n*dims*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		b.Run(fmt.Sprintf("rows=%d/one-collection", n), func(b *testing.B) {
			coll, err := chromem.NewDB().CreateCollection("bench", nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			for i, v := range vecs {
				if err := coll.AddDocument(b.Context(), chromem.Document{ID: ids[i], Embedding: v}); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if _, err := coll.QueryEmbedding(b.Context(), q, candidates, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*dims*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// benchArticles groups n rows into articles of 5–6 passages, as the
// synthetic corpus's.
func benchArticles(n int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; {
		hi := min(n, lo+5+len(out)%2)
		out = append(out, [2]int{lo, hi})
		lo = hi
	}
	return out
}

// BenchmarkOpen is the cold load of a persisted index (manifest, articles,
// vectors, postings) — the retrieval part of a cold start.
func BenchmarkOpen(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("passages=%d", n), func(b *testing.B) {
			ix := benchIndex(b, n)
			var ix2 *Index
			for b.Loop() {
				var err error
				ix2, err = Open(b.Context(), Options{Dir: ix.dir, Embedder: NewLocalEmbedder()})
				if err != nil || ix2.Info().Passages == 0 {
					b.Fatalf("open: %v %+v", err, ix2.Info())
				}
			}
			// The live heap of one loaded index (the other is dropped).
			ix = nil
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MiB")
			runtime.KeepAlive(ix2)
		})
	}
}

// BenchmarkSyncIncremental re-indexes after changing 1% of the articles.
func BenchmarkSyncIncremental(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("passages=%d", n), func(b *testing.B) {
			ix := benchIndex(b, n)
			arts := ix.Articles()
			round := 0
			for b.Loop() {
				round++
				for i := 0; i < len(arts); i += 100 {
					arts[i].Fingerprint = fmt.Sprintf("%d-%d", i, round)
					arts[i].Paragraphs = synthGen().Edit(i, round).Paragraphs
				}
				if _, err := ix.Sync(b.Context(), arts, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchSizes are the passage counts benchmarked: 1k and 10k (1k with
// -short, as CI runs them), or VERBATIM_BENCH_SIZES, e.g. "40000,100000".
// `verbatim bench` measures the whole program at larger sizes.
func benchSizes(b *testing.B) []int {
	if s := os.Getenv("VERBATIM_BENCH_SIZES"); s != "" {
		return splitInts(b, s)
	}
	if testing.Short() {
		return []int{1_000}
	}
	return []int{1_000, 10_000}
}

func splitInts(b *testing.B, s string) []int {
	var out []int
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			n, err := strconv.Atoi(s[start:i])
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, n)
			start = i + 1
		}
	}
	return out
}
