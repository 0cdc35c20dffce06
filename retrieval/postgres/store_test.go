package postgres_test

import (
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/postgres"
	"github.com/verbatimbot/verbatim/retrieval/postgres/pgtest"
	"github.com/verbatimbot/verbatim/retrieval/storetest"
)

// open opens a Store on url, closed when t ends.
func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the store conformance suite against PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		url := pgtest.URL(t)
		return func(t *testing.T) retrieval.Store { return open(t, url) }
	})
}

// TestConformanceSimpleProtocol runs the suite over pgx's simple protocol
// (default_query_exec_mode=simple_protocol in the URL), what a connection
// pooler such as PgBouncer in transaction mode needs: every value then
// arrives as text, not in binary.
func TestConformanceSimpleProtocol(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		u, err := url.Parse(pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("default_query_exec_mode", "simple_protocol")
		u.RawQuery = q.Encode()
		return func(t *testing.T) retrieval.Store { return open(t, u.String()) }
	})
}

// queryRow runs one query on its own connection to url.
func queryRow(t *testing.T, url, sql string, dst any, args ...any) error {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		return err
	}
	defer conn.Close(t.Context())
	return conn.QueryRow(t.Context(), sql, args...).Scan(dst)
}
