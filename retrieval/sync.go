package retrieval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// Sync makes the index match articles: new and changed articles (by
// Fingerprint; an empty Fingerprint is computed from the content) are
// chunked and embedded, removed ones deleted, unchanged ones kept without
// re-embedding. When the embedder or the chunk settings differ from what
// built the index, or Open found it unusable, everything is rebuilt and the
// report says why.
//
// Embedding runs in batches on bounded parallel workers; the first error
// cancels the rest. progress, if not nil, is called (never concurrently) with
// the number of articles embedded so far and the number to embed. The new
// index is persisted atomically before Sync returns and before searches see
// it; on error or cancellation the previous index stays in place, on disk
// and in memory. Writing takes an exclusive lock on the directory, and a
// Sync that would write while another process holds it fails (errLocked);
// a Sync with nothing to change takes no lock. (OpenCorpus instead answers
// from the committed index, or waits.) Once it holds the lock, Sync first
// loads any generation another process committed meanwhile, so it never
// writes over newer work with an older base.
func (ix *Index) Sync(ctx context.Context, articles []corpus.Article, progress func(done, total int)) (SyncReport, error) {
	start := time.Now()
	ix.syncMu.Lock()
	defer ix.syncMu.Unlock()
	if ix.lazy {
		return SyncReport{}, fmt.Errorf("sync index: %w", errReadOnly)
	}
	in, err := sortedArticles(articles)
	if err != nil {
		return SyncReport{}, err
	}
	if p := ix.plan(in); !p.write {
		// Nothing to write, so no lock: any number of processes (a running
		// bot, scripted asks) can use an up-to-date index at once.
		return p.report(start), nil
	}
	unlock, err := ix.store.Lock(ctx, false)
	if err != nil {
		return SyncReport{}, fmt.Errorf("sync index: %w", err)
	}
	defer unlock()
	return ix.commit(ctx, in, start, progress)
}

// sortedArticles copies articles sorted by ID, with fingerprints, and
// refuses duplicate IDs.
func sortedArticles(articles []corpus.Article) ([]corpus.Article, error) {
	in := make([]corpus.Article, len(articles))
	copy(in, articles)
	for i := range in {
		if in[i].Fingerprint == "" {
			in[i].Fingerprint = fingerprint(in[i])
		}
	}
	slices.SortFunc(in, func(a, b corpus.Article) int { return strings.Compare(a.ID, b.ID) })
	for i := 1; i < len(in); i++ {
		if in[i].ID == in[i-1].ID {
			return nil, fmt.Errorf("sync index: duplicate article id %q", in[i].ID)
		}
	}
	return in, nil
}

// syncPlan is what a Sync to the articles in would change in the loaded
// snapshot.
type syncPlan struct {
	rep     SyncReport // Added, Updated, Removed, Unchanged, Rebuilt
	toEmbed []int      // indexes into in
	rebuild string     // why everything is re-embedded, or ""
	write   bool       // there is a generation to write
}

func (p syncPlan) report(start time.Time) SyncReport {
	r := p.rep
	r.Duration = time.Since(start)
	return r
}

// plan compares in (sorted, see sortedArticles) with the loaded snapshot.
func (ix *Index) plan(in []corpus.Article) syncPlan {
	old := ix.snap.Load()
	// What was there before: the loaded snapshot, or the fingerprints of
	// an index we could not use (for the report only).
	before := old.Fingerprints()
	if len(old.Articles) == 0 && ix.prev != nil {
		before = ix.prev.Fingerprints
	}
	var p syncPlan
	p.rebuild = ix.rebuild
	if p.rebuild == "" && len(old.Articles) > 0 {
		p.rebuild = embedderChange(old.Embedder, ix.emb.Info())
	}
	p.rep.Rebuilt, p.rep.RebuildReason = p.rebuild != "", p.rebuild
	for i, a := range in {
		fp, ok := before[a.ID]
		switch {
		case !ok:
			p.rep.Added = append(p.rep.Added, a.ID)
		case fp != a.Fingerprint:
			p.rep.Updated = append(p.rep.Updated, a.ID)
		default:
			p.rep.Unchanged = append(p.rep.Unchanged, a.ID)
		}
		j, kept := old.byID[a.ID]
		if p.rebuild != "" || !kept || old.Articles[j].Fingerprint != a.Fingerprint {
			p.toEmbed = append(p.toEmbed, i)
		}
	}
	inIDs := make(map[string]bool, len(in))
	for _, a := range in {
		inIDs[a.ID] = true
	}
	for id := range before {
		if !inIDs[id] {
			p.rep.Removed = append(p.rep.Removed, id)
		}
	}
	slices.Sort(p.rep.Removed)
	p.write = p.rep.Changed() || old.Number == 0
	p.rep.Passages = len(old.Passages)
	return p
}

