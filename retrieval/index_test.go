package retrieval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
)

func testArticles() []corpus.Article {
	return []corpus.Article{
		{ID: "alpha", Title: "Volcanoes of Iceland", Fingerprint: "a1", Paragraphs: []string{
			"Iceland sits on the Mid-Atlantic Ridge, where two tectonic plates drift apart.",
			"The eruption of Eyjafjallajökull in 2010 grounded flights across Europe for six days.",
			"Geothermal plants supply about a quarter of the island's electricity.",
		}},
		{ID: "beta", Title: "Coffee trade", Fingerprint: "b1", Paragraphs: []string{
			"Brazil has been the largest producer of coffee for more than 150 years.",
			"Arabica beans grow best at high altitude, robusta tolerates heat.",
		}},
		{ID: "gamma", Title: "Chess engines", Fingerprint: "c1", Paragraphs: []string{
			"Deep Blue defeated Garry Kasparov in a six-game match in 1997.",
			"Modern engines evaluate positions with neural networks trained by self-play.",
		}},
	}
}

func hitIDs(hits []Hit) []string {
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	return ids
}

func TestSyncIncremental(t *testing.T) {
	dir := t.TempDir()
	emb := &countingEmbedder{Embedder: NewLocalEmbedder()}
	ix := openIndex(t, dir, emb, ChunkOptions{MaxWords: 1}) // one passage per paragraph
	arts := testArticles()

	rep := syncIndex(t, ix, arts)
	if !slices.Equal(rep.Added, []string{"alpha", "beta", "gamma"}) || rep.Rebuilt || rep.Passages != 7 || rep.Embedded != 7 {
		t.Fatalf("first sync: %+v", rep)
	}
	if got := emb.texts.Load(); got != 7 {
		t.Fatalf("first sync embedded %d texts, want 7", got)
	}

	t.Run("unchanged", func(t *testing.T) {
		emb.texts.Store(0)
		rep := syncIndex(t, ix, arts)
		if rep.Changed() || len(rep.Unchanged) != 3 || emb.texts.Load() != 0 {
			t.Fatalf("no-op sync: %+v, embedded %d", rep, emb.texts.Load())
		}
	})

	t.Run("add change remove", func(t *testing.T) {
		emb.texts.Store(0)
		next := testArticles()
		next[1].Paragraphs = append(slices.Clone(next[1].Paragraphs), "Vietnam is the second largest producer.")
		next[1].Fingerprint = "b2"
		next = slices.Delete(next, 2, 3) // remove gamma
		next = append(next, corpus.Article{ID: "delta", Title: "Bees", Fingerprint: "d1",
			Paragraphs: []string{"A honey bee colony can hold sixty thousand workers."}})
		emb.seen = make(chan string, 100)
		rep := syncIndex(t, ix, next)
		close(emb.seen)
		emb.seen = nil
		if !slices.Equal(rep.Added, []string{"delta"}) || !slices.Equal(rep.Updated, []string{"beta"}) ||
			!slices.Equal(rep.Removed, []string{"gamma"}) || !slices.Equal(rep.Unchanged, []string{"alpha"}) {
			t.Fatalf("report: %+v", rep)
		}
		if rep.Embedded != 4 || emb.texts.Load() != 4 { // beta's 3 paragraphs + delta's 1
			t.Fatalf("embedded %d (report %d), want 4", emb.texts.Load(), rep.Embedded)
		}
		if rep.Passages != 7 {
			t.Fatalf("passages = %d, want 7", rep.Passages)
		}
		hits, err := ix.Search(t.Context(), "Kasparov Deep Blue", 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.ArticleID == "gamma" {
				t.Errorf("removed article still found: %s", h.ID)
			}
		}
		hits, err = ix.Search(t.Context(), "Which country is the second largest coffee producer?", 1)
		if err != nil || len(hits) == 0 || hits[0].ID != "beta#p3" {
			t.Fatalf("search after update: %v %v", hitIDs(hits), err)
		}
		hits, err = ix.Search(t.Context(), "Eyjafjallajökull eruption flights", 1)
		if err != nil || len(hits) == 0 || hits[0].ID != "alpha#p2" {
			t.Fatalf("kept article lost: %v %v", hitIDs(hits), err)
		}
		if _, ok := ix.Article("gamma"); ok {
			t.Error("Article(gamma) after removal")
		}
		if a, ok := ix.Article("beta"); !ok || len(a.Paragraphs) != 3 {
			t.Errorf("Article(beta) = %+v, %v", a, ok)
		}
		var ids []string
		for _, a := range ix.Articles() {
			ids = append(ids, a.ID)
		}
		if !slices.Equal(ids, []string{"alpha", "beta", "delta"}) {
			t.Errorf("Articles() = %v", ids)
		}
	})

	t.Run("reopen without re-embedding", func(t *testing.T) {
		emb2 := &countingEmbedder{Embedder: NewLocalEmbedder()}
		ix2 := openIndex(t, dir, emb2, ChunkOptions{MaxWords: 1})
		if info := ix2.Info(); info.NeedsRebuild || info.Passages != 7 || info.Articles != 3 {
			t.Fatalf("reopened info: %+v", info)
		}
		q := "Which country is the second largest coffee producer?"
		want, _ := ix.Search(t.Context(), q, 5)
		got, err := ix2.Search(t.Context(), q, 5)
		if err != nil {
			t.Fatal(err)
		}
		// Vectors come back from their int8 file, so fused scores may move
		// in the third decimal; the ranking may not.
		if !slices.EqualFunc(got, want, func(a, b Hit) bool { return a.ID == b.ID && math.Abs(a.Score-b.Score) < 0.01 }) {
			t.Errorf("reopened search %v, want %v", hitIDs(got), hitIDs(want))
		}
		if ix2.IDF("coffe") != ix.IDF("coffe") || ix.IDF("coffe") <= 0 {
			t.Errorf("IDF differs after reopen")
		}
		rep := syncIndex(t, ix2, ix.Articles())
		if rep.Changed() || emb2.texts.Load() != 1 { // only the query above
			t.Errorf("sync after reopen: %+v, %d texts embedded", rep, emb2.texts.Load())
		}
	})
}

