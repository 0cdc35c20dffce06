package bot

import (
	"slices"
	"strings"
	"unicode"

	"github.com/verbatimbot/verbatim/retrieval"
)

// Support measures how well a text supports an answer to a question, in
// [0, 1]: the IDF-weighted fraction of the question's content terms
// (retrieval.Terms) that the text contains, scaled down when
//
//   - the rarest question term the corpus knows is missing (the question's
//     most specific anchor, e.g. "INSTEX"), by RarestMissing, and
//   - the question asks for a number or date ("how many", "when") and the
//     answer text offers none beyond the question's own, by NoAnswerCue.
//
// Terms the corpus has never seen get UnknownWeight times the highest IDF
// rather than the highest IDF itself: they are as often paraphrases
// ("buy" for "purchase") as evidence that the topic is missing.
//
// The default thresholds were calibrated on testdata/seed-qa.jsonl (all
// unanswerable refused, hit@1 kept) and checked on the public WikiQA and
// QuAIL sets; see TestSeedQA and the README's figures.
type SupportOptions struct {
	// MinSupport: below this the answer is refused. Default
	// DefaultMinSupport.
	MinSupport float64
	// MinPassageSupport: the engine refuses without drafting when no
	// retrieved passage reaches this. Default DefaultMinPassageSupport.
	MinPassageSupport float64
	// UnknownWeight, RarestMissing and NoAnswerCue are the factors above.
	UnknownWeight, RarestMissing, NoAnswerCue float64
}

// Calibrated defaults, see SupportOptions.
const (
	DefaultMinSupport        = 0.45
	DefaultMinPassageSupport = 0.35
	defaultUnknownWeight     = 0.3
	defaultRarestMissing     = 0.6
	defaultNoAnswerCue       = 0.5
)

func (o SupportOptions) withDefaults() SupportOptions {
	if o.MinSupport <= 0 {
		o.MinSupport = DefaultMinSupport
	}
	if o.MinPassageSupport <= 0 {
		o.MinPassageSupport = DefaultMinPassageSupport
	}
	if o.UnknownWeight <= 0 {
		o.UnknownWeight = defaultUnknownWeight
	}
	if o.RarestMissing <= 0 {
		o.RarestMissing = defaultRarestMissing
	}
	if o.NoAnswerCue <= 0 {
		o.NoAnswerCue = defaultNoAnswerCue
	}
	return o
}

// IDFer gives the inverse document frequency of an analysed term; unknown
// terms get the highest value (as retrieval.Index.IDF does).
type IDFer interface {
	IDF(term string) float64
}

// unknownProbe is a term retrieval.Terms never produces, so its IDF is the
// value the index gives unknown terms.
const unknownProbe = "\x00unknown"

// query is an analysed question.
type query struct {
	terms   []string  // unique content terms, in question order
	weights []float64 // per term
	total   float64
	rarest  int // index of the highest-IDF term the corpus knows, -1 if none
	want    answerType
}

func analyzeQuestion(idf IDFer, text string, o SupportOptions) query {
	return analyzeFollowUp(idf, text, "", o)
}

// contextWeight scales the weight of terms a follow-up's standalone form
// took from the conversation: they steer retrieval, but the user's own words
// decide whether the articles answer.
const contextWeight = 0.35

// analyzeFollowUp analyses standalone, the question as searched; when own
// (the user's words) is set and differs, terms that own lacks count for
// contextWeight and the rarest-term anchor is taken from own's terms.
func analyzeFollowUp(idf IDFer, standalone, own string, o SupportOptions) query {
	q := query{rarest: -1, want: answerTypeOf(standalone)}
	var mine map[string]bool
	if own != "" && own != standalone {
		mine = termSet(retrieval.Terms(own))
		q.want = answerTypeOf(own)
	}
	unknown := idf.IDF(unknownProbe)
	seen := map[string]bool{}
	best, bestContext, rarestContext := -1.0, -1.0, -1
	for _, t := range retrieval.Terms(standalone) {
		if seen[t] {
			continue
		}
		seen[t] = true
		fromContext := mine != nil && !mine[t]
		w := idf.IDF(t)
		if w >= unknown-1e-9 {
			w = unknown * o.UnknownWeight
		} else if fromContext {
			if w > bestContext {
				bestContext, rarestContext = w, len(q.terms)
			}
		} else if w > best {
			best, q.rarest = w, len(q.terms)
		}
		if w <= 0 {
			w = 1e-3
		}
		if fromContext {
			w *= contextWeight
		}
		q.terms = append(q.terms, t)
		q.weights = append(q.weights, w)
		q.total += w
	}
	if q.rarest < 0 {
		q.rarest = rarestContext
	}
	return q
}

