package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Span is a half-open byte range [Start, End) of a text.
type Span struct {
	Start, End int
}

// Of returns the text the span covers.
func (s Span) Of(text string) string { return text[s.Start:s.End] }

// SplitSentences splits text into sentences and returns their byte spans in
// order. Spans do not overlap, hold no leading or trailing white space, and
// together cover every non-space byte of text, so a sentence is always an
// exact substring of the source (what the verifier needs).
//
// The rules are tuned for news prose: a sentence ends at '.', '!', '?' or
// an ellipsis, followed by any closing quotes or brackets, then white space
// and a word that may start a sentence. A period does not end a sentence
// after a title ("Dr."), an initial ("J. R. Smith"), a month before a number
// ("Aug. 22"), inside a number ("3.67%"), or after a dotted abbreviation
// ("U.S.") unless the next word commonly starts a sentence ("U.S. The ...").
// A blank line always ends a sentence.
//
// It was chosen over github.com/neurosnap/sentences by measurement; see
// TestSplitterComparison.
func SplitSentences(text string) []Span {
	var spans []Span
	start := -1 // start of the current sentence, -1 between sentences
	i := 0
	for i < len(text) {
		r, w := utf8.DecodeRuneInString(text[i:])
		if unicode.IsSpace(r) {
			if start >= 0 && r == '\n' && blankLineAt(text, i) {
				spans = append(spans, trimSpan(text, Span{start, i}))
				start = -1
			}
			i += w
			continue
		}
		if start < 0 {
			start = i
		}
		if !isTerminator(r) {
			i += w
			continue
		}
		// Consume the whole run of terminators ("?!", "...", "…").
		end := i + w
		for end < len(text) {
			r2, w2 := utf8.DecodeRuneInString(text[end:])
			if !isTerminator(r2) {
				break
			}
			end += w2
		}
		// Then closing quotes and brackets.
		for end < len(text) {
			r2, w2 := utf8.DecodeRuneInString(text[end:])
			if !isCloser(r2) {
				break
			}
			end += w2
		}
		if endsSentence(text, start, i, end) {
			spans = append(spans, trimSpan(text, Span{start, end}))
			start = -1
		}
		i = end
	}
	if start >= 0 {
		if s := trimSpan(text, Span{start, len(text)}); s.End > s.Start {
			spans = append(spans, s)
		}
	}
	return spans
}

// endsSentence reports whether the terminator run text[term:end] (closers
// included) ends the sentence that began at start.
func endsSentence(text string, start, term, end int) bool {
	if end >= len(text) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(text[end:])
	if !unicode.IsSpace(r) {
		return false // "3.67", "U.S.-led", "?!" inside a word
	}
	next := nextWord(text, end)
	if next == "" {
		return true // only white space left
	}
	nr, _ := utf8.DecodeRuneInString(next)
	if unicode.IsLower(nr) {
		return false // “Is it?” he asked.
	}
	if text[term] != '.' || end-term > 1 && strings.HasPrefix(text[term:], "..") {
		// '!', '?', ellipsis: end before anything but a lower-case word.
		return true
	}
	if !unicode.IsUpper(nr) && !unicode.IsDigit(nr) && !isOpener(nr) {
		return true
	}
	word := wordBefore(text, start, term)
	if word == "" {
		return true
	}
	lw := strings.ToLower(word)
	switch {
	case titleAbbrevs[lw]:
		return false // Dr. Smith, Gen. Soleimani
	case monthAbbrevs[lw] || numberAbbrevs[lw]:
		return !unicode.IsDigit(nr) // Aug. 22, No. 5
	case utf8.RuneCountInString(word) == 1 && unicode.IsUpper(firstRune(word)):
		return false // J. R. Smith
	case strings.Contains(word, "."):
		// Dotted abbreviation: U.S., a.m., e.g., Ph.D.
		if unicode.IsLower(firstRune(word)) && lw != "a.m" && lw != "p.m" {
			return false // e.g. / i.e. never end a sentence here
		}
		return sentenceStarters[strings.ToLower(trimOpeners(next))]
	}
	return true
}

// wordBefore returns the word that the terminator at term ends, without the
// terminator: "U.S" for "U.S.", "Dr" for "Dr.".
func wordBefore(text string, start, term int) string {
	j := term
	for j > start {
		r, w := utf8.DecodeLastRuneInString(text[start:j])
		if unicode.IsSpace(r) || isOpener(r) {
			break
		}
		j -= w
	}
	return text[j:term]
}

// nextWord returns the first word after position i (skipping white space),
// with any leading opening quotes or brackets.
func nextWord(text string, i int) string {
	for i < len(text) {
		r, w := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += w
	}
	j := i
	for j < len(text) {
		r, w := utf8.DecodeRuneInString(text[j:])
		if unicode.IsSpace(r) || (j > i && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !isOpener(r)) {
			break
		}
		j += w
	}
	return text[i:j]
}

func trimOpeners(s string) string {
	return strings.TrimLeftFunc(s, isOpener)
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func trimSpan(text string, s Span) Span {
	for s.End > s.Start {
		r, w := utf8.DecodeLastRuneInString(text[s.Start:s.End])
		if !unicode.IsSpace(r) {
			break
		}
		s.End -= w
	}
	return s
}

// blankLineAt reports whether the newline at i is followed by another
// newline before any non-space character.
func blankLineAt(text string, i int) bool {
	for j := i + 1; j < len(text); {
		r, w := utf8.DecodeRuneInString(text[j:])
		if r == '\n' {
			return true
		}
		if !unicode.IsSpace(r) {
			return false
		}
		j += w
	}
	return false
}

func isTerminator(r rune) bool {
	switch r {
	case '.', '!', '?', '…', '‽', '。', '！', '？':
		return true
	}
	return false
}

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '}', '”', '’', '»', '›', '」', '』':
		return true
	}
	return false
}

func isOpener(r rune) bool {
	switch r {
	case '"', '\'', '(', '[', '{', '“', '‘', '«', '‹', '„', '「', '『':
		return true
	}
	return false
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// titleAbbrevs precede a name and never end a sentence.
var titleAbbrevs = set("mr", "mrs", "ms", "messrs", "mme", "dr", "prof", "gen", "col",
	"lt", "maj", "sgt", "capt", "cmdr", "adm", "brig", "gov", "sen", "rep", "rev",
	"hon", "pres", "supt", "st", "mt", "ft", "fr", "sr", "jr", "vs", "cf", "approx",
	"fig", "figs", "vol", "ed", "eds", "dept", "univ", "est", "ave", "blvd")

// monthAbbrevs and numberAbbrevs do not end a sentence before a number;
// among the latter are circa and the biographical "b." and "d.": "(c. 482
// – 14 November 565)", "(b. 1931)".
var monthAbbrevs = set("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
	"oct", "nov", "dec")
var numberAbbrevs = set("no", "nos", "art", "p", "pp", "para", "sec", "ch", "c", "ca", "b", "d", "fl")

// sentenceStarters are words that, after a dotted abbreviation such as
// "U.S.", show that a new sentence has begun.
var sentenceStarters = set("the", "a", "an", "he", "she", "it", "they", "we", "i",
	"you", "this", "that", "these", "those", "there", "but", "and", "or", "so",
	"in", "on", "at", "as", "if", "when", "while", "after", "before", "since",
	"his", "her", "its", "their", "our", "my", "however", "meanwhile", "still",
	"yet", "then", "also", "both", "some", "many", "most", "all", "one", "no",
	"not", "what", "who", "why", "how", "where", "for", "to", "with", "by",
	"from", "officials", "last", "next")
