package bot

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"unicode"

	"github.com/verbatimbot/verbatim/retrieval"
)

// KeywordRewriter is the offline Rewriter: a follow-up that leans on the
// conversation — it has a pronoun or demonstrative ("it", "that", "they"),
// starts like a continuation ("and ...", "what about ..."), or has no
// content word of its own — gets the salient words of the previous questions
// appended, rarest first, so that retrieval sees the topic. Other questions
// pass unchanged.
type KeywordRewriter struct {
	idf IDFer
	// MaxCarry is how many words are carried over. Default 4.
	MaxCarry int
}

var _ Rewriter = (*KeywordRewriter)(nil)

// NewKeywordRewriter returns a keyword carry-over rewriter that ranks words
// by idf.
func NewKeywordRewriter(idf IDFer) *KeywordRewriter {
	return &KeywordRewriter{idf: idf, MaxCarry: 4}
}

// anaphora are words that point back into the conversation.
var anaphora = set("it", "its", "it's", "that", "this", "these", "those", "they",
	"them", "their", "theirs", "he", "him", "his", "she", "her", "hers", "there",
	"then", "such", "same", "former", "latter", "one", "ones")

var continuations = []string{"and ", "but ", "also ", "what about", "how about", "and?", "why?", "when?", "where?", "who?", "how?"}

// Rewrite returns q.Text, with carried-over words when it is a follow-up.
func (k *KeywordRewriter) Rewrite(_ context.Context, q Question) (string, error) {
	text := strings.TrimSpace(q.Text)
	if len(q.History) == 0 || !isFollowUp(text) {
		return q.Text, nil
	}
	have := termSet(retrieval.Terms(text))
	type word struct {
		surface string
		idf     float64
	}
	var out []string
	seen := map[string]bool{}
	// Most recent question first: it is what the follow-up refers to. Its
	// rarest words are carried before any of an older question's.
	for i := len(q.History) - 1; i >= 0 && i >= len(q.History)-2 && len(out) < k.MaxCarry; i-- {
		prev := q.History[i].Standalone
		if prev == "" {
			prev = q.History[i].Question
		}
		var words []word
		for _, w := range strings.FieldsFunc(prev, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '\'' && r != '’'
		}) {
			terms := retrieval.Terms(w)
			if len(terms) == 0 || have[terms[0]] || seen[terms[0]] {
				continue
			}
			seen[terms[0]] = true
			words = append(words, word{w, k.idf.IDF(terms[0])})
		}
		// Keep this turn's rarest words, in the order the question has them.
		rarest := slices.Clone(words)
		slices.SortStableFunc(rarest, func(a, b word) int { return cmp.Compare(b.idf, a.idf) })
		rarest = rarest[:min(len(rarest), k.MaxCarry-len(out))]
		for _, w := range words {
			if slices.Contains(rarest, w) {
				out = append(out, w.surface)
			}
		}
	}
	if len(out) == 0 {
		return q.Text, nil
	}
	return text + " " + strings.Join(out, " "), nil
}

// isFollowUp reports whether a question leans on the conversation.
func isFollowUp(text string) bool {
	lower := strings.ToLower(text)
	for _, c := range continuations {
		if strings.HasPrefix(lower, c) || lower == strings.TrimSpace(c) {
			return true
		}
	}
	for _, w := range strings.FieldsFunc(lower, func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\'' && r != '’'
	}) {
		if anaphora[w] {
			return true
		}
	}
	// "Why?", "How so?": nothing of its own to search for.
	return len(retrieval.Terms(text)) == 0
}

// acceptRewrite reports whether a model's standalone form of a follow-up
// can be searched: it must keep at least half of the user's own content
// terms, or — when the follow-up has none ("and when?") — at least one of
// the conversation's topic terms (those of the last question as searched).
// A gibberish rewrite keeps neither and is not trusted.
func acceptRewrite(rewrite string, q Question) bool {
	got := termSet(retrieval.Terms(rewrite))
	if len(got) == 0 {
		return false
	}
	own := uniqueTerms(q.Text)
	if len(own) > 0 {
		kept := 0
		for _, t := range own {
			if got[t] {
				kept++
			}
		}
		return 2*kept >= len(own)
	}
	if len(q.History) == 0 {
		return true
	}
	last := q.History[len(q.History)-1]
	for _, t := range retrieval.Terms(cmpOr(last.Standalone, last.Question)) {
		if got[t] {
			return true
		}
	}
	return false
}

func uniqueTerms(text string) []string {
	var out []string
	for _, t := range retrieval.Terms(text) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
