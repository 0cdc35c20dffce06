package retrieval

import "slices"

// DefaultVectorWeight is how much the vector signal counts beside BM25 in
// Search (see fuse). It was fitted by leave-one-set-out on the eval sets:
// `go test ./eval -run TestFitVectorWeight -v` prints the sweep. With the
// weight-free local embedder the vector ranking is the weaker signal on
// every set (it holds the same words without corpus statistics), so it
// mostly breaks near-ties of BM25 and finds passages BM25 misses entirely
// (no shared term, e.g. a misspelling); a remote embedding model would
// deserve a higher weight: measure first.
const DefaultVectorWeight = 0.3

// candidates is how many passages each signal contributes to fusion.
const candidates = 50

// fuse merges the vector and lexical rankings (each best first) and
// returns the best k, with per-signal ranks and scores filled in. Each
// signal's scores are divided by its best score, so both lie in [0, 1]
// whatever the corpus or the embedder, and a passage scores
//
//	lexical/maxLexical + weightVec × vector/maxVector
//
// (a signal that did not return the passage adds 0). Unlike reciprocal
// rank fusion, a weak signal cannot outvote BM25 by rank alone: a passage
// BM25 scores far below the best stays below it. Ties go to the better
// lexical rank, then the better vector rank, then the lower row, so results
// are deterministic.
func fuse(vec, lex []Scored, k int, weightVec float64) []fusedHit {
	byRow := make(map[int]*fusedHit, len(vec)+len(lex))
	get := func(row int) *fusedHit {
		h := byRow[row]
		if h == nil {
			h = &fusedHit{row: row}
			byRow[row] = h
		}
		return h
	}
	if len(lex) > 0 && lex[0].Score > 0 {
		top := float64(lex[0].Score)
		for i, s := range lex {
			h := get(s.Row)
			h.lexicalRank = i + 1
			h.lexicalScore = float64(s.Score)
			h.score += float64(s.Score) / top
		}
	}
	if len(vec) > 0 && vec[0].Score > 0 {
		top := float64(vec[0].Score)
		w := weightVec
		if len(lex) == 0 {
			w = 1 // nothing lexical: the vector ranking is all there is
		}
		for i, s := range vec {
			h := get(s.Row)
			h.vectorRank = i + 1
			h.vectorScore = float64(s.Score)
			h.score += w * float64(s.Score) / top
		}
	}
	out := make([]fusedHit, 0, len(byRow))
	for _, h := range byRow {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b fusedHit) int {
		switch {
		case a.score != b.score:
			if a.score > b.score {
				return -1
			}
			return 1
		case rankOrInf(a.lexicalRank) != rankOrInf(b.lexicalRank):
			return rankOrInf(a.lexicalRank) - rankOrInf(b.lexicalRank)
		case rankOrInf(a.vectorRank) != rankOrInf(b.vectorRank):
			return rankOrInf(a.vectorRank) - rankOrInf(b.vectorRank)
		}
		return a.row - b.row
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}

type fusedHit struct {
	row                       int
	score                     float64
	vectorRank, lexicalRank   int
	vectorScore, lexicalScore float64
}

func rankOrInf(r int) int {
	if r == 0 {
		return 1 << 30
	}
	return r
}
