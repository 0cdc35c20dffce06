package bot

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/verbatimbot/verbatim/retrieval"
)

// fakeAnswerer stands in for the LLM answerer.
type fakeAnswerer struct {
	draft Draft
	err   error
	calls atomic.Int32
}

func (f *fakeAnswerer) Draft(context.Context, DraftRequest) (Draft, error) {
	f.calls.Add(1)
	return f.draft, f.err
}

const bundledID = "iran-and-russia-on-their-way-to-new-level-of-partnership"

// checkCitations asserts the DESIGN.md contract on a real index.
func checkCitations(t *testing.T, ix Searcher, ans Answer) {
	t.Helper()
	for i, c := range ans.Citations {
		art, ok := ix.Article(c.Article.ID)
		if !ok {
			t.Fatalf("citation %d: unknown article %q", i, c.Article.ID)
		}
		p, ok := art.Paragraph(c.Paragraph)
		if !ok || !strings.Contains(p, c.Quote) {
			t.Errorf("citation %d: %q is not in ¶%d", i, c.Quote, c.Paragraph)
		}
		if c.Marker != i+1 {
			t.Errorf("citation %d has marker %d", i, c.Marker)
		}
		if c.Article.Title != art.Title {
			t.Errorf("citation %d: title %q", i, c.Article.Title)
		}
	}
}

func TestEngineExtractive(t *testing.T) {
	ix := bundledIndex(t)
	e := NewEngine(ix, EngineOptions{})
	ans, err := e.Answer(t.Context(), Question{Text: "Which missile system is Tehran interested in buying?"})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Refused || ans.Mode != ModeExtractive || len(ans.Citations) == 0 || len(ans.Passages) == 0 {
		t.Fatalf("unexpected answer %+v", ans)
	}
	first := ans.Citations[0]
	if first.Paragraph != 9 || !strings.Contains(first.Quote, "S-400") || first.Status != Verified {
		t.Errorf("first citation %+v, want ¶9 with S-400", first)
	}
	if !strings.Contains(ans.Text, first.Quote+" [1]") {
		t.Errorf("answer text %q does not quote citation 1", ans.Text)
	}
	checkCitations(t, ix, ans)
}

func TestEngineRefusesWithoutDrafting(t *testing.T) {
	ix := bundledIndex(t)
	llm := &fakeAnswerer{draft: Draft{Text: "Argentina [1]", Claims: []Claim{{Marker: 1, ArticleID: bundledID, Paragraph: 1, Quote: "The coronavirus pandemic has had a significant impact"}}}}
	e := NewEngine(ix, EngineOptions{Answerer: llm})
	ans, err := e.Answer(t.Context(), Question{Text: "Who won the 2018 FIFA World Cup?"})
	if err != nil {
		t.Fatal(err)
	}
	if !ans.Refused || len(ans.Citations) != 0 || !strings.HasPrefix(ans.Text, "The articles don't say") {
		t.Errorf("want refusal, got %+v", ans)
	}
	if n := llm.calls.Load(); n != 0 {
		t.Errorf("answerer called %d times for an irrelevant question", n)
	}
}

