package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/verbatimbot/verbatim/retrieval"
)

// notifyChannel is the channel a commit NOTIFYs, with the schema and the
// generation as payload (see Follow).
const notifyChannel = "verbatim_generation"

// flushPassages is how many passages Put buffers before copying them in.
const flushPassages = 1024

// Begin implements retrieval.Store: one transaction holds the whole
// generation until Commit. It first marks the article versions the plan
// replaces or removes as dying with the new generation.
func (s *Store) Begin(ctx context.Context, base *retrieval.Generation, plan retrieval.WritePlan) (retrieval.GenerationWriter, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin generation: %w", err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("begin generation: %w", err)
	}
	w := &writer{s: s, conn: conn, tx: tx, plan: plan, postings: map[string][]posting{}, vids: map[int]int64{}}
	if err := w.begin(ctx, base); err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("begin generation: %w", err)
	}
	return w, nil
}

type writer struct {
	s    *Store
	conn *pgxpool.Conn
	tx   pgx.Tx
	plan retrieval.WritePlan
	gen  int64
	done bool

	vids     map[int]int64 // embedded article -> its new version's vid
	df       map[string]int32
	totalLen int64
	postings map[string][]posting // this segment's, by term

	articleRows, passageRows [][]any // buffered for the next copy
}

func (w *writer) begin(ctx context.Context, base *retrieval.Generation) error {
	var maxGen int64
	if err := w.tx.QueryRow(ctx, `SELECT coalesce(max(gen), 0) FROM generations`).Scan(&maxGen); err != nil {
		return err
	}
	w.gen = max(int64(w.plan.Number), maxGen+1)
	w.df = map[string]int32{}
	if base == nil || w.plan.Rebuild {
		if _, err := w.tx.Exec(ctx, `UPDATE articles SET died = $1 WHERE died IS NULL`, w.gen); err != nil {
			return err
		}
	} else {
		bix, ok := base.Index.(*genIndex)
		if !ok {
			return errors.New("the base generation is not of this store")
		}
		w.df = maps.Clone(bix.df)
		w.totalLen = bix.totalLen
		kept := make(map[string]bool, len(w.plan.Articles))
		embed := make(map[int]bool, len(w.plan.Embed))
		for _, a := range w.plan.Embed {
			embed[a] = true
		}
		for i, a := range w.plan.Articles {
			if !embed[i] {
				kept[a.ID] = true
			}
		}
		// The statistics lose the passages of every version that dies.
		var dying []string
		for j, a := range base.Articles {
			if kept[a.ID] {
				continue
			}
			dying = append(dying, a.ID)
			r := base.ArticleRows[j]
			for _, p := range base.Passages[r[0]:r[1]] {
				terms := retrieval.Terms(p.Title + "\n\n" + p.Text)
				w.totalLen -= int64(len(terms))
				for _, t := range uniq(terms) {
					if w.df[t]--; w.df[t] <= 0 {
						delete(w.df, t)
					}
				}
			}
		}
		if len(dying) > 0 {
			if _, err := w.tx.Exec(ctx, `UPDATE articles SET died = $1 WHERE died IS NULL AND id = ANY($2)`, w.gen, dying); err != nil {
				return err
			}
		}
	}
	if _, err := w.tx.Exec(ctx, `UPDATE passages SET died = $1 WHERE died IS NULL
		AND vid IN (SELECT vid FROM articles WHERE died = $1)`, w.gen); err != nil {
		return err
	}
	// The new versions' vids, allocated at once.
	rows, err := w.tx.Query(ctx, `SELECT nextval('articles_vid_seq') FROM generate_series(1, $1)`, len(w.plan.Embed))
	if err != nil {
		return err
	}
	vids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	for i, a := range w.plan.Embed {
		w.vids[a] = vids[i]
	}
	return nil
}

func uniq(terms []string) []string {
	out := slices.Clone(terms)
	slices.Sort(out)
	return slices.Compact(out)
}

// Number implements retrieval.GenerationWriter.
func (w *writer) Number() uint64 { return uint64(w.gen) }

