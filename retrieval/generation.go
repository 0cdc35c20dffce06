package retrieval

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// The store seam. An Index keeps its lifecycle — plan what changed, embed
// it, reload what another process committed — and hands where passages,
// vectors and postings live to a Store: the index directory of files and
// chromem-go collections (DirStore, the default), or PostgreSQL + pgvector
// (retrieval/postgres). Every store passes the same conformance suite
// (retrieval/storetest).
//
// A store keeps generations. A generation is immutable once committed;
// the next one is written beside it (GenerationWriter) and committed at
// once, so searches never see a half-written index and a crash mid-write
// leaves the last committed one. The articles and their passages are
// held in memory by the Index (Generation); a store answers the searches
// over them (GenerationIndex) by row: row r is Passages[r]. A process that
// only answers may leave the text in the store (Want.TextOnDemand): the
// Generation then holds the articles' metadata and row layout, and the
// Index reads the articles a search returns from the store's TextSource.

// Store keeps the committed generations of an index.
type Store interface {
	// Open loads the committed generation for an index of the given
	// embedder and chunk settings. It fails with ErrNoGeneration (wrapped)
	// when there is none, and with an *UnusableError when the committed
	// one cannot be used (another format, embedder or chunker, or
	// corrupt): the next write replaces it.
	Open(ctx context.Context, want Want) (*Generation, error)
	// Committed is the number of the committed generation, 0 when there is
	// none or it cannot be read. It is cheap: Reload polls it.
	Committed(ctx context.Context) (uint64, error)
	// Lock takes the writer's lock, held until unlock is called or the
	// process dies. Without wait it fails with ErrLocked (wrapped) while
	// another writer holds it; with wait it waits until ctx ends.
	Lock(ctx context.Context, wait bool) (unlock func(), err error)
	// Begin starts writing generation plan.Number on top of base (nil
	// when there is none, or plan.Rebuild); the caller holds the lock.
	Begin(ctx context.Context, base *Generation, plan WritePlan) (GenerationWriter, error)
	// Close releases the store's resources.
	Close() error
}

// Want is what the generation a Store opens must have been built with.
type Want struct {
	Embedder EmbedderInfo // a Dims of 0 matches any
	Chunk    ChunkOptions
	// TextOnDemand lets the store leave the articles' text out of the
	// Generation and give a TextSource instead (Generation.Text), for an
	// index that only answers. A store that cannot may ignore it.
	TextOnDemand bool
}

// Mismatch says why a generation built by emb with chunk settings chunk
// cannot serve an index that wants w, or returns "" if it can.
func (w Want) Mismatch(emb EmbedderInfo, chunk ChunkOptions) string {
	if reason := embedderChange(emb, w.Embedder); reason != "" {
		return reason
	}
	if chunk.WithDefaults() != w.Chunk.WithDefaults() {
		return fmt.Sprintf("chunk settings changed from %s to %s", chunk, w.Chunk)
	}
	return ""
}

// ErrNoGeneration is returned (wrapped) by Store.Open when nothing has
// been committed yet.
var ErrNoGeneration = errors.New("no index")

// ErrLocked is returned (wrapped) by Store.Lock when another process is
// writing the index.
var ErrLocked = errors.New("index is being written by another process")

// UnusableError is Store.Open's error for a committed generation the
// index cannot use. The next write replaces it.
type UnusableError struct {
	Reason string
	// Generation is the number of the unusable generation, if known; a
	// new one must be numbered above it.
	Generation uint64
	// Fingerprints are the article fingerprints it names by ID, if they
	// could be read: Sync reports its changes against them.
	Fingerprints map[string]string
	// Err is the cause, if any.
	Err error
}

func (e *UnusableError) Error() string { return e.Reason }

func (e *UnusableError) Unwrap() error { return e.Err }

// Generation is a committed generation as the Index holds it: the
// articles and their passages in memory, and the store's index of their
// vectors and postings.
type Generation struct {
	Number   uint64
	Embedder EmbedderInfo // what built the vectors, with their Dims
	BuiltAt  time.Time
	Articles []corpus.Article // sorted by ID, with fingerprints
	// Passages are the rows: article by article in ID order, chunk order
	// within an article (Layout).
	Passages []Passage
	// ArticleRows are, per article, its rows [first, end).
	ArticleRows [][2]int
	// Index searches the rows' vectors and postings.
	Index GenerationIndex
	// Text, when not nil, holds the articles' text (Want.TextOnDemand):
	// Articles then carry no paragraph text — Paragraphs has the right
	// length and empty strings — and Passages is nil; ArticleRows are
	// still every article's rows. Such a generation answers but is never
	// the base of a write.
	Text TextSource
}

