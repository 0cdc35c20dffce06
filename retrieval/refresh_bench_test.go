package retrieval

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/corpus/synth"
)

// BenchmarkRefresh is what a running bot pays when one article lands in
// its watched corpus directory: Refresher.Refresh re-indexes through
// OpenCorpus (opening the index a second time, reusing every unchanged
// file) and reloads the serving index.
func BenchmarkRefresh(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("passages=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			arts := articlesForPassages(n)
			old := time.Now().Add(-time.Hour)
			write := func(i int) {
				p := filepath.Join(dir, filepath.FromSlash(synth.Path(i)))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(p, synth.Markdown(synthGen().Article(i)), 0o644); err != nil {
					b.Fatal(err)
				}
				if err := os.Chtimes(p, old, old); err != nil {
					b.Fatal(err)
				}
			}
			for i := range arts {
				write(i)
			}
			opts := CorpusOptions{Index: Options{Dir: b.TempDir(), Embedder: NewLocalEmbedder()}, Corpus: dir}
			serving, _, err := OpenCorpus(b.Context(), opts)
			if err != nil {
				b.Fatal(err)
			}
			r := NewRefresher(serving, opts)
			next := len(arts)
			for b.Loop() {
				write(next)
				next++
				rep, err := r.Refresh(b.Context())
				if err != nil || len(rep.Sync.Added) != 1 {
					b.Fatalf("refresh: %v, added %v", err, rep.Sync.Added)
				}
			}
			b.ReportMetric(float64(len(serving.Articles())), "articles")
		})
	}
}
