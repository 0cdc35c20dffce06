package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/pgvector/pgvector-go"

	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/retrieval"
)

// visible is the condition on a row (articles or passages) of being in
// generation $1.
const visible = `born <= $1 AND (died IS NULL OR died > $1)`

// genRow is a row of generations.
type genRow struct {
	gen                int64
	format             int
	emb                retrieval.EmbedderInfo
	chunk              retrieval.ChunkOptions
	builtAt            time.Time
	articles, passages int
	totalLen           int64
	lexicon            []byte
}

func readGenRow(ctx context.Context, q pgx.Tx, gen int64) (genRow, error) {
	r := genRow{gen: gen}
	err := q.QueryRow(ctx, `SELECT format, embedder_name, embedder_model, dims, chunk_max_words, built_at,
		articles, passages, total_len, lexicon FROM generations WHERE gen = $1`, gen).Scan(
		&r.format, &r.emb.Name, &r.emb.Model, &r.emb.Dims, &r.chunk.MaxWords, &r.builtAt,
		&r.articles, &r.passages, &r.totalLen, &r.lexicon)
	if err != nil {
		return genRow{}, fmt.Errorf("read generation %d: %w", gen, err)
	}
	return r, nil
}

// Open implements retrieval.Store: the committed generation's articles
// and lexicon, read in one snapshot of the database.
func (s *Store) Open(ctx context.Context, want retrieval.Want) (*retrieval.Generation, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("open generation: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var gen int64
	if err := tx.QueryRow(ctx, `SELECT gen FROM committed`).Scan(&gen); errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("open generation: %w", retrieval.ErrNoGeneration)
	} else if err != nil {
		return nil, fmt.Errorf("open generation: %w", err)
	}
	r, err := readGenRow(ctx, tx, gen)
	if err != nil {
		return nil, err
	}
	unusable := func(reason string) error {
		u := &retrieval.UnusableError{Reason: reason, Generation: uint64(gen)}
		rows, err := tx.Query(ctx, `SELECT id, fingerprint FROM articles WHERE `+visible, gen)
		if err == nil {
			u.Fingerprints = map[string]string{}
			var id, fp string
			_, err = pgx.ForEachRow(rows, []any{&id, &fp}, func() error { u.Fingerprints[id] = fp; return nil })
		}
		if err != nil {
			u.Fingerprints = nil
		}
		return u
	}
	if r.format != retrieval.FormatVersion {
		return nil, unusable(fmt.Sprintf("index format %d, this build reads %d", r.format, retrieval.FormatVersion))
	}
	if reason := want.Mismatch(r.emb, r.chunk); reason != "" {
		return nil, unusable(reason)
	}

	g := &retrieval.Generation{Number: uint64(gen), Embedder: r.emb, BuiltAt: r.builtAt.UTC()}
	var vids []int64
	if want.TextOnDemand {
		if vids, err = readLayout(ctx, tx, gen, g); err == nil {
			g.Text = &textSource{s: s, vids: vids, articles: g.Articles}
		}
	} else {
		vids, err = readArticles(ctx, tx, gen, g, want.Chunk)
	}
	if err != nil {
		return nil, err
	}
	if !slices.IsSortedFunc(g.Articles, func(a, b corpus.Article) int { return strings.Compare(a.ID, b.ID) }) {
		return nil, unusable("articles are not in byte order")
	}
	if len(g.Articles) != r.articles {
		return nil, unusable(fmt.Sprintf("generation %d has %d articles, its record says %d", gen, len(g.Articles), r.articles))
	}
	if g.Rows() != r.passages {
		return nil, unusable(fmt.Sprintf("generation %d has %d passages, its record says %d", gen, g.Rows(), r.passages))
	}
	df, err := decodeLexicon(r.lexicon)
	if err != nil {
		return nil, unusable(fmt.Sprintf("generation %d: lexicon: %v", gen, err))
	}
	ix := &genIndex{s: s, gen: gen, dims: r.emb.Dims, df: df, totalLen: r.totalLen, rows: g.ArticleRows, vids: vids}
	if r.passages > 0 {
		ix.bm25 = retrieval.BM25{N: r.passages, AvgLen: float64(r.totalLen) / float64(r.passages)}
	}
	ix.indexVids()
	g.Index = ix
	return g, nil
}

