package eval

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/retrieval"
)

// Searcher is what retrieval mode needs (*retrieval.Index implements it).
type Searcher interface {
	Search(ctx context.Context, query string, k int) ([]retrieval.Hit, error)
}

// Answerer is what the answer modes need (*bot.Engine implements it).
type Answerer interface {
	Answer(ctx context.Context, q bot.Question) (bot.Answer, error)
}

// RunOptions configure a run.
type RunOptions struct {
	// Timeout is each question's deadline (default 90s).
	Timeout time.Duration
	// Has reports whether an article ID is in the corpus; nil skips the
	// check.
	Has func(id string) bool
	// Progress, if set, is called after each question.
	Progress func(done, total int)
}

func (o RunOptions) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 90 * time.Second
	}
	return o.Timeout
}

func newRecord(it Item, o RunOptions) Record {
	r := Record{ID: it.ID, Question: it.Question, Kind: it.Kind, KindName: it.Kind.String()}
	if it.Kind == Answerable && o.Has != nil && !o.Has(*it.Article) {
		r.GoldMissing = true
	}
	return r
}

// Retrieval ranks passages for every question and records where the gold
// paragraph came (hit@k over the first 10 passages). A search error stops
// the run: retrieval is local and does not fail question by question.
func Retrieval(ctx context.Context, s Searcher, items []Item, o RunOptions) ([]Record, error) {
	recs := make([]Record, 0, len(items))
	for i, it := range items {
		rec := newRecord(it, o)
		start := time.Now()
		hits, err := s.Search(ctx, it.Question, 10)
		rec.Latency = time.Since(start)
		if err != nil {
			return recs, fmt.Errorf("search %s: %w", it.ID, err)
		}
		if len(hits) > 0 {
			rec.Cited = hits[0].ID
		}
		if it.Kind == Answerable {
			for j, h := range hits {
				if h.ArticleID == *it.Article && h.Contains(*it.Paragraph) {
					rec.Rank = j + 1
					break
				}
			}
		}
		recs = append(recs, rec)
		if o.Progress != nil {
			o.Progress(i+1, len(items))
		}
	}
	return recs, nil
}

// Answers asks every question and records the answer: where the gold
// paragraph came among the citations, refusal, whether the first quote
// holds a gold answer, fallbacks, errors and timeouts. A failing question
// is recorded and the run goes on; only ctx's own end stops it.
func Answers(ctx context.Context, a Answerer, items []Item, o RunOptions) ([]Record, error) {
	recs := make([]Record, 0, len(items))
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			return recs, err
		}
		rec := newRecord(it, o)
		qctx, cancel := context.WithTimeout(ctx, o.timeout())
		start := time.Now()
		ans, err := a.Answer(qctx, bot.Question{Text: it.Question})
		rec.Latency = time.Since(start)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return recs, ctx.Err()
			}
			rec.Error = err.Error()
			rec.Timeout = errors.Is(err, context.DeadlineExceeded)
		} else {
			score(&rec, it, ans)
		}
		recs = append(recs, rec)
		if o.Progress != nil {
			o.Progress(i+1, len(items))
		}
	}
	return recs, nil
}

func score(rec *Record, it Item, ans bot.Answer) {
	rec.Refused = ans.Refused
	rec.Fallback = ans.Fallback != ""
	rec.Dropped, rec.Repaired = ans.Stats.Dropped, ans.Stats.Repaired
	if len(ans.Citations) > 0 {
		c := ans.Citations[0]
		rec.Cited = fmt.Sprintf("%s ¶%d", c.Article.ID, c.Paragraph)
		rec.Quote = c.Quote
	}
	if it.Kind != Answerable || ans.Refused {
		return
	}
	for j, c := range ans.Citations {
		if c.Article.ID == *it.Article && c.Paragraph == *it.Paragraph {
			rec.Rank = j + 1
			break
		}
	}
	if len(ans.Citations) > 0 {
		rec.AnswerInQuote = ContainsAnswer(ans.Citations[0].Quote, it.Answers)
	}
}
