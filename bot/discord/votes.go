package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/bot/jsonl"
)

// Vote is one 👍/👎 on an answer, stored with what was asked and answered.
type Vote struct {
	Time     time.Time `json:"time"`
	AnswerID string    `json:"answer_id"`
	UserID   string    `json:"user_id"`
	// Value is "up" or "down".
	Value     string         `json:"vote"`
	Question  string         `json:"question"`
	Answer    string         `json:"answer"`
	Refused   bool           `json:"refused"`
	Mode      bot.Mode       `json:"mode,omitempty"`
	Citations []bot.Citation `json:"citations"`
	// FromMessage: the bot no longer had the answer (it restarted), so
	// question and answer were read back from the Discord message; its
	// citations are not known.
	FromMessage bool `json:"from_message,omitempty"`
}

// VoteStore appends votes to a JSON Lines file, one vote per line. Several
// processes may share the file (see package jsonl).
type VoteStore struct {
	path string
	mu   sync.Mutex
}

// VoteRecorder stores votes: a VoteStore, or a database that several bot
// processes share (Config.Votes).
type VoteRecorder interface {
	Record(ctx context.Context, v Vote) error
}

var _ VoteRecorder = (*VoteStore)(nil)

// Record implements VoteRecorder with Add.
func (s *VoteStore) Record(_ context.Context, v Vote) error { return s.Add(v) }

// NewVoteStore stores votes in path; the file and its directory are created
// on the first Add.
func NewVoteStore(path string) *VoteStore { return &VoteStore{path: path} }

// Path is the file the votes go to.
func (s *VoteStore) Path() string { return s.path }

// Add appends v as one line (see jsonl.Append).
func (s *VoteStore) Add(v Vote) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := jsonl.Append(s.path, v); err != nil {
		return fmt.Errorf("store vote: %w", err)
	}
	return nil
}

// BadLine is a line of the votes file that holds no vote: torn by a crash,
// edited by hand, or not a vote at all. List skips it.
type BadLine struct {
	Path string
	Line int
	Err  error
}

func (b BadLine) Error() string {
	return fmt.Sprintf("%s line %d skipped: %v", b.Path, b.Line, b.Err)
}

// List returns the stored votes, oldest first, and the lines it skipped
// because they hold no vote. When a user voted more than once on the same
// answer, only the last vote counts and is returned (in the place of that
// last vote). A missing file is no votes; err is only for a file that
// cannot be read.
func (s *VoteStore) List() (votes []Vote, skipped []BadLine, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []Vote
	err = jsonl.Read(s.path, func(n int, line []byte) error {
		if v, verr := parseVote(line); verr != nil {
			skipped = append(skipped, BadLine{Path: s.path, Line: n, Err: verr})
		} else if v != nil {
			all = append(all, *v)
		}
		return nil
	})
	if err != nil {
		return nil, skipped, fmt.Errorf("list votes: %w", err)
	}
	type key struct{ answer, user string }
	last := make(map[key]int, len(all))
	for i, v := range all {
		last[key{v.AnswerID, v.UserID}] = i
	}
	out := all[:0]
	for i, v := range all {
		if last[key{v.AnswerID, v.UserID}] == i {
			out = append(out, v)
		}
	}
	return out, skipped, nil
}

// parseVote decodes one line; a blank line is no vote and no error. A last
// line without its newline is decoded too: a torn one fails to.
func parseVote(line []byte) (*Vote, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil, nil
	}
	var v Vote
	if err := json.Unmarshal(line, &v); err != nil {
		return nil, fmt.Errorf("not a vote: %w", err)
	}
	if v.AnswerID == "" || (v.Value != "up" && v.Value != "down") {
		return nil, errors.New(`not a vote: want an answer_id and vote "up" or "down"`)
	}
	return &v, nil
}