// articleColumns are the columns of an article's metadata, in
// articleScan's order.
const articleColumns = `vid, id, fingerprint, title, url, author, published, source`

// articleScan scans articleColumns (and more, after them) into a.
type articleScan struct {
	vid       int64
	a         corpus.Article
	published pgtype.Timestamptz
}

func (x *articleScan) dest(more ...any) []any {
	return append([]any{&x.vid, &x.a.ID, &x.a.Fingerprint, &x.a.Title, &x.a.URL, &x.a.Author, &x.published, &x.a.Source}, more...)
}

// take returns the scanned article and resets x for the next row.
func (x *articleScan) take() corpus.Article {
	a := x.a
	if x.published.Valid {
		a.Published = x.published.Time.UTC()
	}
	x.a, x.published = corpus.Article{}, pgtype.Timestamptz{}
	return a
}

// eachArticle scans generation gen's articles in ID order, their
// articleColumns and then more (into dest), calling f after each row.
func eachArticle(ctx context.Context, tx pgx.Tx, gen int64, more string, dest []any, f func()) error {
	rows, err := tx.Query(ctx, `SELECT `+articleColumns+`, `+more+`
		FROM articles WHERE `+visible+` ORDER BY id COLLATE "C"`, gen)
	if err == nil {
		_, err = pgx.ForEachRow(rows, dest, func() error { f(); return nil })
	}
	if err != nil {
		return fmt.Errorf("read articles: %w", err)
	}
	return nil
}

// readArticles reads generation gen's articles, with their text, into g
// and lays out their rows; it returns their vids.
func readArticles(ctx context.Context, tx pgx.Tx, gen int64, g *retrieval.Generation, chunk retrieval.ChunkOptions) ([]int64, error) {
	var (
		x    articleScan
		vids []int64
	)
	err := eachArticle(ctx, tx, gen, "paragraphs", x.dest(&x.a.Paragraphs), func() {
		vids = append(vids, x.vid)
		g.Articles = append(g.Articles, x.take())
	})
	if err != nil {
		return nil, err
	}
	g.Passages, g.ArticleRows = retrieval.Layout(g.Articles, chunk)
	return vids, nil
}

// readLayout reads generation gen's articles without their text into g
// (Want.TextOnDemand): their metadata, paragraph counts (as that many
// empty paragraphs, one shared array) and rows from their passage
// counts; it returns their vids.
func readLayout(ctx context.Context, tx pgx.Tx, gen int64, g *retrieval.Generation) ([]int64, error) {
	var (
		x                     articleScan
		vids                  []int64
		paras                 []int
		nParas, nPass, maxPar int
	)
	err := eachArticle(ctx, tx, gen, "n_paragraphs, n_passages", x.dest(&nParas, &nPass), func() {
		first := 0
		if n := len(g.ArticleRows); n > 0 {
			first = g.ArticleRows[n-1][1]
		}
		g.ArticleRows = append(g.ArticleRows, [2]int{first, first + nPass})
		vids = append(vids, x.vid)
		paras = append(paras, nParas)
		maxPar = max(maxPar, nParas)
		g.Articles = append(g.Articles, x.take())
	})
	if err != nil {
		return nil, err
	}
	empty := make([]string, maxPar)
	for i, n := range paras {
		g.Articles[i].Paragraphs = empty[:n:n]
	}
	return vids, nil
}

// textSource is a generation's retrieval.TextSource: its articles' text,
// read by vid.
type textSource struct {
	s        *Store
	vids     []int64          // article index -> vid
	articles []corpus.Article // metadata, article index -> article
}

