package retrieval

import (
	"cmp"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
)

// BM25 parameters (Robertson/Zaragoza defaults, as in Lucene).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// lexicalIndex is an inverted index over the Terms of each passage (its text
// plus its article title) scored with Okapi BM25. Postings are stored flat
// (compressed-sparse-row): the postings of term t are docs/tfs[offsets[t]:
// offsets[t+1]]. Like the vector store it is immutable once built.
type lexicalIndex struct {
	termIDs map[string]int32
	terms   []string // term id -> term
	offsets []uint32 // len(terms)+1
	docs    []uint32 // passage rows
	tfs     []uint16
	docLen  []uint32 // terms per passage
	avgLen  float64
}

// lexicalBuilder accumulates postings term by term.
type lexicalBuilder struct {
	termIDs map[string]int32
	terms   []string
	posts   [][]posting
	docLen  []uint32
}

type posting struct {
	doc uint32
	tf  uint16
}

func newLexicalBuilder(docs int) *lexicalBuilder {
	return &lexicalBuilder{termIDs: make(map[string]int32), docLen: make([]uint32, docs)}
}

func (b *lexicalBuilder) termID(t string) int32 {
	id, ok := b.termIDs[t]
	if !ok {
		id = int32(len(b.terms))
		b.termIDs[t] = id
		b.terms = append(b.terms, t)
		b.posts = append(b.posts, nil)
	}
	return id
}

// addDoc indexes the terms of passage row doc.
func (b *lexicalBuilder) addDoc(doc int, terms []string) {
	tf := make(map[string]int, len(terms))
	for _, t := range terms {
		tf[t]++
	}
	for t, n := range tf {
		id := b.termID(t)
		b.posts[id] = append(b.posts[id], posting{uint32(doc), uint16(min(n, math.MaxUint16))})
	}
	b.docLen[doc] = uint32(len(terms))
}

// addFrom copies the postings of an existing index, moving row r to
// remap[r] and dropping rows mapped to -1. Nothing is re-tokenised.
func (b *lexicalBuilder) addFrom(old *lexicalIndex, remap []int) {
	if old == nil {
		return
	}
	for t, term := range old.terms {
		var id int32 = -1
		for p := old.offsets[t]; p < old.offsets[t+1]; p++ {
			to := remap[old.docs[p]]
			if to < 0 {
				continue
			}
			if id < 0 {
				id = b.termID(term)
			}
			b.posts[id] = append(b.posts[id], posting{uint32(to), old.tfs[p]})
		}
	}
	for r, n := range old.docLen {
		if to := remap[r]; to >= 0 {
			b.docLen[to] = n
		}
	}
}

func comparePostings(a, b posting) int { return cmp.Compare(a.doc, b.doc) }

func (b *lexicalBuilder) build() *lexicalIndex {
	ix := &lexicalIndex{termIDs: b.termIDs, terms: b.terms, docLen: b.docLen}
	total := 0
	for _, p := range b.posts {
		total += len(p)
	}
	ix.offsets = make([]uint32, len(b.terms)+1)
	ix.docs = make([]uint32, 0, total)
	ix.tfs = make([]uint16, 0, total)
	for t, ps := range b.posts {
		// Sync adds documents as their batches finish: keep each list in
		// row order, so the index does not depend on that schedule.
		if !slices.IsSortedFunc(ps, comparePostings) {
			slices.SortFunc(ps, comparePostings)
		}
		for _, p := range ps {
			ix.docs = append(ix.docs, p.doc)
			ix.tfs = append(ix.tfs, p.tf)
		}
		ix.offsets[t+1] = uint32(len(ix.docs))
	}
	ix.computeAvg()
	return ix
}

func (ix *lexicalIndex) computeAvg() {
	var sum float64
	for _, n := range ix.docLen {
		sum += float64(n)
	}
	if len(ix.docLen) > 0 {
		ix.avgLen = sum / float64(len(ix.docLen))
	}
}

// df is the number of passages containing term.
func (ix *lexicalIndex) df(term string) int {
	id, ok := ix.termIDs[term]
	if !ok {
		return 0
	}
	return int(ix.offsets[id+1] - ix.offsets[id])
}

// idf is BM25's (always positive) inverse document frequency.
func (ix *lexicalIndex) idf(term string) float64 {
	return BM25IDF(len(ix.docLen), ix.df(term))
}

// BM25IDF is BM25's (always positive) inverse document frequency of a term
// in df of n passages: ln(1 + (n−df+0.5)/(df+0.5)).
func BM25IDF(n, df int) float64 {
	N, DF := float64(n), float64(df)
	return math.Log(1 + (N-DF+0.5)/(DF+0.5))
}

// accumulators are pooled dense score arrays, one float per passage.
var accumulators sync.Pool

