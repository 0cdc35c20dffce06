package eval

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Kind is what a question expects of the bot.
type Kind int

const (
	// Answerable: the gold paragraph is indexed; the bot should answer and
	// cite it.
	Answerable Kind = iota
	// Unanswerable: written against an indexed article, but its answer is
	// not in it; the bot should refuse.
	Unanswerable
	// OffCorpus: about an article that is not indexed (an off-corpus
	// split); the bot should refuse.
	OffCorpus
)

func (k Kind) String() string {
	switch k {
	case Answerable:
		return "answerable"
	case Unanswerable:
		return "unanswerable"
	case OffCorpus:
		return "off-corpus"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Item is one question of a question set. Answerable rows name the gold
// article and 1-based paragraph; unanswerable rows have neither (and may
// name the article they were written against in SourceArticle).
type Item struct {
	ID        string   `json:"id"`
	Question  string   `json:"question"`
	Answers   []string `json:"answers"`
	Article   *string  `json:"article"`
	Paragraph *int     `json:"paragraph"`
	// AnswerSentence is the gold sentence, where the source labels one.
	AnswerSentence string `json:"answer_sentence,omitempty"`
	// SourceArticle is, for an unanswerable row, the article it was
	// written against.
	SourceArticle *string `json:"source_article,omitempty"`
	// Kind is Answerable when Article and Paragraph are set and
	// Unanswerable otherwise, unless a split made it OffCorpus.
	Kind Kind `json:"-"`
	// From names the question set a split borrowed the item from (the
	// distractor of a bundled set's split); "" for the set's own items.
	From string `json:"-"`
}

// Answerable reports whether the item has a gold paragraph.
func (it Item) Answerable() bool { return it.Kind == Answerable }

// About is the article the question is about: the gold article, else the
// one an unanswerable question was written against, else "".
func (it Item) About() string {
	switch {
	case it.Article != nil:
		return *it.Article
	case it.SourceArticle != nil:
		return *it.SourceArticle
	}
	return ""
}

// ReadFile reads a question set. A missing or unreadable file, a line that
// is not JSON, a row without a question or with only one of article and
// paragraph is an error naming the file and line.
func ReadFile(path string) ([]Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("question set: %w", err)
	}
	defer f.Close()
	items, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s%w", path, err)
	}
	return items, nil
}

// lineError is a problem on one line; ReadFile prefixes the path.
type lineError struct {
	line int
	err  error
}

func (e lineError) Error() string { return fmt.Sprintf(":%d: %v", e.line, e.err) }
func (e lineError) Unwrap() error { return e.err }

// Read reads a question set from r (see ReadFile).
func Read(r io.Reader) ([]Item, error) {
	var items []Item
	br := bufio.NewReader(r)
	seen := map[string]int{}
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf(": read: %w", err)
		}
		if s := strings.TrimSpace(line); s != "" {
			it, perr := parseItem(s)
			if perr != nil {
				return nil, lineError{n, perr}
			}
			if it.ID == "" {
				it.ID = fmt.Sprintf("line-%d", n)
			}
			if prev, dup := seen[it.ID]; dup {
				return nil, lineError{n, fmt.Errorf("id %q already on line %d", it.ID, prev)}
			}
			seen[it.ID] = n
			items = append(items, it)
		}
		if err != nil {
			break
		}
	}
	if len(items) == 0 {
		return nil, errors.New(": no questions")
	}
	return items, nil
}

func parseItem(line string) (Item, error) {
	var it Item
	if err := json.Unmarshal([]byte(line), &it); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return it, fmt.Errorf("not a JSON object: %v", se)
		}
		return it, err
	}
	if strings.TrimSpace(it.Question) == "" {
		return it, errors.New("no question")
	}
	if (it.Article == nil) != (it.Paragraph == nil) {
		return it, errors.New("article and paragraph must be both set (answerable) or both null (unanswerable)")
	}
	if it.Paragraph != nil && *it.Paragraph < 1 {
		return it, fmt.Errorf("paragraph %d: paragraphs are numbered from 1", *it.Paragraph)
	}
	if it.Article == nil {
		it.Kind = Unanswerable
	}
	return it, nil
}
