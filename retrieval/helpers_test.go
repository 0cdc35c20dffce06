package retrieval

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
)

// bundledArticles is the bundled corpus.
func bundledArticles(t testing.TB) []corpus.Article {
	t.Helper()
	set, err := corpus.Bundled(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return set.Articles
}

// countingEmbedder counts the texts it is asked to embed.
type countingEmbedder struct {
	Embedder
	calls, texts atomic.Int64
	seen         chan string // if set, receives every text
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.calls.Add(1)
	c.texts.Add(int64(len(texts)))
	if c.seen != nil {
		for _, t := range texts {
			c.seen <- t
		}
	}
	return c.Embedder.Embed(ctx, texts)
}

func openIndex(t testing.TB, dir string, emb Embedder, chunk ChunkOptions) *Index {
	t.Helper()
	ix, err := Open(t.Context(), Options{Dir: dir, Embedder: emb, Chunk: chunk})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func syncIndex(t testing.TB, ix *Index, arts []corpus.Article) SyncReport {
	t.Helper()
	rep, err := ix.Sync(t.Context(), arts, nil)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return rep
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
