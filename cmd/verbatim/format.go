package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/retrieval"
)

// writeAnswer renders an Answer for people: the answer text, then every
// citation as “quote” — Title, ¶N (URL).
func writeAnswer(w io.Writer, ans bot.Answer, withText bool) {
	if withText {
		fmt.Fprintln(w, shown(strings.TrimSpace(ans.Text), maxAnswerRunes))
	}
	if len(ans.Citations) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, c := range ans.Citations {
		fmt.Fprintf(w, "[%d] %s\n", c.Marker, formatCitation(c))
	}
}

// formatCitation is the one-line citation format shared by ask and chat;
// a very long quote is clipped (--json has it whole).
func formatCitation(c bot.Citation) string {
	s := fmt.Sprintf("“%s” — %s, ¶%d", shown(c.Quote, maxQuoteRunes), shown(c.Article.Title, maxTitleRunes), c.Paragraph)
	if c.Article.URL != "" {
		s += " (" + shown(c.Article.URL, 0) + ")"
	}
	if c.Status == bot.Repaired {
		s += " [repaired]"
	}
	return s
}

// writeExplain lists the retrieved passages with their fused score and the
// signals that found them.
func writeExplain(w io.Writer, ans bot.Answer) {
	fmt.Fprintln(w)
	if ans.Standalone != "" && ans.Standalone != ans.Question {
		fmt.Fprintf(w, "Searched for: %s\n", shown(ans.Standalone, 0))
	}
	fmt.Fprintf(w, "Retrieved passages (%s answer):\n", ans.Mode)
	if len(ans.Passages) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for i, h := range ans.Passages {
		fmt.Fprintf(w, "%2d. %-40s score %.4f  %s\n", i+1, displayName(h.ID), h.Score, signalSummary(h))
		fmt.Fprintf(w, "    %s, %s: %s\n", shown(h.Title, maxTitleRunes), paragraphRange(h.First, h.Last), excerpt(h.Text, maxExcerptRunes))
	}
	if d := ans.Decision; d != nil {
		verdict := "answer"
		switch {
		case d.DecisiveMissing:
			verdict = "refuse: the question's decisive word is not in the articles"
		case d.CueMissing:
			verdict = "refuse: it asks for an amount and no sentence to quote has one"
		case d.Support < d.Threshold:
			verdict = "refuse: support below the threshold"
		}
		model := ""
		if d.Lexical {
			model = "; the lexical refusal model: the vectors are not the local embedder's"
		}
		fmt.Fprintf(w, "Support %.3f (threshold %.3f%s): %s\n", d.Support, d.Threshold, model, verdict)
		for _, f := range d.Features {
			fmt.Fprintf(w, "    %-18s %.3f\n", f.Name, f.Value)
		}
	}
}

func signalSummary(h retrieval.Hit) string {
	var parts []string
	if h.VectorRank > 0 {
		parts = append(parts, fmt.Sprintf("vector #%d (cos %.3f)", h.VectorRank, h.VectorScore))
	}
	if h.LexicalRank > 0 {
		parts = append(parts, fmt.Sprintf("lexical #%d (bm25 %.2f)", h.LexicalRank, h.LexicalScore))
	}
	return strings.Join(parts, ", ")
}

func paragraphRange(first, last int) string {
	if first == last {
		return fmt.Sprintf("¶%d", first)
	}
	return fmt.Sprintf("¶%d–%d", first, last)
}

// excerpt is the start of a passage's text on one line: white space
// folded, at most n runes, safe to print.
func excerpt(s string, n int) string {
	// Clip before folding, so a huge paragraph costs only its start; a
	// start of n runes and as many again of white space is enough.
	s = bot.Clip(s, 2*n)
	return shown(strings.Join(strings.Fields(s), " "), n)
}

// jsonPassage is a retrieved passage in `ask --json --explain` output.
type jsonPassage struct {
	ID           string   `json:"id"`
	Article      string   `json:"article"`
	Title        string   `json:"title"`
	First        int      `json:"first_paragraph"`
	Last         int      `json:"last_paragraph"`
	Score        float64  `json:"score"`
	Signals      []string `json:"signals"`
	VectorRank   int      `json:"vector_rank,omitempty"`
	VectorScore  float64  `json:"vector_score,omitempty"`
	LexicalRank  int      `json:"lexical_rank,omitempty"`
	LexicalScore float64  `json:"lexical_score,omitempty"`
}

// writeJSON prints the Answer as one JSON object (the stable contract:
// question, answer, refused, citations[article{id,title,url}, paragraph,
// quote, score]), plus passages with --explain.
func writeJSON(w io.Writer, ans bot.Answer, explain bool) error {
	if ans.Citations == nil {
		ans.Citations = []bot.Citation{}
	}
	out := struct {
		bot.Answer
		Passages []jsonPassage `json:"passages,omitempty"`
	}{Answer: ans}
	if explain {
		out.Passages = []jsonPassage{}
		for _, h := range ans.Passages {
			p := jsonPassage{ID: h.ID, Article: h.ArticleID, Title: h.Title, First: h.First, Last: h.Last, Score: h.Score,
				VectorRank: h.VectorRank, VectorScore: h.VectorScore, LexicalRank: h.LexicalRank, LexicalScore: h.LexicalScore, Signals: []string{}}
			for _, s := range h.Signals() {
				p.Signals = append(p.Signals, string(s))
			}
			out.Passages = append(out.Passages, p)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// plural is n and the noun, in the plural unless n is 1: "1 article",
// "2 articles".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
