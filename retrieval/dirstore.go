package retrieval

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
)

// DirStore is the in-process Store: generations as files in an index
// directory (see Index for the layout, persist.go and vectorfile.go for
// the files), searched in memory — vectors in chromem-go collections
// (chromemStore), postings in a lexicalIndex.
type DirStore struct {
	dir string
	log *slog.Logger
	// vectors is the chromem-go database holding the collections of the
	// generations in use.
	vectors *vectorDB
}

var _ Store = (*DirStore)(nil)

// NewDirStore returns the store of the index directory dir (which Open
// creates); log receives notes on stale files, nil discards them.
func NewDirStore(dir string, log *slog.Logger) *DirStore {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DirStore{dir: dir, log: log, vectors: newVectorDB()}
}

// Open implements Store.
func (d *DirStore) Open(ctx context.Context, want Want) (*Generation, error) {
	g, m, err := d.load(ctx, want)
	if errors.Is(err, fs.ErrNotExist) && m != nil {
		// A concurrent write may have committed a newer generation and
		// removed the files of the one we read: try once more.
		g, m, err = d.load(ctx, want)
	}
	switch {
	case err == nil:
		return g, nil
	case errors.Is(err, ErrNoGeneration) || ctx.Err() != nil:
		return nil, err
	}
	u := &UnusableError{Reason: err.Error(), Err: err}
	if m != nil {
		u.Generation = m.Generation
		u.Fingerprints = make(map[string]string, len(m.Articles))
		for _, a := range m.Articles {
			u.Fingerprints[a.ID] = a.Fingerprint
		}
	}
	return nil, u
}

