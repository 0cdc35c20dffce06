package bot

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/verbatimbot/verbatim/retrieval"
)

// Sentence BM25 parameters: the same as the passage index's.
const (
	sentK1 = 1.2
	sentB  = 0.75
)

// SentenceFeatureNames are the features the sentence model ranks a
// candidate sentence by, in the order of Candidate.Features:
//
//   - bm25: the sentence's BM25 score for the question (corpus IDF,
//     sentence-length normalisation) divided by the most any sentence could
//     score, so it lies in [0, 1) whatever the corpus;
//   - coverage: the IDF-weighted share of the question's terms the sentence
//     holds; paragraph: the same for its paragraph with the article title;
//     neighbour: the best of the sentences before and after it;
//   - passage: its passage's retrieval score over the best passage's;
//     rank: 1/(1+rank) of its passage;
//   - lead: it opens its paragraph; first_paragraph: it is in paragraph 1;
//   - cue: it holds the kind of answer asked for (a number for "how many",
//     a date for "when", a name for "who"; always 1 otherwise);
//   - short: it has fewer than five words (captions, headings);
//   - length: log(1+words), long sentences say more but dilute;
//   - terminated: it ends as a sentence does (. ! ? …, maybe inside
//     quotes or brackets); captions, headings and credits do not;
//   - synonyms: coverage crediting a question term the sentence has only
//     as a WordNet synonym ("exercises" for "drills").
var SentenceFeatureNames = []string{"bm25", "coverage", "paragraph", "neighbour", "passage", "rank", "lead", "first_paragraph", "cue", "short", "length", "terminated", "synonyms"}

// Candidate is a sentence of a retrieved paragraph that might answer the
// question.
type Candidate struct {
	ArticleID string
	Paragraph int
	// Index is the sentence's position in its paragraph (0: first).
	Index int
	Text  string
	// Features are the SentenceFeatureNames values.
	Features []float64
	// Score is the sentence model's log-odds.
	Score float64

	coverage float64
	terms    map[string]bool // the sentence's
	para     map[string]bool // its paragraph's and article title's (shared)
	title    map[string]bool // its article title's (shared)
	seq      int             // gathering order: breaks score ties
}

// Evidence is everything the extractive answerer and the refusal model
// know about a question: its candidate sentences, best first, and the
// refusal features.
type Evidence struct {
	Candidates []Candidate
	// Features are the RefusalFeatureNames values.
	Features []float64
	// Support is the refusal model's probability that the articles answer.
	Support float64
	// DecisiveMissing is set when the question's heaviest term is an
	// English word nowhere in the corpus, not even as a synonym, and the
	// best sentence holds fewer than two of its terms: "What is the capital
	// of France?" over an article that mentions France but no capital.
	// Such a question is refused whatever Support says.
	DecisiveMissing bool
	// CueMissing is set when the question asks for a quantity ("how many",
	// "how much", "what is the price") and none of the sentences an answer
	// could quote offers one: no quote could answer it ("How much did Iran
	// pay for the S-400?" over an article that names the S-400 but no
	// price). A "when" answer may be an event rather than a date, so a
	// missing date is left to the refusal model (feature cue_missing).
	CueMissing bool

	q   query
	src TextSource
	// byArticle holds, per article, the terms of its retrieved paragraphs
	// and its title.
	byArticle map[string]map[string]bool
	lexical   float64 // the best passage's BM25 over the question's IDF mass
	vector    float64 // the best passage's vector similarity
	margin    float64 // the best passage of another article's score over the best's
}

