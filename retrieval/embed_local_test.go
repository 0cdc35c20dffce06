package retrieval

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/verbatimbot/verbatim/corpus/synth"
)

func cosine(a, b []float32) float64 { return float64(dot(a, b)) }

func TestLocalEmbedderDeterministic(t *testing.T) {
	texts := []string{"Iran and Russia resume military cooperation.", "", "S-400 missile systems"}
	a, err := NewLocalEmbedder().Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewLocalEmbedder().Embed(t.Context(), slices.Clone(texts))
	for i := range texts {
		if !slices.Equal(a[i], b[i]) {
			t.Errorf("text %d: vectors differ between runs", i)
		}
		if len(a[i]) != NewLocalEmbedder().Info().Dims {
			t.Errorf("text %d: %d dims", i, len(a[i]))
		}
	}
	for _, i := range []int{0, 2} {
		if n := cosine(a[i], a[i]); math.Abs(n-1) > 1e-5 {
			t.Errorf("text %d: |v|² = %v", i, n)
		}
	}
	if !isZero(a[1]) {
		t.Error("empty text should embed to the zero vector")
	}
	if info := NewLocalEmbedder().Info(); info.Name != "local" || info.Model != "hash-v1" {
		t.Errorf("Info = %+v", info)
	}
}

func TestLocalEmbedderSimilarity(t *testing.T) {
	e := NewLocalEmbedder()
	vs, _ := e.Embed(t.Context(), []string{
		"The defence minister arrived in Moscow for talks.",
		"Defense ministers arrive in Moscow to talk.",       // same content, other forms
		"Arabica coffee grows best at high altitudes.",      // unrelated
		"The Iranian delegation visited the Russian forum.", // "Iranian" ~ "Iran" by char n-grams
		"Iran sent ministers to Russia.",
	})
	if s, u := cosine(vs[0], vs[1]), cosine(vs[0], vs[2]); s < 0.4 || u > 0.15 || s < 3*u {
		t.Errorf("similar %.3f, unrelated %.3f", s, u)
	}
	if s, u := cosine(vs[3], vs[4]), cosine(vs[2], vs[4]); s <= u+0.05 {
		t.Errorf("Iranian/Iran %.3f vs unrelated %.3f: character n-grams should relate them", s, u)
	}
}

func TestLocalEmbedQueryIDF(t *testing.T) {
	e := NewLocalEmbedder()
	docs, _ := e.Embed(t.Context(), []string{"the year report of Zarif", "the year report of the ministry"})
	idf := func(term string) float64 {
		if term == "zarif" {
			return 5
		}
		return 0.1
	}
	q, err := e.EmbedQuery(t.Context(), "Zarif report year", idf)
	if err != nil {
		t.Fatal(err)
	}
	if cosine(q, docs[0]) <= cosine(q, docs[1])+0.2 {
		t.Errorf("the rare term should dominate: %.3f vs %.3f", cosine(q, docs[0]), cosine(q, docs[1]))
	}
}

func TestLocalEmbedCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := NewLocalEmbedder().Embed(ctx, []string{"x"}); err == nil {
		t.Error("cancelled Embed succeeded")
	}
}

// synthGen is the benchmarks' generator, made once.
var synthGen = sync.OnceValue(func() *synth.Generator { return synth.New(1) })

// synthText is about n words of deterministic news-like text: the
// paragraphs of synthetic article seed (corpus/synth, the one generator of
// the benchmarks), cut at a word.
func synthText(seed uint64, n int) string {
	words := strings.Fields(strings.Join(synthGen().Article(int(seed%(1<<31))).Paragraphs, " "))
	for len(words) < n {
		words = append(words, words...)
	}
	return strings.Join(words[:n], " ")
}

func BenchmarkEmbedLocal(b *testing.B) {
	e := NewLocalEmbedder()
	texts := make([]string, 64)
	words := 0
	for i := range texts {
		texts[i] = "Title of the article\n\n" + synthText(uint64(i), 150)
		words += 150
	}
	for b.Loop() {
		if _, err := e.Embed(b.Context(), texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(texts)*b.N)/b.Elapsed().Seconds(), "passages/s")
	_ = fmt.Sprint(words)
}

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
