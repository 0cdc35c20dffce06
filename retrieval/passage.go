// Package retrieval turns articles into searchable passages and finds the
// passages that best match a question.
//
// Articles are chunked into passages (each remembers its article and
// paragraph range), embedded by an Embedder (the weight-free local one by
// default, or an OpenAI-compatible endpoint), stored in chromem-go (one
// collection per article and one of article centroids that chooses which
// articles a query scans; one collection, exact, for small indexes) and
// persisted under an index directory, next to a BM25 lexical index over
// stemmed terms. Search fuses the vector and lexical rankings.
//
// The index records what built it (embedder name, model and dimensions, the
// chunker settings and a fingerprint of every article), so re-indexing only
// re-embeds new or changed articles and never mixes vectors of two embedders.
// Every file of it is checksummed and verified on load.
//
// OpenCorpus is the lifecycle every command goes through: open the index,
// load the corpus (files known to be unchanged — same inode and ctime, or
// the same content hash — are taken from the index unparsed), sync, and
// remember the files. Writers take the store's lock; readers never wait
// for one while a committed generation exists. A long-running server
// follows what other processes commit with ReloadEvery.
//
// # The store seam
//
// Where the generations live is a Store (generation.go). The Index keeps
// the lifecycle and the articles and passages of the generation in use in
// memory (or, for an index that only answers from a store that can keep
// the text, their layout, reading the text of what a search returns:
// Options.TextOnDemand); a Sync is plan (what changed, by fingerprint) → layout of the
// next generation's rows (WritePlan) → embed the changed articles into the
// store's GenerationWriter → the store assembles and commits it at once.
// Searches go to the generation's GenerationIndex: BM25 over the query
// terms (Lexical) and nearest vectors (Nearest), fused here (fuse), so
// ranking is the same code whatever the store. Two stores exist:
//
//   - DirStore, the default: files in the index directory, searched in
//     memory (chromem-go collections by article, a CSR lexical index);
//     right for one process and up to ~25k articles.
//   - retrieval/postgres: PostgreSQL + pgvector (HNSW), postings and BM25
//     statistics in tables scored in Go with BM25, a generation per
//     transaction, commits announced by LISTEN/NOTIFY (Announcer); for many
//     processes on many machines sharing one index.
//
// retrieval/storetest is the conformance suite both pass: commit and
// reopen, incremental writes, failed writes, readers during writes, the
// lock, rebuilds, and the same rows and scores as the in-process index.
//
// retrieval does not format answers.
package retrieval

import "context"

// Passage is a chunk of consecutive paragraphs of one article: the unit that
// is embedded and searched.
type Passage struct {
	// ID is stable and readable: "<article>#p<first>" or
	// "<article>#p<first>-<last>".
	ID        string
	ArticleID string
	Title     string
	// First and Last are the 1-based paragraph range, inclusive.
	First, Last int
	// Text is the paragraphs First..Last joined by "\n\n".
	Text string
}

// Signal names a ranking that found a passage.
type Signal string

const (
	SignalVector  Signal = "vector"
	SignalLexical Signal = "lexical"
)

// Hit is a passage returned by Search with its fused score and the per-signal
// evidence behind it.
type Hit struct {
	Passage
	// Score is the fused score (higher is better); hits are sorted by it.
	Score float64
	// VectorRank and LexicalRank are 1-based ranks in each signal's own
	// list, 0 when that signal did not return the passage.
	VectorRank, LexicalRank int
	// VectorScore is the cosine similarity; LexicalScore the BM25 score.
	VectorScore, LexicalScore float64
}

// Signals lists the signals that found the hit, vector first.
func (h Hit) Signals() []Signal {
	var s []Signal
	if h.VectorRank > 0 {
		s = append(s, SignalVector)
	}
	if h.LexicalRank > 0 {
		s = append(s, SignalLexical)
	}
	return s
}

// Embedder turns texts into vectors. Implementations must be safe for
// concurrent use and return one L2-normalised vector per input text, in order.
type Embedder interface {
	// Info identifies the embedder; the index rebuilds when it changes.
	Info() EmbedderInfo
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// EmbedderInfo identifies how vectors were made.
type EmbedderInfo struct {
	Name  string // "local" or "openai"
	Model string // e.g. "hash-v1" or "text-embedding-3-small"
	Dims  int
}
