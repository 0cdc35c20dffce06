package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations are the schema's versions, applied in order by migrate; the
// version reached is recorded in verbatim_schema. A released migration is
// never edited: a change is a new one.
//
// The tables hold every generation still in use (see Store):
//
//   - generations: one row per generation written, with what built it, its
//     passage count and total length (BM25's statistics) and its lexicon
//     (every term's document frequency, encodeLexicon);
//   - committed: the one committed generation, the commit point;
//   - articles: article versions, each visible from generation born up to
//     (not including) died, with their paragraphs and the counts of their
//     paragraphs and passages;
//   - passages: the passages of an article version (pid = vid<<16 | ord),
//     their term counts and vectors (pgvector's vector, searched through
//     a partial HNSW index per dimension count, hnswIndex);
//   - postings: per segment (the generation that wrote the passages) and
//     term, the postings of its passages (encodePostings);
//   - conversation_turns and votes: the Discord bot's conversation memory
//     and 👍/👎 votes (state.go), shared by its processes.
var migrations = []string{
	1: `
CREATE TABLE generations (
	gen bigint PRIMARY KEY,
	format int NOT NULL,
	embedder_name text NOT NULL,
	embedder_model text NOT NULL,
	dims int NOT NULL,
	chunk_max_words int NOT NULL,
	built_at timestamptz NOT NULL,
	articles int NOT NULL,
	passages int NOT NULL,
	total_len bigint NOT NULL,
	lexicon bytea NOT NULL
);
CREATE TABLE committed (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	gen bigint NOT NULL REFERENCES generations (gen)
);
CREATE TABLE articles (
	vid bigserial PRIMARY KEY,
	id text NOT NULL,
	fingerprint text NOT NULL,
	born bigint NOT NULL,
	died bigint,
	title text NOT NULL,
	url text NOT NULL,
	author text NOT NULL,
	published timestamptz,
	source text NOT NULL,
	paragraphs text[] NOT NULL
);
CREATE INDEX articles_live ON articles (id) WHERE died IS NULL;
CREATE INDEX articles_died ON articles (died);
CREATE TABLE passages (
	pid bigint PRIMARY KEY,
	vid bigint NOT NULL REFERENCES articles (vid) ON DELETE CASCADE,
	born bigint NOT NULL,
	died bigint,
	doc_len int NOT NULL,
	dims int NOT NULL,
	embedding vector
);
CREATE INDEX passages_vid ON passages (vid);
CREATE TABLE postings (
	term text NOT NULL,
	seg bigint NOT NULL,
	data bytea NOT NULL,
	PRIMARY KEY (term, seg)
);
CREATE INDEX postings_seg ON postings (seg);
`,
	2: `
CREATE TABLE conversation_turns (
	key text NOT NULL,
	seq bigserial,
	at timestamptz NOT NULL DEFAULT now(),
	turn jsonb NOT NULL,
	PRIMARY KEY (key, seq)
);
CREATE TABLE votes (
	answer_id text NOT NULL,
	user_id text NOT NULL,
	at timestamptz NOT NULL,
	vote jsonb NOT NULL,
	PRIMARY KEY (answer_id, user_id)
);
CREATE INDEX votes_at ON votes (at);
`,
	// 3: each article version's paragraph and passage counts, so that a
	// process answering with its text on demand lays out the rows without
	// reading the text.
	3: `
ALTER TABLE articles ADD COLUMN n_paragraphs int, ADD COLUMN n_passages int;
UPDATE articles a SET n_paragraphs = coalesce(cardinality(a.paragraphs), 0),
	n_passages = (SELECT count(*) FROM passages p WHERE p.vid = a.vid);
ALTER TABLE articles ALTER COLUMN n_paragraphs SET NOT NULL, ALTER COLUMN n_passages SET NOT NULL;
`,
}

// schemaVersion is the version this build migrates to and reads.
var schemaVersion = len(migrations) - 1

// migrate brings the schema up to schemaVersion, one transaction per
// migration under an advisory lock, so that processes starting together
// migrate once. A schema newer than this build is an error: it is never
// downgraded.
func migrate(ctx context.Context, conn *pgx.Conn) error {
	var hasVector bool
	if err := conn.QueryRow(ctx, `SELECT to_regtype('vector') IS NOT NULL`).Scan(&hasVector); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if !hasVector {
		return fmt.Errorf("migrate: the pgvector extension is not installed in this database (as a superuser: CREATE EXTENSION vector)")
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS verbatim_schema (version int NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var version int
	err := conn.QueryRow(ctx, `SELECT version FROM verbatim_schema`).Scan(&version)
	if err == pgx.ErrNoRows {
		if _, err := conn.Exec(ctx, `INSERT INTO verbatim_schema (version) VALUES (0)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if version > schemaVersion {
		return fmt.Errorf("migrate: the database's schema is version %d, newer than this build's %d", version, schemaVersion)
	}
	for v := version + 1; v <= schemaVersion; v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE verbatim_schema SET version = $1`, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate to schema %d: %w", v, err)
		}
	}
	return nil
}

// Advisory lock keys (in the database, shared by every schema: they are
// taken on the schema's name too, see lockKey).
const (
	migrateLockKey = 0x76657262_00000001 // "verb" 1
)

// hnswIndex is the name of the partial HNSW index over the vectors of
// dims dimensions, and hnswExpr the expression it indexes (which queries
// must repeat for the planner to use it).
func hnswIndex(dims int) string { return fmt.Sprintf("passages_hnsw_%d", dims) }

func hnswExpr(dims int) string { return fmt.Sprintf("(embedding::vector(%d))", dims) }
