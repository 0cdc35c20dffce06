package retrieval

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// writeCorpusFile writes a corpus file with a modification time well in
// the past (outside racyWindow), so that the index may remember it.
func writeCorpusFile(t *testing.T, dir, name, text string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

func openCorpus(t *testing.T, opts CorpusOptions) (*Index, CorpusReport) {
	t.Helper()
	if opts.Index.Embedder == nil {
		opts.Index.Embedder = NewLocalEmbedder()
	}
	ix, rep, err := OpenCorpus(t.Context(), opts)
	if err != nil {
		t.Fatalf("OpenCorpus: %v", err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix, rep
}

// OpenCorpus opens, loads, syncs and remembers: a first call indexes the
// corpus, a second parses no unchanged file and changes nothing, and an
// edit is indexed by the next call.
func TestOpenCorpus(t *testing.T) {
	corpusDir, indexDir := t.TempDir(), t.TempDir()
	writeCorpusFile(t, corpusDir, "bees.md", "# Bees\n\nA queen bee can lay two thousand eggs in a single day.\n")
	writeCorpusFile(t, corpusDir, "tides.txt", "Tides\n\nTides are caused mainly by the Moon.\n")
	writeCorpusFile(t, corpusDir, "broken.txt", "\x00binary")
	opts := CorpusOptions{Index: Options{Dir: indexDir}, Corpus: corpusDir}

	ix, rep := openCorpus(t, opts)
	if !slices.Equal(rep.Sync.Added, []string{"bees", "tides"}) || rep.Loaded != 2 || len(rep.Skipped) != 1 || rep.Skipped[0].Path != "broken.txt" {
		t.Fatalf("first OpenCorpus: %+v", rep)
	}
	if hits, err := ix.Search(t.Context(), "How many eggs does a queen bee lay?", 1); err != nil || len(hits) == 0 || hits[0].ArticleID != "bees" {
		t.Fatalf("search: %v, %v", hitIDs(hits), err)
	}

	ix, rep = openCorpus(t, opts)
	if rep.Sync.Changed() || len(rep.Sync.Unchanged) != 2 {
		t.Errorf("second OpenCorpus changed the index: %+v", rep.Sync)
	}
	for _, f := range []string{"bees.md", "tides.txt"} {
		if _, ok := ix.Reuse(corpus.FileStat{Path: f, Size: fileSize(t, filepath.Join(corpusDir, f)), ModTime: modTime(t, filepath.Join(corpusDir, f))}); !ok {
			t.Errorf("%s is not remembered", f)
		}
	}

	writeCorpusFile(t, corpusDir, "tides.txt", "Tides\n\nSpring tides happen when the Sun and the Moon line up.\n")
	_, rep = openCorpus(t, opts)
	if !slices.Equal(rep.Sync.Updated, []string{"tides"}) {
		t.Errorf("after an edit: %+v", rep.Sync)
	}
}

// With no directory given, the index goes to DefaultDir of the corpus's
// absolute path; with no corpus, the bundled articles are indexed.
func TestOpenCorpusDefaults(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	ix, rep := openCorpus(t, CorpusOptions{})
	want, err := DefaultDir(corpus.BundledName)
	if err != nil {
		t.Skip(err)
	}
	if ix.Info().Dir != want || rep.Loaded == 0 || len(rep.Sync.Added) != rep.Loaded {
		t.Errorf("bundled: dir %s (want %s), %+v", ix.Info().Dir, want, rep)
	}

	corpusDir := t.TempDir()
	writeCorpusFile(t, corpusDir, "a.md", "# A\n\nSome text.\n")
	rel, err := filepath.Rel(mustGetwd(t), corpusDir)
	if err != nil {
		t.Skip(err)
	}
	ix, _ = openCorpus(t, CorpusOptions{Corpus: rel})
	want, _ = DefaultDir(corpusDir)
	if ix.Info().Dir != want || !strings.HasPrefix(want, os.Getenv("XDG_CACHE_HOME")) {
		t.Errorf("corpus %s: dir %s, want %s", rel, ix.Info().Dir, want)
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func modTime(t *testing.T, p string) time.Time {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}
