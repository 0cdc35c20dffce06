package bot

import (
	"slices"
	"strings"

	"github.com/verbatimbot/verbatim/retrieval"
)

// Support: whether the articles answer a question at all. The refusal
// model (Models.Refusal, fitted by the eval package) gives the probability
// from the features below; two rules refuse whatever it says. Evidence
// carries the outcome (Support, DecisiveMissing, CueMissing, Supported).

// RefusalFeatureNames are the features the refusal model decides by, in the
// order of Evidence.Features:
//
//   - best_sentence, best_paragraph: the coverage of the question by the
//     best-ranked sentence and by its paragraph;
//   - bm25: the best passage's BM25 score divided by the question's IDF
//     mass (terms the corpus lacks counted at the highest IDF);
//   - unknown: the IDF-weighted share of the question the corpus has never
//     seen; rarest_known: the share of its two rarest terms the corpus has;
//   - cue_missing: it asks for a number or a date and the best sentence
//     offers none;
//   - ranker: the sentence model's log-odds for the best sentence;
//   - one_term: the question has a single content term (coverage is then
//     all or nothing);
//   - vector: the best passage's vector similarity to the question;
//   - pairs: the IDF-weighted share of the question's pairs of terms that
//     occur together in the best sentence (an answer holds them together;
//     an off-topic match holds one here, one there);
//   - top_in_paragraph: the share of the question's two heaviest terms in
//     the best sentence's paragraph;
//   - known_sentence, known_pairs: best_sentence and pairs over the terms
//     the corpus knows (a paraphrase's new words are then not held against
//     it; unknown says how much of the question they are);
//   - matched: how many of the question's terms the best sentence holds,
//     up to four, over four;
//   - syn_sentence: best_sentence crediting synonyms; unknown_nosyn: the
//     share of the question the corpus lacks even as a synonym;
//   - title: the coverage of the question by the best sentence's article
//     title (a question names what it is about);
//   - other_article: the best passage of another article's retrieval
//     score over the best passage's (1 when there is none): a question the
//     corpus covers has a clear winner;
//   - article: the coverage of the question by the retrieved paragraphs
//     of the best sentence's article (an answer's article names what the
//     question asks about, if not in the same paragraph);
//   - missing_heaviest: the weight of the heaviest question term the best
//     sentence's paragraph lacks, even spelt another way or as a synonym,
//     over the weight of a term the corpus has never seen (0: it lacks
//     none).
var RefusalFeatureNames = []string{"best_sentence", "best_paragraph", "bm25", "unknown", "rarest_known", "cue_missing", "ranker", "one_term", "vector", "pairs", "top_in_paragraph", "known_sentence", "known_pairs", "matched", "syn_sentence", "unknown_nosyn", "title", "other_article", "article", "missing_heaviest"}

// decision describes the evidence for Answer.Decision.
func (ev *Evidence) decision(m *Models) *Decision {
	d := &Decision{Support: ev.Support, Threshold: m.Refusal.Threshold, DecisiveMissing: ev.DecisiveMissing, CueMissing: ev.CueMissing, Lexical: m.lexical}
	for i, v := range ev.Features {
		d.Features = append(d.Features, Feature{RefusalFeatureNames[i], v})
	}
	return d
}

// Supported reports whether the evidence supports an answer under m: a
// candidate sentence, no decisive term and no wanted number or date
// missing, and Support at or above the refusal model's threshold.
func (ev *Evidence) Supported(m *Models) bool {
	return len(ev.Candidates) > 0 && !ev.DecisiveMissing && !ev.CueMissing && ev.Support >= m.Refusal.Threshold
}

// cueMissing looks for the wanted number or date in the sentences an
// answer could quote: the best one, its neighbours, and those the sentence
// model rates nearly as high (see Extractive.quote).
func (ev *Evidence) cueMissing() bool {
	if ev.q.want != numberAnswer || len(ev.Candidates) == 0 {
		return false
	}
	best := ev.Candidates[0]
	floor := defaultKeep * sigmoid(best.Score)
	for _, c := range ev.Candidates {
		near := c.ArticleID == best.ArticleID && c.Paragraph == best.Paragraph && (c.Index == best.Index-1 || c.Index == best.Index+1)
		if (near || sigmoid(c.Score) >= floor) && c.Features[8] == 1 {
			return false
		}
	}
	return true
}

