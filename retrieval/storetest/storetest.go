// Package storetest is the conformance suite of the retrieval store seam
// (retrieval.Store): every store — the in-process index directory and
// PostgreSQL — runs the same tests (as golang/oscar's storage/vtest does
// for its databases), so an index answers alike whichever store holds it.
//
// The suite pins what the rest of verbatim relies on: generations
// committed at once and reopened by another handle (another process) as
// written; incremental writes that re-embed only what changed; a failed
// write that leaves the committed generation in place; readers answering
// from the committed generation while a writer writes; the writer's lock;
// a rebuild when the embedder changes; and the same rows and scores as the
// in-process index — BM25 scores computed here from the passages
// themselves, vector similarities and the fused ranking compared with
// retrieval's own DirStore.
package storetest

import (
	"context"
	"errors"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/corpus/synth"
	"github.com/verbatimbot/verbatim/retrieval"
)

// Opener opens a handle on one store; each call is another handle on the
// same one, as another process would open it.
type Opener func(t *testing.T) retrieval.Store

// Run runs the suite. fresh returns an Opener of a new, empty store for
// each test.
func Run(t *testing.T, fresh func(t *testing.T) Opener) {
	tests := []struct {
		name string
		f    func(*testing.T, Opener)
	}{
		{"Empty", testEmpty},
		{"CommitAndReopen", testCommitAndReopen},
		{"SameScoresAsInProcess", testSameScores},
		{"Incremental", testIncremental},
		{"FailedWriteKeepsGeneration", testFailedWrite},
		{"ReadersDuringWrite", testReadersDuringWrite},
		{"Lock", testLock},
		{"RebuildOnEmbedderChange", testRebuild},
		{"TextOnDemand", testTextOnDemand},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, fresh(t)) })
	}
}

// suiteArticles is how many synthetic articles the suite indexes.
const suiteArticles = 40

