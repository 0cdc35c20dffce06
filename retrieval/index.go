package retrieval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

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
	// Store keeps the generations; nil means the files of Dir (the
	// in-process store, see Index). With another store (retrieval/postgres)
	// Dir only holds what the index remembers about the corpus files.
	Store Store
	// TextOnDemand is for an index that only answers (OpenCorpus's
	// Committed): a store that can (retrieval/postgres) leaves the
	// articles' text in the store and the Index reads the articles a
	// search returns, so the process does not hold the corpus. Such an
	// index cannot be written (Sync fails). The in-process store ignores
	// it: its text is in memory either way.
	TextOnDemand bool
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
// generation, named by the previous manifest, intact. In memory the
// vectors live in chromem-go collections (store.go); on disk vectors-G.vec
// holds them as int8 with their partitions (vectorfile.go: chromem-go's
// own gob export was too slow to load for the cold-start budget). The
// manifest records the size and CRC-32C of each file it names and a
// checksum of itself; a file that does not match them makes the index
// unusable, with a reason naming the file, and the next Sync rebuilds it
// (checksum.go).
//
// Only one process writes a Dir at a time: writing holds an exclusive lock
// on Dir/lock (flock on Unix, which the kernel drops when the process dies;
// on other systems there is no lock and concurrent writers must be avoided
// by the caller). Readers take no lock: they load the generation the
// manifest names, and OpenCorpus answers from it while another process
// writes the next one.
type Index struct {
	dir    string
	emb    Embedder
	chunk  ChunkOptions
	lazy   bool // Options.TextOnDemand
	log    *slog.Logger
	store  Store
	snap   atomic.Pointer[snapshot]
	syncMu sync.Mutex // serialises Sync within the process

	// rebuild is set when Open found an index it could not use; the next
	// Sync rebuilds everything and reports this reason.
	rebuild string
	// prev is the unusable generation Open found, if any: Sync reports
	// changes against its fingerprints and numbers the next one above it.
	prev *UnusableError
	// rebuildMu guards rebuild and prev for Info, which holds no syncMu;
	// they are written with syncMu held (and rebuildMu), so code holding
	// syncMu reads them without it.
	rebuildMu sync.Mutex

	// The corpus files remembered for reuse (files.go).
	filesMu   sync.Mutex
	known     filesRecord
	knownRead bool
}

// snapshot is the generation in use, immutable.
type snapshot struct {
	*Generation
	byID map[string]int // article ID -> index in Articles
	// cache holds the articles read from Text (nil without Text).
	cache *textCache
}

func newSnapshot(g *Generation) *snapshot {
	s := &snapshot{Generation: g, byID: make(map[string]int, len(g.Articles))}
	if g.Text != nil {
		s.cache = newTextCache()
	}
	for i, a := range g.Articles {
		s.byID[a.ID] = i
	}
	return s
}

// emptySnapshot is generation 0: no articles.
func emptySnapshot() *snapshot {
	return newSnapshot(&Generation{Index: emptyIndex{}})
}

// emptyIndex is the GenerationIndex of no rows.
type emptyIndex struct{}

func (emptyIndex) Lexical(context.Context, []string, int) ([]Scored, error) { return nil, nil }
func (emptyIndex) Nearest(context.Context, []float32, int, []int) ([]Scored, error) {
	return nil, nil
}
func (emptyIndex) IDF(string) float64      { return BM25IDF(0, 0) }
func (emptyIndex) Release(GenerationIndex) {}

