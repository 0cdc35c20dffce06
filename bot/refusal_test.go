package bot

import (
	"math"
	"testing"

	"github.com/verbatimbot/verbatim/retrieval"
)

// fakeIDF gives fixed IDFs; unknown terms get the highest value, as the
// retrieval index does.
type fakeIDF map[string]float64

func (f fakeIDF) IDF(term string) float64 {
	if w, ok := f[term]; ok {
		return w
	}
	return math.Log(1 + 100.5/0.5)
}

func TestAnswerTypeOf(t *testing.T) {
	for q, want := range map[string]answerType{
		"How many times has Zarif visited Moscow?": numberAnswer,
		"how much did it cost":                     numberAnswer,
		"When was Iran disconnected from SWIFT?":   timeAnswer,
		"In what year was it signed?":              timeAnswer,
		"Who is Iran's Defense Minister?":          entityAnswer,
		"Where did Zarif fly to Moscow from?":      entityAnswer,
		"What does INSTEX stand for?":              anyAnswer,
	} {
		if got := answerTypeOf(q); got != want {
			t.Errorf("answerTypeOf(%q) = %d, want %d", q, got, want)
		}
	}
}

func TestCued(t *testing.T) {
	idf := fakeIDF{"s-400": 3, "iran": 0.3, "system": 2, "pay": 4}
	tests := []struct {
		question, text string
		want           bool
	}{
		{"How much did Iran pay for the S-400 systems?", "Tehran’s interest is turned to the S-400 missile system.", false},
		{"How much did Iran pay for the S-400 systems?", "Iran paid $2 billion for the S-400.", true},
		{"How many countries were invited?", "Twenty countries were invited.", true},
		{"How many countries were invited?", "90 countries were invited.", true},
		{"How many countries were invited?", "Dozens of countries, several of them in NATO.", true},
		{"When was it signed?", "It was signed in 2001.", true},
		{"When was it signed?", "It was signed on August 22.", true},
		{"When was it signed?", "It was signed by both sides.", false},
		{"Who is the ambassador?", "said Qasem Jalali, the Iranian Ambassador.", true},
		{"Who is the ambassador?", "the ambassador spoke.", false},
	}
	for _, tc := range tests {
		q := analyzeQuestion(idf, tc.question, SupportOptions{}.withDefaults())
		if got := q.want.cued(tc.text, q); got != tc.want {
			t.Errorf("cued(%q, %q) = %v, want %v", tc.question, tc.text, got, tc.want)
		}
	}
}

func TestSupport(t *testing.T) {
	idf := fakeIDF{"instex": 4.5, "trade": 1.5, "iran": 0.3, "popul": 0, "defens": 2, "minist": 1.5}
	delete(idf, "popul")
	o := SupportOptions{}.withDefaults()
	tests := []struct {
		name, question, text string
		refuse               bool
	}{
		{"all terms", "Who is Iran's Defense Minister?", "the Iranian Defense Minister, Amir Khatami, arrived", false},
		{"rare anchor present, paraphrase missing", "What does INSTEX stand for?", "It was named INSTEX (Instrument in Support of Trade Exchanges).", false},
		{"only a common term", "What is the population of Iran?", "Iran and Russia resume cooperation.", true},
		{"rarest known term missing", "What does INSTEX say about trade with Iran?", "Trade with Iran grew.", true},
		{"number wanted, none offered", "How many ministers met in Iran?", "The Iranian ministers met in Tehran.", true},
		{"number wanted and offered", "How many ministers met in Iran?", "Three ministers met in Iran.", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := analyzeQuestion(idf, tc.question, o)
			s := q.support(termSet(termsOf(tc.text)), tc.text, o)
			if got := s < o.MinSupport; got != tc.refuse {
				t.Errorf("support %.3f (threshold %.2f): refuse %v, want %v", s, o.MinSupport, got, tc.refuse)
			}
		})
	}
}

func termsOf(text string) []string { return retrieval.Terms(text) }