// Put implements retrieval.GenerationWriter: the article version and its
// passages are buffered and copied into the transaction in batches; their
// postings are kept for the segment, written by Commit.
func (w *writer) Put(ctx context.Context, a int, vectors [][]float32, terms [][]string) error {
	vid, ok := w.vids[a]
	if !ok {
		return fmt.Errorf("put article %d: not one to embed", a)
	}
	art := w.plan.Articles[a]
	r := w.plan.ArticleRows[a]
	if len(vectors) != r[1]-r[0] || len(terms) != len(vectors) {
		return fmt.Errorf("put %s: %d vectors and %d term lists for %d passages", art.ID, len(vectors), len(terms), r[1]-r[0])
	}
	if len(vectors) >= 1<<pidShift {
		return fmt.Errorf("put %s: %d passages, at most %d per article", art.ID, len(vectors), 1<<pidShift-1)
	}
	var published any
	if !art.Published.IsZero() {
		published = art.Published
	}
	w.articleRows = append(w.articleRows, []any{vid, art.ID, art.Fingerprint, w.gen, art.Title, art.URL, art.Author, published, art.Source,
		art.Paragraphs, len(art.Paragraphs), len(vectors)})
	for k, v := range vectors {
		pid := vid<<pidShift | int64(k)
		docLen := len(terms[k])
		w.totalLen += int64(docLen)
		tf := map[string]int{}
		for _, t := range terms[k] {
			tf[t]++
		}
		for t, n := range tf {
			w.df[t]++
			w.postings[t] = append(w.postings[t], posting{pid: pid, tf: uint16(min(n, 1<<16-1)), docLen: uint32(docLen)})
		}
		var emb any
		dims := 0
		if v != nil {
			emb, dims = pgvector.NewVector(v), len(v)
		}
		w.passageRows = append(w.passageRows, []any{pid, vid, w.gen, docLen, dims, emb})
	}
	if len(w.passageRows) >= flushPassages {
		return w.flush(ctx)
	}
	return nil
}

// flush copies the buffered articles and passages in.
func (w *writer) flush(ctx context.Context) error {
	if len(w.articleRows) > 0 {
		if _, err := w.tx.CopyFrom(ctx, pgx.Identifier{"articles"},
			[]string{"vid", "id", "fingerprint", "born", "title", "url", "author", "published", "source", "paragraphs", "n_paragraphs", "n_passages"},
			pgx.CopyFromRows(w.articleRows)); err != nil {
			return fmt.Errorf("copy articles: %w", err)
		}
		w.articleRows = w.articleRows[:0]
	}
	if len(w.passageRows) > 0 {
		if _, err := w.tx.CopyFrom(ctx, pgx.Identifier{"passages"},
			[]string{"pid", "vid", "born", "doc_len", "dims", "embedding"},
			pgx.CopyFromRows(w.passageRows)); err != nil {
			return fmt.Errorf("copy passages: %w", err)
		}
		w.passageRows = w.passageRows[:0]
	}
	return nil
}

