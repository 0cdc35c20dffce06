package main

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus"
)

// What the CLI prints of text it does not control — articles, file names,
// questions, a model's replies and the errors that quote them — goes
// through these, so that none of it can act on the terminal (retitle it,
// clear it, move the cursor) or break a listing's layout. JSON output is
// left to encoding/json, which escapes control characters itself.

// Longest texts shown in full by the human-readable output, in runes; the
// JSON output always carries everything.
const (
	maxAnswerRunes  = 4000 // the answer text
	maxQuoteRunes   = 500  // a citation's quote
	maxExcerptRunes = 110  // a retrieved passage under --explain
	maxTitleRunes   = 200  // an article title
)

// shown is s made safe to print (bot.Printable) and clipped to at most n
// runes with "…" (n ≤ 0: no limit). It clips first, so a 50 MB paragraph
// costs no more than its first n runes.
func shown(s string, n int) string {
	if n > 0 {
		s = bot.Clip(s, n)
	}
	return bot.Printable(s)
}

// displayName is an article ID or a file path for one line of a listing:
// as it is when every character is graphic, else Go-quoted, so a newline,
// a tab or an escape sequence in a file name shows as \n, \t or \x1b and
// the columns stay in place. A name that itself starts with a double quote
// is quoted too, so the two cannot be confused.
func displayName(s string) string {
	if strings.HasPrefix(s, `"`) || strings.IndexFunc(s, func(r rune) bool {
		return r == unicode.ReplacementChar || !unicode.IsGraphic(r)
	}) >= 0 {
		return strconv.QuoteToGraphic(s)
	}
	return s
}

// problemPlace is where a skipped corpus input is: its path for a listing
// (displayName), and its line for a .jsonl record.
func problemPlace(p corpus.Problem) string {
	if p.Line > 0 {
		return displayName(p.Path) + ":" + strconv.Itoa(p.Line)
	}
	return displayName(p.Path)
}
