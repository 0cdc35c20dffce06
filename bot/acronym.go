package bot

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/verbatimbot/verbatim/retrieval"
)

// acronymConnectors may stand inside a capitalised name without
// starting a word of it: "Plan of Action", "Board of Directors". "and"
// and "in" may not: "Dinah and Dana" is two names, no DAD, and "Range in
// Math" no RIM.
var acronymConnectors = set("of", "for", "the")

// maxAcronymWords bounds the names whose initials are tried.
const maxAcronymWords = 6

// minAcronym is the fewest letters an acronym tried has: two-letter ones
// are too often something else ("Casey Anthony" is no CA, California).
const minAcronym = 3

// name is a capitalised name found in a question: its terms, and the
// acronyms it could be written as.
type name struct {
	terms []string
	forms []string
}

// names finds the names in text — runs of two or more words in title case
// that are no stopwords ("Which", "What" at the start of a question are),
// connectors allowed between them, and every such run inside a longer one
// — with the acronyms of three letters or more each could be written as:
// its initials without and with the connectors' ("United Arab Emirates":
// UAE; "Joint Comprehensive Plan of Action": JCPA, JCPOA). Longer names
// come first.
func names(text string) []name {
	type word struct {
		text string
		cap  bool // capitalised and a term
		conn bool // a connector
	}
	var words []word
	for _, f := range strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	}) {
		f = strings.TrimSuffix(strings.TrimSuffix(f, "'s"), "’s")
		f = strings.Trim(f, "'’")
		if f == "" {
			continue
		}
		r, n := utf8.DecodeRuneInString(f)
		// Title case: "SHIP" in a question typed in capitals is no name.
		title := unicode.IsUpper(r) && strings.IndexFunc(f[n:], unicode.IsLower) >= 0
		words = append(words, word{f, title && len(retrieval.Terms(f)) == 1, acronymConnectors[strings.ToLower(f)]})
	}
	var out []name
	for i := 0; i < len(words); i++ {
		if !words[i].cap {
			continue
		}
		caps := 1
		for j := i + 1; j < len(words) && caps < maxAcronymWords; j++ {
			if words[j].conn {
				continue
			}
			if !words[j].cap {
				break
			}
			caps++
			var with, without strings.Builder
			var n name
			for _, w := range words[i : j+1] {
				r, _ := utf8.DecodeRuneInString(w.text)
				with.WriteRune(unicode.ToUpper(r))
				if !w.conn {
					without.WriteRune(unicode.ToUpper(r))
					n.terms = append(n.terms, retrieval.Terms(w.text)...)
				}
			}
			for _, f := range []string{without.String(), with.String()} {
				// An English word with other meanings is no safe
				// acronym: "Golden Age of Spain" is no GAS.
				if utf8.RuneCountInString(f) >= minAcronym && !slices.Contains(n.forms, f) && len(synonymsOf(strings.ToLower(f))) == 0 {
					n.forms = append(n.forms, f)
				}
			}
			if len(n.forms) > 0 {
				out = append(out, n)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b name) int { return len(b.terms) - len(a.terms) })
	return out
}

// acronyms maps each term of ns (names' result) to the acronyms of the
// names it is in: what a question that spells a name out is credited with
// when a sentence has the abbreviation instead.
func acronyms(ns []name) map[string][]string {
	out := map[string][]string{}
	for _, n := range ns {
		for _, t := range n.terms {
			for _, a := range n.forms {
				if !slices.Contains(out[t], a) {
					out[t] = append(out[t], a)
				}
			}
		}
	}
	return out
}

// abbreviated returns text's terms with each of its names ns (names'
// result) that the corpus does not spell out — some word of it is no term
// of the corpus — but knows by an acronym replaced by that acronym's term:
// "Which country normalised ties with the United Arab Emirates?" over an
// article that only says "UAE" asks about uae, a term the corpus has, not
// about three it lacks. used are the acronyms put in, as words to search
// for.
func abbreviated(idf IDFer, text string, ns []name) (terms, used []string) {
	terms = retrieval.Terms(text)
	for _, n := range ns {
		at := slices.Index(terms, n.terms[0])
		if at < 0 || len(terms) < at+len(n.terms) || !slices.Equal(terms[at:at+len(n.terms)], n.terms) {
			continue // not there as a run (any more)
		}
		spelt := true
		for _, t := range n.terms {
			if _, known := smoothIDF(idf, t); !known {
				spelt = false
			}
		}
		if spelt {
			continue
		}
		for _, a := range n.forms {
			st := retrieval.Terms(a)
			if len(st) != 1 {
				continue
			}
			if _, known := smoothIDF(idf, st[0]); known {
				terms = slices.Replace(terms, at, at+len(n.terms), st[0])
				used = append(used, a)
				break
			}
		}
	}
	return terms, used
}
