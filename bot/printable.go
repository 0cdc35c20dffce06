package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable returns s without the characters a terminal or a chat client
// would act on rather than show: C0 and C1 control characters (ESC, BEL,
// CSI, OSC, …) other than tab and newline, DEL, and the bidirectional
// overrides and isolates that reorder what a reader sees. Invalid UTF-8 is
// replaced by U+FFFD. Everything a front end prints of corpus text, of a
// question or of a model's reply goes through it, so an article holding
// "\x1b]0;pwned\x07" can neither retitle nor clear the user's terminal.
func Printable(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unprintable(r) {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case unprintable(r):
			// dropped
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unprintable reports whether Printable drops r.
func unprintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true // bidi embeddings, overrides and isolates
	}
	return false
}

// Clip shortens s to at most n runes, ending it with "…" when it was cut,
// at a word boundary when one is near.
func Clip(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	end, runes := 0, 0
	for i := range s {
		if runes == n-1 {
			end = i
			break
		}
		runes++
	}
	head := s[:end]
	if sp := strings.LastIndexFunc(head, unicode.IsSpace); sp > len(head)*3/4 {
		head = head[:sp]
	}
	return strings.TrimRightFunc(head, unicode.IsSpace) + "…"
}
