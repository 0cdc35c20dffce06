package eval

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/verbatimbot/verbatim/retrieval"
)

const (
	testdataDir = "../testdata"
	sharedEval  = "../../shared/eval"
)

// folds loads the visible folds. Without ../shared/eval only the bundled
// folds are there, and that is logged: the public sets then go unmeasured.
func folds(t testing.TB) []Fold {
	t.Helper()
	fs, err := VisibleFolds(t.Context(), testdataDir, sharedEval)
	if errors.Is(err, ErrNoShared) {
		t.Logf("only the bundled sets are measured: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	return fs
}

// index builds the local-embedder index of s in a temporary directory.
func index(t testing.TB, s Set) *retrieval.Index {
	t.Helper()
	ix, err := OpenIndex(t.Context(), s, filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}
