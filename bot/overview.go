package bot

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/retrieval"
)

// articleLister is implemented by indexes that can list their articles
// (*retrieval.Index); the overview of a one-article corpus needs no search.
type articleLister interface {
	Articles() []corpus.Article
}

// Overview sizes.
const (
	// overviewSentences is how many sentences an overview quotes: the lead
	// and the most central others.
	overviewSentences = 4
	// minOverviewWords and maxOverviewWords: shorter sentences (captions,
	// headings, bylines) and longer ones are not quoted in an overview.
	minOverviewWords = 8
	maxOverviewWords = 45
	// maxListed is how many articles an overview of a many-article corpus
	// without a topic lists.
	maxListed = 5
)

// overview drafts the answer to "what is this article about?" or
// "summarize <topic>": the article is the one the topic (or, without one,
// the conversation) points to, or the only one; the draft quotes its lead
// sentence and its most central sentences, in article order. With many
// articles and nothing to choose by, it quotes the lead of a few.
func (e *Engine) overview(ctx context.Context, q Question, topic string) (Draft, []retrieval.Hit, error) {
	pick := topic
	if pick == "" && len(q.History) > 0 {
		last := q.History[len(q.History)-1]
		pick = cmpOr(last.Standalone, last.Question)
	}
	var hits []retrieval.Hit
	if pick != "" {
		var err error
		hits, err = e.search.Search(ctx, pick, e.opts.TopK)
		if err != nil {
			return Draft{}, nil, fmt.Errorf("overview: search: %w", err)
		}
	}
	// The topic chooses the article only if a word of it is in one: a
	// vector match alone is no reason to summarize that article.
	if len(hits) > 0 && hits[0].LexicalRank > 0 {
		if art, ok := e.search.Article(hits[0].ArticleID); ok {
			if topic != "" {
				if d, ok := aboutTopic(e.search, art, topic); ok {
					return d, hits, nil
				}
			}
			return summarize(e.search, art), hits, nil
		}
	}
	if topic != "" {
		// Nothing in the articles is about what was named: not an
		// overview to give, but a topic they do not cover.
		return Draft{}, hits, nil
	}
	lister, ok := e.search.(articleLister)
	if !ok {
		return Draft{}, nil, nil
	}
	arts := lister.Articles()
	switch len(arts) {
	case 0:
		return Draft{}, nil, nil
	case 1:
		// The list may hold no text (an index with its text on demand).
		if art, ok := e.search.Article(arts[0].ID); ok {
			return summarize(e.search, art), nil, nil
		}
		return Draft{}, nil, nil
	}
	return listLeads(e.search, arts), nil, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// summarize quotes art's lead sentence and its most central sentences: the
// ones whose terms, weighted by IDF, are most like the whole article's.
func summarize(idf IDFer, art corpus.Article) Draft {
	type sent struct {
		para, index int
		text        string
		score       float64
	}
	var sents []sent
	docTF := map[string]float64{}
	type bag map[string]float64
	var bags []bag
	for p, text := range art.Paragraphs {
		for i, sp := range SplitSentences(text) {
			s := sp.Of(text)
			b := bag{}
			for _, t := range retrieval.Terms(s) {
				b[t]++
				docTF[t]++
			}
			sents = append(sents, sent{para: p + 1, index: i, text: s})
			bags = append(bags, b)
		}
	}
	weight := func(t string, tf float64) float64 { return (1 + math.Log(tf)) * idf.IDF(t) }
	var docNorm float64
	for t, tf := range docTF {
		w := weight(t, tf)
		docNorm += w * w
	}
	docNorm = math.Sqrt(docNorm)
	lead := -1
	for i, s := range sents {
		words := countWords(s.text)
		if words < minOverviewWords || docNorm == 0 || !terminated(s.text) {
			continue
		}
		if lead < 0 {
			lead = i
		}
		if words > maxOverviewWords {
			continue
		}
		var dot, norm float64
		for t, tf := range bags[i] {
			w := weight(t, tf)
			dot += w * weight(t, docTF[t])
			norm += w * w
		}
		if norm > 0 {
			// Centrality, discounted by position: what matters in an
			// article comes first, and its tail is often a footer.
			pos := float64(s.para-1) / float64(len(art.Paragraphs))
			sents[i].score = dot / (math.Sqrt(norm) * docNorm) / (1 + 2*pos)
		}
	}
	if lead < 0 {
		lead = 0 // nothing long enough: the first sentence it is
	}
	chosen := []int{lead}
	order := make([]int, len(sents))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case sents[a].score > sents[b].score:
			return -1
		case sents[a].score < sents[b].score:
			return 1
		}
		return a - b
	})
	usedPara := map[int]bool{sents[lead].para: true}
	for _, i := range order {
		if len(chosen) >= overviewSentences || sents[i].score == 0 {
			break
		}
		if usedPara[sents[i].para] {
			continue // one sentence per paragraph: the overview spans the article
		}
		usedPara[sents[i].para] = true
		chosen = append(chosen, i)
	}
	slices.Sort(chosen)
	var d Draft
	var b strings.Builder
	fmt.Fprintf(&b, "“%s” in brief:", art.Title)
	for _, i := range chosen {
		s := sents[i]
		m := len(d.Claims) + 1
		d.Claims = append(d.Claims, Claim{Marker: m, ArticleID: art.ID, Paragraph: s.para, Quote: s.text, Score: s.score})
		fmt.Fprintf(&b, " %s [%d]", s.text, m)
	}
	d.Text = b.String()
	return d
}