func TestEngineGeneratedAnswers(t *testing.T) {
	const q = "Which missile system is Tehran interested in buying?"
	tests := []struct {
		name        string
		draft       Draft
		wantText    string // prefix
		wantMode    Mode
		wantRefused bool
		wantStats   Stats
		wantCites   int
		wantNotice  string // Answer.Fallback
	}{
		{
			name: "invented and varied quotes",
			draft: Draft{
				Text: "Tehran wants to pay $5bn [1] for the S-400 [2].",
				Claims: []Claim{
					{Marker: 1, ArticleID: bundledID, Paragraph: 9, Quote: "Iran will pay five billion dollars for the systems"},
					{Marker: 2, ArticleID: bundledID, Paragraph: 8, Quote: `the Tehran's interest is turned to electronic warfare systems, coastal defense systems and S-400 missile system`},
				},
			},
			wantText: "Tehran wants to pay $5bn for the S-400 [1].", wantMode: ModeLLM,
			wantStats: Stats{Dropped: 1, Repaired: 1}, wantCites: 1,
		},
		{
			name: "nothing verifies",
			draft: Draft{Text: "It is the S-500 [1].", Claims: []Claim{
				{Marker: 1, ArticleID: bundledID, Paragraph: 9, Quote: "Tehran has ordered the S-500 air defence system"},
			}},
			wantText: "Firstly, the Tehran’s interest", wantMode: ModeExtractive,
			wantStats: Stats{Dropped: 1}, wantCites: 1, wantNotice: unverifiedNotice,
		},
		{
			name:     "model says the articles do not say",
			draft:    Draft{Refused: true, Text: "The articles don't say which system."},
			wantText: "The articles don't say which system.", wantMode: ModeLLM, wantRefused: true,
		},
	}
	ix := bundledIndex(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEngine(ix, EngineOptions{Answerer: &fakeAnswerer{draft: tc.draft}})
			ans, err := e.Answer(t.Context(), Question{Text: q})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(ans.Text, tc.wantText) || ans.Mode != tc.wantMode || ans.Refused != tc.wantRefused ||
				ans.Stats != tc.wantStats || len(ans.Citations) < tc.wantCites || ans.Fallback != tc.wantNotice {
				t.Errorf("got text %q mode %s refused %v stats %+v %d citations fallback %q", ans.Text, ans.Mode, ans.Refused, ans.Stats, len(ans.Citations), ans.Fallback)
			}
			checkCitations(t, ix, ans)
		})
	}
}

// failingSearch fails every search.
type failingSearch struct{ Searcher }

var errIndexGone = errors.New("index gone")

func (failingSearch) Search(context.Context, string, int) ([]retrieval.Hit, error) {
	return nil, errIndexGone
}

func TestEngineErrors(t *testing.T) {
	ix := bundledIndex(t)
	_, err := NewEngine(failingSearch{ix}, EngineOptions{}).Answer(t.Context(), Question{Text: "Who is Iran's Defense Minister?"})
	if !errors.Is(err, errIndexGone) {
		t.Errorf("search error: got %v", err)
	}
	errModel := errors.New("401 unauthorized")
	_, err = NewEngine(ix, EngineOptions{Answerer: &fakeAnswerer{err: errModel}, StrictModel: true}).Answer(t.Context(), Question{Text: "Who is Iran's Defense Minister?"})
	if !errors.Is(err, errModel) {
		t.Errorf("answerer error with StrictModel: got %v", err)
	}
}

// TestEngineModelFailureFallsBack: a failing model gives the extractive
// answer with the model's notice in Fallback, not an error (issue 9).
func TestEngineModelFailureFallsBack(t *testing.T) {
	ix := bundledIndex(t)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"model error", &ModelError{Notice: "the model at http://127.0.0.1:8080/v1 did not answer within 60s", Err: context.DeadlineExceeded},
			"the model at http://127.0.0.1:8080/v1 did not answer within 60s; showing quotes found without it"},
		{"other error", errors.New("render prompt:\nbroken"), "the model failed: render prompt: broken; showing quotes found without it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans, err := NewEngine(ix, EngineOptions{Answerer: &fakeAnswerer{err: tt.err}}).Answer(t.Context(), Question{Text: "Who is Iran's Defense Minister?"})
			if err != nil {
				t.Fatal(err)
			}
			if ans.Fallback != tt.want || ans.Mode != ModeExtractive || ans.Refused || len(ans.Citations) == 0 {
				t.Errorf("fallback %q mode %s refused %v %d citations; want %q and the extractive answer", ans.Fallback, ans.Mode, ans.Refused, len(ans.Citations), tt.want)
			}
			checkCitations(t, ix, ans)
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := NewEngine(ix, EngineOptions{Answerer: &fakeAnswerer{err: context.Canceled}}).Answer(ctx, Question{Text: "Who is Iran's Defense Minister?"}); err == nil {
		t.Error("a cancelled question was answered")
	}
}