// TextSource reads the text of a generation opened with
// Want.TextOnDemand.
type TextSource interface {
	// Articles returns the generation's articles of the given indexes
	// (into Generation.Articles), in that order, with their paragraphs.
	Articles(ctx context.Context, indexes []int) ([]corpus.Article, error)
}

// Rows is the number of the generation's rows (passages).
func (g *Generation) Rows() int {
	if g.Text == nil || len(g.ArticleRows) == 0 {
		return len(g.Passages)
	}
	return g.ArticleRows[len(g.ArticleRows)-1][1]
}

// Layout chunks articles (sorted by ID) into the rows of a generation.
func Layout(articles []corpus.Article, chunk ChunkOptions) (passages []Passage, articleRows [][2]int) {
	articleRows = make([][2]int, len(articles))
	for i, a := range articles {
		first := len(passages)
		passages = append(passages, Chunk(a, chunk)...)
		articleRows[i] = [2]int{first, len(passages)}
	}
	return passages, articleRows
}

// Fingerprints are the generation's article fingerprints by ID.
func (g *Generation) Fingerprints() map[string]string {
	m := make(map[string]string, len(g.Articles))
	for _, a := range g.Articles {
		m[a.ID] = a.Fingerprint
	}
	return m
}

// GenerationIndex is a store's index of one generation's rows. Stores
// must give the same answers: the conformance suite holds them to it.
type GenerationIndex interface {
	// Lexical returns up to k rows by BM25 score for the query terms
	// (Terms' output; a repeated term counts once per repetition), best
	// first, ties to the lower row; the same scores as the in-process
	// lexical index (see BM25).
	Lexical(ctx context.Context, terms []string, k int) ([]Scored, error)
	// Nearest returns up to k rows by cosine similarity to the unit
	// vector q, best first. near are rows another signal found for the
	// same question: a store whose search is approximate also searches
	// their articles exactly.
	Nearest(ctx context.Context, q []float32, k int, near []int) ([]Scored, error)
	// IDF is BM25's inverse document frequency of a term (BM25IDF).
	IDF(term string) float64
	// Release frees what the index holds and next does not share, once
	// next has replaced it.
	Release(next GenerationIndex)
}

// Scored is a row and its score.
type Scored struct {
	Row   int
	Score float32
}

// WritePlan is what a Store writes as a new generation.
type WritePlan struct {
	// Number is the generation to write, above every generation the store
	// has seen; Begin may raise it (GenerationWriter.Number).
	Number   uint64
	Embedder EmbedderInfo // Dims may be 0 until the first vectors arrive
	Chunk    ChunkOptions
	BuiltAt  time.Time
	// Articles, Passages and ArticleRows are the new generation's (see
	// Generation).
	Articles    []corpus.Article
	Passages    []Passage
	ArticleRows [][2]int
	// Embed lists the articles (indexes into Articles) whose passages are
	// embedded into this generation; every other article is unchanged
	// from base, rows and all: Kept maps its new rows to base's.
	Embed []int
	Kept  []int32 // new row -> base row, or -1 for an embedded row
	// Rebuild: nothing is kept from base (Embed lists every article).
	Rebuild bool
}

// GenerationWriter writes one generation.
type GenerationWriter interface {
	// Number is the generation being written.
	Number() uint64
	// Put stores the vectors (quantised unit vectors, see quantise; nil
	// for a zero vector) and terms of the passages of article a (an
	// index into WritePlan.Articles, one of Embed), in row order. It is
	// called once per embedded article, never concurrently.
	Put(ctx context.Context, a int, vectors [][]float32, terms [][]string) error
	// Commit makes the generation the committed one and returns its
	// index; dims are the vectors' dimensions.
	Commit(ctx context.Context, dims int) (GenerationIndex, error)
	// Abort discards an uncommitted generation; after Commit it does
	// nothing.
	Abort(ctx context.Context)
}
