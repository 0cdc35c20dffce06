package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// fallbackSuffix ends every Answer.Fallback notice.
const fallbackSuffix = "; showing quotes found without it"

// unverifiedNotice is the Fallback notice when none of a generated answer's
// quotes could be verified.
const unverifiedNotice = "none of the model's quotes could be verified against the articles" + fallbackSuffix

// maxNotice bounds a notice's cause (a server message may be long).
const maxNotice = 300

// fallsBack reports whether the engine answers extractively after the
// answerer failed with err: always, unless the answerer is the extractive
// one, StrictModel is set, or the question's context is done (cancelled,
// or out of time for any answer).
func (e *Engine) fallsBack(ctx context.Context, err error) bool {
	return err != nil && !e.opts.StrictModel && e.mode() != ModeExtractive && ctx.Err() == nil
}

// modelNotice is the Fallback notice for an answerer's failure: the
// ModelError's notice, else the error itself, on one line.
func modelNotice(err error) string {
	cause := "the model failed: " + err.Error()
	if me, ok := errors.AsType[*ModelError](err); ok && me.Notice != "" {
		cause = me.Notice
	}
	return Clip(strings.Join(strings.Fields(Printable(cause)), " "), maxNotice) + fallbackSuffix
}

// answerExtractively replaces the generated answer in ans with the
// extractive answer to req, and notes why in ans.Fallback. When the
// extractive answerer finds nothing either, ans is left without citations
// (and the engine refuses).
func (e *Engine) answerExtractively(ctx context.Context, ans *Answer, req DraftRequest, notice string) error {
	ans.Mode = ModeExtractive
	ans.Fallback = notice
	ans.Text, ans.Citations = "", []Citation{}
	xd, err := e.extractive.Draft(ctx, req)
	if err != nil {
		return fmt.Errorf("answer: extractive fallback: %w", err)
	}
	if !xd.Refused {
		xv := Verify(e.search, xd.Claims, req.Hits, e.opts.Verify)
		ans.Citations = xv.Citations
		ans.Text = RenumberMarkers(xd.Text, xv.Markers)
	}
	return nil
}
