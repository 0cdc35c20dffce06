package corpus

import (
	"strings"
	"unicode"
)

// foldSpace folds every run of white space in s to one space and trims it.
// White space is what unicode.IsSpace says it is: besides space, tab and the
// line breaks that includes U+00A0 NO-BREAK SPACE, U+2028/U+2029 and the
// other Unicode space separators. Zero-width characters such as U+200B are
// not white space and are kept. Nothing else in s is changed.
func foldSpace(s string) string {
	// Fast path: most paragraphs need no folding at all.
	if isFolded(s) {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// isFolded reports whether s is already trimmed and has no white space
// other than single spaces.
func isFolded(s string) bool {
	prevSpace := true // leading space is not allowed
	for _, r := range s {
		if unicode.IsSpace(r) {
			if r != ' ' || prevSpace {
				return false
			}
			prevSpace = true
			continue
		}
		prevSpace = false
	}
	return !prevSpace || s == ""
}

// lines splits text into lines, accepting "\n", "\r\n" and a lone "\r" as
// line ends.
func lines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

// isBlank reports whether line holds nothing but white space.
func isBlank(line string) bool {
	return strings.TrimSpace(line) == ""
}

// blocks splits lines into paragraphs: maximal runs of non-blank lines,
// separated by one or more blank lines. Each paragraph is whitespace-folded;
// empty ones cannot occur.
func blocks(ls []string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			if p := foldSpace(strings.Join(cur, " ")); p != "" {
				out = append(out, p)
			}
			cur = cur[:0]
		}
	}
	for _, l := range ls {
		if isBlank(l) {
			flush()
			continue
		}
		cur = append(cur, l)
	}
	flush()
	return out
}

// humanize turns a file name stem into a readable fallback title:
// "b141-food_is-killing-you" becomes "b141 food is killing you".
func humanize(stem string) string {
	s := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return ' '
		}
		return r
	}, stem)
	if s = foldSpace(s); s == "" {
		return stem
	}
	return s
}
