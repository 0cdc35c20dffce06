// Package gaps keeps the coverage gaps of a corpus: every question a front
// door refused for want of support in the articles, and every answer a
// user voted 👎, with when it was asked, through which door and the
// refusal model's best score. Grouped by their content terms, the
// recurring ones say what the articles should cover next.
//
// The answering engine knows nothing of it: the front doors (the CLI, the
// Discord bot) record what they were asked and answered. User IDs are kept
// only when the store is told to (VERBATIM_GAPS_USERS=on).
package gaps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/verbatimbot/verbatim/bot/jsonl"
)

// Reason says why a question is a gap.
type Reason string

// Reasons.
const (
	// Refused: the engine found no support for an answer.
	Refused Reason = "refused"
	// Downvoted: a user voted the answer 👎.
	Downvoted Reason = "downvoted"
)

// Gap is one question the articles did not answer well.
type Gap struct {
	Time     time.Time `json:"time"`
	Question string    `json:"question"`
	// Door is where it was asked: "ask", "chat", "discord /ask", "discord
	// DM", "discord mention", "discord thread", "discord message menu".
	Door   string `json:"door"`
	Reason Reason `json:"reason"`
	// Support is the refusal model's probability that the articles answer
	// the question (bot.Answer.Support); nil when not known (a vote on an
	// answer the bot no longer remembered).
	Support *float64 `json:"support,omitempty"`
	// UserID is who asked, only with FileOptions.Users.
	UserID string `json:"user_id,omitempty"`
}

// Score returns p as a Support value.
func Score(p float64) *float64 { return &p }

// FileOptions configure a File.
type FileOptions struct {
	// Users keeps Gap.UserID; without it, user IDs are dropped before
	// anything is written.
	Users bool
}

// File stores gaps as JSON Lines, one gap per line. Several processes may
// share it, as they share the votes file (see package jsonl).
type File struct {
	path string
	opts FileOptions
	mu   sync.Mutex
}

// NewFile stores gaps in path; the file and its directory are created on
// the first Record.
func NewFile(path string, opts FileOptions) *File { return &File{path: path, opts: opts} }

// Path is the file the gaps go to.
func (f *File) Path() string { return f.path }

// Record appends g as one line (see jsonl.Append).
func (f *File) Record(ctx context.Context, g Gap) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !f.opts.Users {
		g.UserID = ""
	}
	if g.Time.IsZero() {
		g.Time = time.Now()
	}
	g.Time = g.Time.UTC()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := jsonl.Append(f.path, g); err != nil {
		return fmt.Errorf("record gap: %w", err)
	}
	return nil
}

// BadLine is a line of the gaps file that holds no gap (torn by a crash,
// edited by hand); List skips it.
type BadLine struct {
	Path string
	Line int
	Err  error
}

func (b BadLine) Error() string { return fmt.Sprintf("%s line %d skipped: %v", b.Path, b.Line, b.Err) }

// List returns the recorded gaps, oldest first, and the lines it skipped.
// A missing file is no gaps; err is for a file that cannot be read.
func (f *File) List(ctx context.Context) (gaps []Gap, skipped []BadLine, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	err = jsonl.Read(f.path, func(n int, line []byte) error {
		var g Gap
		switch err := json.Unmarshal(line, &g); {
		case err != nil:
			skipped = append(skipped, BadLine{Path: f.path, Line: n, Err: fmt.Errorf("not a gap: %w", err)})
		case g.Question == "" || (g.Reason != Refused && g.Reason != Downvoted):
			skipped = append(skipped, BadLine{Path: f.path, Line: n, Err: errors.New(`not a gap: want a question and reason "refused" or "downvoted"`)})
		default:
			gaps = append(gaps, g)
		}
		return nil
	})
	if err != nil {
		return gaps, skipped, fmt.Errorf("list gaps: %w", err)
	}
	return gaps, skipped, nil
}
