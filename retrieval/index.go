package retrieval

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// formatVersion is the on-disk layout version; an index of another version
// is rebuilt.
const formatVersion = 4

const manifestName = "manifest.json"

// Options configure an Index.
type Options struct {
	// Dir holds the persisted index; it is created if missing. See
	// DefaultDir.
	Dir string
	// Embedder embeds passages and questions. Required.
	Embedder Embedder
	// Chunk controls how paragraphs are merged into passages.
	Chunk ChunkOptions
	// Logger receives progress and rebuild notes; nil discards them.
	Logger *slog.Logger
}

// Index is a searchable, persisted set of articles: their passages, vectors
// and lexical index. It is safe for concurrent use: Search runs against an
// immutable snapshot, which Sync replaces only after the new index is on
// disk.
//
// On-disk layout of Dir: manifest.json (the commit point, naming one
// generation) and, per generation G, articles-G.gob (the articles with
// their paragraphs), vectors-G.vec (the passage vectors) and
// lexical-G.gob (the BM25 postings). Files of a generation are written to
// temporary files, fsynced and renamed before the manifest that names them
// is, so a crash or cancellation at any point leaves the previous
// generation, named by the previous manifest, intact. (vectors-G.vec is a
// raw float32 matrix, see vectorfile.go: chromem-go's own gob export was
// too slow to load for the cold-start budget.)
//
// Only one process may Sync a Dir at a time: Sync holds an exclusive lock
// on Dir/lock (flock on Unix; on other systems there is no lock and
// concurrent writers must be avoided by the caller). Readers take no lock.
type Index struct {
	dir    string
	emb    Embedder
	chunk  ChunkOptions
	log    *slog.Logger
	snap   atomic.Pointer[snapshot]
	syncMu sync.Mutex // serialises Sync within the process

	// rebuild is set when Open found an index it could not use; the next
	// Sync rebuilds everything and reports this reason.
	rebuild string
	// prev is the manifest found on disk, if readable, even when unusable;
	// Sync reports changes against it.
	prev *manifest

	// The corpus files remembered for Reuse (files.go).
	filesMu   sync.Mutex
	known     map[string]fileRecord
	knownRead bool
}

// snapshot is one immutable generation of the index.
type snapshot struct {
	gen      uint64
	embedder EmbedderInfo
	builtAt  time.Time
	articles []corpus.Article // sorted by ID
	byID     map[string]int   // article ID -> index in articles
	// passages are the rows of vectors and lexical, article by article
	// in ID order, paragraph order within an article.
	passages []Passage
	artRows  [][2]int // per article: [first, end) passage rows
	vectors  *columnStore
	lexical  *lexicalIndex
}

func emptySnapshot() *snapshot {
	return &snapshot{
		byID:     map[string]int{},
		vectors:  &columnStore{},
		lexical:  newLexicalBuilder(0).build(),
		articles: nil,
	}
}

// manifest is the JSON commit record of a generation.
type manifest struct {
	Format     int               `json:"format"`
	Generation uint64            `json:"generation"`
	BuiltAt    time.Time         `json:"built_at"`
	Embedder   EmbedderInfo      `json:"embedder"`
	Chunk      ChunkOptions      `json:"chunk"`
	Files      map[string]int64  `json:"files"` // file name -> size in bytes
	Passages   int               `json:"passages"`
	Articles   []manifestArticle `json:"articles"` // sorted by ID
}

type manifestArticle struct {
	ID          string   `json:"id"`
	Fingerprint string   `json:"fingerprint"`
	Passages    []string `json:"passages"`
}

// IndexInfo describes an index.
type IndexInfo struct {
	Dir      string
	Embedder EmbedderInfo // what built the loaded vectors (the configured one if empty)
	Chunk    ChunkOptions
	Articles int
	Passages int
	BuiltAt  time.Time // zero if never built
	// NeedsRebuild is set when Open could not use the index in Dir; the
	// next Sync rebuilds it. RebuildReason says why.
	NeedsRebuild  bool
	RebuildReason string
}

// SyncReport says what Sync changed. Article IDs are sorted.
type SyncReport struct {
	Added, Updated, Removed, Unchanged []string
	// Rebuilt is set when every article was re-embedded; RebuildReason says
	// why (embedder or chunk settings changed, unusable index on disk).
	Rebuilt       bool
	RebuildReason string
	Passages      int // passages in the index after Sync
	Embedded      int // passages embedded by this Sync
	Duration      time.Duration
}

