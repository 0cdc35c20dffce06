package bot

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// splitCases is the tricky table: each case lists the sentences a reader
// would see. TestSplitterComparison scores other splitters on it too.
var splitCases = []struct {
	name string
	text string
	want []string
}{
	{"plain", "One thing. Another thing! A third? Yes.",
		[]string{"One thing.", "Another thing!", "A third?", "Yes."}},
	{"U.S. mid sentence", "The U.S. President spoke. He left.",
		[]string{"The U.S. President spoke.", "He left."}},
	{"U.S. at end", "Sanctions came from the U.S. The talks stalled.",
		[]string{"Sanctions came from the U.S.", "The talks stalled."}},
	{"U.S. before a date", "West Point, New York, U.S. June 13, 2020. REUTERS/Jonathan Ernst",
		[]string{"West Point, New York, U.S. June 13, 2020.", "REUTERS/Jonathan Ernst"}},
	{"initials", "The book by J. R. R. Tolkien sold well. It still does.",
		[]string{"The book by J. R. R. Tolkien sold well.", "It still does."}},
	{"decimal", "Iran enriched above the 3.67% limit. The deal required it.",
		[]string{"Iran enriched above the 3.67% limit.", "The deal required it."}},
	{"titles", "Mr. Zarif met Dr. Smith and Gen. Lee. They talked.",
		[]string{"Mr. Zarif met Dr. Smith and Gen. Lee.", "They talked."}},
	{"month before number", "He arrived on Aug. 22 in Moscow. Talks began.",
		[]string{"He arrived on Aug. 22 in Moscow.", "Talks began."}},
	{"circa before a year", "Justinian I (c. 482 – 14 November 565) was emperor. He built much.",
		[]string{"Justinian I (c. 482 – 14 November 565) was emperor.", "He built much."}},
	{"born before a year", "James Dean (b. 1931, d. 1955) was an actor. He died young.",
		[]string{"James Dean (b. 1931, d. 1955) was an actor.", "He died young."}},
	{"month ends sentence", "The vote was held in Jan. Then it failed.",
		[]string{"The vote was held in Jan.", "Then it failed."}},
	{"said inside quotes", "“It is on the way,” said Qasem Jalali. Then he left.",
		[]string{"“It is on the way,” said Qasem Jalali.", "Then he left."}},
	{"period inside closing quote", "“We agreed,” he said. “Twenty years is long.” Next came talks.",
		[]string{"“We agreed,” he said.", "“Twenty years is long.”", "Next came talks."}},
	{"straight quotes", `He said "stop." Then he went. "Why?" she asked.`,
		[]string{`He said "stop."`, "Then he went.", `"Why?" she asked.`}},
	{"question in quote then lower", "“Is it over?” he asked. Nobody knew.",
		[]string{"“Is it over?” he asked.", "Nobody knew."}},
	{"ellipsis mid", "He paused... then went on. Fine.",
		[]string{"He paused... then went on.", "Fine."}},
	{"ellipsis end", "I don't know… Maybe later. Sure.",
		[]string{"I don't know…", "Maybe later.", "Sure."}},
	{"e.g.", "Some fruit, e.g. Apples, are red. Others not.",
		[]string{"Some fruit, e.g. Apples, are red.", "Others not."}},
	{"number starts sentence", "They include Iran. 90 countries were invited.",
		[]string{"They include Iran.", "90 countries were invited."}},
	{"parenthesis", "It grew (see above.) Then it shrank.",
		[]string{"It grew (see above.)", "Then it shrank."}},
	{"no final period", "First one. Second one without end",
		[]string{"First one.", "Second one without end"}},
	{"blank line", "A heading\n\nThe body starts. Ends.",
		[]string{"A heading", "The body starts.", "Ends."}},
	{"a.m.", "They met at 9 a.m. The meeting lasted long.",
		[]string{"They met at 9 a.m.", "The meeting lasted long."}},
	{"No. number", "Resolution No. 2231 was cited. Again.",
		[]string{"Resolution No. 2231 was cited.", "Again."}},
	{"spaces around", "  Leading space. Trailing space.  ",
		[]string{"Leading space.", "Trailing space."}},
	{"empty", "", nil},
}

func texts(text string, spans []Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Of(text))
	}
	return out
}

func TestSplitSentences(t *testing.T) {
	for _, tc := range splitCases {
		t.Run(tc.name, func(t *testing.T) {
			got := texts(tc.text, SplitSentences(tc.text))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SplitSentences(%q)\n got %q\nwant %q", tc.text, got, tc.want)
			}
			checkSpans(t, tc.text, SplitSentences(tc.text))
		})
	}
}

// TestSplitSentencesBundled pins the splits of the bundled article that the
// extractive answerer depends on.
func TestSplitSentencesBundled(t *testing.T) {
	for _, tc := range []struct{ para, want string }{
		{"U.S. President Donald Trump is displayed on a screen as he delivers remarks to West Point graduating cadets during their 2020 United States Military Academy graduation ceremony at West Point, New York, U.S. June 13, 2020. REUTERS/Jonathan Ernst",
			"U.S. President Donald Trump is displayed on a screen as he delivers remarks to West Point graduating cadets during their 2020 United States Military Academy graduation ceremony at West Point, New York, U.S. June 13, 2020."},
		{"In response to the measures taken by the US, Iran suspended part of its obligations under the JCPOA in two stages. In the summer of 2019, Iran announced that it was beginning the process of enriching uranium at a level higher than the 3.67% required by the nuclear deal.",
			"In the summer of 2019, Iran announced that it was beginning the process of enriching uranium at a level higher than the 3.67% required by the nuclear deal."},
	} {
		got := texts(tc.para, SplitSentences(tc.para))
		found := false
		for _, s := range got {
			found = found || s == tc.want
		}
		if !found {
			t.Errorf("no sentence %q in %q", tc.want, got)
		}
	}
}

// checkSpans holds the splitter's contract: spans in order, within bounds,
// non-overlapping, trimmed, and covering every non-space byte.
func checkSpans(t *testing.T, text string, spans []Span) {
	t.Helper()
	prev := 0
	for _, s := range spans {
		if s.Start < prev || s.End <= s.Start || s.End > len(text) {
			t.Fatalf("bad span %v after %d in %q (len %d)", s, prev, text, len(text))
		}
		if gap := text[prev:s.Start]; strings.TrimSpace(gap) != "" {
			t.Fatalf("non-space text %q left between spans in %q", gap, text)
		}
		if sent := s.Of(text); strings.TrimSpace(sent) != sent {
			t.Fatalf("span %q not trimmed", sent)
		}
		prev = s.End
	}
	if rest := text[prev:]; strings.TrimFunc(rest, unicode.IsSpace) != "" {
		t.Fatalf("non-space tail %q not covered in %q", rest, text)
	}
}

func FuzzSplitSentences(f *testing.F) {
	for _, tc := range splitCases {
		f.Add(tc.text)
	}
	f.Add("\xff.\xfe? “…”")
	f.Add("a.\n\n\n.b")
	f.Fuzz(func(t *testing.T, text string) {
		checkSpans(t, text, SplitSentences(text))
	})
}
