package bot

import (
	"context"
	"strings"
	"testing"
)

func TestKeywordRewriter(t *testing.T) {
	idf := fakeIDF{"iran": 0.3, "defens": 2, "minist": 1.5, "arriv": 2.5, "moscow": 1, "zarif": 2.2, "agreement": 1.8, "sign": 2.6, "2001": 3}
	k := NewKeywordRewriter(idf)
	hist := []Turn{{Question: "Who is Iran's Defense Minister?", Answer: "Amir Khatami [1]"}}
	tests := []struct {
		name string
		q    Question
		want string
	}{
		{"no history", Question{Text: "When did he arrive?"}, "When did he arrive?"},
		{"pronoun", Question{Text: "When did he arrive in Moscow?", History: hist}, "When did he arrive in Moscow? Iran's Defense Minister"},
		{"continuation", Question{Text: "and when?", History: hist}, "and when? Iran's Defense Minister"},
		{"standalone question unchanged", Question{Text: "When was the agreement with Russia signed in 2001?", History: hist}, "When was the agreement with Russia signed in 2001?"},
		{"carries the rarest words only", Question{Text: "Was it signed?", History: []Turn{{Question: "Did Iran and Zarif sign the 2001 agreement in Moscow?"}}},
			"Was it signed? Zarif 2001 agreement Moscow"},
		{"a named subject is not a follow-up", Question{Text: "Who is Zarif?", History: hist}, "Who is Zarif?"},
		{"the most recent turn comes first", Question{Text: "When did he arrive?", History: []Turn{
			{Question: "When was the 2001 agreement signed?"}, {Question: "Who is Zarif?"}}},
			"When did he arrive? Zarif 2001 agreement signed"},
		{"a chain of follow-ups keeps its topic", Question{Text: "And when was that?", History: []Turn{
			{Question: "How many times has he visited Moscow?", Standalone: "How many times has he visited Moscow? Zarif"}}},
			"And when was that? many times visited Zarif"},
		{"looks back two turns", Question{Text: "Why?", History: []Turn{{Question: "Who is Iran's Defense Minister?"}, {Question: "Did he?"}}},
			"Why? Iran's Defense Minister"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := k.Rewrite(t.Context(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Rewrite = %q, want %q", got, tc.want)
			}
		})
	}
}

// fixedRewriter stands in for an LLM rewriter that answers rewrite.
type fixedRewriter struct{ rewrite string }

func (f fixedRewriter) Rewrite(context.Context, Question) (string, error) { return f.rewrite, nil }

func TestAcceptRewrite(t *testing.T) {
	hist := []Turn{{Question: "Which missile system is Tehran interested in buying?", Standalone: "Which missile system is Tehran interested in buying?"}}
	tests := []struct {
		name, text, rewrite string
		want                bool
	}{
		{"keeps the user's words", "and how much does it cost?", "How much does the S-400 missile system cost Tehran?", true},
		{"gibberish, as a random-weight model wrote it", "and how much does it cost?", "songsiliary Select cites Neue permanently", false},
		{"drops the user's words", "who sells it to them?", "Which missile system is Tehran interested in buying?", false},
		{"no words of its own, keeps the topic", "and when?", "When will Tehran buy the S-400 missile system?", true},
		{"no words of its own, loses the topic", "and when?", "When did the war end?", false},
		{"empty", "and when?", "", false},
	}
	for _, tt := range tests {
		if got := acceptRewrite(tt.rewrite, Question{Text: tt.text, History: hist}); got != tt.want {
			t.Errorf("%s: acceptRewrite(%q) = %v, want %v", tt.name, tt.rewrite, got, tt.want)
		}
	}
}

// TestEngineDistrustsRewrites: a rewrite that loses the follow-up is not
// searched, and one that is searched but finds nothing does not decide a
// refusal while the user's own words find the answer.
func TestEngineDistrustsRewrites(t *testing.T) {
	ix := bundledIndex(t)
	hist := []Turn{{Question: "Who is Iran's Defense Minister?", Answer: "Amir Khatami [1]"}}
	t.Run("gibberish", func(t *testing.T) {
		e := NewEngine(ix, EngineOptions{Rewriter: fixedRewriter{"songsiliary Select cites Neue permanently"}})
		ans, err := e.Answer(t.Context(), Question{Text: "When did he arrive in Moscow?", History: hist})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(ans.Standalone, "songsiliary") || ans.Refused || ans.Citations[0].Paragraph != 2 {
			t.Errorf("standalone %q, refused %v, citations %+v; want the keyword carry-over and ¶2", ans.Standalone, ans.Refused, ans.Citations)
		}
	})
	t.Run("refused rewrite, answerable question", func(t *testing.T) {
		// The rewrite keeps every word of the question but asks for a
		// height the article never gives.
		e := NewEngine(ix, EngineOptions{Rewriter: fixedRewriter{"How tall is the Iranian Ambassador to Russia?"}})
		ans, err := e.Answer(t.Context(), Question{Text: "Who is the Iranian Ambassador to Russia?", History: hist})
		if err != nil {
			t.Fatal(err)
		}
		if ans.Refused || len(ans.Citations) == 0 || !strings.Contains(ans.Citations[0].Quote, "Qasem Jalali") {
			t.Errorf("refused %v, citations %+v; want Qasem Jalali from the user's own words", ans.Refused, ans.Citations)
		}
	})
}

// TestEngineSearchesSynonyms: a word the article never uses is searched as
// the article spells it ("defence" as "defense"); another synonym of an
// unknown word ("stand": "position") is not searched, and cannot pull the
// search away from the word the question is about.
func TestEngineSearchesSynonyms(t *testing.T) {
	e := NewEngine(bundledIndex(t), EngineOptions{})
	for q, want := range map[string]struct {
		para  int
		quote string
	}{
		"What is the name of Iran's defence minister?": {2, "Amir Khatami"},
		"What does INSTEX stand for?":                  {24, "Instrument in Support of Trade Exchanges"},
	} {
		ans, err := e.Answer(t.Context(), Question{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		if ans.Refused || len(ans.Citations) == 0 || ans.Citations[0].Paragraph != want.para || !strings.Contains(ans.Citations[0].Quote, want.quote) {
			t.Errorf("%q: refused %v, citations %+v; want ¶%d with %q", q, ans.Refused, ans.Citations, want.para, want.quote)
		}
	}
}