func (ev *Evidence) decisiveMissing() bool {
	q := ev.q
	idx := q.byWeight()
	if len(idx) == 0 {
		return false
	}
	top := idx[0]
	// Only an English word the corpus never uses decides: a name, an
	// abbreviation or a misspelling may be the corpus's own spelt another way.
	if q.known[top] || len(q.syns[top]) > 0 || !isWord(q.terms[top]) {
		return false
	}
	if len(ev.Candidates) == 0 {
		return true
	}
	best := ev.Candidates[0]
	if spelt(best.terms, q.terms[top]) {
		return false // a misspelling or a compound: "jagger bomb", "sado masochism"
	}
	// A term the sentence has spelt another way counts as held: "defence"
	// of a sentence that says "defense".
	var matched []string
	for _, t := range q.terms {
		if spelt(best.terms, t) {
			matched = append(matched, t)
		}
	}
	switch len(matched) {
	case 0:
		return true
	case 1:
		// One word in common decides nothing when the article is about
		// it ("Where do flamingos live?" of an article on a lagoon's
		// flamingos); it is incidental when few of the article's
		// paragraphs have it (France in an article on Iran and Russia).
		return !ev.prominent(best.ArticleID, matched[0])
	}
	return false
}

// minProminence is the share of an article's paragraphs a term must be in
// for the article to be about it.
const minProminence = 0.25

// prominent reports whether term is in at least minProminence of the
// article's paragraphs (its title counting as one).
func (ev *Evidence) prominent(articleID, term string) bool {
	art, ok := ev.src.Article(articleID)
	if !ok || len(art.Paragraphs) == 0 {
		return false
	}
	n := 0
	if slices.Contains(retrieval.Terms(art.Title), term) {
		n++
	}
	for _, p := range art.Paragraphs {
		if slices.Contains(retrieval.Terms(p), term) {
			n++
		}
	}
	return float64(n) >= minProminence*float64(len(art.Paragraphs)+1)
}

// spelt reports whether set holds t or a term spelt like it.
func spelt(set map[string]bool, t string) bool {
	if set[t] {
		return true
	}
	for u := range set {
		if similarSpelling(t, u) {
			return true
		}
	}
	return false
}

// similarSpelling reports whether two terms are likely one word spelt two
// ways: the shorter, of five letters or more, is inside the longer (a
// compound: "masoch" in "sadomasoch") or one edit away from it (two for
// eight letters or more: "khatami", "khatemi").
func similarSpelling(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(a) < 5 {
		return false
	}
	if strings.Contains(b, a) {
		return true
	}
	limit := 1
	if len(a) >= 8 {
		limit = 2
	}
	return len(b)-len(a) <= limit && editDistance(a, b) <= limit
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func refusalFeatures(ev *Evidence) []float64 {
	q := ev.q
	f := make([]float64, len(RefusalFeatureNames))
	f[2] = ev.lexical
	f[3] = q.unknownShare()
	f[4] = q.rarestKnown()
	f[7] = b2f(len(q.terms) == 1)
	f[8] = ev.vector
	f[15] = q.unknownNoSynonym()
	f[17] = ev.margin
	if len(ev.Candidates) > 0 {
		best := ev.Candidates[0]
		f[0] = best.coverage
		f[1] = best.Features[2]
		f[5] = b2f(q.want != entityAnswer && best.Features[8] == 0)
		f[6] = best.Score
		f[9] = q.pairCoverage(best.terms)
		f[10] = q.topCoverage(best.para, 2)
		k := q.knownOnly()
		f[11] = k.coverage(best.terms)
		f[12] = k.pairCoverage(best.terms)
		matched := 0
		for _, t := range q.terms {
			if best.terms[t] {
				matched++
			}
		}
		f[13] = float64(min(matched, 4)) / 4
		f[14] = best.Features[12]
		f[16] = q.coverage(best.title)
		f[18] = q.coverage(ev.byArticle[best.ArticleID])
		for i, t := range q.terms {
			if spelt(best.para, t) || slices.ContainsFunc(q.syns[i], func(s string) bool { return best.para[s] }) {
				continue
			}
			f[19] = max(f[19], q.weights[i]/max(q.maxIDF, 1e-9))
		}
	} else {
		f[19] = 1
		f[5] = b2f(q.want == numberAnswer || q.want == timeAnswer)
		f[6] = -10
	}
	return f
}
