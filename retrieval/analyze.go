package retrieval

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"golang.org/x/text/unicode/norm"
)

// Terms analyses text into index terms: Unicode-folded, lower-cased tokens
// with English stop words removed and Snowball (Porter2) English stemming.
//
// Folding makes a question meet the corpus however it was typed: text is
// brought to Unicode compatibility decomposition (NFKD: fullwidth "ＳＷＩＦＴ"
// is "SWIFT", the ligature "ﬁ" is "fi") and combining marks are dropped
// (diacritics: "Zarïf" and "réseau" meet "Zarif" and "reseau").
//
// Tokens are runs of letters, digits and combining marks. Inside a token a
// '-', '.', '\” (or '’') or ',' joins two letters or digits, so "S-400",
// "3.67", "U.S." and "6,000" stay one token ("s-400", "3.67", "u.s", "6000"; a
// comma is kept only between digits and then dropped). A hyphenated token is
// also emitted part by part, so "high-ranking" matches "ranking". A
// possessive "'s" is dropped and other apostrophes removed ("Iran's" → "iran",
// "don't" → "dont"). Numbers are not stemmed. "US" in capitals, "USA" and
// "U.S.A." are "u.s", as "U.S." is (lower-case "us" is a stop word).
//
// The BM25 index, the local embedder and the extractive answerer in bot/ all
// use Terms, so a question and a passage always meet on the same terms.
func Terms(text string) []string {
	a := analyzers.Get().(*analyzer)
	defer analyzers.Put(a)
	var terms []string
	a.tokens(text, func(_, term string) { terms = append(terms, term) })
	return terms
}

// extraStopWords complements Snowball's English stop word list with common
// function words it leaves out.
var extraStopWords = map[string]bool{
	"also": true, "would": true, "could": true, "us": true, "may": true,
	"might": true, "must": true, "shall": true, "yet": true, "upon": true,
	"onto": true, "via": true, "per": true, "among": true, "whose": true,
	"within": true, "without": true, "however": true,
}

// IsStopWord reports whether the lower-cased word is dropped by Terms.
func IsStopWord(word string) bool {
	return english.IsStopWord(word) || extraStopWords[word]
}

// analyzer carries a stem cache; stemming dominates the cost of Terms.
// analyzers are pooled, so the cache is per goroutine in practice.
type analyzer struct {
	stems map[string]string
	buf   []byte
}

const maxStemCache = 1 << 16

var analyzers = sync.Pool{New: func() any {
	return &analyzer{stems: make(map[string]string, 1024)}
}}

// tokens calls emit for every index term of text with the surface form it
// came from (lower-cased, before stemming).
func (a *analyzer) tokens(text string, emit func(surface, term string)) {
	text = fold(text)
	i := 0
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += n
			continue
		}
		// Scan one token: word runes, and joiners between word runes.
		a.buf = a.buf[:0]
		hyphen, alpha := false, false
		j := i
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if isMark(r) {
				j += n // a diacritic left by fold: not part of the term
				continue
			}
			if isWordRune(r) {
				if unicode.IsLetter(r) {
					alpha = true
				}
				a.buf = utf8.AppendRune(a.buf, unicode.ToLower(r))
				j += n
				continue
			}
			if !isJoiner(r) || len(a.buf) == 0 {
				break
			}
			next, m := utf8.DecodeRuneInString(text[j+n:])
			if !isWordRune(next) {
				break
			}
			prev, _ := utf8.DecodeLastRune(a.buf)
			switch r {
			case ',':
				if !unicode.IsDigit(prev) || !unicode.IsDigit(next) {
					goto done
				}
			case '\'', '’', 'ʼ':
				if !unicode.IsLetter(prev) || !unicode.IsLetter(next) {
					goto done
				}
				// Possessive 's: drop it and end the token.
				if (next == 's' || next == 'S') && !continuesWord(text[j+n+m:]) {
					j += n + m
					goto done
				}
			case '-', '‐', '‑':
				hyphen = true
				a.buf = append(a.buf, '-')
			case '.':
				a.buf = append(a.buf, '.')
			}
			j += n
		}
	done:
		a.emitToken(string(a.buf), text[i:j], alpha, hyphen, emit)
		i = j
	}
}

// emitToken emits the terms of token tok, lower-cased from orig.
func (a *analyzer) emitToken(tok, orig string, alpha, hyphen bool, emit func(surface, term string)) {
	a.emitWord(country(tok, orig == "US"), alpha, emit)
	if !hyphen {
		return
	}
	for part := range strings.SplitSeq(tok, "-") {
		if part != "" && part != tok {
			// "US-led": the part was written in capitals.
			caps := part == "us" && (strings.HasPrefix(orig, "US-") || strings.HasSuffix(orig, "-US") || strings.Contains(orig, "-US-"))
			a.emitWord(country(part, caps), containsLetter(part), emit)
		}
	}
}

// country spells the United States' abbreviations as one term: "US" in
// capitals (caps; not the pronoun "us", a stop word), "USA" and "U.S.A."
// are all "u.s", as "U.S." is, so "What did the US do?" meets "the U.S. …"
// and "US sanctions".
func country(tok string, caps bool) string {
	switch {
	case tok == "us" && caps, tok == "usa", tok == "u.s.a":
		return "u.s"
	}
	return tok
}

func (a *analyzer) emitWord(w string, alpha bool, emit func(surface, term string)) {
	if w == "" {
		return
	}
	if !alpha {
		emit(w, w) // numbers: "2020", "3.67"
		return
	}
	if utf8.RuneCountInString(w) == 1 || IsStopWord(w) {
		return
	}
	emit(w, a.stem(w))
}

func (a *analyzer) stem(w string) string {
	if s, ok := a.stems[w]; ok {
		return s
	}
	var s string
	if strings.ContainsAny(w, ".-") {
		s = w // "u.s", "s-400": stemming would mangle them
	} else {
		s = english.Stem(w, false)
	}
	if len(a.stems) >= maxStemCache {
		clear(a.stems)
	}
	a.stems[w] = s
	return s
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// isMark reports whether r is a nonspacing combining mark, which fold
// separates from its letter and tokens then skip.
func isMark(r rune) bool { return r >= 0x300 && unicode.Is(unicode.Mn, r) }

// fold returns text in Unicode compatibility decomposition (NFKD); ASCII
// text, the common case, is returned as is without being scanned twice.
func fold(text string) string {
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			return norm.NFKD.String(text)
		}
	}
	return text
}

func isJoiner(r rune) bool {
	switch r {
	case '-', '‐', '‑', '.', '\'', '’', 'ʼ', ',':
		return true
	}
	return false
}

// continuesWord reports whether s starts with a word rune.
func continuesWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordRune(r)
}

func containsLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}
