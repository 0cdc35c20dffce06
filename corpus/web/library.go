package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// Indexer brings the index up to date once articles were written to the
// corpus; retrieval.Refresher does, through retrieval.OpenCorpus.
type Indexer interface {
	Reindex(ctx context.Context) error
}

// Catalog is the articles already indexed (a *retrieval.Index), so that a
// page whose canonical URL an article of the corpus already has — one put
// there by hand, say — is not added again.
type Catalog interface {
	Articles() []corpus.Article
}

// LibraryOptions configure a Library.
type LibraryOptions struct {
	// Corpus is the corpus directory the articles are written into (under
	// web/). It must exist: the bundled corpus cannot be added to.
	Corpus string
	// State is the directory of what was added (pages.jsonl) and the feeds
	// (feeds.json): the index directory. It is created when needed.
	State string
	// Client fetches; nil is NewClient(Options{}).
	Client *Client
	// Catalog, if set, is asked for the indexed articles' URLs.
	Catalog Catalog
	// Indexer, if set, is run after an article was written or updated.
	Indexer Indexer
	// ParseTimeout bounds reading one page (corpus.DefaultParseTimeout
	// when zero).
	ParseTimeout time.Duration
	Logger       *slog.Logger
}

// Library adds web pages to a corpus directory (see Add).
type Library struct {
	opts LibraryOptions
	log  *slog.Logger
	now  func() time.Time
	mu   sync.Mutex // one add at a time in this process; the state lock is for other processes
}

// Status says what Add did.
type Status string

// Statuses of Added.
const (
	// StatusAdded: a new article was written.
	StatusAdded Status = "added"
	// StatusUpdated: the page had been added and has changed since; its
	// article was rewritten.
	StatusUpdated Status = "updated"
	// StatusUnchanged: the page had been added and is the same.
	StatusUnchanged Status = "unchanged"
	// StatusDuplicate: the same text is already in the corpus from another
	// URL, or the corpus has an article with this URL that Add did not
	// write (DuplicateOf says which); nothing was written.
	StatusDuplicate Status = "duplicate"
)

// Added is the outcome of adding one page.
type Added struct {
	Status Status
	// Requested is the URL asked for; URL the canonical one the article
	// is known by (its front matter's url).
	Requested, URL string
	// ArticleID and Path (relative to the corpus, with forward slashes)
	// name the article's file.
	ArticleID, Path string
	Title           string
	Paragraphs      int
	// By and At are who first added the page and when: "" for the command
	// line, "discord:<user ID>", "feed:<feed URL>".
	By string
	At time.Time
	// DuplicateOf is, for StatusDuplicate, the URL (or article ID) that
	// already has this text.
	DuplicateOf string
	// Indexed: the Indexer ran after the article was written.
	Indexed bool
}

// Changed reports whether Add wrote an article.
func (a Added) Changed() bool { return a.Status == StatusAdded || a.Status == StatusUpdated }

// Stage is a step of Add, for progress reports.
type Stage string

// Stages of Add, in order.
const (
	StageFetching Stage = "fetching"
	StageReading  Stage = "reading"
	StageSaving   Stage = "saving"
	StageIndexing Stage = "indexing"
)

// ErrNoCorpus is the reason NewLibrary refuses a corpus that is not a
// directory of its own (the bundled articles are read-only).
var ErrNoCorpus = errors.New("no corpus directory to add articles to")

// NewLibrary checks that the corpus is a directory and returns a Library
// over it.
func NewLibrary(opts LibraryOptions) (*Library, error) {
	if opts.Corpus == "" {
		return nil, ErrNoCorpus
	}
	abs, err := filepath.Abs(opts.Corpus)
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", opts.Corpus, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoCorpus, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrNoCorpus, abs)
	}
	if opts.State == "" {
		return nil, errors.New("web library: no state directory")
	}
	opts.Corpus = abs
	if opts.Client == nil {
		opts.Client = NewClient(Options{})
	}
	if opts.ParseTimeout <= 0 {
		opts.ParseTimeout = corpus.DefaultParseTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Library{opts: opts, log: opts.Logger, now: time.Now}, nil
}