func TestEngineFollowUp(t *testing.T) {
	ix := bundledIndex(t)
	e := NewEngine(ix, EngineOptions{})
	q := Question{
		Text:    "When did he arrive in Moscow?",
		History: []Turn{{Question: "Who is Iran's Defense Minister?", Answer: "Amir Khatami [1]"}},
	}
	ans, err := e.Answer(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Standalone == q.Text || !strings.Contains(ans.Standalone, "Defense") {
		t.Errorf("standalone %q carries nothing over", ans.Standalone)
	}
	if ans.Refused || ans.Citations[0].Paragraph != 2 {
		t.Errorf("follow-up answered %+v, want ¶2 first", ans.Citations)
	}
}

// failingRewriter stands in for an LLM rewriter that is down.
type failingRewriter struct{}

func (failingRewriter) Rewrite(context.Context, Question) (string, error) {
	return "", errors.New("model down")
}

func TestEngineRewriterFallback(t *testing.T) {
	e := NewEngine(bundledIndex(t), EngineOptions{Rewriter: failingRewriter{}})
	ans, err := e.Answer(t.Context(), Question{
		Text:    "And where did it happen?",
		History: []Turn{{Question: "Who did Zarif meet in Moscow?"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ans.Standalone, "Zarif") {
		t.Errorf("standalone %q, want keyword carry-over", ans.Standalone)
	}
}

func TestEngineConcurrent(t *testing.T) {
	ix := bundledIndex(t)
	e := NewEngine(ix, EngineOptions{})
	rows := seedQuestions(t)
	want := make([]Answer, len(rows))
	for i, r := range rows {
		a, err := e.Answer(t.Context(), Question{Text: r})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = a
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, r := range rows {
				a, err := e.Answer(t.Context(), Question{Text: r})
				if err != nil {
					t.Error(err)
					return
				}
				if a.Text != want[i].Text || a.Refused != want[i].Refused {
					t.Errorf("%q: concurrent answer differs", r)
				}
			}
		})
	}
	wg.Wait()
}

var _ Searcher = (*retrieval.Index)(nil)
var _ TextSource = (*retrieval.Index)(nil)
var _ ParagraphSource = articles(nil)

func BenchmarkEngineAnswer(b *testing.B) {
	ix := bundledIndex(b)
	e := NewEngine(ix, EngineOptions{})
	ctx := b.Context()
	for b.Loop() {
		if _, err := e.Answer(ctx, Question{Text: "Which missile system is Tehran interested in buying?"}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEngineFollowUpChain follows a conversation whose subject is only
// named in its first question: each answer must still quote the paragraph
// about that subject, and a named subject starts a new topic.
func TestEngineFollowUpChain(t *testing.T) {
	e := NewEngine(bundledIndex(t), EngineOptions{})
	var hist []Turn
	for _, step := range []struct {
		question, quote string
		paragraph       int
	}{
		{"When was the agreement on the basis of relations between Russia and Iran signed?", "signed in 2001", 15},
		{"and when is its next extension planned?", "planned in 8 months", 18},
		{"Who is Zarif?", "Zarif", 0},
		{"How many times has he visited Moscow?", "30th time", 11},
		{"and when was his previous visit?", "June 16", 11},
	} {
		ans, err := e.Answer(t.Context(), Question{Text: step.question, History: hist})
		if err != nil {
			t.Fatal(err)
		}
		if ans.Refused || !strings.Contains(ans.Citations[0].Quote, step.quote) || (step.paragraph > 0 && ans.Citations[0].Paragraph != step.paragraph) {
			t.Fatalf("%q (searched as %q): refused=%t citations=%+v, want ¶%d quoting %q", step.question, ans.Standalone, ans.Refused, ans.Citations, step.paragraph, step.quote)
		}
		hist = append(hist, Turn{Question: step.question, Standalone: ans.Standalone, Answer: ans.Text})
	}
}

// TestEngineUSIsTheCountry: "US" in capitals is the country, not the stop
// word "us", so questions about it meet the article's "US sanctions" and
// "the U.S." instead of being refused or answered with the site's footer.
func TestEngineUSIsTheCountry(t *testing.T) {
	e := NewEngine(bundledIndex(t), EngineOptions{})
	for _, q := range []string{"What did the US do?", "What is the US policy toward Iran?", "What did the USA do?"} {
		ans, err := e.Answer(t.Context(), Question{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		if ans.Refused || len(ans.Citations) == 0 || !strings.Contains(ans.Citations[0].Quote, "US") {
			t.Errorf("%q: refused=%v, want a quote about the US: %s", q, ans.Refused, ans.Text)
		}
	}
}
