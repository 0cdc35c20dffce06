package corpus_test

import (
	"path/filepath"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/corpus/synth"
)

// BenchmarkLoadDir loads a synthetic corpus (1,000 articles; -short: 200)
// three ways: every file parsed, every file vouched for by Reuse (the
// index trusts unchanged inode and ctime), and every file vouched for only
// by content (Reused.Verify: read and hashed in parallel, not parsed).
func BenchmarkLoadDir(b *testing.B) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	dir := filepath.Join(b.TempDir(), "corpus")
	if err := synth.New(1).WriteDir(dir, 0, n, 0, 2); err != nil {
		b.Fatal(err)
	}
	set, err := corpus.LoadDir(b.Context(), dir, corpus.Options{})
	if err != nil {
		b.Fatal(err)
	}
	byPath := map[string]corpus.Reused{}
	for _, f := range set.Files {
		byPath[f.Path] = corpus.Reused{Hash: f.Hash}
	}
	for _, a := range set.Articles {
		r := byPath[a.Source]
		r.Articles = append(r.Articles, a)
		byPath[a.Source] = r
	}
	for _, bc := range []struct {
		name   string
		reuse  func(corpus.FileStat) (corpus.Reused, bool)
		counts func(corpus.Set) int
	}{
		{"parsed", nil, func(s corpus.Set) int { return s.Parsed }},
		{"trusted", func(f corpus.FileStat) (corpus.Reused, bool) { r, ok := byPath[f.Path]; return r, ok },
			func(s corpus.Set) int { return s.Reused }},
		{"verified", func(f corpus.FileStat) (corpus.Reused, bool) {
			r, ok := byPath[f.Path]
			r.Verify = true
			return r, ok
		}, func(s corpus.Set) int { return s.Verified }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				s, err := corpus.LoadDir(b.Context(), dir, corpus.Options{Reuse: bc.reuse})
				if err != nil {
					b.Fatal(err)
				}
				if got := bc.counts(s); got != n {
					b.Fatalf("%d of %d files %s", got, n, bc.name)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/file")
		})
	}
}