// commit writes the next generation for in; the caller holds the store's
// lock and syncMu. It first catches up with a generation another process
// committed since this one was loaded, then plans again: the other
// process may have done the work already. Then the three steps along the
// store seam: lay out the next generation (writePlan), embed what changed
// into the store's writer (embed), and let the store assemble and commit
// it.
func (ix *Index) commit(ctx context.Context, in []corpus.Article, start time.Time, progress func(done, total int)) (SyncReport, error) {
	if ix.lazy {
		return SyncReport{}, fmt.Errorf("sync index: %w", errReadOnly)
	}
	if err := ix.catchUp(ctx); err != nil {
		return SyncReport{}, fmt.Errorf("sync index: %w", err)
	}
	p := ix.plan(in)
	if !p.write {
		return p.report(start), nil
	}
	rep := p.rep
	old := ix.snap.Load()
	if rep.Rebuilt {
		ix.log.Info("rebuilding index", "dir", ix.dir, "reason", p.rebuild)
	}
	plan, err := ix.writePlan(old, in, p.toEmbed, p.rebuild != "")
	if err != nil {
		return SyncReport{}, fmt.Errorf("sync index: %w", err)
	}
	var base *Generation
	if !plan.Rebuild && old.Number > 0 {
		base = old.Generation
	}
	w, err := ix.store.Begin(ctx, base, plan)
	if err != nil {
		return SyncReport{}, fmt.Errorf("sync index: %w", err)
	}
	dims, embedded, err := ix.embed(ctx, plan, old, w, progress)
	if err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return SyncReport{}, fmt.Errorf("sync index: %w", err)
	}
	gi, err := w.Commit(ctx, dims)
	if err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return SyncReport{}, fmt.Errorf("sync index: %w", err)
	}
	emb := plan.Embedder
	if emb.Dims == 0 {
		emb.Dims = dims
	}
	next := &Generation{Number: w.Number(), Embedder: emb, BuiltAt: plan.BuiltAt, Articles: plan.Articles,
		Passages: plan.Passages, ArticleRows: plan.ArticleRows, Index: gi}
	ix.snap.Store(newSnapshot(next))
	old.Index.Release(gi)
	ix.usable()

	rep.Embedded = embedded
	rep.Passages = len(next.Passages)
	rep.Duration = time.Since(start)
	ix.log.Info("index synced", "dir", ix.dir, "added", len(rep.Added), "updated", len(rep.Updated),
		"removed", len(rep.Removed), "unchanged", len(rep.Unchanged), "embedded", rep.Embedded,
		"passages", rep.Passages, "took", rep.Duration)
	return rep, nil
}

