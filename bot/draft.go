package bot

import (
	"context"
	"time"

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
	// FirstToken is how long a streaming answerer waited for the model's
	// first token; 0 when nothing was streamed.
	FirstToken time.Duration `json:"-"`
}

// ModelError is an answerer's failure to get a usable reply from its model:
// the server timed out, could not be reached, broke off its reply or
// answered an error. The engine then answers extractively and shows Notice
// in Answer.Fallback (unless EngineOptions.StrictModel).
type ModelError struct {
	// Notice names the model's server and what went wrong, on one line, for
	// the user: "the model at http://127.0.0.1:8080/v1 did not answer
	// within 60s".
	Notice string
	// Err is the failure in detail (for logs and strict mode).
	Err error
}

func (e *ModelError) Error() string {
	if e.Err == nil {
		return e.Notice
	}
	return e.Err.Error()
}
func (e *ModelError) Unwrap() error { return e.Err }

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
