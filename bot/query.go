package bot

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/verbatimbot/verbatim/retrieval"
)

// IDFer gives the inverse document frequency of an analysed term; unknown
// terms get the highest value (as retrieval.Index.IDF does).
type IDFer interface {
	IDF(term string) float64
}

// unknownProbe is a term retrieval.Terms never produces, so its IDF is the
// value the index gives unknown terms.
const unknownProbe = "\x00unknown"

// contextWeight scales the weight of terms a follow-up's standalone form
// took from the conversation: they steer retrieval, but the user's own words
// decide whether the articles answer.
const contextWeight = 0.35

// query is an analysed question: its unique content terms (retrieval.Terms,
// so Unicode-folded and stemmed as the corpus is), each weighted by its IDF.
// A term the corpus has never seen weighs the highest IDF there is: it is
// the most specific word of the question, and its absence is evidence.
type query struct {
	terms   []string   // unique content terms, in question order
	weights []float64  // per term: IDF (context terms scaled by contextWeight)
	known   []bool     // per term: the corpus has it
	syns    [][]string // per term: its synonyms the corpus has (terms)
	// synWords are the same synonyms as words, to search for.
	synWords [][]string
	total    float64 // sum of weights
	rawMass  float64 // sum of the terms' BM25 IDFs (unsmoothed), for scaling BM25 scores
	maxIDF   float64 // the IDF of an unknown term
	rarest   int     // index of the highest-IDF known own term, -1 if none
	want     answerType
	// counted are the terms a number must stand next to for it to answer
	// (see countedTerms); nil: any amount does.
	counted map[string]bool
	// abbrevs are the acronyms that stand for names the question spells
	// out and the corpus does not (see abbreviated), as words.
	abbrevs []string
}

// frameWeight scales the weight of a question's frame words: the noun
// that names the kind of answer wanted right after "what"/"which" ("what
// year", "which city", "what is the name of"). An answer rarely repeats it
// ("in 2001", "from Ankara"), so it is no evidence either way.
const frameWeight = 0.2

// frameNouns are the nouns that, after a wh-word, say what kind of answer
// is wanted.
var frameNouns = set("year", "years", "date", "day", "month", "time", "name", "names", "city", "cities",
	"country", "countries", "nation", "nations", "place", "places", "kind", "type", "sort", "number",
	"amount", "percentage", "percent", "person", "people", "reason", "way", "term", "word", "period", "decade", "century")

// howWords follow "how" to ask for an amount or a degree.
var howWords = set("many", "much", "long", "old", "far", "big", "large", "tall", "high", "often", "deep", "wide", "fast")

// frameTerms returns the analysed terms of text's frame words.
func frameTerms(text string) map[string]bool {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' })
	out := map[string]bool{}
	for i, w := range words {
		if i > 0 && words[i-1] == "how" && howWords[w] {
			for _, t := range retrieval.Terms(w) {
				out[t] = true // "how many", "how much": the kind of answer, not its topic
			}
			continue
		}
		if !frameNouns[w] {
			continue
		}
		// "what year", "which city", "what kind", "whose name"; "what is
		// the name of", "what was the date of".
		prev := func(k int) string {
			if i-k >= 0 {
				return words[i-k]
			}
			return ""
		}
		wh := map[string]bool{"what": true, "which": true, "whose": true}
		if wh[prev(1)] || (prev(1) == "the" && (prev(2) == "is" || prev(2) == "was" || prev(2) == "are" || prev(2) == "were") && wh[prev(3)]) ||
			(prev(1) == "many" && prev(2) == "how") {
			for _, t := range retrieval.Terms(w) {
				out[t] = true
			}
		}
	}
	return out
}

// smoothDocs is how many documents that hold none of a question's terms
// smoothIDF adds to the corpus, so that a term's weight means about the
// same in a corpus of one article as in one of thousands: in a single
// article its topic words ("Iran") are in every passage and BM25 gives
// them no weight at all, though a question that has them is on its topic.
const smoothDocs = 100

// smoothIDF is the BM25 IDF of term over the index's passages plus
// smoothDocs background documents without it. The counts are recovered
// from idf's values (for term, and for a term no passage has).
func smoothIDF(idf IDFer, term string) (w float64, known bool) {
	unknown := idf.IDF(unknownProbe)
	raw := idf.IDF(term)
	known = raw < unknown-1e-9
	// IDF = ln(1 + (N−df+0.5)/(df+0.5)); unknown: df = 0.
	n := (math.Exp(unknown)-1)*0.5 - 0.5
	df := 0.0
	if known {
		df = (n+1)/math.Exp(raw) - 0.5
		df = min(max(df, 0), n)
	}
	return math.Log(1 + (n+smoothDocs-df+0.5)/(df+0.5)), known
}

