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

// folds loads the visible folds. Without ../shared/eval the test skips,
// saying so (.ci/run fails a CI run where it does): its point is the
// public sets.
func folds(t testing.TB) []Fold {
	t.Helper()
	fs, err := VisibleFolds(t.Context(), testdataDir, sharedEval)
	if errors.Is(err, ErrNoShared) {
		t.Skipf("needs the public question sets in ../shared/eval: %v", err)
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

// skipUnderRace skips the fits and the leave-one-set-out run under the race
// detector: they are single-goroutine number crunching that -race slows
// tenfold past CI's test timeout. .ci/run runs them without -race.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("fits every visible set; too slow under -race (.ci/run runs it without)")
	}
}