// otherModel is the local embedder under another model name.
type otherModel struct{ *LocalEmbedder }

func (o otherModel) Info() EmbedderInfo {
	i := o.LocalEmbedder.Info()
	i.Model = "hash-test"
	return i
}

func TestSyncRebuilds(t *testing.T) {
	arts := testArticles()
	tests := []struct {
		name   string
		emb    Embedder
		chunk  ChunkOptions
		reason string
	}{
		{"embedder changed", otherModel{NewLocalEmbedder()}, ChunkOptions{}, "embedder changed from local/hash-v1"},
		{"chunk changed", NewLocalEmbedder(), ChunkOptions{MaxWords: 7}, "chunk settings changed from max 160 words to max 7 words"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			syncIndex(t, openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{}), arts)

			emb := &countingEmbedder{Embedder: tt.emb}
			ix := openIndex(t, dir, emb, tt.chunk)
			info := ix.Info()
			if !info.NeedsRebuild || !strings.Contains(info.RebuildReason, tt.reason) || info.Passages != 0 {
				t.Fatalf("Open: %+v, want rebuild %q", info, tt.reason)
			}
			rep := syncIndex(t, ix, arts)
			if !rep.Rebuilt || !strings.Contains(rep.RebuildReason, tt.reason) || int(emb.texts.Load()) != rep.Passages {
				t.Fatalf("Sync: %+v, embedded %d", rep, emb.texts.Load())
			}
			if len(rep.Unchanged) != 3 {
				t.Errorf("articles should be reported unchanged (but re-embedded): %+v", rep)
			}
			again := openIndex(t, dir, tt.emb, tt.chunk)
			if info := again.Info(); info.NeedsRebuild || info.Passages != rep.Passages {
				t.Errorf("after rebuild: %+v", info)
			}
		})
	}
}