// Articles are the suite's articles: the bundled one and synthetic ones
// (corpus/synth), whose passages share a Zipf vocabulary, so that BM25
// and the vectors both have something to rank.
func Articles(t *testing.T) []corpus.Article {
	t.Helper()
	set, err := corpus.Bundled(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	arts := append(synth.New(1).Articles(suiteArticles), set.Articles...)
	slices.SortFunc(arts, func(a, b corpus.Article) int { return strings.Compare(a.ID, b.ID) })
	return arts
}

// queries are asked of every index the suite builds: questions about
// the synthetic articles and a few of other kinds.
var queries = func() []string {
	qs := []string{"what is this article about", "zzzunknownword", "the the the"}
	for _, q := range synth.New(1).Questions(suiteArticles, 12) {
		qs = append(qs, q.Text)
	}
	return qs
}()

func openIndex(t *testing.T, store retrieval.Store, emb retrieval.Embedder) *retrieval.Index {
	t.Helper()
	ix, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func sync(t *testing.T, ix *retrieval.Index, arts []corpus.Article) retrieval.SyncReport {
	t.Helper()
	rep, err := ix.Sync(t.Context(), arts, nil)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return rep
}

func want(emb retrieval.Embedder) retrieval.Want {
	return retrieval.Want{Embedder: emb.Info(), Chunk: retrieval.ChunkOptions{}.WithDefaults()}
}

func testEmpty(t *testing.T, open Opener) {
	s := open(t)
	if _, err := s.Open(t.Context(), want(newEmbedder())); !errors.Is(err, retrieval.ErrNoGeneration) {
		t.Fatalf("Open of an empty store: %v, want ErrNoGeneration", err)
	}
	if n, err := s.Committed(t.Context()); err != nil || n != 0 {
		t.Fatalf("Committed of an empty store = %d, %v; want 0, nil", n, err)
	}
	ix := openIndex(t, s, newEmbedder())
	if hits, err := ix.Search(t.Context(), "anything", 5); err != nil || len(hits) != 0 {
		t.Fatalf("Search of an empty index = %v, %v", hits, err)
	}
}

func testCommitAndReopen(t *testing.T, open Opener) {
	arts := Articles(t)
	emb := newEmbedder()
	w := openIndex(t, open(t), emb)
	rep := sync(t, w, arts)
	if len(rep.Added) != len(arts) || rep.Passages == 0 {
		t.Fatalf("first sync: %+v", rep)
	}
	s := open(t)
	n, err := s.Committed(t.Context())
	if err != nil || n == 0 {
		t.Fatalf("Committed after a sync = %d, %v", n, err)
	}
	g, err := s.Open(t.Context(), want(emb))
	if err != nil {
		t.Fatal(err)
	}
	if g.Number != n || len(g.Articles) != len(arts) || len(g.Passages) != rep.Passages {
		t.Fatalf("reopened generation %d: %d articles, %d passages; want %d, %d, %d",
			g.Number, len(g.Articles), len(g.Passages), n, len(arts), rep.Passages)
	}
	if g.Embedder.Dims == 0 {
		t.Error("the committed generation does not record its vectors' dimensions")
	}
	for i, a := range g.Articles {
		if a.ID != arts[i].ID || a.Fingerprint == "" || !slices.Equal(a.Paragraphs, arts[i].Paragraphs) || a.Title != arts[i].Title {
			t.Fatalf("article %d reopened as %q (fingerprint %q), want %q with the same paragraphs", i, a.ID, a.Fingerprint, arts[i].ID)
		}
	}
	// A second index on the store answers as the writer does.
	r := openIndex(t, s, emb)
	for _, q := range queries {
		a, b := search(t, w, q), search(t, r, q)
		sameHits(t, q, a, b)
	}
	// Nothing changed: nothing to write.
	if rep := sync(t, r, arts); rep.Changed() || rep.Embedded != 0 {
		t.Fatalf("sync of an unchanged corpus: %+v", rep)
	}
}

// testSameScores holds the store's searches to the in-process index's
// and its BM25 scores to the formula, computed here from the passages.
func testSameScores(t *testing.T, open Opener) {
	arts := Articles(t)
	emb := newEmbedder()
	ix := openIndex(t, open(t), emb)
	sync(t, ix, arts)
	ref := openIndex(t, retrieval.NewDirStore(t.TempDir(), nil), emb)
	sync(t, ref, arts)

	g, err := open(t).Open(t.Context(), want(emb))
	if err != nil {
		t.Fatal(err)
	}
	bm := newBM25(g.Passages)
	for _, q := range queries {
		terms := retrieval.Terms(q)
		got, err := g.Index.Lexical(t.Context(), terms, 20)
		if err != nil {
			t.Fatal(err)
		}
		exp := bm.search(terms, 20)
		if len(got) != len(exp) {
			t.Fatalf("Lexical(%q): %d rows, want %d", q, len(got), len(exp))
		}
		for i := range got {
			if !close32(got[i].Score, exp[i].Score, 1e-5) {
				t.Errorf("Lexical(%q)[%d] = row %d score %v, want row %d score %v", q, i, got[i].Row, got[i].Score, exp[i].Row, exp[i].Score)
			}
		}
		for _, term := range terms {
			if a, b := g.Index.IDF(term), bm.idf(term); math.Abs(a-b) > 1e-9 {
				t.Errorf("IDF(%q) = %v, want %v", term, a, b)
			}
		}
		a, b := search(t, ix, q), search(t, ref, q)
		sameHits(t, q, a, b)
	}
}

func testIncremental(t *testing.T, open Opener) {
	arts := Articles(t)
	emb := &countingEmbedder{Embedder: newEmbedder()}
	ix := openIndex(t, open(t), emb)
	sync(t, ix, arts)
	first := emb.texts.Load()

	// Change the first article, remove the second, add one.
	next := slices.Clone(arts[2:])
	changed := arts[0]
	changed.Paragraphs = append(slices.Clone(changed.Paragraphs), "A paragraph added by the conformance suite about glaciers.")
	changed.Fingerprint = ""
	added := corpus.Article{ID: "zz-added", Title: "Added article", Paragraphs: []string{"Glaciers retreat as summers warm."}}
	next = append(next, changed, added)
	emb.texts.Store(0)
	rep := sync(t, ix, next)
	if !slices.Equal(rep.Added, []string{"zz-added"}) || !slices.Equal(rep.Updated, []string{changed.ID}) || !slices.Equal(rep.Removed, []string{arts[1].ID}) {
		t.Fatalf("incremental sync: added %v, updated %v, removed %v", rep.Added, rep.Updated, rep.Removed)
	}
	wantEmbedded := len(retrieval.Chunk(changed, retrieval.ChunkOptions{})) + 1
	if got := emb.texts.Load(); got != int64(wantEmbedded) || rep.Embedded != wantEmbedded {
		t.Fatalf("incremental sync embedded %d passages (report %d), want %d (first sync: %d)", got, rep.Embedded, wantEmbedded, first)
	}
	// The store now answers as an index built from scratch does.
	ref := openIndex(t, retrieval.NewDirStore(t.TempDir(), nil), newEmbedder())
	sync(t, ref, next)
	r := openIndex(t, open(t), newEmbedder())
	if got := len(r.Articles()); got != len(next) {
		t.Fatalf("reopened after the incremental sync: %d articles, want %d", got, len(next))
	}
	if _, ok := r.Article(arts[1].ID); ok {
		t.Fatalf("removed article %s still indexed", arts[1].ID)
	}
	if a, ok := r.Article(changed.ID); !ok || len(a.Paragraphs) != len(changed.Paragraphs) {
		t.Fatalf("changed article %s not indexed as changed", changed.ID)
	}
	for _, q := range append(slices.Clone(queries), "glaciers retreat") {
		a, b := search(t, r, q), search(t, ref, q)
		sameHits(t, q, a, b)
	}
}

func testFailedWrite(t *testing.T, open Opener) {
	arts := Articles(t)
	ix := openIndex(t, open(t), newEmbedder())
	sync(t, ix, arts[:2])
	s := open(t)
	before, err := s.Committed(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	fail := &failingEmbedder{Embedder: newEmbedder(), after: 0}
	w := openIndex(t, open(t), fail)
	if _, err := w.Sync(t.Context(), arts, nil); err == nil {
		t.Fatal("sync with a failing embedder succeeded")
	}
	if after, err := s.Committed(t.Context()); err != nil || after != before {
		t.Fatalf("committed generation after a failed write = %d, %v; want %d", after, err, before)
	}
	g, err := s.Open(t.Context(), want(newEmbedder()))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Articles) != 2 {
		t.Fatalf("after a failed write the store holds %d articles, want the 2 committed before", len(g.Articles))
	}
	// The store is still writable, and the failed write left nothing
	// behind that a later one would trip over.
	rep := sync(t, openIndex(t, open(t), newEmbedder()), arts)
	if len(rep.Added) != len(arts)-2 {
		t.Fatalf("sync after a failed write: %+v", rep)
	}
}

func testReadersDuringWrite(t *testing.T, open Opener) {
	arts := Articles(t)
	emb := newEmbedder()
	sync(t, openIndex(t, open(t), emb), arts[:2])
	reader := openIndex(t, open(t), emb)
	before := reader.Info()

	gate := &gatedEmbedder{Embedder: emb, started: make(chan struct{}), release: make(chan struct{})}
	writer := openIndex(t, open(t), gate)
	done := make(chan error, 1)
	go func() {
		_, err := writer.Sync(t.Context(), arts, nil)
		done <- err
	}()
	select {
	case <-gate.started:
	case err := <-done:
		t.Fatalf("writer finished before embedding: %v", err)
	}
	// Mid-write: the reader answers from the committed generation, and
	// reloading finds nothing new.
	for _, q := range queries[:3] {
		if _, err := reader.Search(t.Context(), q, 8); err != nil {
			t.Fatalf("search during a write: %v", err)
		}
	}
	if ok, err := reader.Reload(t.Context()); err != nil || ok {
		t.Fatalf("Reload during a write = %v, %v; want false, nil", ok, err)
	}
	if got := reader.Info(); got.Articles != before.Articles {
		t.Fatalf("reader sees %d articles during the write, want %d", got.Articles, before.Articles)
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ok, err := reader.Reload(t.Context()); err != nil || !ok {
		t.Fatalf("Reload after the write = %v, %v; want true, nil", ok, err)
	}
	if got := reader.Info().Articles; got != len(arts) {
		t.Fatalf("reader sees %d articles after reloading, want %d", got, len(arts))
	}
}

func testLock(t *testing.T, open Opener) {
	a, b := open(t), open(t)
	unlock, err := a.Lock(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lock(t.Context(), false); !errors.Is(err, retrieval.ErrLocked) {
		t.Fatalf("second Lock: %v, want ErrLocked", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := b.Lock(t.Context(), true)
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("waiting Lock after unlock: %v", err)
	}
	// A writer on a locked store fails rather than writing.
	unlock, err = a.Lock(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ix := openIndex(t, b, newEmbedder())
	if _, err := ix.Sync(t.Context(), Articles(t), nil); !errors.Is(err, retrieval.ErrLocked) {
		t.Fatalf("Sync on a locked store: %v, want ErrLocked", err)
	}
}

func testRebuild(t *testing.T, open Opener) {
	arts := Articles(t)
	sync(t, openIndex(t, open(t), newEmbedder()), arts)
	other := otherModel{newEmbedder()}
	var u *retrieval.UnusableError
	if _, err := open(t).Open(t.Context(), want(other)); !errors.As(err, &u) {
		t.Fatalf("Open for another embedder: %v, want an UnusableError", err)
	}
	ix := openIndex(t, open(t), other)
	if info := ix.Info(); !info.NeedsRebuild {
		t.Fatalf("index for another embedder does not need a rebuild: %+v", info)
	}
	rep := sync(t, ix, arts)
	if !rep.Rebuilt || len(rep.Unchanged) != len(arts) || rep.Embedded != rep.Passages {
		t.Fatalf("sync after an embedder change: rebuilt %v, %d unchanged, embedded %d of %d", rep.Rebuilt, len(rep.Unchanged), rep.Embedded, rep.Passages)
	}
	g, err := open(t).Open(t.Context(), want(other))
	if err != nil {
		t.Fatalf("open the rebuilt generation: %v", err)
	}
	if g.Embedder.Model != other.Info().Model {
		t.Fatalf("rebuilt generation made by %v", g.Embedder)
	}
}

// testTextOnDemand holds an index that only answers (Options.TextOnDemand,
// which a store may honour by leaving the text in itself) to one that
// holds the text: the same articles, paragraphs, hits and passages, and
// the next generation followed by Reload. It cannot be written.
func testTextOnDemand(t *testing.T, open Opener) {
	arts := Articles(t)
	emb := newEmbedder()
	w := openIndex(t, open(t), emb)
	sync(t, w, arts)
	lazy := func() *retrieval.Index {
		ix, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: open(t), TextOnDemand: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ix.Close() })
		return ix
	}
	r := lazy()
	same := func(full, r *retrieval.Index, qs []string) {
		t.Helper()
		if a, b := full.Info(), r.Info(); a.Articles != b.Articles || a.Passages != b.Passages {
			t.Fatalf("text on demand: %d articles, %d passages; with the text %d, %d", b.Articles, b.Passages, a.Articles, a.Passages)
		}
		fa, ra := full.Articles(), r.Articles()
		for i := range fa {
			if ra[i].ID != fa[i].ID || ra[i].Title != fa[i].Title || ra[i].URL != fa[i].URL || ra[i].Fingerprint != fa[i].Fingerprint ||
				!ra[i].Published.Equal(fa[i].Published) || len(ra[i].Paragraphs) != len(fa[i].Paragraphs) {
				t.Fatalf("Articles()[%d] with text on demand = %+v, want %+v (as many paragraphs)", i, ra[i], fa[i])
			}
			a, ok := r.Article(fa[i].ID)
			if !ok || !slices.Equal(a.Paragraphs, fa[i].Paragraphs) || a.Title != fa[i].Title {
				t.Fatalf("Article(%q) with text on demand: %v, %d paragraphs; want its %d", fa[i].ID, ok, len(a.Paragraphs), len(fa[i].Paragraphs))
			}
		}
		for _, q := range qs {
			a, b := search(t, full, q), search(t, r, q)
			sameHits(t, q, b, a)
			for i := range a {
				if a[i].Passage != b[i].Passage {
					t.Fatalf("Search(%q)[%d] passage with text on demand %+v, want %+v", q, i, b[i].Passage, a[i].Passage)
				}
			}
		}
	}
	same(w, r, queries)
	// Searches at once share the reader's cache of text (go test -race).
	var wg gosync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i, q := range queries {
				if _, err := r.Search(t.Context(), q, 8); err != nil {
					t.Error(err)
					return
				}
				if _, ok := r.Article(arts[(g*7+i)%len(arts)].ID); !ok {
					t.Errorf("Article(%q) not found", arts[(g*7+i)%len(arts)].ID)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, ok := r.Article("no-such-article"); ok {
		t.Fatal("Article of an unknown ID found")
	}
	before, err := open(t).Committed(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	changed := arts[0]
	changed.Paragraphs = append(slices.Clone(changed.Paragraphs), "A paragraph added by the conformance suite about glaciers.")
	changed.Fingerprint = ""
	next := append(slices.Clone(arts[1:]), changed)
	if _, err := r.Sync(t.Context(), next, nil); err == nil {
		t.Fatal("Sync of an index opened with its text on demand succeeded")
	}
	if after, err := open(t).Committed(t.Context()); err != nil || after != before {
		t.Fatalf("after a refused Sync the committed generation is %d (%v), was %d", after, err, before)
	}
	// The writer commits the next generation; the reader follows it.
	sync(t, w, next)
	if ok, err := r.Reload(t.Context()); err != nil || !ok {
		t.Fatalf("Reload after a commit = %v, %v", ok, err)
	}
	same(w, r, append(slices.Clone(queries), "glaciers retreat"))
	if a, ok := r.Article(changed.ID); !ok || len(a.Paragraphs) != len(changed.Paragraphs) {
		t.Fatalf("changed article %s after Reload with text on demand: %v, %d paragraphs", changed.ID, ok, len(a.Paragraphs))
	}
	// A reader opened afresh on the new generation answers alike.
	same(w, lazy(), []string{"glaciers retreat"})
}

// search is ix's top 8 for q.
func search(t *testing.T, ix *retrieval.Index, q string) []retrieval.Hit {
	t.Helper()
	hits, err := ix.Search(t.Context(), q, 8)
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// sameHits compares two searches: the same passages in the same order,
// with the same scores up to float32 rounding.
func sameHits(t *testing.T, q string, got, exp []retrieval.Hit) {
	t.Helper()
	if len(got) != len(exp) {
		t.Errorf("Search(%q): %d hits, want %d", q, len(got), len(exp))
		return
	}
	for i := range got {
		g, e := got[i], exp[i]
		if g.ID != e.ID || g.Text != e.Text {
			t.Errorf("Search(%q)[%d] = %s, want %s", q, i, g.ID, e.ID)
			continue
		}
		if !close64(g.Score, e.Score, 1e-4) || !close64(g.LexicalScore, e.LexicalScore, 1e-5) || !close64(g.VectorScore, e.VectorScore, 1e-4) {
			t.Errorf("Search(%q)[%d] %s: score %v (lexical %v, vector %v), want %v (%v, %v)",
				q, i, g.ID, g.Score, g.LexicalScore, g.VectorScore, e.Score, e.LexicalScore, e.VectorScore)
		}
	}
}

func close32(a, b float32, rel float64) bool { return close64(float64(a), float64(b), rel) }

func close64(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// bm25 is Okapi BM25 (k1 1.2, b 0.75) computed the plain way, as the
// reference every store's Lexical must match.
type bm25 struct {
	n      int
	avgLen float64
	tf     []map[string]int
	docLen []int
	df     map[string]int
}

func newBM25(ps []retrieval.Passage) *bm25 {
	b := &bm25{n: len(ps), df: map[string]int{}}
	total := 0
	for _, p := range ps {
		tf := map[string]int{}
		terms := retrieval.Terms(p.Title + "\n\n" + p.Text)
		for _, term := range terms {
			tf[term]++
		}
		for term := range tf {
			b.df[term]++
		}
		b.tf = append(b.tf, tf)
		b.docLen = append(b.docLen, len(terms))
		total += len(terms)
	}
	if b.n > 0 {
		b.avgLen = float64(total) / float64(b.n)
	}
	return b
}

func (b *bm25) idf(term string) float64 {
	n, df := float64(b.n), float64(b.df[term])
	return math.Log(1 + (n-df+0.5)/(df+0.5))
}

func (b *bm25) search(terms []string, k int) []retrieval.Scored {
	const k1, bb = 1.2, 0.75
	var out []retrieval.Scored
	for d := range b.n {
		var s float64
		for _, term := range terms {
			tf := float64(b.tf[d][term])
			if tf == 0 {
				continue
			}
			s += b.idf(term) * tf * (k1 + 1) / (tf + k1*(1-bb+bb*float64(b.docLen[d])/b.avgLen))
		}
		if s > 0 {
			out = append(out, retrieval.Scored{Row: d, Score: float32(s)})
		}
	}
	slices.SortFunc(out, func(x, y retrieval.Scored) int {
		switch {
		case x.Score > y.Score:
			return -1
		case x.Score < y.Score:
			return 1
		}
		return x.Row - y.Row
	})
	return out[:min(k, len(out))]
}

// countingEmbedder counts the texts it embeds.
type countingEmbedder struct {
	retrieval.Embedder
	texts atomic.Int64
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

// failingEmbedder fails every call after the first after.
type failingEmbedder struct {
	retrieval.Embedder
	after int64
	calls atomic.Int64
}

func (f *failingEmbedder) Concurrency() int { return 1 }

func (f *failingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if f.calls.Add(1) > f.after {
		return nil, errors.New("embedder down")
	}
	return f.Embedder.Embed(ctx, texts)
}

// gatedEmbedder signals its first call and holds every call until
// released.
type gatedEmbedder struct {
	retrieval.Embedder
	once             atomic.Bool
	started, release chan struct{}
}

func (g *gatedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if g.once.CompareAndSwap(false, true) {
		close(g.started)
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Embedder.Embed(ctx, texts)
}

// embedder is the suite's embedder: signed feature hashing of Terms into
// 64 dimensions, summed in text order, so that the same text always gives
// the same bits (the local embedder sums its features in map order, so
// two builds may differ in the last bit of a vector).
type embedder struct{}

const embedderDims = 64

func newEmbedder() retrieval.Embedder { return embedder{} }

func (embedder) Info() retrieval.EmbedderInfo {
	return retrieval.EmbedderInfo{Name: "storetest", Model: "hash-64", Dims: embedderDims}
}

func (embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, text := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v := make([]float64, embedderDims)
		for _, term := range retrieval.Terms(text) {
			h := fnv.New64a()
			h.Write([]byte(term))
			x := h.Sum64()
			sign := 1.0
			if x>>63 == 1 {
				sign = -1
			}
			v[x%embedderDims] += sign
		}
		var norm float64
		for _, x := range v {
			norm += x * x
		}
		out[i] = make([]float32, embedderDims)
		if norm == 0 {
			continue
		}
		for d, x := range v {
			out[i][d] = float32(x / math.Sqrt(norm))
		}
	}
	return out, nil
}

// otherModel is the suite's embedder under another model name: vectors of
// another embedding space as far as an index can tell.
type otherModel struct{ retrieval.Embedder }

func (o otherModel) Info() retrieval.EmbedderInfo {
	i := o.Embedder.Info()
	i.Model += "-other"
	return i
}