// Articles implements retrieval.TextSource.
func (t *textSource) Articles(ctx context.Context, indexes []int) ([]corpus.Article, error) {
	want := make([]int64, len(indexes))
	for i, a := range indexes {
		if a < 0 || a >= len(t.vids) {
			return nil, fmt.Errorf("no article %d in the generation", a)
		}
		want[i] = t.vids[a]
	}
	rows, err := t.s.pool.Query(ctx, `SELECT vid, paragraphs FROM articles WHERE vid = ANY($1)`, want)
	if err != nil {
		return nil, err
	}
	text := make(map[int64][]string, len(want))
	var (
		vid   int64
		paras []string
	)
	_, err = pgx.ForEachRow(rows, []any{&vid, &paras}, func() error {
		text[vid], paras = paras, nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]corpus.Article, len(indexes))
	for i, a := range indexes {
		p, ok := text[want[i]]
		meta := t.articles[a]
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: this version of it is no longer in the database (a newer generation replaced it)", meta.ID)
		case len(p) != len(meta.Paragraphs):
			return nil, fmt.Errorf("%s: %d paragraphs in the database, %d indexed", meta.ID, len(p), len(meta.Paragraphs))
		}
		meta.Paragraphs = p
		out[i] = meta
	}
	return out, nil
}

// genIndex is one generation's retrieval.GenerationIndex.
type genIndex struct {
	s    *Store
	gen  int64
	dims int
	bm25 retrieval.BM25
	df   map[string]int32
	// totalLen is the sum of the passages' lengths in terms.
	totalLen int64
	// vids are the articles' versions (article index -> vid), whose rows
	// are rows[i]; articleOf maps them back, through vidArticle (dense,
	// from vidBase) or, when the vids are too spread out for that,
	// vidMap.
	vids       []int64
	rows       [][2]int
	vidBase    int64
	vidArticle []int32 // vid − vidBase -> article index, or −1
	vidMap     map[int64]int
	// scores pools Lexical's score buffers (*lexicalBuf).
	scores sync.Pool
}

var _ retrieval.GenerationIndex = (*genIndex)(nil)

// pidShift: a passage's pid is its article version's vid << pidShift | its
// ordinal in the article.
const pidShift = 16

// denseVids is how many slots per article the dense vid lookup may take
// before a map is used instead: vids are allocated in order, so they are
// dense unless many versions died since the oldest live one was written.
const denseVids = 4

// indexVids builds articleOf's lookup from vids. The lookup runs once per
// posting a question reads (a map there was a third of the time at 550k
// passages).
func (x *genIndex) indexVids() {
	x.vidArticle, x.vidMap = nil, nil
	if len(x.vids) == 0 {
		return
	}
	lo, hi := slices.Min(x.vids), slices.Max(x.vids)
	if span := hi - lo + 1; span <= int64(denseVids*len(x.vids)+1024) {
		x.vidBase = lo
		x.vidArticle = make([]int32, span)
		for i := range x.vidArticle {
			x.vidArticle[i] = -1
		}
		for a, v := range x.vids {
			x.vidArticle[v-lo] = int32(a)
		}
		return
	}
	x.vidMap = make(map[int64]int, len(x.vids))
	for a, v := range x.vids {
		x.vidMap[v] = a
	}
}

// articleOf is the index of the generation's article whose version is
// vid.
func (x *genIndex) articleOf(vid int64) (int, bool) {
	if x.vidMap != nil {
		a, ok := x.vidMap[vid]
		return a, ok
	}
	if i := vid - x.vidBase; i >= 0 && i < int64(len(x.vidArticle)) {
		if a := x.vidArticle[i]; a >= 0 {
			return int(a), true
		}
	}
	return 0, false
}

// row is the generation's row of passage pid, or -1 if pid is not in it
// (a passage of an article version another generation holds).
func (x *genIndex) row(pid int64) int {
	a, ok := x.articleOf(pid >> pidShift)
	if !ok {
		return -1
	}
	r := x.rows[a]
	ord := int(pid & (1<<pidShift - 1))
	if ord >= r[1]-r[0] {
		return -1
	}
	return r[0] + ord
}

// IDF implements retrieval.GenerationIndex.
func (x *genIndex) IDF(term string) float64 { return retrieval.BM25IDF(x.bm25.N, int(x.df[term])) }

// Release implements retrieval.GenerationIndex: nothing is held.
func (x *genIndex) Release(retrieval.GenerationIndex) {}

