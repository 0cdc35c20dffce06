package bot

import (
	"slices"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
)

func TestIntentOf(t *testing.T) {
	tests := []struct {
		text string
		want intent
		rest string
	}{
		{"hi", smallTalkIntent, ""},
		{"Hello!!", smallTalkIntent, ""},
		{"thanks", smallTalkIntent, ""},
		{"Thank you very much.", smallTalkIntent, ""},
		{"who are you?", smallTalkIntent, ""},
		{"help", smallTalkIntent, ""},
		{"  ", smallTalkIntent, ""},
		{"What is this article about?", overviewIntent, ""},
		{"summarize the article", overviewIntent, ""},
		{"Can you summarise it please?", overviewIntent, ""},
		{"tl;dr", overviewIntent, ""},
		{"Summarize the sanctions part", overviewIntent, "sanctions part"},
		{"give me a summary of the article about INSTEX", overviewIntent, "INSTEX"},
		{"Summarize the part about Syria.", overviewIntent, "Syria"},
		{"What does the article say about the nuclear deal?", overviewIntent, "nuclear deal"},
		{"what is said about sanctions", overviewIntent, "sanctions"},
		{"What are the main points?", overviewIntent, ""},
		{"What is the article's main point?", overviewIntent, ""},
		{"What's the article's thesis?", overviewIntent, ""},
		{"Describe the article", overviewIntent, ""},
		{"What does the article argue?", overviewIntent, ""},
		{"What are the highlights?", overviewIntent, ""},
		{"key points?", overviewIntent, ""},
		{"What is the main topic?", overviewIntent, ""},
		{"hi, what is it about?", overviewIntent, ""},
		{"Explain", askIntent, "Explain"},
		{"What is important?", askIntent, "What is important?"},
		{"What is the main topic of the Astana summit?", askIntent, "What is the main topic of the Astana summit?"},
		{"What did the article say Zarif argues?", askIntent, "What did the article say Zarif argues?"},
		{"Explain the sanctions", askIntent, "the sanctions"},
		{"Can you describe INSTEX?", askIntent, "INSTEX?"},
		{"Hi! Give me details on the nuclear deal.", askIntent, "the nuclear deal."},
		{"I want to know about the Army games", askIntent, "the Army games"},
		{"Explain why Russia works with Iran", askIntent, "why Russia works with Iran"},
		{"wat is instex", askIntent, "what is instex"},
		{"wats INSTEX", askIntent, "what's INSTEX"},
		{"Hw did Zarif travel?", askIntent, "how did Zarif travel?"},
		{"y did zarif fly to moscow", askIntent, "why did zarif fly to moscow"},
		{"can u explain INSTEX", askIntent, "INSTEX"},
		{"Wat Arun is where?", askIntent, "Wat Arun is where?"},
		{"Explainers are what?", askIntent, "Explainers are what?"},
		{"Hi, who is the Iranian ambassador?", askIntent, "who is the Iranian ambassador?"},
		{"hello there what does INSTEX stand for", askIntent, "what does INSTEX stand for"},
		{"What is the capital of France?", askIntent, "What is the capital of France?"},
		{"Who helped Iran?", askIntent, "Who helped Iran?"},
		{"Hiroshima", askIntent, "Hiroshima"},
		{"What is the summary judgment rule?", askIntent, "What is the summary judgment rule?"},
	}
	for _, tt := range tests {
		got, rest := intentOf(tt.text)
		if got != tt.want || rest != tt.rest {
			t.Errorf("intentOf(%q) = %d, %q; want %d, %q", tt.text, got, rest, tt.want, tt.rest)
		}
	}
}

