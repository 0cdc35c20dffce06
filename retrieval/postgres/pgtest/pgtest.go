// Package pgtest gives tests a database of their own on the PostgreSQL
// server CI starts (.ci/postgres): a fresh schema per call, dropped when
// the test ends. There is no mock database: a test that needs PostgreSQL
// runs against the real one, or skips — and under CI it fails instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/verbatimbot/verbatim/retrieval/postgres"
)

// EnvURL is the variable naming the test database server, e.g.
// postgres://verbatim:verbatim@localhost:5432/verbatim_test?sslmode=disable
// (.ci/postgres prints it). The database must have the vector extension.
const EnvURL = "VERBATIM_TEST_DATABASE_URL"

// URL returns the URL of a new, empty schema on the test database (its
// search_path is the schema, then public for the vector type), dropped
// with everything in it when t ends. Without EnvURL it skips t, saying
// why — or, when CI is "true", fails it: CI must not pass by skipping.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI: .ci/run starts PostgreSQL and sets it", EnvURL)
		}
		t.Skipf("no test database: set %s (bash .ci/postgres starts one and prints it)", EnvURL)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	u, err := postgres.CreateSchema(t.Context(), base, schema)
	if err != nil {
		t.Fatalf("test schema: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is done by now.
		if err := postgres.DropSchema(context.Background(), base, schema); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	return u
}
