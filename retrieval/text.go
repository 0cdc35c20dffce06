package retrieval

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// Text on demand (Want.TextOnDemand). A process that only answers from a
// shared store need not hold the corpus: at 100k articles the articles'
// text and their passages were over a gigabyte in every bot process and
// ten seconds of its cold start (BENCHMARKS.md). Such a generation keeps
// the articles' metadata and row layout; the articles a search returns,
// or Article asks for, are read from the store's TextSource — one round
// trip per search for the articles not already read — chunked again
// (Chunk is deterministic, so they are the rows the store indexed) and
// kept in a small cache, so the quote checks that follow a search find
// them in memory.

// textCacheArticles is how many articles a generation read on demand
// keeps: the hits of a few dozen recent questions; textCacheBytes bounds
// their text (a corpus of a few huge articles would otherwise be held
// whole), though the last article read is always kept.
const (
	textCacheArticles = 512
	textCacheBytes    = 64 << 20
)

// textTimeout bounds a read of text for a caller without a context
// (Article).
const textTimeout = 10 * time.Second

// textCache holds the articles of one generation read from its
// TextSource, least recently used first out.
type textCache struct {
	mu    sync.Mutex
	lru   *list.List            // of *textEntry, most recent first
	byArt map[int]*list.Element // article index -> its entry
	bytes int                   // the entries' size
}

// textEntry is an article read on demand and its passages.
type textEntry struct {
	article  int
	a        corpus.Article
	passages []Passage
	bytes    int // of text, in the paragraphs and the passages
}

func newTextEntry(article int, a corpus.Article, passages []Passage) *textEntry {
	e := &textEntry{article: article, a: a, passages: passages}
	for _, p := range a.Paragraphs {
		e.bytes += len(p)
	}
	for _, p := range passages {
		e.bytes += len(p.Text)
	}
	return e
}

func newTextCache() *textCache {
	return &textCache{lru: list.New(), byArt: map[int]*list.Element{}}
}

func (c *textCache) get(article int) (*textEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byArt[article]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*textEntry), true
}

func (c *textCache) put(e *textEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byArt[e.article]; ok {
		c.lru.MoveToFront(el)
		return
	}
	c.byArt[e.article] = c.lru.PushFront(e)
	c.bytes += e.bytes
	for c.lru.Len() > 1 && (c.lru.Len() > textCacheArticles || c.bytes > textCacheBytes) {
		old := c.lru.Remove(c.lru.Back()).(*textEntry)
		delete(c.byArt, old.article)
		c.bytes -= old.bytes
	}
}

// SpanOf is the index of the span [first, end) holding row r in spans
// (sorted, disjoint: Generation.ArticleRows), and whether one does.
func SpanOf(spans [][2]int, r int) (int, bool) {
	return slices.BinarySearchFunc(spans, r, func(span [2]int, r int) int {
		switch {
		case r < span[0]:
			return 1
		case r >= span[1]:
			return -1
		}
		return 0
	})
}

// texts returns the articles of the given indexes with their text and
// passages: from memory when the generation holds its text, else from
// the cache and, for the rest, one read of the store's TextSource.
func (s *snapshot) texts(ctx context.Context, chunk ChunkOptions, articles []int) (map[int]*textEntry, error) {
	out := make(map[int]*textEntry, len(articles))
	var missing []int
	for _, a := range articles {
		if _, done := out[a]; done || slices.Contains(missing, a) {
			continue
		}
		if s.Text == nil {
			span := s.ArticleRows[a]
			out[a] = &textEntry{article: a, a: s.Articles[a], passages: s.Passages[span[0]:span[1]]}
		} else if e, ok := s.cache.get(a); ok {
			out[a] = e
		} else {
			missing = append(missing, a)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	arts, err := s.Text.Articles(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("read articles' text: %w", err)
	}
	if len(arts) != len(missing) {
		return nil, fmt.Errorf("read articles' text: %d articles for %d asked", len(arts), len(missing))
	}
	for i, a := range missing {
		art := arts[i]
		if art.ID != s.Articles[a].ID {
			return nil, fmt.Errorf("read articles' text: got %q for %q", art.ID, s.Articles[a].ID)
		}
		ps := Chunk(art, chunk)
		if span := s.ArticleRows[a]; len(ps) != span[1]-span[0] {
			return nil, fmt.Errorf("read articles' text: %s chunks into %d passages, the index has %d", art.ID, len(ps), span[1]-span[0])
		}
		e := newTextEntry(a, art, ps)
		s.cache.put(e)
		out[a] = e
	}
	return out, nil
}

// passages returns the passages of rows, in order.
func (s *snapshot) passages(ctx context.Context, chunk ChunkOptions, rows []int) ([]Passage, error) {
	if s.Text == nil {
		out := make([]Passage, len(rows))
		for i, r := range rows {
			out[i] = s.Passages[r]
		}
		return out, nil
	}
	arts := make([]int, len(rows))
	for i, r := range rows {
		a, ok := SpanOf(s.ArticleRows, r)
		if !ok {
			return nil, fmt.Errorf("row %d is in no article of the index", r)
		}
		arts[i] = a
	}
	texts, err := s.texts(ctx, chunk, arts)
	if err != nil {
		return nil, err
	}
	out := make([]Passage, len(rows))
	for i, r := range rows {
		out[i] = texts[arts[i]].passages[r-s.ArticleRows[arts[i]][0]]
	}
	return out, nil
}

// errReadOnly is the error of a write to an index whose generation was
// opened with its text on demand.
var errReadOnly = errors.New("the index was opened to answer only (its text on demand), not to be written")