// analyze analyses standalone, the question as searched; when own (the
// user's words) is set and differs, terms that own lacks count for
// contextWeight and the rarest-term anchor is taken from own's terms.
// Weights are smoothIDF; frame words weigh frameWeight of theirs.
func analyze(idf IDFer, standalone, own string) query {
	q := query{rarest: -1, want: answerTypeOf(standalone), counted: countedTerms(standalone)}
	q.maxIDF, _ = smoothIDF(idf, unknownProbe)
	var mine map[string]bool
	frame := frameTerms(standalone)
	if own != "" && own != standalone {
		ownTerms, _ := abbreviated(idf, own, names(own))
		mine = termSet(ownTerms)
		q.want = answerTypeOf(own)
		q.counted = countedTerms(own)
		for t := range frameTerms(own) {
			frame[t] = true
		}
	}
	ns := names(standalone)
	acr := acronyms(ns)
	best, bestContext, rarestContext := -1.0, -1.0, -1
	terms, abbrevs := abbreviated(idf, standalone, ns)
	q.abbrevs = abbrevs
	for _, t := range terms {
		if slices.Contains(q.terms, t) {
			continue
		}
		fromContext := mine != nil && !mine[t]
		w, known := smoothIDF(idf, t)
		q.rawMass += idf.IDF(t)
		if known && fromContext && w > bestContext {
			bestContext, rarestContext = w, len(q.terms)
		} else if known && !fromContext && w > best {
			best, q.rarest = w, len(q.terms)
		}
		w = max(w, 1e-3)
		if fromContext {
			w *= contextWeight
		}
		if frame[t] {
			w *= frameWeight
		}
		var syns, words []string
		for _, w := range slices.Concat(synonymsOf(t), acr[t]) {
			st := retrieval.Terms(w)
			if len(st) != 1 {
				continue
			}
			if _, k := smoothIDF(idf, st[0]); k && !slices.Contains(syns, st[0]) {
				syns, words = append(syns, st[0]), append(words, w)
			}
		}
		q.terms = append(q.terms, t)
		q.weights = append(q.weights, w)
		q.known = append(q.known, known)
		q.syns = append(q.syns, syns)
		q.synWords = append(q.synWords, words)
		q.total += w
	}
	if q.rarest < 0 {
		q.rarest = rarestContext
	}
	return q
}

// share is the weighted fraction of the question's terms for which in
// holds; an empty question has none of anything (0), except what empty
// says.
func (q query) share(in func(i int) bool, empty float64) float64 {
	if q.total == 0 {
		return empty
	}
	var c float64
	for i := range q.terms {
		if in(i) {
			c += q.weights[i]
		}
	}
	return c / q.total
}

// coverage is the weighted fraction of the question's terms in set.
func (q query) coverage(set map[string]bool) float64 {
	return q.share(func(i int) bool { return set[q.terms[i]] }, 0)
}

// synCoverage is coverage crediting a term that set lacks when set has
// one of its synonyms.
func (q query) synCoverage(set map[string]bool) float64 {
	return q.share(func(i int) bool {
		return set[q.terms[i]] || slices.ContainsFunc(q.syns[i], func(s string) bool { return set[s] })
	}, 0)
}

// unknownNoSynonym is the weighted share of the question that the corpus
// lacks even as a synonym.
func (q query) unknownNoSynonym() float64 {
	return q.share(func(i int) bool { return !q.known[i] && len(q.syns[i]) == 0 }, 1)
}

// gain is the weighted fraction of the question's terms in set that are
// not in have.
func (q query) gain(set, have map[string]bool) float64 {
	return q.share(func(i int) bool { return set[q.terms[i]] && !have[q.terms[i]] }, 0)
}

// unknownShare is the weighted fraction of the question the corpus has
// never seen.
func (q query) unknownShare() float64 {
	return q.share(func(i int) bool { return !q.known[i] }, 1)
}

// rarestKnown is the share of the question's two highest-weighted terms
// that occur somewhere in the corpus: a question whose decisive word the
// corpus lacks ("capital" in "What is the capital of France?") is about
// something else.
func (q query) rarestKnown() float64 {
	if len(q.terms) == 0 {
		return 0
	}
	idx := q.byWeight()
	n := min(2, len(idx))
	var known float64
	for _, i := range idx[:n] {
		if q.known[i] {
			known++
		}
	}
	return known / float64(n)
}

// pairCoverage is the share of the question's pairs of terms, each pair
// weighted by the product of its terms' weights, that are both in set. A
// one-term question's single "pair" is that term.
func (q query) pairCoverage(set map[string]bool) float64 {
	if len(q.terms) < 2 {
		return q.coverage(set)
	}
	var have, all float64
	for i := range q.terms {
		for j := i + 1; j < len(q.terms); j++ {
			w := q.weights[i] * q.weights[j]
			all += w
			if set[q.terms[i]] && set[q.terms[j]] {
				have += w
			}
		}
	}
	if all == 0 {
		return 0
	}
	return have / all
}

