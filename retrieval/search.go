package retrieval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
)

// searchMode selects the signals a search uses; the public Search is
// hybrid, the others exist for evaluation.
type searchMode int

const (
	hybrid searchMode = iota
	vectorOnly
	lexicalOnly
)

// Search returns up to k passages for the query, best first: the top
// passages by BM25 and by vector (cosine) similarity are fused on their
// normalised scores, BM25 counting fully and the vector signal
// DefaultVectorWeight (see fuse). Each Hit carries its fused Score and, per
// signal, the rank and score that found it (zero when that signal did not).
// An empty index returns no hits and no error.
func (ix *Index) Search(ctx context.Context, query string, k int) ([]Hit, error) {
	return ix.search(ctx, query, k, hybrid, DefaultVectorWeight)
}

// SearchWeighted is Search with another weight for the vector signal (0:
// BM25 alone, unless BM25 finds nothing), for evaluation and fitting.
func (ix *Index) SearchWeighted(ctx context.Context, query string, k int, vectorWeight float64) ([]Hit, error) {
	return ix.search(ctx, query, k, hybrid, vectorWeight)
}

// SearchOnly ranks by one signal alone (SignalLexical: BM25;
// SignalVector: cosine similarity), for evaluation.
func (ix *Index) SearchOnly(ctx context.Context, query string, k int, signal Signal) ([]Hit, error) {
	mode := lexicalOnly
	if signal == SignalVector {
		mode = vectorOnly
	}
	return ix.search(ctx, query, k, mode, 1)
}

func (ix *Index) search(ctx context.Context, query string, k int, mode searchMode, weightVec float64) ([]Hit, error) {
	if k <= 0 {
		return nil, errors.New("search: k must be positive")
	}
	s := ix.snap.Load()
	if s.Rows() == 0 {
		return nil, nil
	}
	n := max(k, candidates)

	var (
		vec, lex []Scored
		qv       []float32
	)
	if mode != lexicalOnly {
		var err error
		if qv, err = ix.embedQuery(ctx, s, query); err != nil {
			return nil, err
		}
	}
	// A store that can split its vector search runs the approximate part
	// beside BM25 (a database answers both at once), and the exact search
	// of the articles BM25 found after it.
	split, canSplit := s.Index.(SplitNearest)
	canSplit = canSplit && mode == hybrid
	var (
		approx    []Scored
		approxErr error
		approxed  = make(chan struct{})
	)
	if canSplit {
		go func() {
			defer close(approxed)
			approx, approxErr = s.Index.Nearest(ctx, qv, n, nil)
		}()
	}
	if mode != vectorOnly {
		var err error
		if lex, err = s.Index.Lexical(ctx, Terms(query), n); err != nil {
			if canSplit {
				<-approxed
			}
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	if mode != lexicalOnly {
		// The articles BM25 found are searched by vector too, beside
		// those the store's approximate search finds (see chromemStore).
		near := make([]int, len(lex))
		for i, l := range lex {
			near[i] = l.Row
		}
		var (
			ms  []Scored
			err error
		)
		if canSplit {
			in, inErr := split.NearestIn(ctx, qv, n, near)
			<-approxed
			if err = cmp.Or(approxErr, inErr); err == nil {
				ms = mergeNearest(approx, in, n)
			}
		} else {
			ms, err = s.Index.Nearest(ctx, qv, n, near)
		}
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		vec = make([]Scored, 0, len(ms))
		for _, m := range ms {
			if m.Score > 0 {
				vec = append(vec, m)
			}
		}
	}
	fused := fuse(vec, lex, k, weightVec)
	rows := make([]int, len(fused))
	for i, f := range fused {
		rows[i] = f.row
	}
	passages, err := s.passages(ctx, ix.chunk, rows)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	hits := make([]Hit, len(fused))
	for i, f := range fused {
		hits[i] = Hit{
			Passage:      passages[i],
			Score:        f.score,
			VectorRank:   f.vectorRank,
			LexicalRank:  f.lexicalRank,
			VectorScore:  f.vectorScore,
			LexicalScore: f.lexicalScore,
		}
	}
	return hits, nil
}

// SplitNearest is implemented by a GenerationIndex whose Nearest is an
// approximate search merged with an exact search of the near rows'
// articles, and that can run the two apart: Search then runs the
// approximate one (Nearest with no near rows) beside Lexical, which the
// near rows come from, instead of after it. Merged (mergeNearest), the
// two give what Nearest gives.
type SplitNearest interface {
	// NearestIn returns up to k rows of the articles of near by cosine
	// similarity to q, exactly, best first.
	NearestIn(ctx context.Context, q []float32, k int, near []int) ([]Scored, error)
}

// mergeNearest merges two vector searches' rows (a row found by both
// once) into the best k.
func mergeNearest(a, b []Scored, k int) []Scored {
	seen := make(map[int]bool, len(a)+len(b))
	all := make([]Scored, 0, len(a)+len(b))
	for _, x := range slices.Concat(a, b) {
		if !seen[x.Row] {
			seen[x.Row] = true
			all = append(all, x)
		}
	}
	return Best(all, k)
}

// queryEmbedder is implemented by embedders that can weight the features of
// a query by term (LocalEmbedder.EmbedQuery).
type queryEmbedder interface {
	EmbedQuery(ctx context.Context, text string, weight func(term string) float64) ([]float32, error)
}

// queryIDF switches IDF weighting of local query vectors (for evaluation).
var queryIDF = true

func (ix *Index) embedQuery(ctx context.Context, s *snapshot, query string) ([]float32, error) {
	if qe, ok := ix.emb.(queryEmbedder); ok && queryIDF {
		v, err := qe.EmbedQuery(ctx, query, s.Index.IDF)
		if err != nil {
			return nil, fmt.Errorf("embed query: %w", err)
		}
		return v, nil
	}
	qv, err := ix.emb.Embed(ctx, []string{query})
	if err != nil {
		return nil, fmt.Errorf("embed query: %w", err)
	}
	if len(qv) != 1 {
		return nil, fmt.Errorf("embed query: %d vectors for 1 text", len(qv))
	}
	return qv[0], nil
}

// ScanBytes is what a Search for query reads from an in-process index,
// for benchmarks to set against memory bandwidth: the float32 vectors
// chromem compares the query with (the article centroids and the probed
// articles' passages), and the postings (row, term frequency and the
// row's length) of its terms. Other stores report 0.
func (ix *Index) ScanBytes(ctx context.Context, query string) (vector, lexical int64, err error) {
	s := ix.snap.Load()
	x, ok := s.Index.(*dirIndex)
	if s.Rows() == 0 || !ok {
		return 0, 0, nil
	}
	qv, err := ix.embedQuery(ctx, s, query)
	if err != nil {
		return 0, 0, err
	}
	vector, lexical = x.scanBytes(ctx, qv, Terms(query))
	return vector, lexical, nil
}
