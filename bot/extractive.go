package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/verbatimbot/verbatim/retrieval"
)

// TextSource is what the extractive answerer reads: article paragraphs and
// term statistics. The retrieval index implements it.
type TextSource interface {
	ParagraphSource
	IDFer
}

// ExtractiveOptions tune the extractive answerer. Zero values mean the
// defaults.
type ExtractiveOptions struct {
	// Passages is how many of the top hits are read. Default 8.
	Passages int
	// MaxSentences is how many sentences an answer quotes. Default 3.
	MaxSentences int
	// Keep: further sentences are quoted only if they score at least this
	// fraction of the best one. Default 0.85.
	Keep float64
	// Support holds the refusal thresholds.
	Support SupportOptions
}

func (o ExtractiveOptions) withDefaults() ExtractiveOptions {
	if o.Passages <= 0 {
		o.Passages = 8
	}
	if o.MaxSentences <= 0 {
		o.MaxSentences = 3
	}
	if o.Keep <= 0 {
		o.Keep = 0.85
	}
	o.Support = o.Support.withDefaults()
	return o
}

// Extractive answers with sentences quoted from the retrieved passages:
// no model, no network. It is safe for concurrent use.
type Extractive struct {
	src  TextSource
	opts ExtractiveOptions
}

var _ Answerer = (*Extractive)(nil)

// NewExtractive returns an extractive answerer reading paragraphs from src.
func NewExtractive(src TextSource, opts ExtractiveOptions) *Extractive {
	return &Extractive{src: src, opts: opts.withDefaults()}
}

// Scoring weights. A sentence's score is its own IDF-weighted coverage of
// the question, plus context (its paragraph's coverage and its neighbours'),
// plus the retrieval rank of its passage, plus an answer-type cue; the
// weights were tuned on testdata/seed-qa.jsonl and the public sets.
const (
	wParagraph = 0.25
	wNeighbour = 0.1
	wRank      = 0.12
	wCue       = 0.1
	wShort     = 0.15
	// wNeighbourGain is the weighted fraction of the question a neighbour
	// of the best sentence must add for it to be quoted too.
	wNeighbourGain = 0.15
)

// candidate is a sentence that might answer the question.
type candidate struct {
	articleID string
	paragraph int
	text      string
	score     float64
	support   float64
	rank      int
	index     int             // sentence index in the paragraph
	terms     map[string]bool // the sentence's terms
}

// Draft picks the sentences that best answer req.Standalone (or the
// question text) and returns them as claims, best first, with a Text that
// quotes them with [n] markers. When even the best sentence does not
// support an answer, it returns a refused draft.
func (x *Extractive) Draft(ctx context.Context, req DraftRequest) (Draft, error) {
	question := req.Standalone
	if question == "" {
		question = req.Question.Text
	}
	q := analyzeFollowUp(x.src, question, req.Question.Text, x.opts.Support)
	cands, err := x.candidates(ctx, q, req.Hits)
	if err != nil {
		return Draft{}, err
	}
	if len(cands) == 0 || cands[0].support < x.opts.Support.MinSupport {
		return Draft{Refused: true, Text: refusalText(req.Question.Text)}, nil
	}
	var d Draft
	var b strings.Builder
	add := func(c candidate) {
		m := len(d.Claims) + 1
		d.Claims = append(d.Claims, Claim{Marker: m, ArticleID: c.articleID, Paragraph: c.paragraph, Quote: c.text, Score: c.score})
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s [%d]", c.text, m)
	}
	quoted := func(c candidate) bool {
		return slices.ContainsFunc(d.Claims, func(o Claim) bool { return o.Quote == c.text })
	}
	best := cands[0]
	add(best)
	// A neighbour that holds question terms the best sentence lacks is
	// likely the rest of the answer ("… 11 countries. 90 countries …
	// were invited."): quote it next.
	if x.opts.MaxSentences > 1 {
		var next *candidate
		gain := wNeighbourGain
		for i := range cands[1:] {
			c := &cands[1+i]
			if c.articleID != best.articleID || c.paragraph != best.paragraph || (c.index != best.index-1 && c.index != best.index+1) {
				continue
			}
			if g := q.gain(c.terms, best.terms); g >= gain {
				next, gain = c, g
			}
		}
		if next != nil {
			add(*next)
		}
	}
	for _, c := range cands[1:] {
		if len(d.Claims) >= x.opts.MaxSentences || c.score < x.opts.Keep*best.score {
			break
		}
		if c.support >= x.opts.Support.MinSupport && !quoted(c) {
			add(c)
		}
	}
	d.Text = b.String()
	return d, nil
}

// candidates scores every sentence of the paragraphs of the top hits and
// returns them best first.
func (x *Extractive) candidates(ctx context.Context, q query, hits []retrieval.Hit) ([]candidate, error) {
	if len(hits) > x.opts.Passages {
		hits = hits[:x.opts.Passages]
	}
	var out []candidate
	seen := map[paraRef]bool{}
	for rank, h := range hits {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("extractive answer: %w", err)
		}
		art, ok := x.src.Article(h.ArticleID)
		if !ok {
			continue
		}
		titleTerms := retrieval.Terms(art.Title)
		for p := h.First; p <= h.Last; p++ {
			ref := paraRef{h.ArticleID, p}
			text, ok := art.Paragraph(p)
			if !ok || seen[ref] {
				continue
			}
			seen[ref] = true
			out = append(out, x.scoreParagraph(q, ref, text, titleTerms, rank)...)
		}
	}
	slices.SortStableFunc(out, func(a, b candidate) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return a.rank - b.rank
	})
	return out, nil
}

func (x *Extractive) scoreParagraph(q query, ref paraRef, text string, titleTerms []string, rank int) []candidate {
	spans := SplitSentences(text)
	sets := make([]map[string]bool, len(spans))
	para := termSet(titleTerms)
	for i, s := range spans {
		terms := retrieval.Terms(s.Of(text))
		sets[i] = termSet(terms)
		for _, t := range terms {
			para[t] = true
		}
	}
	paraCov, _ := q.coverage(para)
	rankBonus := wRank / float64(1+rank)
	out := make([]candidate, 0, len(spans))
	for i, s := range spans {
		sent := s.Of(text)
		cov, _ := q.coverage(sets[i])
		var neigh float64
		for _, j := range []int{i - 1, i + 1} {
			if j >= 0 && j < len(spans) {
				c, _ := q.coverage(sets[j])
				neigh = max(neigh, c)
			}
		}
		score := cov + wParagraph*paraCov + wNeighbour*neigh + rankBonus
		if q.want != anyAnswer && q.want.cued(sent, q) {
			score += wCue
		}
		if words := countWords(sent); words < 5 {
			score -= wShort
		}
		out = append(out, candidate{
			articleID: ref.article,
			paragraph: ref.paragraph,
			text:      sent,
			score:     score,
			support:   q.support(para, sent, x.opts.Support),
			rank:      rank,
			index:     i,
			terms:     sets[i],
		})
	}
	return out
}

func countWords(s string) int {
	return len(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
}

// maxEcho is how much of the question a refusal repeats, in runes.
const maxEcho = 200

// refusalText is what a refused answer says; it repeats at most maxEcho
// runes of the question, without control characters.
func refusalText(question string) string {
	question = Clip(strings.Join(strings.Fields(Printable(question)), " "), maxEcho)
	if question == "" {
		return "The articles don't say."
	}
	return fmt.Sprintf("The articles don't say. Nothing in them answers “%s”", question)
}