// Commit implements retrieval.GenerationWriter: the last passages, the
// HNSW index for the vectors' dimensions if it is the first of them, the
// segment's postings, the generation's row, the committed row and the
// notification, then COMMIT — the commit point. What only older
// generations can see is deleted afterwards.
func (w *writer) Commit(ctx context.Context, dims int) (retrieval.GenerationIndex, error) {
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	if dims > 0 {
		// Building the graph over many rows at once wants memory; an
		// existing index has taken the rows as they came.
		if _, err := w.tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '1GB'`); err != nil {
			return nil, fmt.Errorf("commit generation: %w", err)
		}
		if _, err := w.tx.Exec(ctx, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON passages USING hnsw (%s vector_cosine_ops) WHERE dims = %d`,
			hnswIndex(dims), hnswExpr(dims), dims)); err != nil {
			return nil, fmt.Errorf("create vector index: %w", err)
		}
	}
	terms := slices.Sorted(maps.Keys(w.postings))
	rows := make([][]any, 0, len(terms))
	for _, t := range terms {
		rows = append(rows, []any{t, w.gen, encodePostings(w.postings[t])})
	}
	if _, err := w.tx.CopyFrom(ctx, pgx.Identifier{"postings"}, []string{"term", "seg", "data"}, pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("copy postings: %w", err)
	}
	p := w.plan
	emb := p.Embedder
	if emb.Dims == 0 {
		emb.Dims = dims
	}
	for t, n := range w.df {
		if n <= 0 {
			delete(w.df, t)
		}
	}
	lexicon := encodeLexicon(w.df)
	if _, err := w.tx.Exec(ctx, `INSERT INTO generations (gen, format, embedder_name, embedder_model, dims, chunk_max_words,
		built_at, articles, passages, total_len, lexicon) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		w.gen, retrieval.FormatVersion, emb.Name, emb.Model, emb.Dims, p.Chunk.WithDefaults().MaxWords,
		p.BuiltAt, len(p.Articles), len(p.Passages), w.totalLen, lexicon); err != nil {
		return nil, fmt.Errorf("commit generation: %w", err)
	}
	if _, err := w.tx.Exec(ctx, `INSERT INTO committed (one, gen) VALUES (true, $1)
		ON CONFLICT (one) DO UPDATE SET gen = excluded.gen`, w.gen); err != nil {
		return nil, fmt.Errorf("commit generation: %w", err)
	}
	if _, err := w.tx.Exec(ctx, `SELECT pg_notify($1, current_schema() || ' ' || $2)`, notifyChannel, strconv.FormatInt(w.gen, 10)); err != nil {
		return nil, fmt.Errorf("commit generation: %w", err)
	}
	if err := w.tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit generation: %w", err)
	}
	w.done = true
	w.conn.Release()
	w.s.collect(ctx, w.gen)

	ix := &genIndex{s: w.s, gen: w.gen, dims: emb.Dims, df: w.df, totalLen: w.totalLen, rows: p.ArticleRows,
		vids: make([]int64, len(p.Articles))}
	if len(p.Passages) > 0 {
		ix.bm25 = retrieval.BM25{N: len(p.Passages), AvgLen: float64(w.totalLen) / float64(len(p.Passages))}
	}
	if err := w.s.articleVids(ctx, w.gen, p, w.vids, ix); err != nil {
		return nil, err
	}
	ix.indexVids()
	return ix, nil
}

// articleVids fills ix's article versions: new ones from vids, the kept
// ones from the database.
func (s *Store) articleVids(ctx context.Context, gen int64, p retrieval.WritePlan, vids map[int]int64, ix *genIndex) error {
	for a, v := range vids {
		ix.vids[a] = v
	}
	if len(vids) == len(p.Articles) {
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT vid, id FROM articles WHERE `+visible+` AND born < $1`, gen)
	if err != nil {
		return fmt.Errorf("read kept articles: %w", err)
	}
	index := make(map[string]int, len(p.Articles))
	for i, a := range p.Articles {
		index[a.ID] = i
	}
	var (
		vid int64
		id  string
	)
	_, err = pgx.ForEachRow(rows, []any{&vid, &id}, func() error {
		if a, ok := index[id]; ok {
			ix.vids[a] = vid
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read kept articles: %w", err)
	}
	return nil
}

// collect deletes what no generation from gen−1 on can see: article
// versions (and with them their passages) that died by then, postings
// segments without passages, and the rows of older generations. It is
// best effort: what it leaves costs space, not answers.
func (s *Store) collect(ctx context.Context, gen int64) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM articles WHERE died IS NOT NULL AND died < $1`, gen); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM postings WHERE seg IN (
			SELECT g.gen FROM generations g WHERE g.gen < $1
			AND NOT EXISTS (SELECT 1 FROM passages p WHERE p.born = g.gen))`, gen); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM generations WHERE gen < $1 - 1
			AND NOT EXISTS (SELECT 1 FROM passages p WHERE p.born = generations.gen)`, gen)
		return err
	})
	if err != nil {
		s.log.Warn("delete old index generations", "generation", gen, "err", err)
	}
}

// Abort implements retrieval.GenerationWriter: the transaction is rolled
// back, and with it everything written since Begin.
func (w *writer) Abort(ctx context.Context) {
	if w.done {
		return
	}
	w.done = true
	w.tx.Rollback(ctx)
	w.conn.Release()
}