// Add fetches the page at rawURL, reads it and writes it into the corpus
// as web/<host>/<name>.md (Markdown with title, url, author, date and
// fetched in its front matter), then runs the Indexer. A page already
// added under the same canonical URL is rewritten only when its text
// changed; a page whose text the corpus already has from another URL, or
// whose URL an article put there otherwise already has, is not written.
// by says who asks (see Added.By). progress, if not nil, hears each stage.
//
// When the article was written but indexing failed, Add returns both the
// outcome and the error: the article is on disk and the next index run
// picks it up.
func (l *Library) Add(ctx context.Context, rawURL, by string, progress func(Stage)) (Added, error) {
	res, err := l.add(ctx, rawURL, by, time.Time{}, progress)
	if err != nil || !res.Changed() || l.opts.Indexer == nil {
		return res, err
	}
	if progress != nil {
		progress(StageIndexing)
	}
	if err := l.opts.Indexer.Reindex(ctx); err != nil {
		return res, fmt.Errorf("index %s: %w", res.Path, err)
	}
	res.Indexed = true
	return res, nil
}

// Reindex runs the Indexer, if there is one.
func (l *Library) Reindex(ctx context.Context) error {
	if l.opts.Indexer == nil {
		return nil
	}
	return l.opts.Indexer.Reindex(ctx)
}

// add is Add without indexing; date stands in for the page's own date
// when it has none (a feed item's).
func (l *Library) add(ctx context.Context, rawURL, by string, date time.Time, progress func(Stage)) (Added, error) {
	step := func(s Stage) {
		if progress != nil {
			progress(s)
		}
	}
	step(StageFetching)
	resp, err := l.opts.Client.fetch(ctx, rawURL, pageKind, validators{})
	if err != nil {
		return Added{}, err
	}
	step(StageReading)
	art, err := readPage(ctx, resp, l.opts.ParseTimeout)
	if err != nil {
		if ctx.Err() != nil {
			return Added{}, fmt.Errorf("read %s: %w", resp.URL.Redacted(), err)
		}
		return Added{}, fmt.Errorf("read %s: %w: %w", resp.URL.Redacted(), ErrUnreadable, err)
	}
	if art.Published.IsZero() {
		art.Published = date
	}
	fetched := l.now().UTC().Truncate(time.Second)
	res := Added{Requested: rawURL, URL: art.URL, Title: art.Title, Paragraphs: len(art.Paragraphs), By: by, At: fetched}
	hash := contentHash(art.Paragraphs)

	l.mu.Lock()
	defer l.mu.Unlock()
	unlock, err := l.lockState()
	if err != nil {
		return Added{}, err
	}
	defer unlock()
	known, err := l.pages()
	if err != nil {
		return Added{}, err
	}
	res.Path = articlePath(art.URL)
	if prev, ok := known.byURL[art.URL]; ok && l.exists(prev.File) {
		res.Path, res.By, res.At = prev.File, prev.FirstBy, prev.FirstAt
		if prev.Content == hash {
			res.Status = StatusUnchanged
			res.ArticleID = articleID(res.Path)
			return res, nil
		}
		res.Status = StatusUpdated
	} else if prev, ok := known.byContent[hash]; ok && l.exists(prev.File) {
		res.Status, res.DuplicateOf, res.By, res.At = StatusDuplicate, prev.URL, prev.FirstBy, prev.FirstAt
		res.Path, res.ArticleID = prev.File, articleID(prev.File)
		return res, nil
	} else if id, ok := l.cataloged(art.URL, res.Path); ok {
		res.Status, res.DuplicateOf, res.ArticleID, res.Path, res.By = StatusDuplicate, id, id, "", ""
		return res, nil
	} else {
		res.Status = StatusAdded
	}
	res.ArticleID = articleID(res.Path)
	step(StageSaving)
	data, err := corpus.MarkdownFile(art, fetched)
	if err != nil {
		return Added{}, fmt.Errorf("write %s: %w", res.Path, err)
	}
	if err := writeAtomic(filepath.Join(l.opts.Corpus, filepath.FromSlash(res.Path)), data); err != nil {
		return Added{}, fmt.Errorf("write %s: %w", res.Path, err)
	}
	rec := pageRecord{Time: fetched, Event: string(res.Status), Requested: rawURL, URL: art.URL, File: res.Path,
		Content: hash, Title: art.Title, By: by}
	if err := l.appendPage(rec); err != nil {
		// The article is written; only the memory of it is lost, so a
		// later add of the same URL rewrites the same file.
		l.log.Warn("remember added page", "url", art.URL, "err", err)
	}
	l.log.Info("web page "+string(res.Status), "url", art.URL, "path", res.Path, "paragraphs", res.Paragraphs, "by", by)
	return res, nil
}

