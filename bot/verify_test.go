package bot

import (
	"reflect"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/retrieval"
)

// articles is a ParagraphSource over a fixed set of articles.
type articles map[string]corpus.Article

func (a articles) Article(id string) (corpus.Article, bool) {
	art, ok := a[id]
	return art, ok
}

const iranID = "iran-russia"

var iran = articles{iranID: {
	ID:    iranID,
	Title: "Iran and Russia on their way to new level of partnership",
	URL:   "https://example.org/iran",
	Paragraphs: []string{
		"The coronavirus pandemic has had a significant impact on the development of global international cooperation.",
		"“Cooperation between Iran and Russia on defense and military issues is gaining an accelerated pace every day. A new chapter of cooperation between Iran and Russia in the military-technical sphere is on the way,” said Qasem Jalali, the Iranian Ambassador to Russia.",
		"Firstly, the Tehran’s interest is turned to electronic warfare systems, coastal defense systems and S-400 missile system. New contracts for the purchase of such military equipment to Iran will certainly cause further concern from Washington establishment.",
		"“We agreed today that 20 years is a long time, ” Sergey Lavrov said, answering that during this time there have been” serious, deep changes in the international arena”, new threats have appeared — terrorism, different types of organized crime, climate change and viruses.",
		"In the summer of 2019, Iran announced that it was beginning the process of enriching uranium at a level higher than the 3.67% required by the nuclear deal.",
	},
}}

func hitsFor(id string, paras ...int) []retrieval.Hit {
	var hs []retrieval.Hit
	for _, p := range paras {
		hs = append(hs, retrieval.Hit{Passage: retrieval.Passage{ArticleID: id, First: p, Last: p}})
	}
	return hs
}

func TestVerify(t *testing.T) {
	art := iran[iranID]
	p := func(n int) string { s, _ := art.Paragraph(n); return s }
	tests := []struct {
		name      string
		claim     Claim
		hits      []retrieval.Hit
		wantQuote string // "" means dropped
		wantPara  int
		wantState Verification
	}{
		{"exact", Claim{ArticleID: iranID, Paragraph: 3, Quote: "coastal defense systems and S-400 missile system"},
			nil, "coastal defense systems and S-400 missile system", 3, Verified},
		{"word changed beyond repair", Claim{ArticleID: iranID, Paragraph: 3, Quote: "coastal defense systems and S-500 missile system"},
			hitsFor(iranID, 3), "", 0, ""},
		{"word changed mid sentence", Claim{ArticleID: iranID, Paragraph: 5, Quote: "Iran announced that it was ending the process of enriching uranium"},
			hitsFor(iranID, 5), "", 0, ""},
		{"curly quotes, spacing and case", Claim{ArticleID: iranID, Paragraph: 4, Quote: `"we agreed today that 20 years is a long time," Sergey  Lavrov said`},
			nil, "We agreed today that 20 years is a long time, ” Sergey Lavrov said", 4, Verified},
		{"straight apostrophe and dash", Claim{ArticleID: iranID, Paragraph: 3, Quote: "the Tehran's interest is turned to electronic warfare systems"},
			nil, "the Tehran’s interest is turned to electronic warfare systems", 3, Verified},
		{"em dash as hyphen", Claim{ArticleID: iranID, Paragraph: 4, Quote: "new threats have appeared - terrorism, different types of organized crime"},
			nil, "new threats have appeared — terrorism, different types of organized crime", 4, Verified},
		{"ellipsis wrapped", Claim{ArticleID: iranID, Paragraph: 1, Quote: "…has had a significant impact on the development…"},
			nil, "has had a significant impact on the development", 1, Verified},
		{"near miss repaired", Claim{ArticleID: iranID, Paragraph: 5, Quote: "In the summer of 2019, Iran announced that it was beginning the process of enriching uranium at a level higher than the 3.67 percent"},
			hitsFor(iranID, 5), "In the summer of 2019, Iran announced that it was beginning the process of enriching uranium at a level higher than the 3.67%", 5, Repaired},
		{"typo mid quote repaired", Claim{ArticleID: iranID, Paragraph: 3, Quote: "New contracs for the purchase of such military equipment to Iran will certainly cause further concern from Washington establishment"},
			nil, "New contracts for the purchase of such military equipment to Iran will certainly cause further concern from Washington establishment.", 3, Repaired},
		{"typo repaired", Claim{ArticleID: iranID, Paragraph: 3, Quote: "New contracts for the purchase of such military equipment to Iran will certainly cause further concern from Washington establishmnet"},
			nil, "New contracts for the purchase of such military equipment to Iran will certainly cause further concern from Washington establishment.", 3, Repaired},
		{"wrong paragraph label", Claim{ArticleID: iranID, Paragraph: 1, Quote: "coastal defense systems and S-400 missile system"},
			hitsFor(iranID, 1, 3), "coastal defense systems and S-400 missile system", 3, Repaired},
		{"wrong label, not retrieved", Claim{ArticleID: iranID, Paragraph: 1, Quote: "coastal defense systems and S-400 missile system"},
			hitsFor(iranID, 1), "", 0, ""},
		{"too short", Claim{ArticleID: iranID, Paragraph: 3, Quote: "S-400"},
			nil, "", 0, ""},
		{"unknown article", Claim{ArticleID: "nope", Paragraph: 1, Quote: "coastal defense systems and S-400 missile system"},
			nil, "", 0, ""},
		{"invented", Claim{ArticleID: iranID, Paragraph: 3, Quote: "Iran paid four billion dollars for the S-400 systems"},
			hitsFor(iranID, 1, 2, 3, 4, 5), "", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Verify(iran, []Claim{tc.claim}, tc.hits, VerifyOptions{})
			if tc.wantQuote == "" {
				if len(v.Citations) != 0 || v.Stats.Dropped != 1 {
					t.Fatalf("want dropped, got %+v", v)
				}
				return
			}
			if len(v.Citations) != 1 {
				t.Fatalf("want 1 citation, got %+v", v)
			}
			c := v.Citations[0]
			if c.Quote != tc.wantQuote || c.Paragraph != tc.wantPara || c.Status != tc.wantState {
				t.Errorf("got %q ¶%d %s, want %q ¶%d %s", c.Quote, c.Paragraph, c.Status, tc.wantQuote, tc.wantPara, tc.wantState)
			}
			if !strings.Contains(p(c.Paragraph), c.Quote) {
				t.Errorf("quote %q is not in paragraph %d", c.Quote, c.Paragraph)
			}
			if c.Article.Title != iran[iranID].Title || c.Marker != 1 {
				t.Errorf("citation metadata %+v", c)
			}
			wantRepaired := 0
			if tc.wantState == Repaired {
				wantRepaired = 1
			}
			if v.Stats != (Stats{Repaired: wantRepaired}) {
				t.Errorf("stats %+v, want %d repaired", v.Stats, wantRepaired)
			}
		})
	}
}

