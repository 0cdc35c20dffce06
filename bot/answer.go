// Package bot is the answering engine behind every front door (CLI, Discord
// slash commands, DMs and mentions): Engine.Answer takes a question (and the
// conversation so far), retrieves passages, drafts an answer with an
// answerer (extractive offline, or an LLM), and keeps only citations whose
// quote the verifier found word for word in the cited paragraph.
//
// Front ends only format an Answer; they never reach into retrieval or the LLM.
package bot

import (
	"time"

	"github.com/verbatimbot/verbatim/retrieval"
)

// ArticleRef names the article a citation comes from.
type ArticleRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	URL   string `json:"url,omitempty"`
}

// Verification says how a citation's quote was checked.
type Verification string

const (
	// Verified: the quote occurs in the cited paragraph.
	Verified Verification = "verified"
	// Repaired: the quote was a near miss, replaced by the matching span of
	// the source paragraph (possibly another retrieved paragraph).
	Repaired Verification = "repaired"
)

// Citation is a quote that occurs word for word in paragraph Paragraph of
// Article. Citations are only built by the verifier: Quote is always the
// exact source text of the paragraph.
type Citation struct {
	Article   ArticleRef   `json:"article"`
	Paragraph int          `json:"paragraph"`
	Quote     string       `json:"quote"`
	Score     float64      `json:"score"`
	Status    Verification `json:"status"`
	// Marker is the 1-based number the answer text uses for this citation
	// ("[1]"); citations are listed in marker order.
	Marker int `json:"marker"`
}

// Mode says which answerer made an answer.
type Mode string

// Answer modes.
const (
	ModeExtractive Mode = "extractive"
	ModeLLM        Mode = "llm"
	// ModeHelp: a short reply to small talk ("hi", "thanks", "who are
	// you?") saying what the bot does; it has no citations.
	ModeHelp Mode = "help"
)

// Turn is one question and answer of a conversation, oldest first.
type Turn struct {
	Question string `json:"question"`
	// Standalone is the question as it was searched (Answer.Standalone),
	// so a chain of follow-ups keeps its topic; empty means Question.
	Standalone string `json:"standalone,omitempty"`
	Answer     string `json:"answer"`
}

// Question is what a user asked, with the conversation before it.
type Question struct {
	Text    string
	History []Turn
	// OnDelta, when set, receives the answer text as a streaming answerer
	// (the LLM) generates it, before verification. The returned Answer is
	// the verified truth; OnDelta is only a preview.
	OnDelta func(text string) `json:"-"`
}

// Stats counts what the verifier did to the answerer's quotes.
type Stats struct {
	Dropped  int `json:"dropped"`
	Repaired int `json:"repaired"`
}

// Answer is what every front end formats.
type Answer struct {
	Question string `json:"question"`
	// Standalone is the question as searched: the same as Question unless a
	// follow-up was rewritten using the conversation.
	Standalone string     `json:"standalone,omitempty"`
	Text       string     `json:"answer"`
	Refused    bool       `json:"refused"`
	Mode       Mode       `json:"mode"`
	Citations  []Citation `json:"citations"`
	Stats      Stats      `json:"stats"`
	// Fallback, when set, is a one-line notice for the user saying why the
	// configured model's answer is not shown and the answer was made
	// extractively instead (the model failed, or none of its quotes could
	// be verified). Mode is then ModeExtractive.
	Fallback string `json:"fallback,omitempty"`
	// Support is the refusal model's probability that the articles answer
	// the question (1 for overviews and help replies).
	Support float64 `json:"support"`
	// Decision is how the engine decided whether the articles answer (for
	// --explain); nil for help replies and overviews. Not part of the
	// stable JSON contract.
	Decision *Decision `json:"-"`
	// Passages are the retrieved passages the answer was drawn from (for
	// --explain); not part of the stable JSON contract.
	Passages []retrieval.Hit `json:"-"`
	// Timing is how long the answer took (for --verbose and the log).
	Timing Timing `json:"-"`
}

// Timing is how long an answer took.
type Timing struct {
	// FirstToken is the wait for the model's first streamed token (0 when
	// the answer was not streamed).
	FirstToken time.Duration
	// Total is the whole answer: rewriting, retrieval, drafting and
	// verification.
	Total time.Duration
}

// Decision is the evidence an answer was answered or refused on: the
// refusal model's features and probability against its threshold, and the
// two rules that refuse whatever the model says.
type Decision struct {
	Features        []Feature
	Support         float64
	Threshold       float64
	DecisiveMissing bool
	CueMissing      bool
	// Lexical is set when the refusal model is the one fitted without the
	// vector signal (the index's embedder is not the one it was fitted
	// with; see Models.For).
	Lexical bool
}

// Feature is one named feature value.
type Feature struct {
	Name  string
	Value float64
}