// Lexical implements retrieval.GenerationIndex: the postings of the
// query's terms from every segment up to the generation, of passages in
// it, scored with retrieval.BM25.
func (x *genIndex) Lexical(ctx context.Context, terms []string, k int) ([]retrieval.Scored, error) {
	if x.bm25.N == 0 || len(terms) == 0 || k <= 0 {
		return nil, nil
	}
	qtf := map[string]float64{}
	for _, t := range terms {
		if x.df[t] > 0 {
			qtf[t]++
		}
	}
	if len(qtf) == 0 {
		return nil, nil
	}
	uniq := slices.Sorted(maps.Keys(qtf))
	weight := make(map[string]float32, len(uniq))
	for _, t := range uniq {
		weight[t] = x.bm25.Weight(qtf[t], int(x.df[t]))
	}
	rows, err := x.s.pool.Query(ctx, `SELECT term, data FROM postings WHERE term = ANY($1) AND seg <= $2 ORDER BY term, seg`, uniq, x.gen)
	if err != nil {
		return nil, fmt.Errorf("read postings: %w", err)
	}
	defer rows.Close()
	// Scores accumulate in a dense buffer of the generation's rows (a map
	// cost more than the reading itself at 500k passages); postings come
	// sorted by pid, so one article lookup serves all of an article's.
	buf := x.scoreBuf()
	defer func() {
		// Zeroed on every return, an error's too, before the next use.
		for _, r := range buf.touched {
			buf.scores[r] = 0
		}
		x.scores.Put(buf)
	}()
	sc := x.bm25.Scorer()
	var data []byte
	for rows.Next() {
		raw := rows.RawValues()
		if fd := rows.FieldDescriptions(); len(fd) == 2 && fd[1].Format == pgx.BinaryFormatCode {
			data = raw[1] // the bytea itself, valid until the next row
		} else if err := rows.Scan(nil, &data); err != nil {
			return nil, fmt.Errorf("read postings: %w", err)
		}
		if err := x.score(data, weight[string(raw[0])], sc, buf); err != nil {
			return nil, fmt.Errorf("read postings: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read postings: %w", err)
	}
	out := make([]retrieval.Scored, 0, len(buf.touched))
	for _, r := range buf.touched {
		if sc := buf.scores[r]; sc != 0 {
			out = append(out, retrieval.Scored{Row: r, Score: sc})
		}
	}
	return retrieval.Best(out, k), nil
}

// score adds one term's postings (encodePostings' data) of the
// generation's passages to buf, the term weighing w. It is the loop a
// question's time goes to (every posting of every term), so it decodes in
// place, without a callback per posting; postings come sorted by pid, so
// one article lookup serves all of an article's.
func (x *genIndex) score(data []byte, w float32, sc retrieval.BM25Scorer, buf *lexicalBuf) error {
	n, data, err := uvarint(data)
	if err != nil || n > uint64(len(data)) {
		return errCorrupt
	}
	var (
		pid             int64
		lastVid         int64 = -1
		first, articleN int   // the rows of the article of lastVid
		inGen           bool
		d, tf, docLen   uint64
		k               int
	)
	for range n {
		if d, k = binary.Uvarint(data); k <= 0 {
			return errCorrupt
		}
		data = data[k:]
		if tf, k = binary.Uvarint(data); k <= 0 {
			return errCorrupt
		}
		data = data[k:]
		if docLen, k = binary.Uvarint(data); k <= 0 {
			return errCorrupt
		}
		data = data[k:]
		pid += int64(d)
		if vid := pid >> pidShift; vid != lastVid {
			lastVid = vid
			var a int
			if a, inGen = x.articleOf(vid); inGen {
				span := x.rows[a]
				first, articleN = span[0], span[1]-span[0]
			}
		}
		ord := int(pid & (1<<pidShift - 1))
		if !inGen || ord >= articleN {
			continue
		}
		r := first + ord
		if buf.scores[r] == 0 {
			buf.touched = append(buf.touched, r)
		}
		buf.scores[r] += sc.Score(w, uint16(tf), uint32(docLen))
	}
	if len(data) != 0 {
		return errCorrupt
	}
	return nil
}

// lexicalBuf is Lexical's scratch: a score per row of the generation,
// all zero between uses, and the rows a query touched.
type lexicalBuf struct {
	scores  []float32
	touched []int
}

// scoreBuf takes a zeroed lexicalBuf for the generation's rows.
func (x *genIndex) scoreBuf() *lexicalBuf {
	if b, ok := x.scores.Get().(*lexicalBuf); ok {
		b.touched = b.touched[:0]
		return b
	}
	n := 0
	for _, span := range x.rows {
		n = max(n, span[1])
	}
	return &lexicalBuf{scores: make([]float32, n)}
}

// Nearest implements retrieval.GenerationIndex: the HNSW index's k
// nearest passages of the generation, and the exact similarities of the
// passages of the articles of near, merged (in one round trip).
func (x *genIndex) Nearest(ctx context.Context, q []float32, k int, near []int) ([]retrieval.Scored, error) {
	return x.nearest(ctx, q, k, true, near)
}

// NearestIn implements retrieval.SplitNearest: the exact similarities of
// the passages of the articles of near alone.
func (x *genIndex) NearestIn(ctx context.Context, q []float32, k int, near []int) ([]retrieval.Scored, error) {
	return x.nearest(ctx, q, k, false, near)
}

var _ retrieval.SplitNearest = (*genIndex)(nil)

// nearest is Nearest, with or without the HNSW search.
func (x *genIndex) nearest(ctx context.Context, q []float32, k int, hnsw bool, near []int) ([]retrieval.Scored, error) {
	if x.bm25.N == 0 || k <= 0 || x.dims == 0 {
		return nil, nil
	}
	if len(q) != x.dims {
		return nil, fmt.Errorf("nearest vectors: query has %d dims, index %d", len(q), x.dims)
	}
	vec := pgvector.NewVector(q)
	// The exact part: every passage of the near rows' articles ($1 the
	// query, $<n> their vids).
	exact := func(n int) string {
		return fmt.Sprintf(`SELECT pid, embedding::vector(%d) <=> $1::vector(%[1]d) FROM passages
		WHERE vid = ANY($%d) AND dims = %[1]d AND embedding IS NOT NULL`, x.dims, n)
	}
	vids := x.nearVids(near)
	var (
		sql  string
		args []any
	)
	switch {
	case hnsw:
		// relaxed_order (set on every connection) lets pgvector scan on
		// when the filter drops candidates, and may return them slightly
		// out of order: they are sorted again outside.
		sql = fmt.Sprintf(`WITH c AS MATERIALIZED (
		SELECT pid, %[1]s <=> $1::vector(%[2]d) AS d FROM passages
		WHERE dims = %[2]d AND born <= $2 AND (died IS NULL OR died > $2) ORDER BY %[1]s <=> $1::vector(%[2]d) LIMIT $3)
		SELECT pid, d FROM c`, hnswExpr(x.dims), x.dims)
		args = []any{vec, x.gen, k}
		if len(vids) > 0 {
			sql += " UNION ALL " + exact(4)
			args = append(args, vids)
		}
	case len(vids) > 0:
		sql, args = exact(2), []any{vec, vids}
	default:
		return nil, nil
	}
	rows, err := x.s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("nearest vectors: %w", err)
	}
	seen := map[int]bool{}
	var out []retrieval.Scored
	var (
		pid  int64
		dist float64
	)
	_, err = pgx.ForEachRow(rows, []any{&pid, &dist}, func() error {
		if r := x.row(pid); r >= 0 && !seen[r] {
			seen[r] = true
			out = append(out, retrieval.Scored{Row: r, Score: float32(1 - dist)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("nearest vectors: %w", err)
	}
	return retrieval.Best(out, k), nil
}

// nearVids are the article versions of rows.
func (x *genIndex) nearVids(rows []int) []int64 {
	if len(rows) == 0 {
		return nil
	}
	var out []int64
	seen := map[int64]bool{}
	for _, r := range rows {
		a, ok := retrieval.SpanOf(x.rows, r)
		if !ok {
			continue
		}
		if v := x.vids[a]; !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
