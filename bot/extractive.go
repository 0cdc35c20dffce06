package bot

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

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
	// Keep: further sentences are quoted only if the sentence model gives
	// them at least this fraction of the best one's probability. Default
	// 0.85.
	Keep float64
	// Models rank sentences and decide refusals; nil means DefaultModels.
	Models *Models
}

func (o ExtractiveOptions) withDefaults() ExtractiveOptions {
	if o.Passages <= 0 {
		o.Passages = 8
	}
	if o.MaxSentences <= 0 {
		o.MaxSentences = 3
	}
	if o.Keep <= 0 {
		o.Keep = defaultKeep
	}
	if o.Models == nil {
		o.Models = DefaultModels()
	}
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

// defaultKeep is ExtractiveOptions.Keep's default.
const defaultKeep = 0.85

// wNeighbourGain is the weighted fraction of the question a neighbour of
// the best sentence must add for it to be quoted too.
const wNeighbourGain = 0.15

// maxQuoteRunes bounds one quoted sentence: a longer one (a paragraph
// without sentence breaks, a run-on list) is quoted as the window of it
// that holds the most of the question.
const maxQuoteRunes = 400

// Evidence gathers what the extractive answerer and the refusal model know
// about a question over the retrieved hits: candidate sentences ranked by
// the sentence model, and the refusal features and probability. own is the
// user's own words when question is a rewritten follow-up.
func (x *Extractive) Evidence(ctx context.Context, question, own string, hits []retrieval.Hit) (Evidence, error) {
	q := analyze(x.src, question, own)
	return gather(ctx, x.src, x.opts.Models, q, hits, x.opts.Passages)
}

// Draft picks the sentences that best answer req.Standalone (or the
// question text) and returns them as claims, best first, with a Text that
// quotes them with [n] markers. When the refusal model finds that the
// passages do not support an answer, it returns a refused draft.
func (x *Extractive) Draft(ctx context.Context, req DraftRequest) (Draft, error) {
	ev := req.Evidence
	if ev == nil {
		question := req.Standalone
		if question == "" {
			question = req.Question.Text
		}
		e, err := x.Evidence(ctx, question, req.Question.Text, req.Hits)
		if err != nil {
			return Draft{}, fmt.Errorf("extractive answer: %w", err)
		}
		ev = &e
	}
	if !ev.Supported(x.opts.Models) {
		return Draft{Refused: true, Text: refusalText(req.Question.Text)}, nil
	}
	return x.quote(ev), nil
}

// quote drafts the answer from the ranked candidates.
func (x *Extractive) quote(ev *Evidence) Draft {
	var d Draft
	var b strings.Builder
	add := func(c Candidate) {
		m := len(d.Claims) + 1
		text := window(c.Text, ev.q)
		d.Claims = append(d.Claims, Claim{Marker: m, ArticleID: c.ArticleID, Paragraph: c.Paragraph, Quote: text, Score: sigmoid(c.Score)})
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s [%d]", text, m)
	}
	quoted := func(c Candidate) bool {
		return slices.ContainsFunc(d.Claims, func(o Claim) bool {
			return o.ArticleID == c.ArticleID && o.Paragraph == c.Paragraph && strings.Contains(c.Text, o.Quote)
		})
	}
	cands := ev.Candidates
	best := cands[0]
	add(best)
	// A neighbour that holds question terms the best sentence lacks is
	// likely the rest of the answer ("… 11 countries. 90 countries …
	// were invited."): quote it next.
	if x.opts.MaxSentences > 1 {
		var next *Candidate
		gain := wNeighbourGain
		for i := range cands[1:] {
			c := &cands[1+i]
			if c.ArticleID != best.ArticleID || c.Paragraph != best.Paragraph || (c.Index != best.Index-1 && c.Index != best.Index+1) {
				continue
			}
			if g := ev.q.gain(c.terms, best.terms); g >= gain {
				next, gain = c, g
			}
		}
		if next != nil {
			add(*next)
		}
	}
	floor := x.opts.Keep * sigmoid(best.Score)
	for _, c := range cands[1:] {
		if len(d.Claims) >= x.opts.MaxSentences || sigmoid(c.Score) < floor {
			break
		}
		if !quoted(c) {
			add(c)
		}
	}
	d.Text = b.String()
	return d
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// window returns s if it is short enough to quote, else the stretch of at
// most maxQuoteRunes runes, cut at word boundaries, that holds the most of
// the question's weight. The result is always a substring of s.
func window(s string, q query) string {
	if utf8.RuneCountInString(s) <= maxQuoteRunes {
		return s
	}
	type word struct {
		start, end         int // bytes
		runeStart, runeEnd int // runes from the start of s
		w                  float64
	}
	weight := map[string]float64{}
	for i, t := range q.terms {
		weight[t] = q.weights[i]
	}
	var words []word
	runes := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			i += n
			runes++
			continue
		}
		j, runeStart := i, runes
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += n
			runes++
		}
		var w float64
		for _, t := range retrieval.Terms(s[i:j]) {
			w += weight[t]
		}
		words = append(words, word{i, j, runeStart, runes, w})
		i = j
	}
	if len(words) == 0 {
		return s
	}
	bestLo, bestHi, bestW := 0, 0, -1.0
	lo, sum := 0, 0.0
	for hi, w := range words {
		sum += w.w
		// The window words[lo..hi] spans from the start of words[lo] to
		// the end of words[hi].
		for lo < hi && w.runeEnd-words[lo].runeStart > maxQuoteRunes {
			sum -= words[lo].w
			lo++
		}
		if sum > bestW {
			bestLo, bestHi, bestW = lo, hi, sum
		}
	}
	// Centre the window on the question's words it holds: from the first
	// to the last of them, grown a word at a time on either side.
	first, last := bestHi, bestLo
	for i := bestLo; i <= bestHi; i++ {
		if words[i].w > 0 {
			first, last = min(first, i), max(last, i)
		}
	}
	if first > last {
		first, last = bestLo, bestLo
	}
	fits := func(a, b int) bool { return words[b].runeEnd-words[a].runeStart <= maxQuoteRunes }
	for grew := true; grew; {
		grew = false
		if last+1 < len(words) && fits(first, last+1) {
			last++
			grew = true
		}
		if first > 0 && fits(first-1, last) {
			first--
			grew = true
		}
	}
	return s[words[first].start:words[last].end]
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
