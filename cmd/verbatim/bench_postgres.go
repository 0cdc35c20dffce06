package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/verbatimbot/verbatim/retrieval/postgres"
)

// The PostgreSQL side of `verbatim bench --store postgres`: each size
// gets a schema of its own in the database of VERBATIM_DATABASE_URL, so
// the measurement never touches the tables already there, and the schema
// is dropped when the size is done.

// Recall is measured with recallQueries of the stored passages' own
// vectors as queries, for their recallK nearest, as the vector side of a
// search asks (retrieval asks the store for 50 candidates).
const (
	recallQueries = 100
	recallK       = 50
)

// databaseStore creates the schema size n is measured in and returns the
// store that runs the children against it, and the function dropping it.
func (b *bencher) databaseStore(ctx context.Context, n int, indexDir string) (benchStore, func(), error) {
	schema := fmt.Sprintf("verbatim_bench_%d_%d", n, os.Getpid())
	u, err := postgres.CreateSchema(ctx, b.dbURL, schema)
	if err != nil {
		return benchStore{}, nil, fmt.Errorf("bench: %w", err)
	}
	b.logf("%d articles: PostgreSQL schema %s", n, schema)
	drop := func() {
		if err := postgres.DropSchema(context.WithoutCancel(ctx), b.dbURL, schema); err != nil {
			b.logf("%v (drop it by hand: DROP SCHEMA %s CASCADE)", b.app.errorLine(err), schema)
		}
	}
	return benchStore{
		name:  "PostgreSQL",
		index: indexDir,
		env:   []string{"VERBATIM_DATABASE_URL=" + u, "VERBATIM_HNSW_EF_SEARCH=" + strconv.Itoa(b.app.cfg.EfSearch)},
		db:    true,
	}, drop, nil
}

// databaseReport is what 'bench database' prints.
type databaseReport struct {
	Bytes  int64             `json:"bytes"`
	Recall []postgres.Recall `json:"recall"`
}

// measureDatabase runs 'bench database' against st's schema.
func (b *bencher) measureDatabase(ctx context.Context, st benchStore, r *benchResult) error {
	_, out, err := b.child(ctx, st.env, "bench", "database", "--queries", strconv.Itoa(recallQueries), "--k", strconv.Itoa(recallK))
	if err != nil {
		return err
	}
	var rep databaseReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		return fmt.Errorf("read database report: %w", err)
	}
	r.diskBytes, r.recall = rep.Bytes, rep.Recall
	return nil
}

// cmdBenchDatabase prints the size of the index in VERBATIM_DATABASE_URL
// and the recall of its HNSW index against exact search, at the
// configured ef_search and at four times it.
func cmdBenchDatabase(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("bench database", "[flags]", "Print, as JSON, the bytes the index in VERBATIM_DATABASE_URL takes and the recall of its\nHNSW index against exact search, at VERBATIM_HNSW_EF_SEARCH and at four times it (a step of\n'verbatim bench --store postgres').")
	queries := fs.Int("queries", recallQueries, "stored passages whose vectors are the queries")
	k := fs.Int("k", recallK, "nearest passages compared per query")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *queries < 1 || *k < 1 {
		return usagef("bench database takes --queries N and --k N")
	}
	db, err := a.store(ctx)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if db == nil {
		return usagef("bench database: set VERBATIM_DATABASE_URL")
	}
	defer db.Close()
	var rep databaseReport
	if rep.Bytes, err = db.Size(ctx); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	ef := a.cfg.EfSearch
	if rep.Recall, err = db.MeasureRecall(ctx, *queries, *k, []int{ef, min(4*ef, 1000)}); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return json.NewEncoder(a.out).Encode(rep)
}
