package storetest_test

import (
	"testing"

	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/storetest"
)

// TestDirStore runs the conformance suite against the in-process store.
func TestDirStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		dir := t.TempDir()
		return func(t *testing.T) retrieval.Store { return retrieval.NewDirStore(dir, nil) }
	})
}