// fingerprint hashes the indexed content of an article, for callers that
// did not set Article.Fingerprint.
func fingerprint(a corpus.Article) string {
	h := sha256.New()
	for _, s := range append([]string{a.ID, a.Title, a.URL, a.Author, a.Published.UTC().Format(time.RFC3339)}, a.Paragraphs...) {
		io.WriteString(h, strconv.Itoa(len(s)))
		io.WriteString(h, ":")
		io.WriteString(h, s)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// embedBatch is the number of passages sent to the embedder at once.
const embedBatch = 64

// writePlan lays out the next generation from the old one: kept articles
// keep their passages (and, in the store, their vectors and postings:
// nothing is re-embedded), the articles in[i] for i in which are chunked
// anew.
func (ix *Index) writePlan(old *snapshot, in []corpus.Article, which []int, rebuild bool) (WritePlan, error) {
	plan := WritePlan{
		Number:      old.Number + 1,
		Embedder:    ix.emb.Info(),
		Chunk:       ix.chunk,
		BuiltAt:     time.Now().UTC(),
		Articles:    in,
		ArticleRows: make([][2]int, len(in)),
		Embed:       which,
		Rebuild:     rebuild,
	}
	// Never reuse the number of an unusable generation: what names it
	// stays valid until ours replaces it.
	if ix.prev != nil {
		plan.Number = max(plan.Number, ix.prev.Generation+1)
	}
	embed := make(map[int]bool, len(which))
	for _, i := range which {
		embed[i] = true
	}
	for i, a := range in {
		first := len(plan.Passages)
		if embed[i] {
			ps := Chunk(a, ix.chunk)
			plan.Passages = append(plan.Passages, ps...)
			for range ps {
				plan.Kept = append(plan.Kept, -1)
			}
		} else {
			if rebuild {
				return WritePlan{}, fmt.Errorf("%s not re-embedded in a rebuild", a.ID)
			}
			j, ok := old.byID[a.ID]
			if !ok {
				return WritePlan{}, fmt.Errorf("%s is neither indexed nor to embed", a.ID)
			}
			r := old.ArticleRows[j]
			for row := r[0]; row < r[1]; row++ {
				plan.Passages = append(plan.Passages, old.Passages[row])
				plan.Kept = append(plan.Kept, int32(row))
			}
		}
		plan.ArticleRows[i] = [2]int{first, len(plan.Passages)}
	}
	return plan, nil
}

// embed chunks, embeds, quantises and tokenises the articles plan.Embed
// and puts them into w, and returns the vectors' dimensions and the
// number of passages embedded. Each embedded vector is copied into a
// slice of its own and the batch dropped, so a build holds one copy of
// the vectors.
//
// Embedding runs in batches of whole articles on bounded parallel
// workers; the first error cancels the rest. progress, if not nil, is
// called (never concurrently) with the articles embedded so far and the
// number to embed.
func (ix *Index) embed(ctx context.Context, plan WritePlan, old *snapshot, w GenerationWriter, progress func(done, total int)) (dims, embedded int, err error) {
	type job struct {
		arts  []int // indexes into plan.Articles
		first int   // the row of the batch's first passage; its rows are consecutive
		n     int   // passages
	}
	var jobs []job
	var cur job
	embedSet := make(map[int]bool, len(plan.Embed))
	for _, i := range plan.Embed {
		embedSet[i] = true
	}
	for i, r := range plan.ArticleRows {
		if !embedSet[i] {
			if len(cur.arts) > 0 { // a batch's rows must be consecutive
				jobs = append(jobs, cur)
				cur = job{}
			}
			continue
		}
		if len(cur.arts) == 0 {
			cur.first = r[0]
		}
		cur.arts = append(cur.arts, i)
		cur.n += r[1] - r[0]
		if cur.n >= embedBatch {
			jobs = append(jobs, cur)
			cur = job{}
		}
	}
	if len(cur.arts) > 0 {
		jobs = append(jobs, cur)
	}
	for _, j := range jobs {
		embedded += j.n
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	emb := plan.Embedder
	// The dimensions come from the embedder, the old generation, or else
	// the first batch embedded.
	var (
		mu   sync.Mutex // guards dims, w, done and progress
		done int
	)
	dims = emb.Dims
	if dims == 0 && !plan.Rebuild && len(old.Passages) > 0 {
		dims = old.Embedder.Dims
	}

	workers := runtime.GOMAXPROCS(0)
	if c, ok := ix.emb.(interface{ Concurrency() int }); ok {
		workers = c.Concurrency()
	}
	workers = max(1, min(workers, len(jobs)))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				b := int(next.Add(1)) - 1
				if b >= len(jobs) || ctx.Err() != nil {
					return
				}
				j := jobs[b]
				ps := plan.Passages[j.first : j.first+j.n]
				texts := make([]string, len(ps))
				for k, p := range ps {
					texts[k] = p.EmbedText()
				}
				vecs, err := ix.embedPassages(ctx, ps, texts) // issue 9: reports passages the embedder shortened
				if err == nil && len(vecs) != len(texts) {
					err = fmt.Errorf("embedder returned %d vectors for %d texts", len(vecs), len(texts))
				}
				if err != nil {
					id := plan.Articles[j.arts[0]].ID
					if len(ps) > 0 {
						id = ps[0].ID
					}
					cancel(fmt.Errorf("embed passage %s: %w", id, err))
					return
				}
				mu.Lock()
				if dims == 0 {
					dims = len(vecs[0])
				}
				want := dims
				mu.Unlock()
				q := make([]int8, want)
				rows := make([][]float32, len(vecs))
				for k, v := range vecs {
					if len(v) != want {
						cancel(fmt.Errorf("embedder %s returned %d dims, want %d", emb, len(v), want))
						return
					}
					row := make([]float32, want)
					copy(row, v)
					if quantise(row, q) {
						rows[k] = row
					}
				}
				terms := make([][]string, len(ps))
				for k, p := range ps {
					terms[k] = Terms(p.Title + "\n\n" + p.Text)
				}
				mu.Lock()
				for _, a := range j.arts {
					r := plan.ArticleRows[a]
					lo, hi := r[0]-j.first, r[1]-j.first
					if err := w.Put(ctx, a, rows[lo:hi], terms[lo:hi]); err != nil {
						mu.Unlock()
						cancel(fmt.Errorf("store %s: %w", plan.Articles[a].ID, err))
						return
					}
				}
				if progress != nil {
					done += len(j.arts)
					progress(done, len(plan.Embed))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return 0, 0, err
	}
	return dims, embedded, nil
}
