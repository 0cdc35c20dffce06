package retrieval

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIVFRecall measures what partitioning costs on the synthetic corpus:
// for each probe count, the share of the exact top 50 (and top 10) vector
// hits the partitioned search returns, and retrieval hit@1/hit@5 of vector
// search alone and of the hybrid search on synthetic questions. It builds
// an index of VERBATIM_RECALL_ARTICLES articles (skipped when unset), e.g.
//
//	VERBATIM_RECALL_ARTICLES=10000 go test -run IVFRecall -v -timeout 20m ./retrieval
func TestIVFRecall(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("VERBATIM_RECALL_ARTICLES"))
	if n <= 0 {
		t.Skip("set VERBATIM_RECALL_ARTICLES to measure")
	}
	ix, err := Open(t.Context(), Options{Dir: t.TempDir(), Embedder: NewLocalEmbedder()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep, err := ix.Sync(t.Context(), synthArticles(n), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := ix.snap.Load()
	st := s.Index.(*dirIndex).vectors
	t.Logf("%d articles, %d passages, %d partitions, built in %v",
		n, rep.Passages, len(st.colls), time.Since(start).Round(time.Millisecond))

	qs := synthGen().Questions(n, 300)
	qvs := make([][]float32, len(qs))
	exact := make([][]int, len(qs))
	st.nprobe = len(st.colls)
	for i, q := range qs {
		if qvs[i], err = ix.embedQuery(t.Context(), s, q.Text); err != nil {
			t.Fatal(err)
		}
		exact[i] = nearestRows(t, st, qvs[i], 50)
	}
	hit := func(mode searchMode) (h1, h5 float64) {
		for _, q := range qs {
			hits, err := ix.search(t.Context(), q.Text, 10, mode, DefaultVectorWeight)
			if err != nil {
				t.Fatal(err)
			}
			for i, h := range hits {
				if h.ArticleID == q.ArticleID && h.Contains(q.Paragraph) {
					if i == 0 {
						h1++
					}
					if i < 5 {
						h5++
					}
					break
				}
			}
		}
		return h1 / float64(len(qs)), h5 / float64(len(qs))
	}
	for _, probe := range probeCounts() {
		st.nprobe = min(probe, len(st.colls))
		var found50, found10, want50, want10 int
		var took time.Duration
		var scanned int64
		for i, qv := range qvs {
			t0 := time.Now()
			got := nearestRows(t, st, qv, 50)
			took += time.Since(t0)
			scanned += st.scanBytes(t.Context(), qv)
			for _, r := range got {
				if slices.Contains(exact[i], r) {
					found50++
				}
				if slices.Contains(exact[i][:min(10, len(exact[i]))], r) {
					found10++
				}
			}
			want50 += len(exact[i])
			want10 += min(10, len(exact[i]))
		}
		v1, v5 := hit(vectorOnly)
		h1, h5 := hit(hybrid)
		t.Logf("nprobe %3d: recall@50 %.3f  recall@10 %.3f  vector hit@1 %.3f hit@5 %.3f  hybrid hit@1 %.3f hit@5 %.3f  Nearest %v/query, %.1f MB scanned",
			probe, float64(found50)/float64(want50), float64(found10)/float64(want10), v1, v5, h1, h5,
			(took / time.Duration(len(qvs))).Round(time.Microsecond), float64(scanned)/float64(len(qvs))/1e6)
	}
}

// probeCounts are the probe counts TestIVFRecall tries:
// VERBATIM_RECALL_PROBES (comma-separated), else a default list.
func probeCounts() []int {
	var out []int
	for _, f := range strings.Split(os.Getenv("VERBATIM_RECALL_PROBES"), ",") {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	if out == nil {
		out = []int{16, 32, 64, 128, 256, 1 << 30}
	}
	return out
}