// gather scores every sentence of the paragraphs of the first passages hits
// and computes the refusal features.
func gather(ctx context.Context, src TextSource, models *Models, q query, hits []retrieval.Hit, passages int) (Evidence, error) {
	if len(hits) > passages {
		hits = hits[:passages]
	}
	ev := Evidence{q: q, src: src}
	type para struct {
		ref   paraRef
		rank  int
		score float64 // passage score / best
		title string
		text  string
		spans []Span
		terms [][]string
	}
	var paras []para
	seen := map[paraRef]bool{}
	top := 0.0
	if len(hits) > 0 {
		top = hits[0].Score
	}
	totalLen, nSent := 0, 0
	for rank, h := range hits {
		if err := ctx.Err(); err != nil {
			return ev, fmt.Errorf("gather evidence: %w", err)
		}
		art, ok := src.Article(h.ArticleID)
		if !ok {
			continue
		}
		for p := h.First; p <= h.Last; p++ {
			ref := paraRef{h.ArticleID, p}
			text, ok := art.Paragraph(p)
			if !ok || seen[ref] {
				continue
			}
			seen[ref] = true
			pa := para{ref: ref, rank: rank, title: art.Title, text: text, spans: SplitSentences(text)}
			if top > 0 {
				pa.score = h.Score / top
			}
			for _, s := range pa.spans {
				ts := retrieval.Terms(s.Of(text))
				pa.terms = append(pa.terms, ts)
				totalLen += len(ts)
				nSent++
			}
			paras = append(paras, pa)
		}
	}
	avgLen := max(1, float64(totalLen)/float64(max(nSent, 1)))
	idfMass := 0.0
	for _, w := range q.weights {
		idfMass += w * (sentK1 + 1)
	}
	ev.byArticle = map[string]map[string]bool{}
	for _, pa := range paras {
		titleSet := termSet(retrieval.Terms(pa.title))
		paraSet := maps.Clone(titleSet)
		art := ev.byArticle[pa.ref.article]
		if art == nil {
			art = maps.Clone(titleSet)
			ev.byArticle[pa.ref.article] = art
		}
		for _, ts := range pa.terms {
			for _, t := range ts {
				art[t] = true
			}
		}
		sets := make([]map[string]bool, len(pa.spans))
		for i, ts := range pa.terms {
			sets[i] = termSet(ts)
			for _, t := range ts {
				paraSet[t] = true
			}
		}
		paraCov := q.coverage(paraSet)
		covs := make([]float64, len(sets))
		for i, s := range sets {
			covs[i] = q.coverage(s)
		}
		for i, s := range pa.spans {
			text := s.Of(pa.text)
			neigh := 0.0
			if i > 0 {
				neigh = covs[i-1]
			}
			if i+1 < len(covs) {
				neigh = max(neigh, covs[i+1])
			}
			words := countWords(text)
			f := []float64{
				sentenceBM25(q, pa.terms[i], avgLen) / max(idfMass, 1e-9),
				covs[i],
				paraCov,
				neigh,
				pa.score,
				1 / float64(1+pa.rank),
				b2f(i == 0),
				b2f(pa.ref.paragraph == 1),
				b2f(q.want.cued(text, q)),
				b2f(words < 5),
				math.Log1p(float64(words)),
				b2f(terminated(text)),
				q.synCoverage(sets[i]),
			}
			c := Candidate{ArticleID: pa.ref.article, Paragraph: pa.ref.paragraph, Index: i, Text: text,
				Features: f, coverage: covs[i], terms: sets[i], para: paraSet, title: titleSet, seq: len(ev.Candidates)}
			c.Score = models.Sentence.Logit(f)
			ev.Candidates = append(ev.Candidates, c)
		}
	}
	for _, h := range hits {
		if h.LexicalScore > 0 {
			ev.lexical = max(ev.lexical, h.LexicalScore/max(q.rawMass*(sentK1+1), 1e-9))
		}
		ev.vector = max(ev.vector, h.VectorScore)
	}
	ev.margin = 1
	for _, h := range hits {
		if h.ArticleID != hits[0].ArticleID && top > 0 {
			ev.margin = h.Score / top
			break
		}
	}
	ev.rank(models)
	return ev, nil
}

// Rescore ranks the candidates with m's sentence model and recomputes the
// refusal features and support with m's refusal model: what fitting a
// model needs to try it without gathering the evidence again.
func (ev *Evidence) Rescore(m *Models) {
	for i := range ev.Candidates {
		ev.Candidates[i].Score = m.Sentence.Logit(ev.Candidates[i].Features)
	}
	ev.rank(m)
}

func (ev *Evidence) rank(m *Models) {
	slices.SortStableFunc(ev.Candidates, func(a, b Candidate) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return a.seq - b.seq
	})
	ev.Features = refusalFeatures(ev)
	ev.Support = m.Refusal.Prob(ev.Features)
	ev.DecisiveMissing = ev.decisiveMissing()
	ev.CueMissing = ev.cueMissing()
}

// sentenceBM25 scores a sentence's terms for q.
func sentenceBM25(q query, terms []string, avgLen float64) float64 {
	if len(terms) == 0 {
		return 0
	}
	tf := map[string]int{}
	for _, t := range terms {
		tf[t]++
	}
	norm := sentK1 * (1 - sentB + sentB*float64(len(terms))/avgLen)
	var s float64
	for i, t := range q.terms {
		if n := tf[t]; n > 0 {
			s += q.weights[i] * float64(n) * (sentK1 + 1) / (float64(n) + norm)
		}
	}
	return s
}

// terminated reports whether s ends with sentence punctuation, possibly
// followed by closing quotes or brackets.
func terminated(s string) bool {
	s = strings.TrimRightFunc(s, func(r rune) bool { return isCloser(r) || unicode.IsSpace(r) })
	r, _ := utf8.DecodeLastRuneInString(s)
	return isTerminator(r)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func countWords(s string) int {
	return len(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
}
