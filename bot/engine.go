package bot

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/retrieval"
)

// Searcher is what the engine needs from the retrieval index
// (*retrieval.Index implements it).
type Searcher interface {
	Search(ctx context.Context, query string, k int) ([]retrieval.Hit, error)
	Article(id string) (corpus.Article, bool)
	IDF(term string) float64
}

// EngineOptions configure an Engine. The zero value answers extractively.
type EngineOptions struct {
	// Answerer drafts answers; nil means the extractive answerer.
	Answerer Answerer
	// Rewriter turns follow-ups into standalone questions; nil means the
	// offline keyword carry-over (KeywordRewriter). When a configured
	// Rewriter fails, the keyword carry-over is used instead.
	Rewriter Rewriter
	// TopK is how many passages are retrieved. Default 8.
	TopK int
	// Support holds the refusal thresholds (see SupportOptions).
	Support SupportOptions
	// Verify tunes the quote verifier.
	Verify VerifyOptions
	// Logger receives one record per answer; nil discards.
	Logger *slog.Logger
}

// Engine answers questions from the indexed articles with verified
// quotes. It is safe for concurrent use.
type Engine struct {
	search     Searcher
	answerer   Answerer
	extractive *Extractive
	rewriter   Rewriter
	keywords   *KeywordRewriter
	opts       EngineOptions
	log        *slog.Logger
}

// unverifiedNote prefixes the extractive answer given when none of a
// generated answer's quotes could be verified.
const unverifiedNote = "The generated answer could not be verified against the articles, so here is what they say:"

// NewEngine returns an engine over search.
func NewEngine(search Searcher, opts EngineOptions) *Engine {
	if opts.TopK <= 0 {
		opts.TopK = 8
	}
	opts.Support = opts.Support.withDefaults()
	e := &Engine{
		search:     search,
		extractive: NewExtractive(search, ExtractiveOptions{Support: opts.Support}),
		keywords:   NewKeywordRewriter(search),
		opts:       opts,
		log:        opts.Logger,
	}
	e.answerer = opts.Answerer
	if e.answerer == nil {
		e.answerer = e.extractive
	}
	e.rewriter = opts.Rewriter
	if e.rewriter == nil {
		e.rewriter = e.keywords
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e
}

func (e *Engine) mode() Mode {
	if _, ok := e.answerer.(*Extractive); ok {
		return ModeExtractive
	}
	return ModeLLM
}

// Answer answers q: it rewrites a follow-up into a standalone question,
// retrieves passages, refuses without drafting when none is relevant,
// drafts an answer, and keeps only the citations the verifier accepts. When
// a generated (non-extractive) answer keeps no citation, the answer is made
// extractively instead and says so. Errors come from retrieval or the
// answerer; a refusal is not an error.
func (e *Engine) Answer(ctx context.Context, q Question) (Answer, error) {
	start := time.Now()
	ans := Answer{Question: q.Text, Mode: e.mode(), Citations: []Citation{}}
	ans.Standalone = e.standalone(ctx, q)

	hits, err := e.search.Search(ctx, ans.Standalone, e.opts.TopK)
	if err != nil {
		return Answer{}, fmt.Errorf("answer: search: %w", err)
	}
	ans.Passages = hits
	query := analyzeFollowUp(e.search, ans.Standalone, q.Text, e.opts.Support)
	support := passageSupport(query, hits, e.opts.Support)
	if support < e.opts.Support.MinPassageSupport {
		e.refuse(&ans)
		e.logAnswer(ans, support, start)
		return ans, nil
	}

	req := DraftRequest{Question: q, Standalone: ans.Standalone, Hits: hits, OnDelta: q.OnDelta}
	draft, err := e.answerer.Draft(ctx, req)
	if err != nil {
		return Answer{}, fmt.Errorf("answer: draft: %w", err)
	}
	if draft.Refused {
		e.refuse(&ans)
		if draft.Text != "" {
			ans.Text = draft.Text
		}
		e.logAnswer(ans, support, start)
		return ans, nil
	}
	v := Verify(e.search, draft.Claims, hits, e.opts.Verify)
	ans.Stats = v.Stats
	ans.Text = RenumberMarkers(draft.Text, v.Markers)
	ans.Citations = v.Citations

	if len(ans.Citations) == 0 && ans.Mode != ModeExtractive {
		e.log.WarnContext(ctx, "no generated quote verified; answering extractively",
			"question", q.Text, "dropped", v.Stats.Dropped)
		ans.Mode = ModeExtractive
		xd, err := e.extractive.Draft(ctx, req)
		if err != nil {
			return Answer{}, fmt.Errorf("answer: extractive fallback: %w", err)
		}
		if !xd.Refused {
			xv := Verify(e.search, xd.Claims, hits, e.opts.Verify)
			ans.Citations = xv.Citations
			ans.Text = unverifiedNote + "\n\n" + RenumberMarkers(xd.Text, xv.Markers)
		}
	}
	if len(ans.Citations) == 0 {
		e.refuse(&ans)
	}
	e.logAnswer(ans, support, start)
	return ans, nil
}

// standalone returns the question to search: q.Text, or the rewritten
// follow-up when there is history.
func (e *Engine) standalone(ctx context.Context, q Question) string {
	if len(q.History) == 0 {
		return q.Text
	}
	s, err := e.rewriter.Rewrite(ctx, q)
	if err == nil && s != "" {
		return s
	}
	if err != nil {
		e.log.WarnContext(ctx, "rewrite follow-up failed; using keyword carry-over", "err", err)
	}
	s, _ = e.keywords.Rewrite(ctx, q)
	return s
}

func (e *Engine) refuse(ans *Answer) {
	ans.Refused = true
	ans.Text = refusalText(ans.Question)
	ans.Citations = []Citation{}
}

func (e *Engine) logAnswer(ans Answer, support float64, start time.Time) {
	e.log.Info("answer",
		"question", ans.Question,
		"standalone", ans.Standalone,
		"mode", ans.Mode,
		"refused", ans.Refused,
		"support", support,
		"passages", len(ans.Passages),
		"citations", len(ans.Citations),
		"dropped", ans.Stats.Dropped,
		"repaired", ans.Stats.Repaired,
		"took", time.Since(start))
}
