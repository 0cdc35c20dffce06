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
	in, err := sortedArticles(articles)
	if err != nil {
		return SyncReport{}, err
	}
	if p := ix.plan(in); !p.write {
		// Nothing to write, so no lock: any number of processes (a running
		// bot, scripted asks) can use an up-to-date index at once.
		return p.report(start), nil
	}
	unlock, err := lockDir(ix.dir)
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
	// What was there before: the loaded snapshot, or the manifest of an
	// index we could not use (for the report only).
	before := map[string]string{}
	for _, a := range old.articles {
		before[a.ID] = a.Fingerprint
	}
	if len(old.articles) == 0 && ix.prev != nil {
		for _, a := range ix.prev.Articles {
			before[a.ID] = a.Fingerprint
		}
	}
	var p syncPlan
	p.rebuild = ix.rebuild
	if p.rebuild == "" && len(old.articles) > 0 {
		p.rebuild = embedderChange(old.embedder, ix.emb.Info())
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
		if p.rebuild != "" || !kept || old.articles[j].Fingerprint != a.Fingerprint {
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
	p.write = p.rep.Changed() || old.gen == 0
	p.rep.Passages = len(old.passages)
	return p
}

// commit writes the next generation for in; the caller holds the
// directory lock and syncMu. It first catches up with a generation another
// process committed since this one was loaded, then plans again: the other
// process may have done the work already.
func (ix *Index) commit(ctx context.Context, in []corpus.Article, start time.Time, progress func(done, total int)) (SyncReport, error) {
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

	// Chunk, embed and tokenise what changed, straight into the next
	// snapshot's store and postings.
	emb := ix.emb.Info()
	next, err := ix.build(ctx, old, in, p.toEmbed, emb, p.rebuild != "", progress)
	if err != nil {
		return SyncReport{}, err
	}
	rep.Embedded = next.embedded
	// Never reuse the generation number of files on disk, even of an
	// index we could not load: the manifest naming them stays valid until
	// ours replaces it.
	next.gen = max(next.gen, ix.maxGenOnDisk()+1)
	if err := ix.persist(ctx, next.snapshot); err != nil {
		ix.vectors.release(next.vectors, old.vectors)
		return SyncReport{}, err
	}
	ix.snap.Store(next.snapshot)
	ix.vectors.release(old.vectors, next.vectors)
	ix.rebuild = ""
	ix.prev = nil
	ix.removeStale(next.gen)

	rep.Passages = len(next.passages)
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

// nextSnapshot is a snapshot being built, with how many passages were
// embedded for it.
type nextSnapshot struct {
	*snapshot
	embedded int
}

// build makes the next snapshot from the old one: kept articles keep their
// rows (their vectors are the same slices, their postings are copied;
// nothing is re-embedded), and the articles in[i] for i in which are
// chunked, embedded, quantised and tokenised. Each embedded vector is
// copied into a slice of its own and the batch dropped, so a build holds
// one copy of the vectors, shared with the old snapshot for kept passages.
// The vector store (chromem-go collections by partition) is built last.
//
// Embedding runs in batches of whole articles on bounded parallel workers;
// the first error cancels the rest.
func (ix *Index) build(ctx context.Context, old *snapshot, in []corpus.Article, which []int, emb EmbedderInfo, rebuild bool, progress func(done, total int)) (nextSnapshot, error) {
	s := &snapshot{
		gen:      old.gen + 1,
		embedder: emb,
		builtAt:  time.Now().UTC(),
		articles: in,
		byID:     make(map[string]int, len(in)),
	}
	embed := make(map[int]bool, len(which))
	for _, i := range which {
		embed[i] = true
	}
	// Lay out the rows: kept articles take their old rows, the others
	// get fresh rows filled by the workers.
	remap := make([]int, len(old.passages))
	for i := range remap {
		remap[i] = -1
	}
	var kept []int32 // new row -> old row, or -1 for a passage to embed
	type job struct {
		arts  []int // indexes into in
		first int   // the row of the batch's first passage; its rows are consecutive
		n     int   // passages
	}
	var jobs []job
	var cur job
	for i, a := range in {
		s.byID[a.ID] = i
		first := len(s.passages)
		if embed[i] {
			if len(cur.arts) == 0 {
				cur.first = first
			}
			ps := Chunk(a, ix.chunk)
			s.passages = append(s.passages, ps...)
			for range ps {
				kept = append(kept, -1)
			}
			cur.arts = append(cur.arts, i)
			cur.n += len(ps)
			if cur.n >= embedBatch {
				jobs = append(jobs, cur)
				cur = job{}
			}
		} else {
			if len(cur.arts) > 0 { // a batch's rows must be consecutive
				jobs = append(jobs, cur)
				cur = job{}
			}
			if rebuild {
				return nextSnapshot{}, fmt.Errorf("sync index: %s not re-embedded in a rebuild", a.ID)
			}
			j, ok := old.byID[a.ID]
			if !ok {
				return nextSnapshot{}, fmt.Errorf("sync index: %s is neither indexed nor to embed", a.ID)
			}
			r := old.artRows[j]
			for row := r[0]; row < r[1]; row++ {
				remap[row] = len(s.passages)
				s.passages = append(s.passages, old.passages[row])
				kept = append(kept, int32(row))
			}
		}
		s.artRows = append(s.artRows, [2]int{first, len(s.passages)})
	}
	if len(cur.arts) > 0 {
		jobs = append(jobs, cur)
	}
	embedded := 0
	for _, j := range jobs {
		embedded += j.n
	}
	if err := ctx.Err(); err != nil {
		return nextSnapshot{}, fmt.Errorf("sync index: %w", err)
	}

	ids := passageIDs(s.passages)
	lex := newLexicalBuilder(len(s.passages))
	if !rebuild {
		lex.addFrom(old.lexical, remap)
	}
	// Kept passages keep their vectors (the same slices: nothing is
	// copied); embedded ones are quantised into slices of their own.
	rows := make([][]float32, len(s.passages))
	for r, o := range kept {
		if o >= 0 {
			rows[r] = old.vectors.rows[o]
		}
	}
	// The dimensions come from the embedder, the old store, or else the
	// first batch embedded.
	var (
		mu   sync.Mutex // guards dims, lex, done and progress
		done int
	)
	dims := emb.Dims
	if dims == 0 && !rebuild && old.vectors.Len() > 0 {
		dims = old.vectors.dims
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
				ps := s.passages[j.first : j.first+j.n]
				texts := make([]string, len(ps))
				for k, p := range ps {
					texts[k] = p.EmbedText()
				}
				vecs, err := ix.embedPassages(ctx, ps, texts) // issue 9: reports passages the embedder shortened
				if err == nil && len(vecs) != len(texts) {
					err = fmt.Errorf("embedder returned %d vectors for %d texts", len(vecs), len(texts))
				}
				if err != nil {
					id := in[j.arts[0]].ID
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
				for k, v := range vecs {
					if len(v) != want {
						cancel(fmt.Errorf("embedder %s returned %d dims, want %d", emb, len(v), want))
						return
					}
					row := make([]float32, want)
					copy(row, v)
					if quantise(row, q) {
						rows[j.first+k] = row
					}
				}
				terms := make([][]string, len(ps))
				for k, p := range ps {
					terms[k] = Terms(p.Title + "\n\n" + p.Text)
				}
				mu.Lock()
				for k := range ps {
					lex.addDoc(j.first+k, terms[k])
				}
				if progress != nil {
					done += len(j.arts)
					progress(done, len(which))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nextSnapshot{}, fmt.Errorf("sync index: %w", err)
	}
	// An article whose passages were all kept keeps its collection.
	keptArticle := make([]int, len(s.artRows))
	for a, r := range s.artRows {
		keptArticle[a] = -1
		if r[1] > r[0] && !rebuild && kept[r[0]] >= 0 {
			if j, ok := old.byID[in[a].ID]; ok && old.artRows[j] == [2]int{int(kept[r[0]]), int(kept[r[0]]) + r[1] - r[0]} {
				keptArticle[a] = j
			}
		}
	}
	store, err := buildStore(ctx, ix.vectors, storeInput{
		ids: ids, rows: rows, dims: dims, articles: s.artRows, old: old.vectors, keptArticle: keptArticle,
	})
	if err != nil {
		return nextSnapshot{}, fmt.Errorf("sync index: %w", err)
	}
	s.vectors = store
	if s.embedder.Dims == 0 {
		s.embedder.Dims = store.dims
	}
	s.lexical = lex.build()
	return nextSnapshot{snapshot: s, embedded: embedded}, nil
}
