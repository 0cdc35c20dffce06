package discord

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/verbatimbot/verbatim/bot"
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
// processes may share the file: each vote is one write(2) of one line,
// made with O_APPEND under an exclusive lock on the file (flock on Unix;
// elsewhere O_APPEND alone keeps lines whole).
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

// Add appends v as one line. If the file ends in a torn line (a writer
// died mid-line), the new line starts on a line of its own so it is not
// lost with the torn one.
func (s *VoteStore) Add(v Vote) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode vote: %w", err)
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("store vote: %w", err)
	}
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("store vote: %w", err)
	}
	defer f.Close() // closing also drops the lock
	if err := lockFile(f); err != nil {
		return fmt.Errorf("lock votes file %s: %w", s.path, err)
	}
	torn, err := endsMidLine(f)
	if err != nil {
		return fmt.Errorf("store vote %s: %w", s.path, err)
	}
	if torn {
		line = append([]byte{'\n'}, line...)
	}
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("store vote %s: %w", s.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store vote %s: %w", s.path, err)
	}
	return nil
}

// endsMidLine reports whether f is non-empty and its last byte is not a
// newline.
func endsMidLine(f *os.File) (bool, error) {
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if st.Size() == 0 {
		return false, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], st.Size()-1); err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return last[0] != '\n', nil
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
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list votes: %w", err)
	}
	defer f.Close()
	var all []Vote
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, rerr := r.ReadBytes('\n')
		if len(line) > 0 {
			if v, verr := parseVote(line); verr != nil {
				skipped = append(skipped, BadLine{Path: s.path, Line: n, Err: verr})
			} else if v != nil {
				all = append(all, *v)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return nil, skipped, fmt.Errorf("list votes %s: %w", s.path, rerr)
		}
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
