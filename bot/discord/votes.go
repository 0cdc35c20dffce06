package discord

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
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
}

// VoteStore appends votes to a JSON Lines file, one vote per line.
type VoteStore struct {
	path string
	mu   sync.Mutex
}

// NewVoteStore stores votes in path; the file and its directory are created
// on the first Add.
func NewVoteStore(path string) *VoteStore { return &VoteStore{path: path} }

// Path is the file the votes go to.
func (s *VoteStore) Path() string { return s.path }

// Add appends v as one line.
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
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("store vote: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("store vote %s: %w", s.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store vote %s: %w", s.path, err)
	}
	return nil
}

// List returns the stored votes, oldest first. When a user voted more than
// once on the same answer, only the last vote counts and is returned (in
// the place of that last vote). A missing file is no votes.
func (s *VoteStore) List() ([]Vote, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list votes: %w", err)
	}
	defer f.Close()
	var all []Vote
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var v Vote
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("list votes: %s line %d: %w", s.path, n, err)
		}
		all = append(all, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("list votes %s: %w", s.path, err)
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
	return out, nil
}