func TestVerifyRenumbers(t *testing.T) {
	claims := []Claim{
		{Marker: 1, ArticleID: iranID, Paragraph: 3, Quote: "Iran paid four billion dollars for it"}, // invented
		{Marker: 2, ArticleID: iranID, Paragraph: 3, Quote: "coastal defense systems and S-400 missile system"},
		{Marker: 3, ArticleID: iranID, Paragraph: 5, Quote: "higher than the 3.67% required by the nuclear deal"},
		{Marker: 4, ArticleID: iranID, Paragraph: 3, Quote: "coastal defense systems and S-400 missile system"}, // duplicate of 2
		{Marker: 5, ArticleID: iranID, Paragraph: 3, Quote: "S-400"},                                            // too short
	}
	v := Verify(iran, claims, nil, VerifyOptions{})
	if want := (Stats{Dropped: 2}); v.Stats != want {
		t.Errorf("stats %+v, want %+v", v.Stats, want)
	}
	if want := map[int]int{1: 0, 2: 1, 3: 2, 4: 1, 5: 0}; !reflect.DeepEqual(v.Markers, want) {
		t.Errorf("markers %v, want %v", v.Markers, want)
	}
	text := "Iran paid billions [1]. It wants the S-400 [2][4] and enriched past 3.67% [3, 1]. Short [5]; see also [2019] and [7]."
	want := "Iran paid billions. It wants the S-400 [1][1] and enriched past 3.67% [2]. Short; see also [2019] and [7]."
	if got := RenumberMarkers(text, v.Markers); got != want {
		t.Errorf("RenumberMarkers:\n got %q\nwant %q", got, want)
	}
	for i, c := range v.Citations {
		if c.Marker != i+1 {
			t.Errorf("citation %d has marker %d", i, c.Marker)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("coastal defense systems and S-400 missile system", 3, 1)
	f.Add("“we agreed today that 20 years is a long time,” sergey", 4, 2)
	f.Add("In the summer of 2019, Iran announced that it was beginning the process", 1, 5)
	f.Add("\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301", 2, 2)
	f.Add("ﬁﬁﬁﬁﬁﬁﬁﬁﬁﬁﬁﬁﬁﬁﬁ … — “” ", 3, 3)
	f.Fuzz(func(t *testing.T, quote string, para, other int) {
		claims := []Claim{{Marker: 1, ArticleID: iranID, Paragraph: para, Quote: quote}}
		v := Verify(iran, claims, hitsFor(iranID, other%7), VerifyOptions{})
		for _, c := range v.Citations {
			art := iran[iranID]
			text, ok := art.Paragraph(c.Paragraph)
			if !ok || !strings.Contains(text, c.Quote) || c.Quote == "" {
				t.Fatalf("citation %+v is not a substring of its paragraph", c)
			}
		}
		if len(v.Citations)+v.Stats.Dropped != 1 {
			t.Fatalf("claim neither cited nor dropped: %+v", v)
		}
	})
}