// coverage is the weighted fraction of the question's terms in set, and
// whether the rarest known term is among them.
func (q query) coverage(set map[string]bool) (float64, bool) {
	if q.total == 0 {
		return 0, false
	}
	var c float64
	for i, t := range q.terms {
		if set[t] {
			c += q.weights[i]
		}
	}
	rarestOK := q.rarest < 0 || set[q.terms[q.rarest]]
	return c / q.total, rarestOK
}

// gain is the weighted fraction of the question's terms in set that are
// not in have.
func (q query) gain(set, have map[string]bool) float64 {
	if q.total == 0 {
		return 0
	}
	var g float64
	for i, t := range q.terms {
		if set[t] && !have[t] {
			g += q.weights[i]
		}
	}
	return g / q.total
}

// support combines coverage and the two penalties described on
// SupportOptions. answer is the text offered as the answer (for the cue).
func (q query) support(set map[string]bool, answer string, o SupportOptions) float64 {
	s, rarestOK := q.coverage(set)
	if !rarestOK {
		s *= o.RarestMissing
	}
	if (q.want == numberAnswer || q.want == timeAnswer) && !q.want.cued(answer, q) {
		s *= o.NoAnswerCue
	}
	return s
}

// passageSupport is the best support of any hit, on passage text alone.
func passageSupport(q query, hits []retrieval.Hit, o SupportOptions) float64 {
	best := 0.0
	for _, h := range hits {
		set := termSet(retrieval.Terms(h.Title + "\n" + h.Text))
		if s := q.support(set, h.Text, o); s > best {
			best = s
		}
	}
	return best
}

func termSet(terms []string) map[string]bool {
	m := make(map[string]bool, len(terms))
	for _, t := range terms {
		m[t] = true
	}
	return m
}

// answerType is what kind of answer a question asks for, when cheap to tell.
type answerType int

const (
	anyAnswer answerType = iota
	numberAnswer
	timeAnswer
	// entityAnswer (who, where): only a scoring cue, never a refusal
	// reason, since names are too varied to require.
	entityAnswer
)

func answerTypeOf(question string) answerType {
	q := strings.ToLower(strings.TrimSpace(question))
	for _, p := range []string{"how many", "how much", "what percentage", "what percent", "how old", "how long", "how far", "how big", "how large"} {
		if strings.HasPrefix(q, p) || strings.Contains(q, " "+p+" ") {
			return numberAnswer
		}
	}
	for _, p := range []string{"when ", "what year", "which year", "what date", "what day", "in what year"} {
		if strings.HasPrefix(q, p) || strings.Contains(q, " "+p) {
			return timeAnswer
		}
	}
	for _, p := range []string{"who ", "whom ", "whose ", "where ", "which country", "which city"} {
		if strings.HasPrefix(q, p) || strings.Contains(q, " "+p) {
			return entityAnswer
		}
	}
	return anyAnswer
}

var timeWords = []string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december", "monday", "tuesday",
	"wednesday", "thursday", "friday", "saturday", "sunday", "century", "decade",
	"year", "month", "week", "today", "yesterday", "ago", "earlier", "later"}

var numberWords = []string{"one", "two", "three", "four", "five", "six", "seven", "eight",
	"nine", "ten", "eleven", "twelve", "twenty", "thirty", "forty", "fifty", "hundred",
	"thousand", "million", "billion", "dozen", "several", "half", "once", "twice"}

// cued reports whether text offers an answer of the wanted type that is not
// already in the question: a number (or number word) for numberAnswer, and a
// number, month or time word for timeAnswer.
func (t answerType) cued(text string, q query) bool {
	if t == entityAnswer {
		return hasNewName(text, q)
	}
	inQuestion := map[string]bool{}
	for _, term := range q.terms {
		inQuestion[term] = true
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return r == ' ' || r == ',' || r == '(' || r == ')' || r == '“' || r == '”' || r == '"' || r == ';' || r == ':'
	}) {
		w = strings.TrimRight(w, ".!?%’'")
		if w == "" || inQuestion[w] {
			continue
		}
		if strings.ContainsAny(w, "0123456789") {
			if strings.IndexFunc(w, func(r rune) bool { return r >= 'a' && r <= 'z' }) >= 0 &&
				!strings.HasSuffix(w, "th") && !strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "st") &&
				!strings.HasSuffix(w, "nd") && !strings.HasSuffix(w, "rd") {
				continue // "s-400", "covid-19": names, not quantities
			}
			return true
		}
		if slices.Contains(numberWords, w) || t == timeAnswer && slices.Contains(timeWords, w) {
			return true
		}
	}
	return false
}

// hasNewName reports whether text has a capitalised word, not at the start
// of the text, that is not one of the question's terms.
func hasNewName(text string, q query) bool {
	words := strings.Fields(text)
	for i, w := range words {
		if i == 0 || !unicode.IsUpper(firstRune(w)) {
			continue
		}
		terms := retrieval.Terms(w)
		if len(terms) > 0 && !slices.Contains(q.terms, terms[0]) {
			return true
		}
	}
	return false
}
