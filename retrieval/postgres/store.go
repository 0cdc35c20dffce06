// Package postgres is the retrieval store (retrieval.Store) in PostgreSQL
// with pgvector, for verbatim past one machine: many bot processes, on as
// many machines and Discord shards, answer from one database, and one
// `verbatim index` writes it. It is the only importer of pgx and
// pgvector-go.
//
// What lives where. The database holds every article version, its
// paragraphs, its passages' vectors (pgvector's vector, found by a partial
// HNSW index with cosine distance per dimension count; hnsw.ef_search is
// Options.EfSearch) and the lexical side: per segment and term the
// postings of its passages (passage, term frequency, passage length), and
// per generation the statistics BM25 needs (passage count, total length,
// every term's document frequency). A process that answers loads a
// generation's lexicon and its articles' layout once — with
// retrieval.Want.TextOnDemand (ask, chat, discord) only their metadata
// and paragraph and passage counts; otherwise their paragraphs too, as
// the in-process store holds them — then asks the database for the
// postings of a question's terms (scored in Go with retrieval.BM25, so
// the scores are the in-process index's), for the nearest vectors (the
// HNSW search beside BM25, the exact search of BM25's articles after it:
// retrieval.SplitNearest) and for the text of the articles it returns.
//
// Generations. A generation G is the article versions with born ≤ G and
// no died ≤ G. `verbatim index` writes generation G+1 in one transaction:
// it marks the replaced and removed versions died = G+1, inserts the new
// ones with born = G+1 (their postings are segment G+1), writes the
// generation's row and moves the committed row to it, and NOTIFYs
// verbatim_generation. Until that transaction commits nobody sees any of
// it, so readers keep answering from G, and a writer killed mid-index
// (kill -9) leaves G committed: PostgreSQL rolls the transaction back.
// After the commit the writer deletes what only generations before G can
// see, so a reader lags at most one generation behind. Writers take an
// advisory lock per schema; a crashed writer's session ends and so does
// its lock.
//
// The schema is versioned and migrated by Open (schema.go); the tables
// live in the connection's current schema (search_path), so one database
// can hold several indexes.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	"github.com/verbatimbot/verbatim/retrieval"
)

// Options configure a Store.
type Options struct {
	// EfSearch is pgvector's hnsw.ef_search: candidates an HNSW search
	// keeps (more: better recall, slower). 0 means DefaultEfSearch.
	EfSearch int
	// Logger receives notes; nil discards them.
	Logger *slog.Logger
}

// DefaultEfSearch is the default hnsw.ef_search: above the 50 candidates
// a search asks for (pgvector's default, 40, would return fewer).
const DefaultEfSearch = 100

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	url  string
	ef   int

	closeOnce sync.Once
}

var _ retrieval.Store = (*Store)(nil)

// Open connects to the database at url (postgres://…), checks that
// pgvector is installed, and migrates the schema.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", redact(err))
	}
	s := &Store{log: opts.Logger, url: url, ef: opts.EfSearch}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ef <= 0 {
		s.ef = DefaultEfSearch
	}
	// Migrate on a connection of its own, before the pool registers the
	// vector type that the migration may be the first to need.
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("open database: %w", redact(err))
	}
	err = migrate(ctx, conn)
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if err := pgxvec.RegisterTypes(ctx, c); err != nil {
			return fmt.Errorf("register vector type: %w", err)
		}
		_, err := c.Exec(ctx, fmt.Sprintf(`SET hnsw.ef_search = %d; SET hnsw.iterative_scan = relaxed_order`, s.ef))
		return err
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open database: %w", redact(err))
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open database: %w", redact(err))
	}
	return s, nil
}

// Close implements retrieval.Store; it is safe to call twice.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

// Committed implements retrieval.Store.
func (s *Store) Committed(ctx context.Context) (uint64, error) {
	var gen int64
	err := s.pool.QueryRow(ctx, `SELECT gen FROM committed`).Scan(&gen)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read committed generation: %w", err)
	}
	return uint64(gen), nil
}

// lockClass is the first key of the writer's advisory lock; the second is
// a hash of the schema's name.
const lockClass = 0x7662 // "vb"

// lockPoll is how often a waiting Lock tries again.
const lockPoll = 100 * time.Millisecond

// Lock implements retrieval.Store with a session-level advisory lock on a
// connection held until unlock: if the process dies, its session ends and
// PostgreSQL releases the lock.
func (s *Store) Lock(ctx context.Context, wait bool) (func(), error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock index: %w", err)
	}
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		var ok bool
		err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext(current_schema()))`, lockClass).Scan(&ok)
		if err != nil {
			conn.Release()
			return nil, fmt.Errorf("lock index: %w", err)
		}
		if ok {
			break
		}
		if !wait {
			conn.Release()
			return nil, fmt.Errorf("lock index: %w", retrieval.ErrLocked)
		}
		select {
		case <-ctx.Done():
			conn.Release()
			return nil, fmt.Errorf("wait for the index lock: %w", ctx.Err())
		case <-t.C:
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// A lock that cannot be released cleanly goes with its
			// connection.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, lockClass); err != nil {
				conn.Conn().Close(ctx)
			}
			conn.Release()
		})
	}, nil
}

// redact replaces an error quoting the URL, which may hold a password,
// with one that does not.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("cannot parse the database URL")
	}
	return err
}
