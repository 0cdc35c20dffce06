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
		{"How many trips has Rodman made in under 12 months?", "It's his fourth trip in less than 12 months.", true},
		{"How many trips has Rodman made in under 12 months?", "He went for the first time in 12 months.", false},
		{"How many people were killed in the bombing?", "On April 19, 2000, the memorial was dedicated.", false},
		{"How many people were killed in the bombing?", "The blast claimed 168 lives.", true},
		{"How many games are there?", "Banner used on game covers from 2005-2010.", false},
		{"How many games are there?", "It ran from 1951–57 and in the 1990s.", false},
		{"How many games are there?", "There are 1990 games.", true},
		{"When was it signed?", "It was signed in 2001.", true},
		{"When was it signed?", "It was signed in the 1990s.", true},
		{"When was it signed?", "It was signed on August 22.", true},
		{"When was it signed?", "It was signed by both sides.", false},
		{"Who is the ambassador?", "said Qasem Jalali, the Iranian Ambassador.", true},
		{"Who is the ambassador?", "the ambassador spoke.", false},
	}
	for _, tc := range tests {
		q := analyze(idf, tc.question, "")
		if got := q.want.cued(tc.text, q); got != tc.want {
			t.Errorf("cued(%q, %q) = %v, want %v", tc.question, tc.text, got, tc.want)
		}
	}
}

func TestQueryEvidence(t *testing.T) {
	idf := fakeIDF{"instex": 4.5, "trade": 1.5, "iran": 0.3, "defens": 2, "minist": 1.5, "franc": 3}
	tests := []struct {
		question     string
		unknown      float64 // unknownShare, ±0.01
		rarestKnown  float64
		coverageText string
		coverage     float64 // of coverageText, ±0.01
	}{
		{"Who is Iran's Defense Minister?", 0, 1, "the Iranian Defense Minister", 0.83},
		{"What is the capital of France?", 0.62, 0.5, "France and Germany", 0.38},
		{"What is the boiling point of water?", 1, 0, "West Point", 0.33},
		{"What does INSTEX stand for?", 0.54, 0.5, "It was named INSTEX.", 0.46},
	}
	for _, tc := range tests {
		q := analyze(idf, tc.question, "")
		if got := q.unknownShare(); math.Abs(got-tc.unknown) > 0.01 {
			t.Errorf("%q: unknownShare %.3f, want %.2f (terms %v)", tc.question, got, tc.unknown, q.terms)
		}
		if got := q.rarestKnown(); got != tc.rarestKnown {
			t.Errorf("%q: rarestKnown %.2f, want %.2f", tc.question, got, tc.rarestKnown)
		}
		if got := q.coverage(termSet(termsOf(tc.coverageText))); math.Abs(got-tc.coverage) > 0.01 {
			t.Errorf("%q: coverage of %q %.3f, want %.2f", tc.question, tc.coverageText, got, tc.coverage)
		}
	}
}

func termsOf(text string) []string { return retrieval.Terms(text) }

func TestSimilarSpelling(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"masoch", "sadomasoch", true},
		{"khatami", "khatemi", true},
		{"paint", "main", false},
		{"mona", "moon", false},
		{"capit", "capabl", false},
		{"instrument", "instrumnet", true},
	} {
		if got := similarSpelling(tt.a, tt.b); got != tt.want {
			t.Errorf("similarSpelling(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