// Changed reports whether Sync changed the index.
func (r SyncReport) Changed() bool {
	return r.Rebuilt || len(r.Added)+len(r.Updated)+len(r.Removed) > 0
}

// DefaultDir is the default index directory for a corpus:
// <user cache dir>/verbatim/index/<first 16 hex digits of SHA-256(corpusKey)>.
// corpusKey identifies the corpus, e.g. its absolute path or "bundled".
func DefaultDir(corpusKey string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("default index dir: %w", err)
	}
	sum := sha256.Sum256([]byte(corpusKey))
	return filepath.Join(cache, "verbatim", "index", hex.EncodeToString(sum[:8])), nil
}

// Open loads the index persisted in opts.Dir, or starts an empty one if
// there is none. It never fails on an index it cannot use — of another
// format, built by another embedder or with other chunk settings, or
// corrupt: it logs why, starts empty, and the next Sync rebuilds (see
// Info().RebuildReason). It fails only on bad options or when Dir cannot be
// created.
func Open(ctx context.Context, opts Options) (*Index, error) {
	if opts.Dir == "" {
		return nil, errors.New("open index: no directory")
	}
	if opts.Embedder == nil {
		return nil, errors.New("open index: no embedder")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	ix := &Index{
		dir:   opts.Dir,
		emb:   opts.Embedder,
		chunk: opts.Chunk.withDefaults(),
		log:   opts.Logger,
	}
	if ix.log == nil {
		ix.log = slog.New(slog.DiscardHandler)
	}
	ix.snap.Store(emptySnapshot())
	start := time.Now()
	snap, m, err := ix.load(ctx)
	if errors.Is(err, fs.ErrNotExist) && m != nil {
		// A concurrent Sync may have committed a newer generation and
		// removed the files of the one we read: try once more.
		snap, m, err = ix.load(ctx)
	}
	ix.prev = m
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("open index: %w", ctx.Err())
	case errors.Is(err, errNoIndex):
		ix.log.Debug("no index yet", "dir", ix.dir)
	case err != nil:
		ix.rebuild = err.Error()
		ix.log.Info("index needs a rebuild", "dir", ix.dir, "reason", ix.rebuild)
	default:
		ix.snap.Store(snap)
		ix.log.Debug("index loaded", "dir", ix.dir, "articles", len(snap.articles),
			"passages", len(snap.passages), "took", time.Since(start))
	}
	return ix, nil
}

var errNoIndex = errors.New("no index")