// manifest is the JSON commit record of a generation.
type manifest struct {
	Format     int                `json:"format"`
	Generation uint64             `json:"generation"`
	BuiltAt    time.Time          `json:"built_at"`
	Embedder   EmbedderInfo       `json:"embedder"`
	Chunk      ChunkOptions       `json:"chunk"`
	Files      map[string]fileSum `json:"files"` // file name -> size and checksum
	Passages   int                `json:"passages"`
	Articles   []manifestArticle  `json:"articles"` // sorted by ID
	// Checksum is of the manifest itself (see checksum.go).
	Checksum string `json:"checksum"`
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
		chunk: opts.Chunk.WithDefaults(),
		lazy:  opts.TextOnDemand,
		log:   opts.Logger,
		store: opts.Store,
	}
	if ix.log == nil {
		ix.log = slog.New(slog.DiscardHandler)
	}
	if ix.store == nil {
		ix.store = NewDirStore(ix.dir, ix.log)
	}
	ix.snap.Store(emptySnapshot())
	start := time.Now()
	g, err := ix.store.Open(ctx, ix.want())
	var unusable *UnusableError
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("open index: %w", ctx.Err())
	case errors.Is(err, ErrNoGeneration):
		ix.log.Debug("no index yet", "dir", ix.dir)
	case errors.As(err, &unusable):
		ix.rebuild, ix.prev = unusable.Reason, unusable
		ix.log.Info("index needs a rebuild", "dir", ix.dir, "reason", ix.rebuild)
	case err != nil:
		return nil, fmt.Errorf("open index: %w", err)
	default:
		ix.snap.Store(newSnapshot(g))
		ix.log.Debug("index loaded", "dir", ix.dir, "articles", len(g.Articles),
			"passages", g.Rows(), "text on demand", g.Text != nil, "took", time.Since(start))
	}
	return ix, nil
}

// usable records, with syncMu held, that a usable generation is in
// place: nothing needs a rebuild.
func (ix *Index) usable() {
	ix.rebuildMu.Lock()
	defer ix.rebuildMu.Unlock()
	ix.rebuild, ix.prev = "", nil
}

// want is what the store's generation must have been built with.
func (ix *Index) want() Want {
	return Want{Embedder: ix.emb.Info(), Chunk: ix.chunk, TextOnDemand: ix.lazy}
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

// Info describes the loaded index.
func (ix *Index) Info() IndexInfo {
	s := ix.snap.Load()
	emb := s.Embedder
	if emb == (EmbedderInfo{}) {
		emb = ix.emb.Info()
	}
	ix.rebuildMu.Lock()
	defer ix.rebuildMu.Unlock()
	return IndexInfo{
		Dir:           ix.dir,
		Embedder:      emb,
		Chunk:         ix.chunk,
		Articles:      len(s.Articles),
		Passages:      s.Rows(),
		BuiltAt:       s.BuiltAt,
		NeedsRebuild:  ix.rebuild != "",
		RebuildReason: ix.rebuild,
	}
}

// Article returns the indexed copy of an article, with its paragraphs, so
// answering needs no corpus files. The Paragraphs slice is the caller's.
// With TextOnDemand the article may be read from the store: if that read
// fails, the failure is logged and the article reported missing (see
// ArticleContext).
func (ix *Index) Article(id string) (corpus.Article, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), textTimeout)
	defer cancel()
	a, ok, err := ix.ArticleContext(ctx, id)
	if err != nil {
		ix.log.Warn("cannot read an article's text", "article", id, "err", err)
	}
	return a, ok
}

// ArticleContext is Article with a context, and the error of reading the
// article's text from the store (only with TextOnDemand).
func (ix *Index) ArticleContext(ctx context.Context, id string) (corpus.Article, bool, error) {
	s := ix.snap.Load()
	i, ok := s.byID[id]
	if !ok {
		return corpus.Article{}, false, nil
	}
	texts, err := s.texts(ctx, ix.chunk, []int{i})
	if err != nil {
		return corpus.Article{}, false, err
	}
	a := texts[i].a
	a.Paragraphs = slices.Clone(a.Paragraphs)
	return a, true, nil
}

// Articles returns the indexed articles sorted by ID. They share paragraph
// slices with the index: do not modify them. With TextOnDemand (and a
// store that honours it) their paragraphs are empty strings — as many as
// the article has — and Article has their text.
func (ix *Index) Articles() []corpus.Article {
	return slices.Clone(ix.snap.Load().Articles)
}

// IDF returns the BM25 inverse document frequency of an analysed term (one
// of Terms' outputs) over the indexed passages: ln(1 + (N−df+0.5)/(df+0.5)).
// Unknown terms get the highest value, ln(1 + (N+0.5)/0.5).
func (ix *Index) IDF(term string) float64 {
	return ix.snap.Load().Index.IDF(term)
}

// Store is the store the index keeps its generations in.
func (ix *Index) Store() Store { return ix.store }

// Close releases the index and its store; it is safe to call twice.
func (ix *Index) Close() error { return ix.store.Close() }