// topCoverage is the weighted share of the question's n heaviest terms in
// set.
func (q query) topCoverage(set map[string]bool, n int) float64 {
	idx := q.byWeight()
	idx = idx[:min(n, len(idx))]
	var have, all float64
	for _, i := range idx {
		all += q.weights[i]
		if set[q.terms[i]] {
			have += q.weights[i]
		}
	}
	if all == 0 {
		return 0
	}
	return have / all
}

// expansion is the words a search adds: for the question's terms the
// corpus lacks, their synonyms it has that are the same word spelt another
// way ("defense" for "defence", "normalize" for "normalise"); for a name
// spelt out, the corpus's acronym of it ("UAE" for "United Arab
// Emirates"), twice, whether the corpus spells the name out too or not
// (abbrevs). The engine searches the question twice and these once.
// Other synonyms are credited in the evidence but not searched: measured,
// searching them found more passages for questions the corpus does not
// cover than for those it does.
func (q query) expansion() []string {
	var out []string
	for _, a := range q.abbrevs {
		out = append(out, a, a)
	}
	for i := range q.terms {
		for j, s := range q.syns[i] {
			w := q.synWords[i][j]
			switch {
			case slices.Contains(out, w):
			case isAcronym(w):
				// The name it stands for, so as much as the question's
				// own words: the search repeats them too.
				out = append(out, w, w)
			case !q.known[i] && similarSpelling(q.terms[i], s):
				out = append(out, w)
			}
		}
	}
	return out
}

// isAcronym reports whether w is an acronym made by acronyms: upper-case
// letters only (WordNet's synonyms are lower-case).
func isAcronym(w string) bool {
	return len(w) >= 2 && strings.IndexFunc(w, func(r rune) bool { return !unicode.IsUpper(r) }) < 0
}

// knownOnly is q without the terms the corpus lacks.
func (q query) knownOnly() query {
	k := query{rarest: -1, want: q.want, maxIDF: q.maxIDF}
	for i, t := range q.terms {
		if q.known[i] {
			k.terms = append(k.terms, t)
			k.weights = append(k.weights, q.weights[i])
			k.known = append(k.known, true)
			k.syns = append(k.syns, q.syns[i])
			k.synWords = append(k.synWords, q.synWords[i])
			k.total += q.weights[i]
		}
	}
	return k
}

// byWeight returns the indexes of the question's terms, heaviest first.
func (q query) byWeight() []int {
	idx := make([]int, len(q.terms))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case q.weights[a] > q.weights[b]:
			return -1
		case q.weights[a] < q.weights[b]:
			return 1
		}
		return 0
	})
	return idx
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
	for _, p := range []string{"how many", "how much", "what percentage", "what percent", "how old", "how long", "how far", "how big", "how large", "how tall", "how high"} {
		if strings.HasPrefix(q, p) || strings.Contains(q, " "+p+" ") {
			return numberAnswer
		}
	}
	// "What did Iran pay …", "what does it cost": an amount is asked of
	// a verb right after "what did/does/was …" and its subject ("What
	// forced him to pay attention?" asks no amount).
	if m := amountVerb.FindStringSubmatch(q); m != nil {
		return numberAnswer
	}
	// "What is the price of …", "what was Iran's population": a quantity
	// is the thing asked for ("What city's population grew?" asks a city).
	if amountNoun.MatchString(q) {
		return numberAnswer
	}
	// "when" asks for a time only at the start ("What did he do when he
	// went to Boston?" does not).
	if strings.HasPrefix(q, "when ") || strings.HasPrefix(q, "since when") || strings.HasPrefix(q, "until when") {
		return timeAnswer
	}
	for _, p := range []string{"what year", "which year", "what date", "what day", "what time", "what month", "which month", "which day"} {
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

// amountVerb and amountNoun find questions asking for an amount: "what
// did Tehran pay for …", "what does it cost", "what is the price of …",
// "what was Iran's population", "how large is the population".
var (
	amountVerb = regexp.MustCompile(`^(?:what|how much) (?:did|does|do|will|would|was|is|were|are|has|had|have)(?: \S+){1,4} (?:pay|paid|spend|spent|cost|costs|earn|earned|earns|worth|fetch|sell for|sold for)\b`)
	amountNoun = regexp.MustCompile(`^(?:what|how (?:large|big|high|much))(?:(?: is| was| are| were| will be)(?: the| its| their| his| her| \S+'s)?|'s(?: the)?)? (?:current |total |estimated |annual |approximate )?(?:price|cost|population|number of|amount of|percentage|rate|exchange rate|height|length|distance|weight|salary|budget|gdp|size|area|value|revenue|income|speed|depth|temperature)\b`)
)

var timeWords = []string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december", "monday", "tuesday",
	"wednesday", "thursday", "friday", "saturday", "sunday", "century", "decade",
	"year", "month", "week", "today", "yesterday", "ago", "earlier", "later",
	"after", "before", "during", "since", "until", "while", "once", "when"}

