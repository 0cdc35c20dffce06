package bot

import (
	"context"

	"github.com/verbatimbot/verbatim/retrieval"
)

// Claim is an answerer's unverified assertion that Quote occurs in paragraph
// Paragraph of article ArticleID. Only the verifier turns claims into
// Citations.
type Claim struct {
	// Marker is the number the draft text uses for this claim ("[2]"), 0 when
	// the draft has no markers (extractive answers).
	Marker    int
	ArticleID string
	Paragraph int
	Quote     string
	// Score is the answerer's confidence or relevance, higher is better.
	Score float64
}

// Draft is an answerer's unverified answer.
type Draft struct {
	// Text is the answer prose, with [n] markers referring to Claims.
	Text   string
	Claims []Claim
	// Refused is set when the answerer found that the passages do not say.
	Refused bool
}

// DraftRequest is what an answerer gets: the question as asked, the
// standalone question that was searched, and the retrieved passages.
type DraftRequest struct {
	Question   Question
	Standalone string
	Hits       []retrieval.Hit
	// OnDelta, when set, receives answer text as it is generated (streaming
	// answerers only); the final Draft is still returned.
	OnDelta func(text string)
	// Evidence, when set, is what the engine gathered about the question
	// over Hits (the extractive answerer reuses it).
	Evidence *Evidence
}

// Answerer drafts an answer from retrieved passages. The extractive answerer
// and the LLM answerer implement it.
type Answerer interface {
	Draft(ctx context.Context, req DraftRequest) (Draft, error)
}

// Rewriter turns a follow-up question into a standalone one using the
// conversation ("and when was that signed?" → "When was the agreement ...
// signed?"). It returns q.Text unchanged when there is no history.
type Rewriter interface {
	Rewrite(ctx context.Context, q Question) (string, error)
}
