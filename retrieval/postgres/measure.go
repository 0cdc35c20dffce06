package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
)

// What `verbatim bench --store postgres` (and the tests) need of a
// database beyond the store: schemas of their own, the bytes an index
// takes, and how much of the exact vector search the HNSW index finds.

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CreateSchema creates schema name (lower-case letters, digits and _) in
// the database at base and returns base with search_path set to it (then
// public, for the vector type): a Store opened on that URL keeps its
// tables there.
func CreateSchema(ctx context.Context, base, name string) (string, error) {
	if !schemaName.MatchString(name) {
		return "", fmt.Errorf("create schema %q: want lower-case letters, digits and _", name)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", errors.New("create schema: cannot parse the database URL")
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("create schema: %w", redact(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", fmt.Errorf("create schema %s: %w", name, err)
	}
	q := u.Query()
	q.Set("search_path", name+",public")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// DropSchema drops schema name and everything in it.
func DropSchema(ctx context.Context, base, name string) error {
	if !schemaName.MatchString(name) {
		return fmt.Errorf("drop schema %q: want lower-case letters, digits and _", name)
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return fmt.Errorf("drop schema: %w", redact(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
		return fmt.Errorf("drop schema %s: %w", name, err)
	}
	return nil
}

// Size is the bytes the store's tables take on disk, with their indexes
// and TOAST (pg_total_relation_size of every table in its schema).
func (s *Store) Size(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	return n, nil
}

// Recall is how much of the exact nearest-vector search the HNSW index
// finds.
type Recall struct {
	EfSearch int     `json:"ef_search"`
	Queries  int     `json:"queries"`
	K        int     `json:"k"`
	Recall   float64 `json:"recall"` // the share of the exact top K the index returned
}

// MeasureRecall takes queries vectors of the committed generation's own
// passages (a sample fixed by the database's setseed), finds each one's k
// nearest passages of the generation by the HNSW index, as Nearest does
// (with hnsw.iterative_scan relaxed_order), at every ef_search of efs, and
// by an exact scan, and reports the share of the exact top k each search
// found.
func (s *Store) MeasureRecall(ctx context.Context, queries, k int, efs []int) ([]Recall, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("measure recall: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var gen int64
	var dims int
	if err := tx.QueryRow(ctx, `SELECT c.gen, g.dims FROM committed c JOIN generations g USING (gen)`).Scan(&gen, &dims); err != nil {
		return nil, fmt.Errorf("measure recall: committed generation: %w", err)
	}
	if dims == 0 {
		return nil, errors.New("measure recall: the generation has no vectors")
	}
	expr := hnswExpr(dims)
	if _, err := tx.Exec(ctx, `SELECT setseed(0.42)`); err != nil {
		return nil, fmt.Errorf("measure recall: %w", err)
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT %s FROM passages WHERE dims = %d AND embedding IS NOT NULL AND %s ORDER BY random() LIMIT $2`,
		expr, dims, visible), gen, queries)
	if err != nil {
		return nil, fmt.Errorf("measure recall: sample queries: %w", err)
	}
	var qs []pgvector.Vector
	var v pgvector.Vector
	if _, err := pgx.ForEachRow(rows, []any{&v}, func() error { qs = append(qs, pgvector.NewVector(slices.Clone(v.Slice()))); return nil }); err != nil {
		return nil, fmt.Errorf("measure recall: sample queries: %w", err)
	}
	search := fmt.Sprintf(`SELECT pid FROM passages WHERE dims = %[2]d AND %[3]s ORDER BY %[1]s <=> $2::vector(%[2]d) LIMIT $3`, expr, dims, visible)
	// Each search is planned afresh under the settings of its phase: a
	// cached statement would keep, after a few runs, the generic plan made
	// with index scans off, and the "index" phase would measure the exact
	// scan against itself.
	nearest := func(q pgvector.Vector) (map[int64]bool, error) {
		rows, err := tx.Query(ctx, search, pgx.QueryExecModeExec, gen, q, k)
		if err != nil {
			return nil, err
		}
		out := map[int64]bool{}
		var pid int64
		_, err = pgx.ForEachRow(rows, []any{&pid}, func() error { out[pid] = true; return nil })
		return out, err
	}
	// The exact top k: no index, a scan that computes every distance.
	if _, err := tx.Exec(ctx, `SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off`); err != nil {
		return nil, fmt.Errorf("measure recall: %w", err)
	}
	exact := make([]map[int64]bool, len(qs))
	total := 0
	for i, q := range qs {
		if exact[i], err = nearest(q); err != nil {
			return nil, fmt.Errorf("measure recall: exact search: %w", err)
		}
		total += len(exact[i])
	}
	// The index's: the index, even where the planner would scan a small
	// table.
	if _, err := tx.Exec(ctx, `SET LOCAL enable_indexscan = on; SET LOCAL enable_seqscan = off`); err != nil {
		return nil, fmt.Errorf("measure recall: %w", err)
	}
	var out []Recall
	for _, ef := range efs {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL hnsw.ef_search = %d`, ef)); err != nil {
			return nil, fmt.Errorf("measure recall: %w", err)
		}
		found := 0
		for i, q := range qs {
			got, err := nearest(q)
			if err != nil {
				return nil, fmt.Errorf("measure recall: index search: %w", err)
			}
			for pid := range got {
				if exact[i][pid] {
					found++
				}
			}
		}
		r := Recall{EfSearch: ef, Queries: len(qs), K: k}
		if total > 0 {
			r.Recall = float64(found) / float64(total)
		}
		out = append(out, r)
	}
	return out, nil
}
