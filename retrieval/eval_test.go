package retrieval

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// evalResult is passage-level retrieval quality: a question is a hit@n when
// one of the first n passages is from the gold article and its paragraph
// range holds the gold paragraph.
type evalResult struct {
	questions, hit1, hit5 int
	mrr                   float64
	latency               time.Duration // mean per search
}

func (r evalResult) String() string {
	q := float64(r.questions)
	return fmt.Sprintf("hit@1 %.3f  hit@5 %.3f  MRR@10 %.3f  (n=%d, %v/search)",
		float64(r.hit1)/q, float64(r.hit5)/q, r.mrr/q, r.questions, r.latency.Round(time.Microsecond))
}

func evaluate(t testing.TB, ix *Index, rows []qaRow, mode searchMode) evalResult {
	t.Helper()
	var r evalResult
	var total time.Duration
	for _, q := range rows {
		if q.Article == nil || q.Paragraph == nil {
			continue // unanswerable: a refusal matter, not retrieval
		}
		start := time.Now()
		hits, err := ix.search(t.Context(), q.Question, 10, mode)
		total += time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		r.questions++
		for i, h := range hits {
			if h.ArticleID == *q.Article && h.Contains(*q.Paragraph) {
				if i == 0 {
					r.hit1++
				}
				if i < 5 {
					r.hit5++
				}
				r.mrr += 1 / float64(i+1)
				break
			}
		}
	}
	if r.questions > 0 {
		r.latency = total / time.Duration(r.questions)
	}
	return r
}

type evalSet struct {
	name     string
	articles func(testing.TB) []corpus.Article
	qa       string
}

func evalSets() []evalSet {
	md := func(dir string) func(testing.TB) []corpus.Article {
		return func(t testing.TB) []corpus.Article {
			return loadMDDir(t, filepath.Join(sharedDir, "eval", dir, "corpus"))
		}
	}
	return []evalSet{
		{"seed-qa", bundledArticles, filepath.Join(sharedDir, "eval", "seed-qa.jsonl")},
		{"wikiqa", md("wikiqa"), filepath.Join(sharedDir, "eval", "wikiqa", "qa.jsonl")},
		{"multirc-dev", md("multirc-dev"), filepath.Join(sharedDir, "eval", "multirc-dev", "qa.jsonl")},
		{"quail-news-blogs", md("quail-news-blogs"), filepath.Join(sharedDir, "eval", "quail-news-blogs", "qa.jsonl")},
	}
}

// TestSeedQARetrieval holds the quality bar on the project's seed set with
// the default settings.
func TestSeedQARetrieval(t *testing.T) {
	set := evalSets()[0]
	arts := set.articles(t)
	rows := loadQA(t, set.qa)
	ix := openIndex(t, t.TempDir(), NewLocalEmbedder(), ChunkOptions{})
	syncIndex(t, ix, arts)
	r := evaluate(t, ix, rows, hybrid)
	t.Logf("seed-qa hybrid: %v", r)
	if r.questions != 22 || r.hit1 < 20 || r.hit5 < 22 {
		t.Errorf("seed-qa: %v; want hit@1 ≥ 20/22 and hit@5 22/22", r)
	}
}

// TestEval measures every eval set per signal. It is slow-ish and prints a
// table, so it runs only with VERBATIM_EVAL=1:
//
//	VERBATIM_EVAL=1 go test ./retrieval -run TestEval -v
//
// VERBATIM_EVAL_MAXWORDS (comma-separated, default the default) and
// VERBATIM_EVAL_EMB (e.g. "dims=512,bigram=0.5,char=0.25,cmin=3,cmax=5")
// sweep the settings.
func TestEval(t *testing.T) {
	if os.Getenv("VERBATIM_EVAL") == "" {
		t.Skip("set VERBATIM_EVAL=1 to run the retrieval evaluation")
	}
	if s := os.Getenv("VERBATIM_EVAL_WVEC"); s != "" {
		w, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		old := fusionWeightVector
		fusionWeightVector = w
		t.Cleanup(func() { fusionWeightVector = old })
	}
	if os.Getenv("VERBATIM_EVAL_QIDF") == "0" {
		queryIDF = false
		t.Cleanup(func() { queryIDF = true })
	}
	sizes := []int{DefaultMaxWords}
	if s := os.Getenv("VERBATIM_EVAL_MAXWORDS"); s != "" {
		sizes = nil
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	cfgs := []localConfig{defaultLocalConfig}
	if s := os.Getenv("VERBATIM_EVAL_EMB"); s != "" {
		cfgs = nil
		for spec := range strings.SplitSeq(s, ";") {
			cfgs = append(cfgs, parseLocalConfig(t, spec))
		}
	}
	modes := []struct {
		name string
		mode searchMode
	}{{"hybrid", hybrid}, {"vector", vectorOnly}, {"lexical", lexicalOnly}}
	for _, set := range evalSets() {
		arts := set.articles(t)
		rows := loadQA(t, set.qa)
		for _, size := range sizes {
			for _, cfg := range cfgs {
				ix := openIndex(t, t.TempDir(), &LocalEmbedder{cfg: cfg}, ChunkOptions{MaxWords: size})
				start := time.Now()
				rep := syncIndex(t, ix, arts)
				build := time.Since(start)
				for _, m := range modes {
					if m.mode == lexicalOnly && len(cfgs) > 1 {
						continue
					}
					r := evaluate(t, ix, rows, m.mode)
					t.Logf("%-17s words=%-4d %s %-7s %v  [%d passages, built in %v]", set.name, size,
						cfgName(cfg), m.name, r, rep.Passages, build.Round(time.Millisecond))
				}
			}
		}
	}
}

func cfgName(c localConfig) string {
	return fmt.Sprintf("d=%d u=%.2g b=%.2g c=%.2g/%d-%d", c.Dims, c.Unigram, c.Bigram, c.Char, c.CharMin, c.CharMax)
}

func parseLocalConfig(t testing.TB, spec string) localConfig {
	c := defaultLocalConfig
	c.Model = "eval"
	for kv := range strings.SplitSeq(spec, ",") {
		k, v, _ := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("bad setting %q", kv)
		}
		switch k {
		case "dims":
			c.Dims = int(f)
		case "uni":
			c.Unigram = float32(f)
		case "bigram":
			c.Bigram = float32(f)
		case "char":
			c.Char = float32(f)
		case "cmin":
			c.CharMin = int(f)
		case "cmax":
			c.CharMax = int(f)
		default:
			t.Fatalf("unknown setting %q", k)
		}
	}
	return c
}