// search returns up to k passages by BM25 score for the query terms, best
// first. A term repeated in the query counts once per repetition.
func (ix *lexicalIndex) search(terms []string, k int) []Scored {
	n := len(ix.docLen)
	if n == 0 || len(terms) == 0 || k <= 0 {
		return nil
	}
	qtf := make(map[int32]float64, len(terms))
	for _, t := range terms {
		if id, ok := ix.termIDs[t]; ok {
			qtf[id]++
		}
	}
	if len(qtf) == 0 {
		return nil
	}
	acc, _ := accumulators.Get().(*[]float32)
	if acc == nil || len(*acc) < n {
		a := make([]float32, n)
		acc = &a
	}
	scores := (*acc)[:n]
	touched := make([]uint32, 0, 256)
	norm := bm25K1 / ix.avgLen * bm25B
	base := bm25K1 * (1 - bm25B)
	for id, q := range qtf {
		lo, hi := ix.offsets[id], ix.offsets[id+1]
		df := float64(hi - lo)
		w := float32(q * math.Log(1+(float64(n)-df+0.5)/(df+0.5)) * (bm25K1 + 1))
		for p := lo; p < hi; p++ {
			d := ix.docs[p]
			tf := float32(ix.tfs[p])
			s := w * tf / (tf + float32(base+norm*float64(ix.docLen[d])))
			if scores[d] == 0 {
				touched = append(touched, d)
			}
			scores[d] += s
		}
	}
	top := newTopK(k)
	for _, d := range touched {
		top.push(int(d), scores[d])
		scores[d] = 0
	}
	accumulators.Put(acc)
	return top.sorted()
}

// lexicalFile is the persisted form: flat arrays, which gob encodes and
// decodes in bulk.
type lexicalFile struct {
	Terms   []string
	Offsets []uint32
	Docs    []uint32
	TFs     []uint16
	DocLen  []uint32
}

func (ix *lexicalIndex) writeTo(w io.Writer) error {
	f := lexicalFile{ix.terms, ix.offsets, ix.docs, ix.tfs, ix.docLen}
	if err := gob.NewEncoder(w).Encode(&f); err != nil {
		return fmt.Errorf("encode lexical index: %w", err)
	}
	return nil
}

func readLexical(r io.Reader, passages int) (*lexicalIndex, error) {
	var f lexicalFile
	if err := gob.NewDecoder(r).Decode(&f); err != nil {
		return nil, fmt.Errorf("decode lexical index: %w", err)
	}
	if len(f.Offsets) != len(f.Terms)+1 || len(f.Docs) != len(f.TFs) ||
		len(f.DocLen) != passages || (len(f.Terms) > 0 && int(f.Offsets[len(f.Terms)]) != len(f.Docs)) {
		return nil, errors.New("decode lexical index: inconsistent sizes")
	}
	for i := 1; i < len(f.Offsets); i++ {
		if f.Offsets[i] < f.Offsets[i-1] || int(f.Offsets[i]) > len(f.Docs) {
			return nil, errors.New("decode lexical index: offsets out of order")
		}
	}
	for _, d := range f.Docs {
		if int(d) >= passages {
			return nil, errors.New("decode lexical index: posting out of range")
		}
	}
	ix := &lexicalIndex{terms: f.Terms, offsets: f.Offsets, docs: f.Docs, tfs: f.TFs, docLen: f.DocLen}
	ix.termIDs = make(map[string]int32, len(f.Terms))
	for i, t := range f.Terms {
		ix.termIDs[t] = int32(i)
	}
	ix.computeAvg()
	return ix, nil
}

// BM25 scores passages as the in-process lexical index does, for stores
// that keep the postings elsewhere: the same formula with the same
// float32 arithmetic, so a store that feeds it the same postings gets the
// same scores (up to the order in which a passage's terms are summed).
type BM25 struct {
	N      int     // passages
	AvgLen float64 // mean terms per passage: total / N
}

// Weight is the factor of a query term that occurs queryTF times in the
// query and in df passages: IDF × queryTF × (k1 + 1).
func (b BM25) Weight(queryTF float64, df int) float32 {
	DF := float64(df)
	return float32(queryTF * math.Log(1+(float64(b.N)-DF+0.5)/(DF+0.5)) * (bm25K1 + 1))
}

// Score is the term's contribution to a passage of docLen terms where it
// occurs tf times; w is its Weight.
func (b BM25) Score(w float32, tf uint16, docLen uint32) float32 {
	return b.Scorer().Score(w, tf, docLen)
}

// BM25Scorer is BM25's Score with its constants computed once, for loops
// over postings; it scores bit for bit as Score does.
type BM25Scorer struct{ base, norm float64 }

// Scorer returns b's BM25Scorer.
func (b BM25) Scorer() BM25Scorer {
	return BM25Scorer{base: bm25K1 * (1 - bm25B), norm: bm25K1 / b.AvgLen * bm25B}
}

// Score is BM25.Score.
func (s BM25Scorer) Score(w float32, tf uint16, docLen uint32) float32 {
	t := float32(tf)
	return w * t / (t + float32(s.base+s.norm*float64(docLen)))
}

// Best returns the k best of rows (each row at most once), best first,
// ties to the lower row, as every store ranks.
func Best(rows []Scored, k int) []Scored {
	top := newTopK(k)
	for _, r := range rows {
		top.push(r.Row, r.Score)
	}
	return top.sorted()
}
