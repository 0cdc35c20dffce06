package retrieval

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// A serving Index picks up what another process's Sync committed: new
// articles become searchable, a second Reload finds nothing new, and a
// generation it cannot use leaves the loaded one serving.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	writer := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	syncIndex(t, writer, testArticles())
	server := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})

	if ok, err := server.Reload(t.Context()); ok || err != nil {
		t.Fatalf("Reload with nothing new = %t, %v", ok, err)
	}
	more := append(testArticles(), corpus.Article{ID: "delta", Title: "Tea", Fingerprint: "d1",
		Paragraphs: []string{"Darjeeling tea is grown in the foothills of the Himalayas."}})
	syncIndex(t, writer, more)
	if _, ok := server.Article("delta"); ok {
		t.Fatal("the serving index saw the new article before Reload")
	}
	if ok, err := server.Reload(t.Context()); !ok || err != nil {
		t.Fatalf("Reload after another Sync = %t, %v", ok, err)
	}
	hits, err := server.Search(t.Context(), "Darjeeling tea Himalayas", 3)
	if err != nil || len(hits) == 0 || hits[0].ArticleID != "delta" {
		t.Fatalf("after Reload: %v, %v", hitIDs(hits), err)
	}
	if ok, err := server.Reload(t.Context()); ok || err != nil {
		t.Errorf("second Reload = %t, %v", ok, err)
	}

	if err := os.WriteFile(filepath.Join(dir, manifestName), []byte(`{"format": 99, "generation": 1000}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, err := server.Reload(t.Context()); ok || err == nil {
		t.Errorf("Reload of an unusable generation = %t, %v; want an error", ok, err)
	}
	if _, ok := server.Article("delta"); !ok {
		t.Error("a failed Reload dropped the loaded generation")
	}
}

// ReloadEvery picks up another process's commit within a few intervals and
// returns once its context ends.
func TestReloadEvery(t *testing.T) {
	dir := t.TempDir()
	writer := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	syncIndex(t, writer, testArticles())
	server := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		server.ReloadEvery(ctx, 10*time.Millisecond)
	}()
	more := append(testArticles(), corpus.Article{ID: "delta", Title: "Tea", Fingerprint: "d1",
		Paragraphs: []string{"Darjeeling tea is grown in the foothills of the Himalayas."}})
	syncIndex(t, writer, more)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := server.Article("delta"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ReloadEvery did not pick up the new generation within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ReloadEvery did not return after its context ended")
	}
	// Never, with no interval.
	server.ReloadEvery(t.Context(), 0)
}