// numberWords are amounts spelt out, and ordinals, which count too ("his
// fourth trip" says how many trips). "one", "first" and "second" are left
// out: "one of the …", "for the first time", "a second" are no amounts.
var numberWords = []string{"two", "three", "four", "five", "six", "seven", "eight",
	"nine", "ten", "eleven", "twelve", "twenty", "thirty", "forty", "fifty", "hundred",
	"thousand", "million", "billion", "dozen", "several", "half", "twice",
	"third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
	"eleventh", "twelfth", "twentieth", "thirtieth", "hundredth"}

// cued reports whether text offers an answer of the wanted type that is not
// already in the question: a number (or number word) for numberAnswer; a
// number, month or time word for timeAnswer; a capitalised name for
// entityAnswer. anyAnswer is always cued.
func (t answerType) cued(text string, q query) bool {
	switch t {
	case anyAnswer:
		return true
	case entityAnswer:
		return hasNewName(text, q)
	}
	inQuestion := termSet(q.terms)
	prev, dayOfMonth := "", false
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return r == ' ' || r == ',' || r == '(' || r == ')' || r == '“' || r == '”' || r == '"' || r == ';' || r == ':'
	})
	for i, w := range words {
		w = strings.TrimRight(w, ".!?%’'")
		afterMonth := slices.Contains(timeWords[:12], prev)
		// "in 2019", "since 1998", "April 19, 2000"
		yearPlace := i == 0 || yearPrepositions[prev] || afterMonth || dayOfMonth
		dayOfMonth = afterMonth && w != "" && w[0] >= '0' && w[0] <= '9'
		prev = w
		if w == "" || inQuestion[w] {
			continue
		}
		if t == numberAnswer && q.counted != nil && !countsNear(words, i, q.counted) {
			continue // "two stages" does not say how many people
		}
		// A year, a span or decade of years, or a day of a month is no
		// amount: "In 2019, Iran …", "the 1990s", "2005–2010" do not say
		// how many people live there (but "rose to 1909 tonnes" does).
		if t == numberAnswer && (isYear(w) && yearPlace || afterMonth || isYears(w)) {
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
		for part := range strings.SplitSeq(w, "-") { // "twenty-three"
			if slices.Contains(numberWords, part) || slices.Contains(numberWords, strings.TrimSuffix(part, "s")) || t == timeAnswer && slices.Contains(timeWords, part) {
				return true
			}
		}
	}
	return false
}

// countsNear reports whether one of the counted terms is among the three
// words around words[i] ("80 million people", "a population of 80").
func countsNear(words []string, i int, counted map[string]bool) bool {
	for _, w := range words[max(i-3, 0):min(i+4, len(words))] {
		for _, t := range retrieval.Terms(w) {
			if counted[t] {
				return true
			}
		}
	}
	return false
}

// countedTerms returns what a question's answer must count: a population
// is a number of people ("… 80 million people", "a population of 80
// million"), so "two stages" does not answer it. Other "how many"
// questions count too loosely to require it (the answer may be spelt out
// or need counting), so they return nil.
func countedTerms(question string) map[string]bool {
	q := strings.ToLower(question)
	if !strings.Contains(q, "population") && !strings.Contains(q, "inhabitants") && !strings.Contains(q, "how many people live") {
		return nil
	}
	out := map[string]bool{}
	for _, w := range []string{"people", "inhabitants", "residents", "population", "citizens", "million", "billion"} {
		for _, t := range retrieval.Terms(w) {
			out[t] = true
		}
	}
	return out
}

// yearPrepositions put a year where a date goes.
var yearPrepositions = set("in", "since", "by", "until", "from", "before", "after", "of", "during", "till", "circa")

// isYears reports whether w is a decade ("1990s") or a span of years
// ("2005-2010", "1951–57").
func isYears(w string) bool {
	if d, ok := strings.CutSuffix(w, "s"); ok && isYear(d) && d[3] == '0' {
		return true
	}
	from, to, ok := strings.Cut(w, "-")
	if !ok {
		from, to, ok = strings.Cut(w, "–")
	}
	if !ok || !isYear(from) {
		return false
	}
	if len(to) == 2 {
		to = from[:2] + to
	}
	return isYear(to) && to > from
}

// isYear reports whether w is a four-digit year from 1000 to 2199.
func isYear(w string) bool {
	if len(w) != 4 || (w[0] != '1' && !(w[0] == '2' && w[1] <= '1')) {
		return false
	}
	for i := range 4 {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return true
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