func TestEngineSmallTalk(t *testing.T) {
	e := NewEngine(bundledIndex(t), EngineOptions{})
	for _, q := range []string{"hi", "Hello!", "thanks", "who are you?"} {
		ans, err := e.Answer(t.Context(), Question{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		if ans.Refused || ans.Mode != ModeHelp || len(ans.Citations) != 0 ||
			!strings.Contains(ans.Text, "Iran and Russia on their way to new level of partnership") || !strings.Contains(ans.Text, "word for word") {
			t.Errorf("%q: %+v, want the short help naming the article", q, ans)
		}
	}
}

func TestEngineOverview(t *testing.T) {
	ix := bundledIndex(t)
	e := NewEngine(ix, EngineOptions{})
	for _, q := range []string{"What is this article about?", "summarize the article", "Give me a summary", "What's the article's thesis?", "key points?"} {
		ans, err := e.Answer(t.Context(), Question{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		checkCitations(t, ix, ans)
		paras := map[int]bool{}
		for _, c := range ans.Citations {
			paras[c.Paragraph] = true
		}
		if ans.Refused || len(paras) < 2 || !paras[1] {
			t.Errorf("%q: refused=%v paragraphs %v, want at least two including ¶1", q, ans.Refused, paras)
		}
		for _, c := range ans.Citations {
			if n := countWords(c.Quote); n < minOverviewWords || n > maxOverviewWords {
				t.Errorf("%q quotes %q (%d words)", q, c.Quote, n)
			}
		}
	}
}

func TestOverviewOfManyArticles(t *testing.T) {
	arts := []corpus.Article{
		{ID: "tides", Title: "Tides", Paragraphs: []string{"Tides are the rise and fall of sea levels caused by the Moon and the Sun.", "Spring tides happen when the Sun and Moon are aligned with the Earth."}},
		{ID: "bees", Title: "Bees", Paragraphs: []string{"Bees are flying insects closely related to wasps and ants, known for pollination.", "Honey bees store honey in hives made of wax they produce themselves."}},
	}
	ix := openIndex(t, arts)
	e := NewEngine(ix, EngineOptions{})
	ans, err := e.Answer(t.Context(), Question{Text: "summarize the article about bees"})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Refused || len(ans.Citations) == 0 || ans.Citations[0].Article.ID != "bees" {
		t.Errorf("summary of bees: %+v", ans)
	}
	ans, err = e.Answer(t.Context(), Question{Text: "What are these articles about?"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, c := range ans.Citations {
		ids[c.Article.ID] = true
	}
	if ans.Refused || !ids["bees"] || !ids["tides"] || !strings.Contains(ans.Text, "2 articles") {
		t.Errorf("overview of a two-article corpus: %+v", ans)
	}
}

// TestEngineRefusesOffTopic: questions whose decisive word the article
// lacks are refused, though another word of theirs is in it.
func TestEngineRefusesOffTopic(t *testing.T) {
	e := NewEngine(bundledIndex(t), EngineOptions{})
	for _, q := range []string{"What is the capital of France?", "What is the boiling point of water?", "How much did Iran pay for the S-400 systems?", "Who won the 2018 FIFA World Cup?"} {
		ans, err := e.Answer(t.Context(), Question{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		if !ans.Refused {
			t.Errorf("%q answered: %s", q, ans.Text)
		}
	}
}

// TestEngineRequests: a request's opening ("Explain", "Give me details
// on") is no missing word of the question: the topic after it answers, and
// an off-topic one is still refused.
func TestEngineRequests(t *testing.T) {
	e := NewEngine(bundledIndex(t), EngineOptions{})
	for _, tc := range []struct{ q, quote string }{
		{"Explain the sanctions", "sanctions"},
		{"Give me details on INSTEX.", "INSTEX"},
		{"I want to know about the Army games", "Army"},
		{"Explain the capital of France", ""},
	} {
		ans, err := e.Answer(t.Context(), Question{Text: tc.q})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.quote == "" && !ans.Refused:
			t.Errorf("%q answered: %s", tc.q, ans.Text)
		case tc.quote != "" && (ans.Refused || len(ans.Citations) == 0 || !strings.Contains(ans.Citations[0].Quote, tc.quote)):
			t.Errorf("%q: refused=%v %s, want a quote with %q", tc.q, ans.Refused, ans.Text, tc.quote)
		case ans.Question != tc.q:
			t.Errorf("%q: Answer.Question %q, want the message as typed", tc.q, ans.Question)
		}
	}
}

// TestEngineSpellingVariantIsNoMissingWord: the decisive-word rule counts
// a word the best sentence spells another way as held, so "air defence"
// over an article that says "coastal defense systems and S-400" answers.
func TestEngineSpellingVariantIsNoMissingWord(t *testing.T) {
	e := NewEngine(bundledIndex(t), EngineOptions{})
	ans, err := e.Answer(t.Context(), Question{Text: "Which air defence system does Iran want to acquire from Russia?"})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Refused || ans.Decision == nil || ans.Decision.DecisiveMissing || len(ans.Citations) == 0 || !strings.Contains(ans.Citations[0].Quote, "S-400") {
		t.Errorf("refused or misquoted: %+v", ans)
	}
}

// TestEngineFoldsQuestions: a question typed in fullwidth characters, with
// curly quotes or accents, answers as its plain form does.
func TestEngineFoldsQuestions(t *testing.T) {
	e := NewEngine(bundledIndex(t), EngineOptions{})
	for plain, folded := range map[string]string{
		"What does INSTEX stand for?":            "What does ＩＮＳＴＥＸ stand for?",
		"Who is Iran's Defense Minister?":        "Who is Iran’s Défense Minister?",
		"When was Iran disconnected from SWIFT?": "Ｗｈｅｎ ｗａｓ Ｉｒａｎ ｄｉｓｃｏｎｎｅｃｔｅｄ ｆｒｏｍ ＳＷＩＦＴ？",
	} {
		a, err := e.Answer(t.Context(), Question{Text: plain})
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.Answer(t.Context(), Question{Text: folded})
		if err != nil {
			t.Fatal(err)
		}
		if a.Refused || b.Refused || len(b.Citations) == 0 || a.Citations[0].Paragraph != b.Citations[0].Paragraph {
			t.Errorf("%q and %q answer differently: %+v / %+v", plain, folded, a.Citations, b.Citations)
		}
	}
}

// TestLongSentenceQuotedInPart: a paragraph with no sentence break is
// never quoted whole; the quote is the stretch that holds the question.
func TestLongSentenceQuotedInPart(t *testing.T) {
	filler := strings.Repeat("the committee discussed several unrelated matters at length and ", 200)
	art := corpus.Article{ID: "long", Title: "Minutes", Paragraphs: []string{
		filler + "the treasurer reported that the lighthouse fund reached nine thousand crowns " + filler + "and the meeting closed.",
		"A short second paragraph about the harbour.",
	}}
	ix := openIndex(t, []corpus.Article{art})
	e := NewEngine(ix, EngineOptions{})
	ans, err := e.Answer(t.Context(), Question{Text: "How much did the lighthouse fund reach?"})
	if err != nil {
		t.Fatal(err)
	}
	checkCitations(t, ix, ans)
	if ans.Refused || len(ans.Citations) == 0 {
		t.Fatalf("refused: %+v", ans)
	}
	q := ans.Citations[0].Quote
	if len([]rune(q)) > maxQuoteRunes || !strings.Contains(q, "lighthouse fund reached nine thousand crowns") {
		t.Errorf("quote (%d runes) %q", len([]rune(q)), q)
	}
}

// TestEngineOverviewOfATopic: "what does the article say about X" quotes
// the article's sentences about X; a topic the articles never mention is
// refused, not summarized away.
func TestEngineOverviewOfATopic(t *testing.T) {
	ix := bundledIndex(t)
	e := NewEngine(ix, EngineOptions{})
	for _, q := range []string{"What does the article say about Syria?", "Summarize the part about Syria"} {
		ans, err := e.Answer(t.Context(), Question{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		checkCitations(t, ix, ans)
		if ans.Refused || len(ans.Citations) < 2 || !strings.Contains(ans.Text, "about Syria") {
			t.Fatalf("%q: %+v", q, ans)
		}
		for _, c := range ans.Citations {
			if !strings.Contains(c.Quote, "Syria") {
				t.Errorf("%q quotes %q, which does not mention Syria", q, c.Quote)
			}
		}
	}
	ans, err := e.Answer(t.Context(), Question{Text: "What does the article say about the Moon?"})
	if err != nil {
		t.Fatal(err)
	}
	if !ans.Refused {
		t.Errorf("a topic the article never mentions: %q", ans.Text)
	}
}

// FuzzIntentOf: classifying never panics, an ask always keeps a question
// to search (the user's own words, but for a spelt-out shorthand opener),
// and an overview's topic is made of the message's words.
func FuzzIntentOf(f *testing.F) {
	for _, s := range []string{"hi", "Explain the sanctions", "wat is instex", "summarize the part about Syria", "y did", "Explain   ", "please can u explain\u00a0x", "what's the article's thesis?", "hello there, tl;dr"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		it, rest := intentOf(text)
		switch it {
		case askIntent:
			if normalizeMessage(text) != "" && strings.TrimSpace(rest) == "" {
				t.Fatalf("intentOf(%q): an ask with nothing to search", text)
			}
			own := rest
			for _, v := range shorthandFor {
				if strings.HasPrefix(rest, v) && !strings.Contains(text, rest) {
					own = rest[len(v):]
				}
			}
			if !strings.Contains(text, own) {
				t.Fatalf("intentOf(%q) = ask %q: not the user's words", text, rest)
			}
		case overviewIntent:
			typed := strings.Fields(normalizeCase(text))
			for _, w := range strings.Fields(rest) {
				if !slices.Contains(typed, w) {
					t.Fatalf("intentOf(%q) = overview of %q: %q is not a word of the message", text, rest, w)
				}
			}
		}
	})
}