// Committed implements Store: the generation the manifest names.
func (d *DirStore) Committed(context.Context) (uint64, error) {
	gen, err := diskGeneration(d.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	return gen, err
}

// Lock implements Store with an flock on dir/lock.
func (d *DirStore) Lock(ctx context.Context, wait bool) (func(), error) {
	if wait {
		return lockDirWait(ctx, d.dir)
	}
	return lockDir(d.dir)
}

// Close implements Store; the directory holds no open files between calls.
func (d *DirStore) Close() error { return nil }

// dirIndex is the in-process GenerationIndex.
type dirIndex struct {
	db      *vectorDB
	vectors *chromemStore
	lexical *lexicalIndex
}

var _ GenerationIndex = (*dirIndex)(nil)

func emptyDirIndex(db *vectorDB) *dirIndex {
	return &dirIndex{db: db, vectors: emptyStore(db), lexical: newLexicalBuilder(0).build()}
}

// Lexical implements GenerationIndex.
func (x *dirIndex) Lexical(_ context.Context, terms []string, k int) ([]Scored, error) {
	return x.lexical.search(terms, k), nil
}

// Nearest implements GenerationIndex.
func (x *dirIndex) Nearest(ctx context.Context, q []float32, k int, near []int) ([]Scored, error) {
	return x.vectors.Nearest(ctx, q, k, near)
}

// IDF implements GenerationIndex.
func (x *dirIndex) IDF(term string) float64 { return x.lexical.idf(term) }

// Release implements GenerationIndex: the collections next does not share
// are deleted. Searches still running on x keep working.
func (x *dirIndex) Release(next GenerationIndex) {
	n, ok := next.(*dirIndex)
	if !ok || n == nil {
		n = emptyDirIndex(x.db)
	}
	x.db.release(x.vectors, n.vectors)
}

// scanBytes is what a search for q (with the analysed query terms) reads:
// see Index.ScanBytes.
func (x *dirIndex) scanBytes(ctx context.Context, q []float32, terms []string) (vector, lexical int64) {
	vector = x.vectors.scanBytes(ctx, q)
	seen := map[string]bool{}
	for _, t := range terms {
		if !seen[t] {
			seen[t] = true
			lexical += int64(x.lexical.df(t)) * (4 + 2 + 4)
		}
	}
	return vector, lexical
}

// Begin implements Store: kept rows keep their vectors (the same slices:
// nothing is copied) and postings (copied, not re-tokenised); Put fills
// the embedded rows; Commit builds the vector store, reusing the chromem
// collection of every unchanged article, and persists the generation.
func (d *DirStore) Begin(_ context.Context, base *Generation, plan WritePlan) (GenerationWriter, error) {
	w := &dirWriter{d: d, plan: plan, rows: make([][]float32, len(plan.Passages))}
	w.plan.Number = max(plan.Number, d.maxGenOnDisk()+1)
	w.lex = newLexicalBuilder(len(plan.Passages))
	var old *dirIndex
	if base != nil && !plan.Rebuild {
		var ok bool
		if old, ok = base.Index.(*dirIndex); !ok {
			return nil, errors.New("begin generation: base is not of this store")
		}
		w.base, w.old = base, old
		remap := make([]int, len(base.Passages))
		for i := range remap {
			remap[i] = -1
		}
		for r, o := range plan.Kept {
			if o >= 0 {
				remap[o] = r
				w.rows[r] = old.vectors.rows[o]
			}
		}
		w.lex.addFrom(old.lexical, remap)
	}
	return w, nil
}

type dirWriter struct {
	d    *DirStore
	plan WritePlan
	base *Generation
	old  *dirIndex // base's index, nil when nothing is kept
	rows [][]float32
	lex  *lexicalBuilder
}

func (w *dirWriter) Number() uint64 { return w.plan.Number }

// Put implements GenerationWriter.
func (w *dirWriter) Put(_ context.Context, a int, vectors [][]float32, terms [][]string) error {
	r := w.plan.ArticleRows[a]
	if len(vectors) != r[1]-r[0] || len(terms) != r[1]-r[0] {
		return fmt.Errorf("put %s: %d vectors and %d term lists for %d passages", w.plan.Articles[a].ID, len(vectors), len(terms), r[1]-r[0])
	}
	copy(w.rows[r[0]:r[1]], vectors)
	for k, ts := range terms {
		w.lex.addDoc(r[0]+k, ts)
	}
	return nil
}

// Commit implements GenerationWriter: the vector store is built, the
// files written and the manifest naming them renamed into place.
func (w *dirWriter) Commit(ctx context.Context, dims int) (GenerationIndex, error) {
	p := w.plan
	// An article whose passages were all kept keeps its collection.
	keptArticle := make([]int, len(p.ArticleRows))
	var baseRows map[string][2]int // base article ID -> its partition and first row
	if w.old != nil {
		baseRows = make(map[string][2]int, len(w.base.Articles))
		for j, a := range w.base.Articles {
			baseRows[a.ID] = [2]int{j, w.base.ArticleRows[j][0]}
		}
	}
	for a, r := range p.ArticleRows {
		keptArticle[a] = -1
		if r[1] > r[0] && w.old != nil && p.Kept[r[0]] >= 0 {
			if b, ok := baseRows[p.Articles[a].ID]; ok && w.base.ArticleRows[b[0]] == [2]int{int(p.Kept[r[0]]), int(p.Kept[r[0]]) + r[1] - r[0]} {
				keptArticle[a] = b[0]
			}
		}
	}
	in := storeInput{ids: passageIDs(p.Passages), rows: w.rows, dims: dims, articles: p.ArticleRows, keptArticle: keptArticle}
	if w.old != nil {
		in.old = w.old.vectors
	}
	store, err := buildStore(ctx, w.d.vectors, in)
	if err != nil {
		return nil, err
	}
	ix := &dirIndex{db: w.d.vectors, vectors: store, lexical: w.lex.build()}
	emb := p.Embedder
	if emb.Dims == 0 {
		emb.Dims = store.dims
	}
	g := &Generation{Number: p.Number, Embedder: emb, BuiltAt: p.BuiltAt, Articles: p.Articles,
		Passages: p.Passages, ArticleRows: p.ArticleRows, Index: ix}
	if err := w.d.persist(ctx, g, p.Chunk); err != nil {
		prev := emptyStore(w.d.vectors)
		if w.old != nil {
			prev = w.old.vectors
		}
		w.d.vectors.release(store, prev)
		return nil, err
	}
	w.d.removeStale(p.Number)
	return ix, nil
}

// Abort implements GenerationWriter: nothing is written before Commit.
func (w *dirWriter) Abort(context.Context) {}
