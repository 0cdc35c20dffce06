package bot

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
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
	// offline keyword carry-over (KeywordRewriter). A configured Rewriter
	// whose rewrite fails or loses the question (see acceptRewrite) is
	// replaced by the keyword carry-over.
	Rewriter Rewriter
	// TopK is how many passages are retrieved. Default 8.
	TopK int
	// Models rank candidate sentences and decide refusals; nil means
	// DefaultModels (the committed fit).
	Models *Models
	// Verify tunes the quote verifier.
	Verify VerifyOptions
	// StrictModel makes a failure of a non-extractive Answerer an error of
	// Answer; otherwise the answer is made extractively and Answer.Fallback
	// says why.
	StrictModel bool
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

// NewEngine returns an engine over search.
func NewEngine(search Searcher, opts EngineOptions) *Engine {
	if opts.TopK <= 0 {
		opts.TopK = 8
	}
	if opts.Models == nil {
		opts.Models = DefaultModels()
	}
	e := &Engine{
		search:     search,
		extractive: NewExtractive(search, ExtractiveOptions{Models: opts.Models}),
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

// Answer answers q. Small talk ("hi", "thanks", "who are you?") gets a
// short note on what the bot does; "what is this article about?" and
// "summarize …" get an overview of the article. A question is rewritten
// into a standalone one when it is a follow-up, passages are retrieved,
// and the refusal model decides from the evidence whether the articles
// support an answer — trying the user's own words too before refusing on a
// rewrite. Then the answerer drafts and the verifier keeps only citations
// it finds word for word. When a generated (non-extractive) answer keeps no
// citation, the answer is made extractively instead and says so. Errors
// come from retrieval or the answerer; a refusal is not an error.
func (e *Engine) Answer(ctx context.Context, q Question) (Answer, error) {
	start := time.Now()
	ans := Answer{Question: q.Text, Mode: e.mode(), Citations: []Citation{}}
	kind, rest := intentOf(q.Text)
	switch kind {
	case smallTalkIntent:
		ans.Mode = ModeHelp
		ans.Text = e.helpText(q.Text)
		e.logAnswer(&ans, 1, start)
		return ans, nil
	case overviewIntent:
		return e.answerOverview(ctx, q, rest, start)
	}
	asked := q
	asked.Text = rest // without a leading "hi,"

	var (
		hits []retrieval.Hit
		ev   Evidence
		form string
	)
	for i, sf := range e.searchForms(ctx, asked) {
		f := sf.text
		// Other spellings of words the corpus lacks are searched too, at
		// half the weight of the question's own words (a term repeated in
		// a query counts twice): "defence" finds "defense".
		search := sf.search
		if more := analyze(e.search, sf.search, "").expansion(); len(more) > 0 {
			search = sf.search + " " + sf.search + " " + strings.Join(more, " ")
		}
		h, err := e.search.Search(ctx, search, e.opts.TopK)
		if err != nil {
			return Answer{}, fmt.Errorf("answer: search: %w", err)
		}
		v, err := e.extractive.Evidence(ctx, f, asked.Text, h)
		if err != nil {
			return Answer{}, fmt.Errorf("answer: %w", err)
		}
		if i == 0 || v.Supported(e.opts.Models) && !ev.Supported(e.opts.Models) || v.Support > ev.Support && v.Supported(e.opts.Models) == ev.Supported(e.opts.Models) {
			hits, ev, form = h, v, f
		}
		if ev.Supported(e.opts.Models) {
			break
		}
	}
	ans.Standalone, ans.Passages, ans.Support = form, hits, ev.Support
	ans.Decision = ev.decision(e.opts.Models)
	if !ev.Supported(e.opts.Models) {
		e.refuse(&ans)
		e.logAnswer(&ans, ev.Support, start)
		return ans, nil
	}

	req := DraftRequest{Question: q, Standalone: form, Hits: hits, OnDelta: q.OnDelta, Evidence: &ev}
	draft, err := e.answerer.Draft(ctx, req)
	var notice string // why the answer is made extractively (fallback.go)
	if err != nil {
		if !e.fallsBack(ctx, err) {
			return Answer{}, fmt.Errorf("answer: draft: %w", err)
		}
		notice = modelNotice(err)
		e.log.InfoContext(ctx, "model failed; answering extractively", "question", q.Text, "err", err)
	}
	ans.Timing.FirstToken = draft.FirstToken
	if draft.Refused {
		e.refuse(&ans)
		if draft.Text != "" {
			ans.Text = draft.Text
		}
		e.logAnswer(&ans, ev.Support, start)
		return ans, nil
	}
	v := Verify(e.search, draft.Claims, hits, e.opts.Verify)
	ans.Stats = v.Stats
	ans.Text = RenumberMarkers(draft.Text, v.Markers)
	ans.Citations = v.Citations

	if len(ans.Citations) == 0 && ans.Mode != ModeExtractive {
		if notice == "" {
			notice = unverifiedNotice
			e.log.InfoContext(ctx, "no generated quote verified; answering extractively",
				"question", q.Text, "dropped", v.Stats.Dropped)
		}
		if err := e.answerExtractively(ctx, &ans, req, notice); err != nil {
			return Answer{}, err
		}
	}
	if len(ans.Citations) == 0 {
		e.refuse(&ans)
	}
	e.logAnswer(&ans, ev.Support, start)
	return ans, nil
}

// searchForm is a form of the question: as shown (Answer.Standalone) and
// as searched.
type searchForm struct{ text, search string }

// searchForms are the forms of the question to search, best first: the
// question itself; for a follow-up, its standalone rewrite, then the
// keyword carry-over, then the user's own words — so a rewrite that lost
// the question can never be the only reason for a refusal. The keyword
// carry-over is searched with the user's words twice, so that they weigh
// more than the words carried from earlier questions.
func (e *Engine) searchForms(ctx context.Context, q Question) []searchForm {
	if len(q.History) == 0 {
		return []searchForm{{q.Text, q.Text}}
	}
	var forms []searchForm
	add := func(s, search string) {
		if s = strings.TrimSpace(s); s != "" && !slices.ContainsFunc(forms, func(f searchForm) bool { return f.text == s }) {
			forms = append(forms, searchForm{s, search})
		}
	}
	if e.rewriter != Rewriter(e.keywords) {
		s, err := e.rewriter.Rewrite(ctx, q)
		switch {
		case err != nil:
			e.log.WarnContext(ctx, "rewrite follow-up failed; using keyword carry-over", "err", err)
		case !acceptRewrite(s, q):
			e.log.WarnContext(ctx, "rewrite lost the question; using keyword carry-over", "question", q.Text, "rewrite", s)
		default:
			add(s, s)
		}
	}
	kw, _ := e.keywords.Rewrite(ctx, q)
	add(kw, q.Text+" "+kw)
	add(q.Text, q.Text)
	return forms
}

// answerOverview answers an overview request (see overview).
func (e *Engine) answerOverview(ctx context.Context, q Question, topic string, start time.Time) (Answer, error) {
	ans := Answer{Question: q.Text, Standalone: q.Text, Mode: ModeExtractive, Citations: []Citation{}, Support: 1}
	d, hits, err := e.overview(ctx, q, topic)
	if err != nil {
		return Answer{}, fmt.Errorf("answer: %w", err)
	}
	ans.Passages = hits
	v := Verify(e.search, d.Claims, hits, e.opts.Verify)
	ans.Stats = v.Stats
	ans.Text = RenumberMarkers(d.Text, v.Markers)
	ans.Citations = v.Citations
	if len(ans.Citations) == 0 {
		e.refuse(&ans)
	}
	e.logAnswer(&ans, ans.Support, start)
	return ans, nil
}

// helpText is the reply to small talk: what the bot does and how to ask.
func (e *Engine) helpText(message string) string {
	var b strings.Builder
	switch norm := normalizeMessage(message); {
	case strings.HasPrefix(norm, "thank") || norm == "thx" || norm == "ty" || norm == "cheers":
		b.WriteString("You're welcome! ")
	case strings.Contains(norm, "bye") || norm == "see you" || norm == "good night":
		b.WriteString("Goodbye! ")
	default:
		b.WriteString("Hi! ")
	}
	b.WriteString("I answer questions from ")
	if l, ok := e.search.(articleLister); ok {
		arts := l.Articles()
		switch len(arts) {
		case 0:
			b.WriteString("a set of articles (none is indexed yet)")
		case 1:
			fmt.Fprintf(&b, "the article “%s”", arts[0].Title)
		default:
			fmt.Fprintf(&b, "%d articles, such as “%s”", len(arts), arts[0].Title)
		}
	} else {
		b.WriteString("a set of articles")
	}
	b.WriteString(", and back every answer with quotes found word for word in them, with the paragraph each comes from. " +
		"When the articles don't say, I tell you so. Ask me a question about them, or “What is this article about?” for a summary.")
	return b.String()
}

func (e *Engine) refuse(ans *Answer) {
	ans.Refused = true
	ans.Text = refusalText(ans.Question)
	ans.Citations = []Citation{}
}

// logAnswer notes the answer's total time in it and logs it.
func (e *Engine) logAnswer(ans *Answer, support float64, start time.Time) {
	ans.Timing.Total = time.Since(start)
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
		"fallback", ans.Fallback,
		"first_token", ans.Timing.FirstToken,
		"took", ans.Timing.Total)
}