// aboutTopic quotes what art says about topic: the sentences that hold
// the most of the topic's weight, most central first among equals, in
// article order. It declines (ok false) when the topic is what the article
// is as a whole — most of it is in the title: "summarize Iran and Russia"
// wants the article's summary — or when no sentence holds any of it.
func aboutTopic(idf IDFer, art corpus.Article, topic string) (Draft, bool) {
	q := analyze(idf, topic, "")
	if len(q.terms) == 0 || q.coverage(termSet(retrieval.Terms(art.Title))) >= 0.5 {
		return Draft{}, false
	}
	type sent struct {
		para, index int
		text        string
		score       float64
	}
	var sents []sent
	for p, text := range art.Paragraphs {
		for i, sp := range SplitSentences(text) {
			s := sp.Of(text)
			if cov := q.coverage(termSet(retrieval.Terms(s))); cov > 0 && countWords(s) >= minOverviewWords {
				// Earlier sentences first among equals: an article says
				// what matters first.
				pos := float64(p) / float64(len(art.Paragraphs))
				sents = append(sents, sent{p + 1, i, s, cov / (1 + 0.5*pos)})
			}
		}
	}
	if len(sents) == 0 {
		return Draft{}, false
	}
	slices.SortStableFunc(sents, func(a, b sent) int { return cmp.Compare(b.score, a.score) })
	sents = sents[:min(overviewSentences, len(sents))]
	slices.SortFunc(sents, func(a, b sent) int { return cmp.Or(cmp.Compare(a.para, b.para), cmp.Compare(a.index, b.index)) })
	var d Draft
	var b strings.Builder
	fmt.Fprintf(&b, "What “%s” says about %s:", art.Title, topic)
	for _, s := range sents {
		m := len(d.Claims) + 1
		d.Claims = append(d.Claims, Claim{Marker: m, ArticleID: art.ID, Paragraph: s.para, Quote: s.text, Score: s.score})
		fmt.Fprintf(&b, " %s [%d]", s.text, m)
	}
	d.Text = b.String()
	return d, true
}

// listLeads quotes the first substantial sentence of a few articles, for
// an overview of a corpus of many with no topic named.
func listLeads(src ParagraphSource, arts []corpus.Article) Draft {
	var d Draft
	var b strings.Builder
	fmt.Fprintf(&b, "There are %d articles; name one (or a topic) to get its summary. How some of them begin:", len(arts))
	for _, meta := range arts {
		if len(d.Claims) >= maxListed {
			break
		}
		// The list may hold no text (an index with its text on demand).
		art, ok := src.Article(meta.ID)
		if !ok {
			continue
		}
		for p, text := range art.Paragraphs {
			spans := SplitSentences(text)
			if len(spans) == 0 || countWords(spans[0].Of(text)) < minOverviewWords {
				continue
			}
			s := spans[0].Of(text)
			m := len(d.Claims) + 1
			d.Claims = append(d.Claims, Claim{Marker: m, ArticleID: art.ID, Paragraph: p + 1, Quote: s})
			fmt.Fprintf(&b, "\n“%s”: %s [%d]", art.Title, s, m)
			break
		}
	}
	d.Text = b.String()
	return d
}