// articleID is the corpus article ID of a file path: the path without its
// extension.
func articleID(p string) string { return strings.TrimSuffix(p, filepath.Ext(p)) }

// exists reports whether the article file at p (relative to the corpus)
// is still there: one deleted by hand counts as never added.
func (l *Library) exists(p string) bool {
	_, err := os.Stat(filepath.Join(l.opts.Corpus, filepath.FromSlash(p)))
	return err == nil
}

// cataloged finds an indexed article with URL u that is not the file Add
// would write.
func (l *Library) cataloged(u, ownPath string) (string, bool) {
	if l.opts.Catalog == nil {
		return "", false
	}
	own := articleID(ownPath)
	for _, a := range l.opts.Catalog.Articles() {
		if a.URL == u && a.ID != own {
			return a.ID, true
		}
	}
	return "", false
}

// pagesName and lockName are files in the state directory.
const (
	pagesName = "pages.jsonl"
	lockName  = "web.lock"
)

// pageRecord is one line of pages.jsonl: a page added or updated.
type pageRecord struct {
	Time      time.Time `json:"time"`
	Event     string    `json:"event"`
	Requested string    `json:"requested"`
	URL       string    `json:"url"`
	File      string    `json:"file"`
	Content   string    `json:"content"`
	Title     string    `json:"title"`
	By        string    `json:"by,omitempty"`
}

// page is what the records say about one canonical URL: the latest
// record, and who added it first.
type page struct {
	pageRecord
	FirstBy string
	FirstAt time.Time
}

type pageIndex struct {
	byURL     map[string]page
	byContent map[string]page
}

// pages reads pages.jsonl; lines that are not records (a torn last line)
// are skipped with a warning.
func (l *Library) pages() (pageIndex, error) {
	idx := pageIndex{byURL: map[string]page{}, byContent: map[string]page{}}
	f, err := os.Open(filepath.Join(l.opts.State, pagesName))
	if errors.Is(err, fs.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return idx, fmt.Errorf("read added pages: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, rerr := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var rec pageRecord
			if err := json.Unmarshal(line, &rec); err != nil || rec.URL == "" || rec.File == "" {
				l.log.Warn("skipped a line of the added pages", "file", f.Name(), "line", n)
			} else {
				p, seen := idx.byURL[rec.URL]
				if !seen {
					p.FirstBy, p.FirstAt = rec.By, rec.Time
				}
				p.pageRecord = rec
				idx.byURL[rec.URL] = p
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return idx, fmt.Errorf("read added pages: %w", rerr)
		}
	}
	for _, p := range idx.byURL {
		idx.byContent[p.Content] = p
	}
	return idx, nil
}

// appendPage appends rec to pages.jsonl as one write, the state lock held.
func (l *Library) appendPage(rec pageRecord) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(l.opts.State, pagesName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		line = append([]byte{'\n'}, line...) // a torn last line stays on its own; blank lines are skipped
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return err
	}
	return f.Close()
}

// lockState takes the state directory's lock, shared by every process
// adding pages or changing feeds.
func (l *Library) lockState() (unlock func(), err error) {
	if err := os.MkdirAll(l.opts.State, 0o755); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(l.opts.State, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", l.opts.State, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", l.opts.State, err)
	}
	return func() { f.Close() }, nil
}

// writeAtomic writes data to name through a temporary file in the same
// directory (a dot file, which neither the corpus loader nor the watcher
// looks at) renamed into place, creating the directory.
func writeAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".verbatim-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
