package postgres

import (
	"math/rand/v2"
	"testing"

	"github.com/verbatimbot/verbatim/retrieval"
)

// testIndex is a genIndex of three articles (versions 7, 9 and 12, with
// 2, 3 and 1 passages), or with spread-out versions when sparse (the map
// lookup instead of the dense one).
func testIndex(sparse bool) *genIndex {
	vids := []int64{7, 9, 12}
	if sparse {
		vids = []int64{7, 9, 1 << 30}
	}
	x := &genIndex{vids: vids, rows: [][2]int{{0, 2}, {2, 5}, {5, 6}}, bm25: retrieval.BM25{N: 6, AvgLen: 10}}
	x.indexVids()
	return x
}

// TestScoreReadsPostingsAsEncoded: score adds each posting of the
// generation's passages — and only those — with BM25.Score, with either
// lookup of article versions.
func TestScoreReadsPostingsAsEncoded(t *testing.T) {
	for _, sparse := range []bool{false, true} {
		x := testIndex(sparse)
		if (x.vidMap != nil) != sparse {
			t.Fatalf("sparse %v: map lookup %v", sparse, x.vidMap != nil)
		}
		last := x.vids[2]
		ps := []posting{
			{pid: 7<<pidShift | 1, tf: 2, docLen: 9},
			{pid: 8 << pidShift, tf: 1, docLen: 4}, // a version not in the generation
			{pid: 9 << pidShift, tf: 1, docLen: 12},
			{pid: 9<<pidShift | 2, tf: 5, docLen: 300},
			{pid: 9<<pidShift | 3, tf: 1, docLen: 3}, // past the article's passages
			{pid: last << pidShift, tf: 1, docLen: 10},
		}
		buf := &lexicalBuf{scores: make([]float32, 6)}
		const w = 1.5
		if err := x.score(encodePostings(ps), w, x.bm25.Scorer(), buf); err != nil {
			t.Fatal(err)
		}
		want := map[int]float32{
			1: x.bm25.Score(w, 2, 9), 2: x.bm25.Score(w, 1, 12), 4: x.bm25.Score(w, 5, 300), 5: x.bm25.Score(w, 1, 10),
		}
		for r, sc := range buf.scores {
			if sc != want[r] {
				t.Errorf("sparse %v: row %d scored %v, want %v", sparse, r, sc, want[r])
			}
		}
		if len(buf.touched) != len(want) {
			t.Errorf("sparse %v: touched %v, want the rows of %v", sparse, buf.touched, want)
		}
	}
}

// FuzzScore: no input makes score panic or write outside the buffer, and
// what encodePostings wrote always decodes.
func FuzzScore(f *testing.F) {
	f.Add(encodePostings([]posting{{pid: 7<<pidShift | 1, tf: 2, docLen: 9}, {pid: 12 << pidShift, tf: 1, docLen: 1}}))
	f.Add([]byte{0})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		x := testIndex(len(data)%2 == 0)
		buf := &lexicalBuf{scores: make([]float32, 6)}
		x.score(data, 1, x.bm25.Scorer(), buf) // corrupt data may fail, never panic
		r := rand.New(rand.NewPCG(uint64(len(data)), 1))
		var ps []posting
		for range 1 + r.IntN(20) {
			ps = append(ps, posting{pid: x.vids[r.IntN(3)]<<pidShift | int64(r.IntN(4)), tf: uint16(1 + r.IntN(9)), docLen: uint32(r.IntN(500))})
		}
		if err := x.score(encodePostings(ps), 1, x.bm25.Scorer(), &lexicalBuf{scores: make([]float32, 6)}); err != nil {
			t.Fatalf("encoded postings do not decode: %v", err)
		}
	})
}