// load reads the manifest and the generation it names. It returns the
// manifest whenever it could be parsed, even if the index is unusable.
func (ix *Index) load(ctx context.Context) (*snapshot, *manifest, error) {
	data, err := os.ReadFile(filepath.Join(ix.dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, errNoIndex
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, nil, fmt.Errorf("manifest is corrupt: %w", err)
	}
	if m.Format != formatVersion {
		return nil, nil, fmt.Errorf("index format %d, this build reads %d", m.Format, formatVersion)
	}
	if reason := embedderChange(m.Embedder, ix.emb.Info()); reason != "" {
		return nil, &m, errors.New(reason)
	}
	if m.Chunk.withDefaults() != ix.chunk {
		return nil, &m, fmt.Errorf("chunk settings changed from %s to %s", m.Chunk, ix.chunk)
	}
	for name, size := range m.Files {
		fi, err := os.Stat(filepath.Join(ix.dir, name))
		if err != nil {
			return nil, &m, fmt.Errorf("index file: %w", err)
		}
		if fi.Size() != size {
			return nil, &m, fmt.Errorf("index file %s has %d bytes, manifest says %d", name, fi.Size(), size)
		}
	}

	s := &snapshot{gen: m.Generation, embedder: m.Embedder, builtAt: m.BuiltAt}
	if err := readGob(ix.dir, fileName("articles", m.Generation), &s.articles); err != nil {
		return nil, &m, err
	}
	if len(s.articles) != len(m.Articles) {
		return nil, &m, fmt.Errorf("articles file has %d articles, manifest %d", len(s.articles), len(m.Articles))
	}
	s.byID = make(map[string]int, len(s.articles))
	for i, a := range s.articles {
		ma := m.Articles[i]
		if a.ID != ma.ID || a.Fingerprint != ma.Fingerprint {
			return nil, &m, fmt.Errorf("articles file disagrees with manifest at %q", ma.ID)
		}
		s.byID[a.ID] = i
		first := len(s.passages)
		s.passages = append(s.passages, Chunk(a, ix.chunk)...)
		if got := passageIDs(s.passages[first:]); !slices.Equal(got, ma.Passages) {
			return nil, &m, fmt.Errorf("passages of %q differ from the manifest", a.ID)
		}
		s.artRows = append(s.artRows, [2]int{first, len(s.passages)})
	}
	if len(s.passages) != m.Passages {
		return nil, &m, fmt.Errorf("%d passages, manifest says %d", len(s.passages), m.Passages)
	}
	if err := ctx.Err(); err != nil {
		return nil, &m, err
	}

	// Vectors and postings decode in parallel: they are the bulk of a cold
	// start.
	var wg sync.WaitGroup
	var lexErr error
	wg.Go(func() {
		f, err := os.Open(filepath.Join(ix.dir, fileName("lexical", m.Generation)))
		if err != nil {
			lexErr = fmt.Errorf("open lexical index: %w", err)
			return
		}
		defer f.Close()
		s.lexical, lexErr = readLexical(bufio.NewReaderSize(f, 1<<20), len(s.passages))
	})
	vecErr := func() error {
		f, err := os.Open(filepath.Join(ix.dir, fileName("vectors", m.Generation)))
		if err != nil {
			return fmt.Errorf("open vectors: %w", err)
		}
		defer f.Close()
		s.vectors, err = readVectors(f, passageIDs(s.passages))
		return err
	}()
	wg.Wait()
	if err := errors.Join(vecErr, lexErr); err != nil {
		return nil, &m, err
	}
	if d := m.Embedder.Dims; d != 0 && s.vectors.Len() > 0 && s.vectors.dims != d {
		return nil, &m, fmt.Errorf("vectors have %d dims, manifest says %d", s.vectors.dims, d)
	}
	return s, &m, nil
}

// embedderChange describes how the embedder that built an index differs
// from the configured one, or returns "" if vectors are compatible. A
// configured Dims of 0 (learned from the first response) matches any.
func embedderChange(built, now EmbedderInfo) string {
	if built.Name != now.Name || built.Model != now.Model ||
		(now.Dims != 0 && built.Dims != now.Dims) {
		return fmt.Sprintf("embedder changed from %s to %s", built, now)
	}
	return ""
}

// String formats the info as "name/model (N dims)".
func (e EmbedderInfo) String() string {
	s := e.Name + "/" + e.Model
	if e.Dims > 0 {
		s += " (" + strconv.Itoa(e.Dims) + " dims)"
	}
	return s
}

func fileName(kind string, gen uint64) string {
	ext := ".gob"
	if kind == "vectors" {
		ext = ".vec"
	}
	return kind + "-" + strconv.FormatUint(gen, 10) + ext
}

func passageIDs(ps []Passage) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

func readGob(dir, name string, v any) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	if err := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", name, err)
	}
	return nil
}

// Info describes the loaded index.
func (ix *Index) Info() IndexInfo {
	s := ix.snap.Load()
	emb := s.embedder
	if emb == (EmbedderInfo{}) {
		emb = ix.emb.Info()
	}
	return IndexInfo{
		Dir:           ix.dir,
		Embedder:      emb,
		Chunk:         ix.chunk,
		Articles:      len(s.articles),
		Passages:      len(s.passages),
		BuiltAt:       s.builtAt,
		NeedsRebuild:  ix.rebuild != "",
		RebuildReason: ix.rebuild,
	}
}

// Article returns the indexed copy of an article, with its paragraphs, so
// answering needs no corpus files. The Paragraphs slice is the caller's.
func (ix *Index) Article(id string) (corpus.Article, bool) {
	s := ix.snap.Load()
	i, ok := s.byID[id]
	if !ok {
		return corpus.Article{}, false
	}
	a := s.articles[i]
	a.Paragraphs = slices.Clone(a.Paragraphs)
	return a, true
}

// Articles returns the indexed articles sorted by ID. They share paragraph
// slices with the index: do not modify them.
func (ix *Index) Articles() []corpus.Article {
	return slices.Clone(ix.snap.Load().articles)
}

// IDF returns the BM25 inverse document frequency of an analysed term (one
// of Terms' outputs) over the indexed passages: ln(1 + (N−df+0.5)/(df+0.5)).
// Unknown terms get the highest value, ln(1 + (N+0.5)/0.5).
func (ix *Index) IDF(term string) float64 {
	return ix.snap.Load().lexical.idf(term)
}

