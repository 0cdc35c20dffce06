package retrieval

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/verbatimbot/verbatim/corpus"
)

// ChunkOptions controls how paragraphs are merged into passages. The index
// records them and rebuilds when they change.
type ChunkOptions struct {
	// MaxWords is the most words a passage of several paragraphs may hold:
	// consecutive paragraphs of an article are merged while the total stays
	// within it. A paragraph is never split, so a longer paragraph is a
	// passage on its own. Zero means DefaultMaxWords.
	MaxWords int
}

// DefaultMaxWords is the default ChunkOptions.MaxWords.
//
// News paragraphs run 30–80 words, so 160 merges two to four of them. The
// passage count sets the cost of a vector scan: for the ~600-word articles
// of the scale target (10k articles, ~100k paragraphs) one passage per
// paragraph would mean ~100k vectors, 120 words ~50k, 160 ~40k, 200 ~30k.
// Passage-level hit rates rise with size only because a passage covers more
// paragraphs (quail-news-blogs hybrid hit@1: .608 at 120 words, .672 at
// 200), which the answerer then has to sift; 160 keeps a passage a
// paragraph-sized answer context at 40% of the per-paragraph scan cost.
const DefaultMaxWords = 160

// WithDefaults fills zero fields.
func (o ChunkOptions) WithDefaults() ChunkOptions {
	if o.MaxWords <= 0 {
		o.MaxWords = DefaultMaxWords
	}
	return o
}

// String describes the options, e.g. "max 120 words".
func (o ChunkOptions) String() string {
	return fmt.Sprintf("max %d words", o.WithDefaults().MaxWords)
}

// Chunk splits an article into passages of consecutive paragraphs, in order.
// Empty paragraphs are skipped. The title is not part of Passage.Text; it is
// given to the embedder as context (see Passage.EmbedText).
func Chunk(a corpus.Article, opts ChunkOptions) []Passage {
	opts = opts.WithDefaults()
	var out []Passage
	first, words := 0, 0 // first is the 1-based start of the open passage, 0 if none
	flush := func(last int) {
		if first == 0 {
			return
		}
		out = append(out, newPassage(a, first, last))
		first, words = 0, 0
	}
	for i, p := range a.Paragraphs {
		n := i + 1
		w := countWords(p)
		if w == 0 {
			flush(n - 1)
			continue
		}
		if first != 0 && words+w > opts.MaxWords {
			flush(n - 1)
		}
		if first == 0 {
			first = n
		}
		words += w
	}
	flush(len(a.Paragraphs))
	return out
}

func newPassage(a corpus.Article, first, last int) Passage {
	return Passage{
		ID:        PassageID(a.ID, first, last),
		ArticleID: a.ID,
		Title:     a.Title,
		First:     first,
		Last:      last,
		Text:      strings.Join(a.Paragraphs[first-1:last], "\n\n"),
	}
}

// PassageID returns "<article>#p<first>" or "<article>#p<first>-<last>".
func PassageID(article string, first, last int) string {
	id := article + "#p" + strconv.Itoa(first)
	if last != first {
		id += "-" + strconv.Itoa(last)
	}
	return id
}

// EmbedText is what the embedder sees: the title as context, then the text.
func (p Passage) EmbedText() string {
	if p.Title == "" {
		return p.Text
	}
	return p.Title + "\n\n" + p.Text
}

// Contains reports whether paragraph n (1-based) is in the passage.
func (p Passage) Contains(n int) bool { return n >= p.First && n <= p.Last }

func countWords(s string) int {
	n, in := 0, false
	for _, r := range s {
		sp := r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '\u00a0'
		if !sp && !in {
			n++
		}
		in = !sp
	}
	return n
}