func TestOpenUnusableIndex(t *testing.T) {
	arts := testArticles()
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		reason string
	}{
		{"corrupt manifest", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, manifestName), "{not json")
		}, "manifest is corrupt"},
		{"other format", func(t *testing.T, dir string) {
			m, _ := os.ReadFile(filepath.Join(dir, manifestName))
			write(t, filepath.Join(dir, manifestName), strings.Replace(string(m), fmt.Sprintf(`"format": %d`, formatVersion), `"format": 99`, 1))
		}, "index format 99"},
		{"truncated vectors", func(t *testing.T, dir string) {
			f := filepath.Join(dir, fileName("vectors", 1))
			os.Truncate(f, 10)
		}, "vectors-1.vec has 10 bytes"},
		{"garbled vectors", func(t *testing.T, dir string) {
			f := filepath.Join(dir, fileName("vectors", 1))
			fi, _ := os.Stat(f)
			write(t, f, strings.Repeat("x", int(fi.Size())))
		}, "index file vectors-1.vec is corrupt: checksum"},
		{"missing lexical", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, fileName("lexical", 1)))
		}, "lexical-1.gob"},
		// Same size, still decodable: only the checksum tells.
		{"a year flipped in the articles", func(t *testing.T, dir string) {
			replaceIn(t, filepath.Join(dir, fileName("articles", 1)), "1997", "9999")
		}, "index file articles-1.gob is corrupt: checksum"},
		{"a byte flipped in the postings", func(t *testing.T, dir string) {
			f := filepath.Join(dir, fileName("lexical", 1))
			data, _ := os.ReadFile(f)
			data[len(data)/2] ^= 0x10
			write(t, f, string(data))
		}, "index file lexical-1.gob is corrupt: checksum"},
		{"a value changed in the manifest", func(t *testing.T, dir string) {
			replaceIn(t, filepath.Join(dir, manifestName), `"built_at": "20`, `"built_at": "19`)
		}, "manifest is corrupt: checksum"},
		{"a file checksum changed in the manifest", func(t *testing.T, dir string) {
			replaceIn(t, filepath.Join(dir, manifestName), `"crc32c": "`, `"crc32c": "0`)
		}, "manifest is corrupt: checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			syncIndex(t, openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{}), arts)
			tt.damage(t, dir)
			ix := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
			info := ix.Info()
			if !info.NeedsRebuild || !strings.Contains(info.RebuildReason, tt.reason) {
				t.Fatalf("Open: %+v, want reason containing %q", info, tt.reason)
			}
			if hits, err := ix.Search(t.Context(), "coffee", 3); err != nil || len(hits) != 0 {
				t.Errorf("search on unusable index: %v, %v", hits, err)
			}
			rep := syncIndex(t, ix, arts)
			if !rep.Rebuilt || rep.Passages == 0 || !strings.Contains(rep.RebuildReason, tt.reason) {
				t.Fatalf("Sync: %+v, want a rebuild saying %q", rep, tt.reason)
			}
			again := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
			if info := again.Info(); info.NeedsRebuild {
				t.Errorf("still unusable after rebuild: %s", info.RebuildReason)
			}
			if a, ok := again.Article("gamma"); !ok || !strings.Contains(a.Paragraphs[0], "in 1997.") {
				t.Errorf("after the rebuild gamma ¶1 = %q", a.Paragraphs)
			}
		})
	}
}

// replaceIn replaces the first old in the file with new, which must be
// found.
func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	write(t, path, strings.Replace(string(data), old, new, 1))
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cancellingEmbedder cancels the sync after a number of batches.
type cancellingEmbedder struct {
	Embedder
	after  int
	calls  int
	cancel context.CancelFunc
}

func (c *cancellingEmbedder) Concurrency() int { return 1 }

func (c *cancellingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.calls++
	if c.calls > c.after {
		c.cancel()
		return nil, ctx.Err()
	}
	return c.Embedder.Embed(ctx, texts)
}