// Close releases the index. It holds no open files between calls, so Close
// only exists for symmetry and future stores; it is safe to call twice.
func (ix *Index) Close() error { return nil }

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
// and in memory.
func (ix *Index) Sync(ctx context.Context, articles []corpus.Article, progress func(done, total int)) (SyncReport, error) {
	start := time.Now()
	ix.syncMu.Lock()
	defer ix.syncMu.Unlock()
	unlock, err := lockDir(ix.dir)
	if err != nil {
		return SyncReport{}, fmt.Errorf("sync index: %w", err)
	}
	defer unlock()

	old := ix.snap.Load()
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
			return SyncReport{}, fmt.Errorf("sync index: duplicate article id %q", in[i].ID)
		}
	}

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
	rep := SyncReport{}
	rebuild := ix.rebuild
	if rebuild == "" && len(old.articles) > 0 {
		if r := embedderChange(old.embedder, ix.emb.Info()); r != "" {
			rebuild = r
		}
	}
	rep.Rebuilt, rep.RebuildReason = rebuild != "", rebuild

	var toEmbed []int // indexes into in
	for i, a := range in {
		fp, ok := before[a.ID]
		switch {
		case !ok:
			rep.Added = append(rep.Added, a.ID)
		case fp != a.Fingerprint:
			rep.Updated = append(rep.Updated, a.ID)
		default:
			rep.Unchanged = append(rep.Unchanged, a.ID)
		}
		j, kept := old.byID[a.ID]
		if rebuild != "" || !kept || old.articles[j].Fingerprint != a.Fingerprint {
			toEmbed = append(toEmbed, i)
		}
	}
	inIDs := make(map[string]bool, len(in))
	for _, a := range in {
		inIDs[a.ID] = true
	}
	for id := range before {
		if !inIDs[id] {
			rep.Removed = append(rep.Removed, id)
		}
	}
	slices.Sort(rep.Removed)

	if !rep.Changed() && old.gen > 0 {
		rep.Passages = len(old.passages)
		rep.Duration = time.Since(start)
		return rep, nil
	}
	if rep.Rebuilt {
		ix.log.Info("rebuilding index", "dir", ix.dir, "reason", rebuild)
	}

	// Chunk, embed and tokenise what changed, straight into the next
	// snapshot's store and postings.
	emb := ix.emb.Info()
	next, err := ix.build(ctx, old, in, toEmbed, emb, rebuild != "", progress)
	if err != nil {
		return SyncReport{}, err
	}
	rep.Embedded = next.embedded
	// Never reuse the generation number of files on disk, even of an
	// index we could not load: the manifest naming them stays valid until
	// ours replaces it.
	next.gen = max(next.gen, ix.maxGenOnDisk()+1)
	if err := ix.persist(ctx, next.snapshot); err != nil {
		return SyncReport{}, err
	}
	ix.snap.Store(next.snapshot)
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
// rows (vectors and postings are copied, nothing is re-embedded), and the
// articles in[i] for i in which are chunked, embedded and tokenised. Each
// batch of vectors is written into the new store as soon as it is embedded,
// so a build holds one copy of the vectors (plus the old snapshot's).
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
	// Lay out the rows: kept articles copy runs of old rows, the others
	// get fresh rows filled by the workers.
	remap := make([]int, len(old.passages))
	for i := range remap {
		remap[i] = -1
	}
	var runs []rowRun
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
			if k := len(runs) - 1; k >= 0 && runs[k].from+runs[k].n == r[0] && runs[k].to+runs[k].n == first {
				runs[k].n += r[1] - r[0]
			} else {
				runs = append(runs, rowRun{to: first, from: r[0], n: r[1] - r[0]})
			}
			for row := r[0]; row < r[1]; row++ {
				remap[row] = len(s.passages)
				s.passages = append(s.passages, old.passages[row])
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
	// The store is made once the dimensions are known: from the embedder,
	// the old store, or else the first batch embedded.
	var (
		mu    sync.Mutex // guards store creation, lex, done and progress
		store *columnStore
		done  int
	)
	dims := emb.Dims
	if dims == 0 && !rebuild && old.vectors.Len() > 0 {
		dims = old.vectors.dims
	}
	makeStore := func(d int) {
		store = newColumnStore(ids, d)
		if len(runs) > 0 {
			store.copyRuns(old.vectors, runs)
		}
	}
	if dims != 0 || len(jobs) == 0 {
		if len(runs) > 0 {
			dims = old.vectors.dims
		}
		makeStore(dims)
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
				vecs, err := ix.emb.Embed(ctx, texts)
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
				if store == nil {
					makeStore(len(vecs[0]))
				}
				mu.Unlock()
				for k, v := range vecs {
					if len(v) != store.dims {
						cancel(fmt.Errorf("embedder %s returned %d dims, want %d", emb, len(v), store.dims))
						return
					}
					store.setRow(j.first+k, v)
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
	if store == nil { // no passages at all
		store = newColumnStore(ids, 0)
	}
	s.vectors = store
	if s.embedder.Dims == 0 {
		s.embedder.Dims = store.dims
	}
	s.lexical = lex.build()
	return nextSnapshot{snapshot: s, embedded: embedded}, nil
}

// persist writes the snapshot's generation files and then its manifest.
func (ix *Index) persist(ctx context.Context, s *snapshot) error {
	files := map[string]func(io.Writer) error{
		fileName("articles", s.gen): func(w io.Writer) error {
			return gob.NewEncoder(w).Encode(s.articles)
		},
		fileName("vectors", s.gen): s.vectors.writeTo,
		fileName("lexical", s.gen): s.lexical.writeTo,
	}
	m := manifest{
		Format:     formatVersion,
		Generation: s.gen,
		BuiltAt:    s.builtAt,
		Embedder:   s.embedder,
		Chunk:      ix.chunk,
		Files:      map[string]int64{},
		Passages:   len(s.passages),
	}
	for i, a := range s.articles {
		r := s.artRows[i]
		m.Articles = append(m.Articles, manifestArticle{
			ID: a.ID, Fingerprint: a.Fingerprint, Passages: passageIDs(s.passages[r[0]:r[1]]),
		})
	}
	var written []string
	fail := func(err error) error {
		for _, name := range written {
			os.Remove(filepath.Join(ix.dir, name))
		}
		return fmt.Errorf("persist index: %w", err)
	}
	// The three files are independent; write them in parallel.
	type result struct {
		name string
		size int64
		err  error
	}
	results := make(chan result, len(files))
	for name, write := range files {
		go func() {
			size, err := writeFileAtomic(ctx, filepath.Join(ix.dir, name), write)
			results <- result{name, size, err}
		}()
	}
	var errs []error
	for range files {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		written = append(written, r.name)
		m.Files[r.name] = r.size
	}
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fail(err)
	}
	// The commit point: after this rename the new generation is the index.
	if _, err := writeFileAtomic(ctx, filepath.Join(ix.dir, manifestName), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return fail(err)
	}
	return nil
}

// writeFileAtomic writes path through a temporary file in the same
// directory: write, fsync, rename, fsync the directory. It checks ctx before
// the rename, so a cancelled write never replaces path.
func writeFileAtomic(ctx context.Context, path string, write func(io.Writer) error) (int64, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	cw := &countingWriter{w: bw}
	if err := write(cw); err != nil {
		return 0, fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Sync(); err != nil {
		return 0, fmt.Errorf("sync %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("close %s: %w", filepath.Base(path), err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("rename %s: %w", filepath.Base(path), err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not supported everywhere
		d.Close()
	}
	return cw.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// maxGenOnDisk is the highest generation named by a file in the directory.
func (ix *Index) maxGenOnDisk() uint64 {
	var g uint64
	if ix.prev != nil {
		g = ix.prev.Generation
	}
	entries, _ := os.ReadDir(ix.dir)
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".gob"), ".vec")
		if _, num, ok := strings.Cut(name, "-"); ok && isGenFile(e.Name()) {
			if n, err := strconv.ParseUint(num, 10, 64); err == nil {
				g = max(g, n)
			}
		}
	}
	return g
}

// isGenFile reports whether name is a generation's data file.
func isGenFile(name string) bool {
	return (strings.HasSuffix(name, ".gob") || strings.HasSuffix(name, ".vec")) &&
		(strings.HasPrefix(name, "articles-") || strings.HasPrefix(name, "vectors-") ||
			strings.HasPrefix(name, "lexical-"))
}

// removeStale deletes generation files other than gen's and leftover
// temporary files. Failures are only logged: stale files waste space but
// never confuse a later Open, which reads what the manifest names.
func (ix *Index) removeStale(gen uint64) {
	entries, err := os.ReadDir(ix.dir)
	if err != nil {
		ix.log.Warn("list index dir", "dir", ix.dir, "err", err)
		return
	}
	keep := map[string]bool{
		manifestName: true, lockName: true, filesName: true,
		fileName("articles", gen): true, fileName("vectors", gen): true, fileName("lexical", gen): true,
	}
	for _, e := range entries {
		name := e.Name()
		stale := strings.HasPrefix(name, ".tmp-") || isGenFile(name)
		if stale && !keep[name] {
			if err := os.Remove(filepath.Join(ix.dir, name)); err != nil {
				ix.log.Warn("remove stale index file", "file", name, "err", err)
			}
		}
	}
}
