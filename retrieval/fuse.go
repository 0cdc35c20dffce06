package retrieval

import "slices"

// rrfK is the k of reciprocal rank fusion: a passage scores
// Σ 1/(rrfK + rank) over the rankings that returned it. 60 is the value of
// Cormack et al. (2009); the eval sets showed no gain from tuning it (see
// the package report), so the textbook constant stays.
const rrfK = 60

// Fusion weights: each signal's reciprocal ranks are scaled by its weight.
//
// With the local embedder BM25 is the stronger signal: the hashed vectors
// hold the same words without corpus statistics (the query side gets IDF
// weights, see LocalEmbedder.EmbedQuery), so equal weights let the weaker
// list outvote it. Measured hybrid hit@1 at 768 dims (vector weight 1 →
// 0.5 → 0.25): wikiqa .878 → .913 → .905..911, multirc-dev .901 → .928 →
// .935, quail .578 → .606 → .608 — while hit@5 keeps what the vector adds.
// A remote embedding model would deserve a higher weight; measure first.
var (
	fusionWeightVector  = 0.25
	fusionWeightLexical = 1.0
)

// candidates is how many passages each signal contributes to fusion.
const candidates = 50

// fuse merges the vector and lexical rankings (each best first) by
// reciprocal rank fusion and returns the best k, with per-signal ranks and
// scores filled in. Ties go to the better vector rank, then the lower row,
// so results are deterministic.
func fuse(vec, lex []scored, k int, weightVec, weightLex float64) []fusedHit {
	byRow := make(map[int]*fusedHit, len(vec)+len(lex))
	get := func(row int) *fusedHit {
		h := byRow[row]
		if h == nil {
			h = &fusedHit{row: row}
			byRow[row] = h
		}
		return h
	}
	for i, s := range vec {
		h := get(s.row)
		h.vectorRank = i + 1
		h.vectorScore = float64(s.score)
		h.score += weightVec / float64(rrfK+i+1)
	}
	for i, s := range lex {
		h := get(s.row)
		h.lexicalRank = i + 1
		h.lexicalScore = float64(s.score)
		h.score += weightLex / float64(rrfK+i+1)
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