func TestSyncCancelledKeepsPreviousIndex(t *testing.T) {
	dir := t.TempDir()
	arts := testArticles()
	ix := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	syncIndex(t, ix, arts[:2])

	// A big change, cancelled in the middle of embedding.
	var many []corpus.Article
	for i := range 200 {
		a := arts[i%3]
		a.ID = a.ID + "-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		many = append(many, a)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ix.emb = &cancellingEmbedder{Embedder: NewLocalEmbedder(), after: 1, cancel: cancel}
	_, err := ix.Sync(ctx, many, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Sync: err = %v", err)
	}
	if got := len(ix.Articles()); got != 2 {
		t.Errorf("in memory: %d articles after cancelled sync, want 2", got)
	}
	again := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	if info := again.Info(); info.NeedsRebuild || info.Articles != 2 {
		t.Fatalf("on disk after cancelled sync: %+v", info)
	}
	if hits, _ := again.Search(t.Context(), "Brazil coffee producer", 1); len(hits) == 0 || hits[0].ArticleID != "beta" {
		t.Errorf("search after cancelled sync: %v", hitIDs(hits))
	}

	// Cancelled while persisting: the new generation is never committed.
	ctx2, cancel2 := context.WithCancel(t.Context())
	ix.emb = NewLocalEmbedder()
	_, err = ix.Sync(ctx2, many, func(done, total int) {
		if done == total {
			cancel2()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("sync cancelled before commit: err = %v", err)
	}
	if info := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{}).Info(); info.NeedsRebuild || info.Articles != 2 {
		t.Fatalf("on disk after cancel before commit: %+v", info)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestSyncLocked(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(dir)
	if err != nil {
		t.Skipf("no locking here: %v", err)
	}
	defer unlock()
	ix := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	if _, err := ix.Sync(t.Context(), testArticles(), nil); !errors.Is(err, errLocked) {
		t.Fatalf("Sync on a locked dir: %v, want errLocked", err)
	}
}

// A Sync with nothing to change takes no lock, so readers of an up-to-date
// index (a running bot, scripted asks) never trip over a writer's lock.
func TestSyncUnchangedNeedsNoLock(t *testing.T) {
	dir := t.TempDir()
	ix := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	if _, err := ix.Sync(t.Context(), testArticles(), nil); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		t.Skipf("no locking here: %v", err)
	}
	defer unlock()
	again := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	rep, err := again.Sync(t.Context(), testArticles(), nil)
	if err != nil || rep.Changed() {
		t.Fatalf("unchanged Sync under another's lock: %+v, %v", rep, err)
	}
	changed := testArticles()
	changed[0].Paragraphs = append(changed[0].Paragraphs, "A new paragraph.")
	changed[0].Fingerprint = ""
	if _, err := again.Sync(t.Context(), changed, nil); !errors.Is(err, errLocked) {
		t.Fatalf("changing Sync under another's lock: %v, want errLocked", err)
	}
}

func TestSyncDuplicateIDs(t *testing.T) {
	ix := openIndex(t, t.TempDir(), NewLocalEmbedder(), ChunkOptions{})
	arts := testArticles()
	if _, err := ix.Sync(t.Context(), append(arts, arts[0]), nil); err == nil {
		t.Fatal("duplicate IDs accepted")
	}
}

func TestSyncEmbedErrorCancelsRest(t *testing.T) {
	ix := openIndex(t, t.TempDir(), failingEmbedder{}, ChunkOptions{})
	_, err := ix.Sync(t.Context(), testArticles(), nil)
	if err == nil || !strings.Contains(err.Error(), "embed passage alpha#p1") || !errors.Is(err, errBoom) {
		t.Fatalf("err = %v", err)
	}
	if ix.Info().Passages != 0 {
		t.Error("failed sync changed the index")
	}
}

var errBoom = errors.New("boom")

type failingEmbedder struct{}

func (failingEmbedder) Info() EmbedderInfo { return EmbedderInfo{Name: "fail", Model: "x", Dims: 4} }
func (failingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return nil, errBoom
}

func TestFingerprintComputedWhenMissing(t *testing.T) {
	ix := openIndex(t, t.TempDir(), NewLocalEmbedder(), ChunkOptions{})
	arts := testArticles()
	for i := range arts {
		arts[i].Fingerprint = ""
	}
	syncIndex(t, ix, arts)
	arts[0].Paragraphs = []string{"changed"}
	rep := syncIndex(t, ix, arts)
	if !slices.Equal(rep.Updated, []string{"alpha"}) || len(rep.Unchanged) != 2 {
		t.Fatalf("report: %+v", rep)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/tmp/cache")
	t.Setenv("HOME", "/tmp/home")
	a, err := DefaultDir("/corpus/a")
	if err != nil {
		t.Skip(err)
	}
	b, _ := DefaultDir("/corpus/b")
	if a == b || !strings.Contains(a, filepath.Join("verbatim", "index")) || len(filepath.Base(a)) != 16 {
		t.Errorf("DefaultDir: %q, %q", a, b)
	}
}
