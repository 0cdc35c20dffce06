package retrieval

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// The column scan returns exactly the dot-product ranking of the stored
// (quantised) vectors, for dense and sparse queries, in parallel or not,
// and survives a persistence round trip; quantising moves no dot product
// of unit vectors by more than 0.01.
func TestColumnStoreNearest(t *testing.T) {
	for _, n := range []int{1, 7, 5000} {
		r := rand.New(rand.NewPCG(uint64(n), 3))
		const dims = 64
		ids := make([]string, n)
		vecs := make([][]float32, n)
		for i := range vecs {
			ids[i] = "p" + strconv.Itoa(i)
			vecs[i] = make([]float32, dims)
			for j := range vecs[i] {
				vecs[i][j] = float32(r.NormFloat64())
			}
			normalize(vecs[i])
		}
		vecs[0] = make([]float32, dims) // a zero vector
		vecs[n-1][0] += 0.5             // not normalised
		s, err := storeFromRows(ids, slices.Clone(vecs))
		if err != nil {
			t.Fatal(err)
		}
		want := func(q []float32, k int) []int {
			var all []scored
			for i := range vecs {
				all = append(all, scored{i, dot(q, s.row(i))})
			}
			top := newTopK(k)
			for _, s := range all {
				top.push(s.row, s.score)
			}
			var rows []int
			for _, s := range top.sorted() {
				rows = append(rows, s.row)
			}
			return rows
		}
		var buf bytes.Buffer
		if err := s.writeTo(&buf); err != nil {
			t.Fatal(err)
		}
		loaded, err := readVectors(bytes.NewReader(buf.Bytes()), ids)
		if err != nil {
			t.Fatal(err)
		}
		dense := slices.Clone(vecs[n/2])
		sparse := make([]float32, dims)
		sparse[3], sparse[40] = 0.6, -0.8
		for i, v := range vecs {
			if d := dot(dense, v) - dot(dense, s.row(i)); d > 0.01 || d < -0.01 {
				t.Errorf("n=%d row %d: quantising moved a dot product by %.4f", n, i, d)
			}
		}
		for name, q := range map[string][]float32{"dense": dense, "sparse": sparse} {
			for _, st := range []*columnStore{s, loaded} {
				got, err := st.Nearest(t.Context(), q, 10)
				if err != nil {
					t.Fatal(err)
				}
				var rows []int
				for _, m := range got {
					rows = append(rows, m.Row)
				}
				if w := want(q, 10); !slices.Equal(rows, w) {
					t.Errorf("n=%d %s: rows %v, want %v", n, name, rows, w)
				}
			}
		}
	}
}
