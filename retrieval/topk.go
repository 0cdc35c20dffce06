package retrieval

import "slices"

// topK keeps the k highest-scoring rows seen, as a min-heap on score (ties
// broken towards the lower row, so results are deterministic). It is not
// safe for concurrent use: each scanning goroutine keeps its own and they are
// merged afterwards, so no lock is taken per candidate.
type topK struct {
	k     int
	items []Scored
}

func newTopK(k int) topK { return topK{k: k, items: make([]Scored, 0, k)} }

// worse reports whether a ranks below b.
func worse(a, b Scored) bool {
	return a.Score < b.Score || (a.Score == b.Score && a.Row > b.Row)
}

func (t *topK) push(row int, score float32) {
	e := Scored{row, score}
	if len(t.items) < t.k {
		t.items = append(t.items, e)
		t.up(len(t.items) - 1)
		return
	}
	if !worse(t.items[0], e) {
		return
	}
	t.items[0] = e
	t.down(0)
}

func (t *topK) up(i int) {
	h := t.items
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (t *topK) down(i int) {
	h := t.items
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// sorted returns the kept rows best first.
func (t *topK) sorted() []Scored {
	out := slices.Clone(t.items)
	slices.SortFunc(out, func(a, b Scored) int {
		switch {
		case worse(b, a):
			return -1
		case worse(a, b):
			return 1
		}
		return 0
	})
	return out
}
