package eval

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		kinds             []Kind
	}{
		{"answerable and not", `{"id":"a","question":"Q?","answers":["x"],"article":"art","paragraph":2}
{"id":"b","question":"R?","answers":[],"article":null,"paragraph":null}
`, "", []Kind{Answerable, Unanswerable}},
		{"blank lines and no trailing newline", "\n{\"question\":\"Q?\",\"article\":\"a\",\"paragraph\":1}\n\n{\"question\":\"R?\"}", "", []Kind{Answerable, Unanswerable}},
		{"not json", `{"question":"Q?"}` + "\nnope\n", ":2: not a JSON object", nil},
		{"no question", `{"question":"  "}`, ":1: no question", nil},
		{"half a gold", `{"question":"Q?","article":"a"}`, ":1: article and paragraph must be both set", nil},
		{"paragraph 0", `{"question":"Q?","article":"a","paragraph":0}`, ":1: paragraph 0", nil},
		{"duplicate id", `{"id":"x","question":"Q?"}` + "\n" + `{"id":"x","question":"R?"}`, `:2: id "x" already on line 1`, nil},
		{"empty", "\n\n", "no questions", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := Read(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != len(tt.kinds) {
				t.Fatalf("%d items, want %d", len(items), len(tt.kinds))
			}
			for i, k := range tt.kinds {
				if items[i].Kind != k {
					t.Errorf("item %d kind %v, want %v", i, items[i].Kind, k)
				}
			}
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "none.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestContainsAnswer(t *testing.T) {
	if !ContainsAnswer("Firstly, the Tehran’s interest is turned to … S‑400 missile system.", []string{"s-400"}) {
		t.Error("dash and case folding")
	}
	if !ContainsAnswer("It  rose to\n3.67%.", []string{"rose to 3.67%"}) {
		t.Error("white space folding")
	}
	if ContainsAnswer("It rose.", []string{"", "fell"}) {
		t.Error("empty or absent answers match")
	}
}

func TestSummarize(t *testing.T) {
	recs := []Record{
		{Kind: Answerable, Rank: 1, AnswerInQuote: true},
		{Kind: Answerable, Rank: 3},
		{Kind: Answerable, Refused: true},
		{Kind: Answerable, Rank: 1, Fallback: true},
		{Kind: Answerable, Error: "boom"},
		{Kind: Answerable, Timeout: true, Error: "deadline"},
		{Kind: Unanswerable, Refused: true},
		{Kind: Unanswerable},
		{Kind: OffCorpus, Refused: true},
		{Kind: OffCorpus, Refused: true, Error: "boom"},
	}
	r := Summarize("llm", recs, true, true)
	if r.Answerable != 6 || r.Unanswerable != 2 || r.OffCorpus != 2 {
		t.Fatalf("counts %+v", r)
	}
	// The fallback, the error and the timeout are misses: 1 hit of 6.
	if r.HitAt1 != 1.0/6 || r.HitAt5 != 2.0/6 || r.AnswerInQuote1 != 1.0/6 {
		t.Errorf("hit@1 %.3f hit@5 %.3f in-quote %.3f", r.HitAt1, r.HitAt5, r.AnswerInQuote1)
	}
	if r.Fallbacks != 1 || r.Errors != 2 || r.Timeouts != 1 || r.RefusedAnswerable != 1 {
		t.Errorf("fallbacks %d errors %d timeouts %d refused %d", r.Fallbacks, r.Errors, r.Timeouts, r.RefusedAnswerable)
	}
	// Refusals that count: the answerable one, one unanswerable, one
	// off-corpus (the errored one does not): precision 2/3, recall 2/4.
	if r.RefusalPrecision != 2.0/3 || r.RefusalRecall != 0.5 || r.OffCorpusRefused != 0.5 || r.UnanswerableRefused != 0.5 {
		t.Errorf("precision %.3f recall %.3f off %.3f unans %.3f", r.RefusalPrecision, r.RefusalRecall, r.OffCorpusRefused, r.UnanswerableRefused)
	}
	// Without counting fallbacks (extractive mode), the fallback is a hit.
	if r := Summarize("extractive", recs, true, false); r.HitAt1 != 2.0/6 {
		t.Errorf("extractive hit@1 %.3f", r.HitAt1)
	}
}

func TestSplit(t *testing.T) {
	var s Set
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		s.Articles = append(s.Articles, corpus.Article{ID: id, Title: id, Paragraphs: []string{"text of " + id}})
		p := 1
		art := id
		s.Items = append(s.Items, Item{ID: id + "-q", Question: "about " + id, Article: &art, Paragraph: &p})
		s.Items = append(s.Items, Item{ID: id + "-u", Question: "not in " + id, SourceArticle: &art, Kind: Unanswerable})
	}
	s.Items = append(s.Items, Item{ID: "free", Question: "about nothing", Kind: Unanswerable})
	sp := Split(s, nil, 1)
	if len(sp.Articles) != 3 {
		t.Fatalf("%d articles kept, want 3", len(sp.Articles))
	}
	a, u, off := sp.Counts()
	if a != 3 || u != 4 || off != 6 {
		t.Errorf("answerable %d unanswerable %d off-corpus %d, want 3, 4 (3 + the free one), 6", a, u, off)
	}
	for _, it := range sp.Items {
		if it.Kind == Answerable && !sp.Has(*it.Article) || it.Kind == OffCorpus && sp.Has(it.About()) {
			t.Errorf("%s is %v", it.ID, it.Kind)
		}
	}
	if again := Split(s, nil, 1); again.Articles[0].ID != sp.Articles[0].ID {
		t.Error("split is not fixed by its seed")
	}
	var d Set
	d.Name = "dis"
	d.Articles = s.Articles
	d.Items = s.Items
	ws := Split(Set{Name: "one", Articles: []corpus.Article{{ID: "z", Paragraphs: []string{"z"}}}}, &d, 1)
	if len(ws.Articles) != 4 {
		t.Errorf("with distractors: %d articles, want the set's 1 and 3 of the distractor's", len(ws.Articles))
	}
	for _, it := range ws.Items {
		if it.Kind != OffCorpus || it.From != "dis" {
			t.Errorf("distractor item %s: kind %v from %q", it.ID, it.Kind, it.From)
		}
	}
}

// TestSmalls: the small corpora are disjoint groups of n articles, those
// with the most answerable questions first, no more than k, and each is
// split in half like Split.
func TestSmalls(t *testing.T) {
	var s Set
	for i := range 10 {
		id := fmt.Sprintf("a%d", i)
		s.Articles = append(s.Articles, corpus.Article{ID: id, Title: id, Paragraphs: []string{"text of " + id}})
		// a9 has 10 questions, a8 9, …: Smalls groups a9–a6, then a5–a2.
		for j := range i + 1 {
			p, art := 1, id
			s.Items = append(s.Items, Item{ID: fmt.Sprintf("%s-%d", id, j), Question: "about " + id, Article: &art, Paragraph: &p})
		}
	}
	smalls := Smalls(s, 4, 3, 1)
	if len(smalls) != 2 {
		t.Fatalf("%d small corpora of 4 from 10 articles, want 2 (no partial third)", len(smalls))
	}
	for g, sm := range smalls {
		a, _, off := sm.Counts()
		if len(sm.Articles) != 2 || a == 0 || off == 0 {
			t.Errorf("small %d: %d articles indexed, %d answerable, %d off-corpus; want 2 and some of each", g, len(sm.Articles), a, off)
		}
		// The most-asked articles first, no article in two groups.
		for _, it := range sm.Items {
			if n := 9 - int(it.About()[1]-'0'); n/4 != g {
				t.Errorf("small %d holds %s, a question about an article of group %d", g, it.ID, n/4)
			}
		}
	}
	if got := Smalls(s, 4, 1, 1); len(got) != 1 {
		t.Errorf("k=1: %d small corpora", len(got))
	}
}

// answerFunc adapts a function to Answerer.
type answerFunc func(ctx context.Context, q bot.Question) (bot.Answer, error)

func (f answerFunc) Answer(ctx context.Context, q bot.Question) (bot.Answer, error) { return f(ctx, q) }

// TestAnswersRecordsFailures: errors and timeouts are recorded and the run
// goes on; a gold article missing from the corpus is flagged.
func TestAnswersRecordsFailures(t *testing.T) {
	art, p := "art", 1
	missing := "gone"
	items := []Item{
		{ID: "ok", Question: "fine?", Answers: []string{"yes"}, Article: &art, Paragraph: &p},
		{ID: "slow", Question: "slow?", Article: &art, Paragraph: &p},
		{ID: "err", Question: "err?", Article: &art, Paragraph: &p},
		{ID: "gone", Question: "gone?", Article: &missing, Paragraph: &p},
	}
	a := answerFunc(func(ctx context.Context, q bot.Question) (bot.Answer, error) {
		switch q.Text {
		case "slow?":
			<-ctx.Done()
			return bot.Answer{}, ctx.Err()
		case "err?":
			return bot.Answer{}, errors.New("server said no")
		}
		return bot.Answer{Citations: []bot.Citation{{Article: bot.ArticleRef{ID: "art"}, Paragraph: 1, Quote: "yes indeed"}}}, nil
	})
	recs, err := Answers(t.Context(), a, items, RunOptions{Timeout: 20 * time.Millisecond, Has: func(id string) bool { return id == "art" }})
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Rank != 1 || !recs[0].AnswerInQuote || !recs[1].Timeout || recs[2].Error != "server said no" || !recs[3].GoldMissing {
		t.Errorf("records %+v", recs)
	}
}

// TestSeedQA is the gate on the bundled article (the seed set is in
// testdata/, so it never skips): at least 20 of its 22 answerable
// questions cite the gold paragraph first and its 3 unanswerable ones are
// refused. It is a regression gate, not a quality figure — the models were
// fitted on this set too; the leave-one-set-out table is the figure.
func TestSeedQA(t *testing.T) {
	s, err := LoadBundled(t.Context(), "seed", filepath.Join(testdataDir, "seed-qa.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ix := index(t, s)
	recs, err := Answers(t.Context(), bot.NewEngine(ix, bot.EngineOptions{}), s.Items, RunOptions{Has: s.Has})
	if err != nil {
		t.Fatal(err)
	}
	r := Summarize("extractive", recs, true, false)
	for _, rec := range recs {
		if rec.Kind == Answerable && rec.Rank != 1 || rec.Kind != Answerable && !rec.Refused {
			t.Logf("miss: %s %q refused=%v cited %s %q", rec.ID, rec.Question, rec.Refused, rec.Cited, rec.Quote)
		}
	}
	if r.Answerable != 22 || r.Unanswerable != 3 {
		t.Fatalf("seed set: %d answerable, %d unanswerable; want 22 and 3", r.Answerable, r.Unanswerable)
	}
	if hits := int(r.HitAt1*22 + 0.5); hits < 20 {
		t.Errorf("hit@1 %d/22, want ≥ 20", hits)
	}
	if r.UnanswerableRefused != 1 {
		t.Errorf("refused %.0f%% of the unanswerable questions, want all", 100*r.UnanswerableRefused)
	}
}
