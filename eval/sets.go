package eval

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The visible question sets: two over the bundled article in the
// repository's testdata/, and the converted public sets of shared/eval.
var (
	bundledSets = []struct{ name, file string }{
		{"seed", "seed-qa.jsonl"},
		{"paraphrase", "bundled-paraphrase.jsonl"},
	}
	sharedSets = []string{"wikiqa", "multirc-dev", "quail-news-blogs"}
	// distractor is the public set whose articles the bundled sets'
	// off-corpus splits add (half indexed, the other half's questions to
	// refuse).
	distractor = "multirc-dev"
)

// Fold is one visible set with its off-corpus split, the unit of
// leave-one-set-out.
type Fold struct {
	Name string
	// InCorpus is the set over its whole corpus (answerable and, where the
	// set has them, unanswerable questions).
	InCorpus Set
	// Split is its off-corpus split (see Split).
	Split Set
	// Small are the off-corpus splits of small corpora cut from it (see
	// Smalls); none for the bundled sets.
	Small []Set
}

// smallArticles is the size of the Small corpora: the size of the unseen
// Wikipedia set issue 8 names; smallCorpora how many a set gives at most.
const (
	smallArticles = 36
	smallCorpora  = 4
)

// ErrNoShared is returned by VisibleFolds when the shared eval folder is
// missing; the bundled folds are returned with it.
var ErrNoShared = errors.New("shared eval sets not found")

// splitSeed fixes which half of each set's articles is indexed.
const splitSeed = 1

// VisibleFolds loads every visible set and its off-corpus split: the
// bundled ones from testdata (always there) and the public ones from
// sharedEval (shared/eval). When sharedEval is missing it returns the
// bundled folds and an error wrapping ErrNoShared.
func VisibleFolds(ctx context.Context, testdata, sharedEval string) ([]Fold, error) {
	var shared []Set
	var missing error
	for _, name := range sharedSets {
		dir := filepath.Join(sharedEval, name)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			missing = fmt.Errorf("%w: %s", ErrNoShared, dir)
			break
		}
		s, err := LoadDir(ctx, dir)
		if err != nil {
			return nil, err
		}
		shared = append(shared, s)
	}
	if missing != nil {
		shared = nil
	}
	var dis *Set
	for i := range shared {
		if shared[i].Name == distractor {
			dis = &shared[i]
		}
	}
	var folds []Fold
	for _, b := range bundledSets {
		s, err := LoadBundled(ctx, b.name, filepath.Join(testdata, b.file))
		if err != nil {
			return nil, err
		}
		f := Fold{Name: b.name, InCorpus: s}
		if dis != nil {
			f.Split = Split(s, dis, splitSeed)
		}
		folds = append(folds, f)
	}
	for _, s := range shared {
		folds = append(folds, Fold{Name: s.Name, InCorpus: s, Split: Split(s, nil, splitSeed), Small: Smalls(s, smallArticles, smallCorpora, splitSeed)})
	}
	return folds, missing
}
