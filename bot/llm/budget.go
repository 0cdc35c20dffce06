package llm

// budget.go fits a request into the model's context window: a
// conservative token estimate, the room kept for the reply (max_tokens),
// and which passages the prompt can hold.

import (
	"strings"
	"unicode/utf8"

	"github.com/verbatimbot/verbatim/prompts"
)

const (
	// MinContextTokens is the smallest context window that works: the JSON
	// instructions take about 500 estimated tokens, the reply is given a
	// quarter of the window (256), which leaves some 200 for the question
	// and the best paragraph.
	MinContextTokens = 1024
	// asciiPerToken is how many ASCII characters the estimate counts as a
	// token. English prose averages about four with common BPE
	// vocabularies (verbatim's real prompt of 11,093 characters was 2,813
	// tokens on llama-server: 3.9), so three leaves a margin; every other
	// character counts as a whole token (¶, curly quotes, non-Latin
	// scripts).
	asciiPerToken = 3
	// messageOverhead is the chat template around each message: ChatML
	// markers alone are 14 tokens in a GPT-2 vocabulary.
	messageOverhead = 16
	// requestOverhead is the template's opening of the assistant's turn.
	requestOverhead = 8
	// nearWindow is the share of the prompt budget past which a prompt is
	// said to be near the window.
	nearWindow = 0.9
	// maxTurnAnswerChars bounds each earlier answer sent for condensing.
	maxTurnAnswerChars = 800
	maxStandaloneChars = 1000
	// condenseTokens bounds a rewritten question (max_tokens): a question
	// of maxStandaloneChars is about 250 tokens.
	condenseTokens = 256
)

// estimateTokens is a conservative, provider-independent estimate of the
// tokens of s: one per three ASCII characters, one per other character.
func estimateTokens(s string) int {
	ascii, other := 0, 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			ascii++
			i++
			continue
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		other++
		i += n
	}
	return (ascii+asciiPerToken-1)/asciiPerToken + other
}

// promptTokens estimates a request of a system and a user message.
func promptTokens(system, user string) int {
	return estimateTokens(system) + estimateTokens(user) + 2*messageOverhead + requestOverhead
}

// answerTokens is the reply's bound (max_tokens): MaxAnswerTokens, at most
// a quarter of the window.
func (l *Answerer) answerTokens() int {
	return min(l.cfg.MaxAnswerTokens, l.cfg.ContextTokens/4)
}

// promptBudget is the number of prompt tokens that leaves room for a reply
// of answerTokens.
func (l *Answerer) promptBudget() int { return l.cfg.ContextTokens - l.answerTokens() }

// warnBudget says, at the default log level, when passages were dropped to
// fit the window or the prompt is near it (a server whose real window is
// smaller than VERBATIM_CONTEXT_TOKENS rejects such a prompt, or cuts it
// silently as Ollama does).
func (l *Answerer) warnBudget(shown, total, used int) {
	budget := l.promptBudget()
	switch {
	case shown < total:
		l.log.Warn("passages dropped to fit the context window (VERBATIM_CONTEXT_TOKENS)",
			"paragraphs_kept", shown, "paragraphs", total, "prompt_tokens_est", used, "context_tokens", l.cfg.ContextTokens)
	case float64(used) > nearWindow*float64(budget):
		l.log.Warn("prompt near the context window (VERBATIM_CONTEXT_TOKENS); a server with a smaller window rejects it, or cuts it silently as Ollama does (raise its OLLAMA_CONTEXT_LENGTH or the model's num_ctx)",
			"prompt_tokens_est", used, "context_tokens", l.cfg.ContextTokens)
	}
}

// checkTruncated warns when the server counted far fewer prompt tokens
// than were sent: it cut the prompt to a window smaller than
// VERBATIM_CONTEXT_TOKENS (Ollama does so without an error; recorded in
// openaicompat/openaitest/testdata/realservers/ollama/15).
func (l *Answerer) checkTruncated(estimated, counted int) {
	if counted <= 0 || estimated < 256 || counted*10 >= estimated*4 {
		return
	}
	l.log.Warn("the server counted far fewer prompt tokens than were sent: it probably cut the prompt to its own context window; raise the server's window (Ollama: OLLAMA_CONTEXT_LENGTH or the model's num_ctx) or lower VERBATIM_CONTEXT_TOKENS to it",
		"server_prompt_tokens", counted, "prompt_tokens_est", estimated, "context_tokens", l.cfg.ContextTokens)
}

// passageOverhead is the cost of a passage's heading and its first label.
func passageOverhead(p prompts.Passage) int {
	label := ""
	if len(p.Paragraphs) > 0 {
		label = p.Paragraphs[0].Label
	}
	return estimateTokens("## "+p.Title+" (article "+p.ArticleID+")\n\n") + estimateTokens(label+" \n\n")
}

// trimPassages keeps passages in rank order while their estimated cost fits
// budget tokens, cutting the first passage that does not fit after its last
// fitting paragraph. The best paragraph is always kept.
func trimPassages(ps []prompts.Passage, budget int) (kept []prompts.Passage, total, shown int) {
	for _, p := range ps {
		total += len(p.Paragraphs)
	}
	used := 0
	for _, p := range ps {
		cost := estimateTokens("## " + p.Title + " (article " + p.ArticleID + ")\n\n")
		q := prompts.Passage{ArticleID: p.ArticleID, Title: p.Title}
		for _, para := range p.Paragraphs {
			c := estimateTokens(para.Label + " " + para.Text + "\n\n")
			if used+cost+c > budget && shown > 0 {
				if len(q.Paragraphs) > 0 {
					kept = append(kept, q)
				}
				return kept, total, shown
			}
			cost += c
			q.Paragraphs = append(q.Paragraphs, para)
			shown++
		}
		used += cost
		kept = append(kept, q)
	}
	return kept, total, shown
}

func dropLastParagraph(ps []prompts.Passage) []prompts.Passage {
	last := &ps[len(ps)-1]
	last.Paragraphs = last.Paragraphs[:len(last.Paragraphs)-1]
	if len(last.Paragraphs) == 0 {
		return ps[:len(ps)-1]
	}
	return ps
}

// clipParagraph cuts the one paragraph of ps to about room tokens, at the
// end of a sentence when one ends in its second half, else after a word;
// its first sentence stays whatever room says.
func clipParagraph(ps []prompts.Passage, room int) []prompts.Passage {
	p := ps[0].Paragraphs[0]
	text := p.Text
	if estimateTokens(text) <= room {
		return ps
	}
	ascii, other, end := 0, 0, 0
	for i, r := range text {
		if r < utf8.RuneSelf {
			ascii++
		} else {
			other++
		}
		if (ascii+asciiPerToken-1)/asciiPerToken+other > room {
			break
		}
		end = i + utf8.RuneLen(r)
	}
	cut := text[:end]
	switch i := strings.LastIndex(cut, ". "); {
	case i > 0 && i >= len(cut)/2:
		cut = cut[:i+1]
	case strings.LastIndexByte(cut, ' ') > 0:
		cut = cut[:strings.LastIndexByte(cut, ' ')]
	}
	if first := strings.Index(text, ". "); first > 0 && len(cut) <= first {
		cut = text[:first+1]
	}
	if cut = strings.TrimSpace(cut); cut == "" {
		return ps // no room at all: the whole paragraph, and the server decides
	}
	p.Text = cut
	return []prompts.Passage{{ArticleID: ps[0].ArticleID, Title: ps[0].Title, Paragraphs: []prompts.Para{p}}}
}
