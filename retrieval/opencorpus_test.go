package retrieval

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
		if _, ok := ix.reuse(corpus.FileStat{Path: f, Size: fileSize(t, filepath.Join(corpusDir, f)), ModTime: modTime(t, filepath.Join(corpusDir, f))}); !ok {
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

// Readers never wait for a writer while there is a committed index to
// answer from: they report the corpus changes as pending. A writer waits
// for the other writer and then finishes the job.
func TestOpenCorpusWhileAnotherProcessWrites(t *testing.T) {
	corpusDir, indexDir := t.TempDir(), t.TempDir()
	writeCorpusFile(t, corpusDir, "bees.md", "# Bees\n\nA queen bee can lay two thousand eggs in a single day.\n")
	opts := CorpusOptions{Index: Options{Dir: indexDir}, Corpus: corpusDir}
	openCorpus(t, opts)
	writeCorpusFile(t, corpusDir, "tides.md", "# Tides\n\nTides are caused mainly by the Moon.\n")

	unlock, err := lockDir(indexDir) // another process writing
	if err != nil {
		t.Skipf("no locking here: %v", err)
	}
	waited := false
	reader := opts
	reader.Waiting = func() { waited = true }
	ix, rep := openCorpus(t, reader)
	if waited || !slices.Equal(rep.Pending.Added, []string{"tides"}) || rep.Sync.Changed() {
		t.Errorf("reader during a write: waited %t, %+v", waited, rep)
	}
	if _, ok := ix.Article("bees"); !ok {
		t.Error("the reader does not answer from the committed index")
	}
	if _, ok := ix.Article("tides"); ok {
		t.Error("the reader wrote the index under another's lock")
	}

	// A writer waits for the lock, then indexes the change.
	released := make(chan struct{})
	writer := opts
	writer.Write = true
	writer.Waiting = func() {
		go func() {
			time.Sleep(100 * time.Millisecond)
			unlock()
			close(released)
		}()
	}
	ix, rep = openCorpus(t, writer)
	select {
	case <-released:
	default:
		t.Fatal("the writer did not wait for the lock")
	}
	if !slices.Equal(rep.Sync.Added, []string{"tides"}) || rep.Pending.Changed() {
		t.Errorf("writer after the wait: %+v", rep)
	}
	if _, ok := ix.Article("tides"); !ok {
		t.Error("writer did not index the change")
	}
}

// With no committed index to answer from, a reader waits for the writer
// building it, and then uses what that writer committed.
func TestOpenCorpusReaderWaitsForFirstIndex(t *testing.T) {
	corpusDir, indexDir := t.TempDir(), t.TempDir()
	writeCorpusFile(t, corpusDir, "bees.md", "# Bees\n\nA queen bee can lay two thousand eggs in a single day.\n")
	opts := CorpusOptions{Index: Options{Dir: indexDir}, Corpus: corpusDir}
	unlock, err := lockDir(indexDir)
	if err != nil {
		t.Skipf("no locking here: %v", err)
	}
	emb := &countingEmbedder{Embedder: NewLocalEmbedder()}
	opts.Index.Embedder = emb
	opts.Waiting = func() {
		go func() {
			// The other process commits the first generation, then exits.
			other := openIndex(t, indexDir, NewLocalEmbedder(), ChunkOptions{})
			set, err := corpus.LoadDir(t.Context(), corpusDir, corpus.Options{})
			if err == nil {
				_, err = other.commit(t.Context(), set.Articles, time.Now(), nil)
			}
			if err != nil {
				t.Error(err)
			}
			unlock()
		}()
	}
	ix, rep := openCorpus(t, opts)
	if _, ok := ix.Article("bees"); !ok || rep.Sync.Changed() || emb.texts.Load() != 0 {
		t.Errorf("reader after the first index: %+v, embedded %d texts; want the other's generation, nothing re-embedded", rep, emb.texts.Load())
	}
}

// Two readers of a changed corpus at once both get an index: one writes
// the change, the other answers from what is committed (or, if it gets the
// lock after the first, finds the work done).
func TestOpenCorpusConcurrentReaders(t *testing.T) {
	corpusDir, indexDir := t.TempDir(), t.TempDir()
	writeCorpusFile(t, corpusDir, "bees.md", "# Bees\n\nA queen bee can lay two thousand eggs in a single day.\n")
	opts := CorpusOptions{Index: Options{Dir: indexDir}, Corpus: corpusDir}
	openCorpus(t, opts)
	for i := range 30 {
		writeCorpusFile(t, corpusDir, "more/"+strconv.Itoa(i)+".md", "# Note "+strconv.Itoa(i)+"\n\nSome words about tides and the Moon.\n")
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			ix, _, err := OpenCorpus(t.Context(), CorpusOptions{Index: Options{Dir: indexDir, Embedder: NewLocalEmbedder()}, Corpus: corpusDir})
			if err == nil {
				if _, ok := ix.Article("bees"); !ok {
					err = errors.New("no bees in the index")
				}
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	ix, rep := openCorpus(t, opts)
	if rep.Sync.Changed() || ix.Info().Articles != 31 {
		t.Errorf("afterwards: %d articles, %+v", ix.Info().Articles, rep.Sync)
	}
}

// A Sync that gets the lock after another process committed the same
// change loads that generation and writes nothing.
func TestSyncCatchesUpWithAnotherWriter(t *testing.T) {
	dir := t.TempDir()
	syncIndex(t, openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{}), testArticles())
	a := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	b := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	more := append(testArticles(), corpus.Article{ID: "delta", Title: "Tea", Fingerprint: "d1",
		Paragraphs: []string{"Darjeeling tea is grown in the foothills of the Himalayas."}})
	syncIndex(t, a, more)
	gen, _ := diskGeneration(dir)
	rep := syncIndex(t, b, more)
	if rep.Changed() || rep.Embedded != 0 {
		t.Errorf("second writer: %+v, want nothing to do", rep)
	}
	if g, _ := diskGeneration(dir); g != gen {
		t.Errorf("second writer wrote generation %d over %d", g, gen)
	}
	if _, ok := b.Article("delta"); !ok {
		t.Error("second writer did not load the other's generation")
	}
}

// The index remembers which skipped entries it reported: a second open
// reports none, a new or changed bad file is reported again.
func TestOpenCorpusUnreported(t *testing.T) {
	corpusDir := t.TempDir()
	writeCorpusFile(t, corpusDir, "bees.md", "# Bees\n\nA queen bee can lay two thousand eggs in a single day.\n")
	writeCorpusFile(t, corpusDir, "bad.txt", "\x00")
	opts := CorpusOptions{Index: Options{Dir: t.TempDir()}, Corpus: corpusDir}
	paths := func(ps []corpus.Problem) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Path)
		}
		return out
	}
	if _, rep := openCorpus(t, opts); !slices.Equal(paths(rep.Unreported), []string{"bad.txt"}) {
		t.Errorf("first open: unreported %v", paths(rep.Unreported))
	}
	if _, rep := openCorpus(t, opts); len(rep.Unreported) != 0 || len(rep.Skipped) != 1 {
		t.Errorf("second open: unreported %v of %v", paths(rep.Unreported), paths(rep.Skipped))
	}
	writeCorpusFile(t, corpusDir, "worse.txt", "\x00")
	writeCorpusFile(t, corpusDir, "bad.txt", "\x00\x00")
	if _, rep := openCorpus(t, opts); !slices.Equal(paths(rep.Unreported), []string{"bad.txt", "worse.txt"}) {
		t.Errorf("after a new and a changed bad file: unreported %v", paths(rep.Unreported))
	}
}
