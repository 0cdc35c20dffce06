package retrieval

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// TestRefresher: a refresh indexes what was written and the serving index
// answers from it at once; a burst of concurrent refreshes is served by
// at most two re-indexes, each caller's file included.
func TestRefresher(t *testing.T) {
	corpusDir, indexDir := t.TempDir(), t.TempDir()
	writeCorpusFile(t, corpusDir, "bees.md", "# Bees\n\nA queen bee can lay two thousand eggs in a single day.\n")
	opts := CorpusOptions{Index: Options{Dir: indexDir, Embedder: NewLocalEmbedder()}, Corpus: corpusDir}
	serving, _ := openCorpus(t, opts)
	r := NewRefresher(serving, opts)

	writeCorpusFile(t, corpusDir, "tides.txt", "Tides\n\nTides are caused mainly by the pull of the Moon.\n")
	rep, err := r.Refresh(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rep.Sync.Added) != "[tides]" {
		t.Errorf("refresh added %v", rep.Sync.Added)
	}
	hits, err := serving.Search(t.Context(), "What causes the tides?", 1)
	if err != nil || len(hits) == 0 || hits[0].ArticleID != "tides" {
		t.Fatalf("serving index after the refresh: %+v, %v", hits, err)
	}

	// Eight calls made while a refresh runs (the test holds its place)
	// are served by one more.
	before := r.Runs()
	r.sem <- struct{}{}
	var wg sync.WaitGroup
	for i := range 8 {
		writeCorpusFile(t, corpusDir, fmt.Sprintf("note-%d.txt", i), fmt.Sprintf("Note %d\n\nNote number %d is about lighthouse keeper %d.\n", i, i, i))
		wg.Go(func() {
			if _, err := r.Refresh(t.Context()); err != nil {
				t.Error(err)
			}
			if _, ok := serving.Article(fmt.Sprintf("note-%d", i)); !ok {
				t.Errorf("note-%d not served after its Refresh returned", i)
			}
		})
	}
	for {
		r.mu.Lock()
		n := r.reqs
		r.mu.Unlock()
		if n == 9 {
			break
		}
		runtime.Gosched()
	}
	<-r.sem
	wg.Wait()
	if n := r.Runs() - before; n != 1 {
		t.Errorf("%d re-indexes for 8 refreshes asked during one, want 1", n)
	}
	if got := len(serving.Articles()); got != 10 {
		t.Errorf("serving %d articles, want 10", got)
	}
}
