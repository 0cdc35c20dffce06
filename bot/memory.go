package bot

import (
	"context"
	"slices"
	"strings"
	"unicode"

	"github.com/verbatimbot/verbatim/retrieval"
)

// KeywordRewriter is the offline Rewriter: a follow-up that leans on the
// conversation — it has a pronoun or demonstrative ("it", "that", "they"),
// starts like a continuation ("and ...", "what about ..."), or has few
// content words — gets the salient words of the previous questions
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
	var carry []word
	seen := map[string]bool{}
	// Most recent question first: it is what the follow-up refers to.
	for i := len(q.History) - 1; i >= 0 && i >= len(q.History)-2; i-- {
		for _, w := range strings.FieldsFunc(q.History[i].Question, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '\'' && r != '’'
		}) {
			terms := retrieval.Terms(w)
			if len(terms) == 0 || have[terms[0]] || seen[terms[0]] {
				continue
			}
			seen[terms[0]] = true
			carry = append(carry, word{w, k.idf.IDF(terms[0])})
		}
		if len(carry) >= k.MaxCarry {
			break
		}
	}
	if len(carry) == 0 {
		return q.Text, nil
	}
	// Keep the rarest words, then restore question order.
	order := slices.Clone(carry)
	slices.SortStableFunc(order, func(a, b word) int {
		switch {
		case a.idf > b.idf:
			return -1
		case a.idf < b.idf:
			return 1
		}
		return 0
	})
	if len(order) > k.MaxCarry {
		order = order[:k.MaxCarry]
	}
	var out []string
	for _, w := range carry {
		if slices.Contains(order, w) {
			out = append(out, w.surface)
		}
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
	return len(retrieval.Terms(text)) <= 1
}
