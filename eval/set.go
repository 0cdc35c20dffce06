package eval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/verbatimbot/verbatim/corpus"
)

// Set is a question set with the articles it is asked over.
type Set struct {
	Name     string
	Articles []corpus.Article
	Items    []Item
}

// Has reports whether the set's corpus holds the article.
func (s Set) Has(id string) bool {
	return slices.ContainsFunc(s.Articles, func(a corpus.Article) bool { return a.ID == id })
}

// Counts returns how many items there are of each kind.
func (s Set) Counts() (answerable, unanswerable, offCorpus int) {
	for _, it := range s.Items {
		switch it.Kind {
		case Answerable:
			answerable++
		case Unanswerable:
			unanswerable++
		case OffCorpus:
			offCorpus++
		}
	}
	return
}

// LoadBundled is a question set over the bundled corpus.
func LoadBundled(ctx context.Context, name, qaFile string) (Set, error) {
	cs, err := corpus.Bundled(ctx)
	if err != nil {
		return Set{}, fmt.Errorf("load bundled corpus: %w", err)
	}
	items, err := ReadFile(qaFile)
	if err != nil {
		return Set{}, err
	}
	return Set{Name: name, Articles: cs.Articles, Items: items}, nil
}

// LoadDir loads a converted set laid out as in shared/eval: corpus/ beside
// mixed.jsonl (answerable and unanswerable questions) or, failing that,
// qa.jsonl. Its name is the folder's.
func LoadDir(ctx context.Context, dir string) (Set, error) {
	qa := filepath.Join(dir, "mixed.jsonl")
	if _, err := os.Stat(qa); errors.Is(err, fs.ErrNotExist) {
		qa = filepath.Join(dir, "qa.jsonl")
	}
	items, err := ReadFile(qa)
	if err != nil {
		return Set{}, err
	}
	cs, err := corpus.LoadDir(ctx, filepath.Join(dir, "corpus"), corpus.Options{})
	if err != nil {
		return Set{}, fmt.Errorf("load %s: %w", dir, err)
	}
	if len(cs.Skipped) > 0 {
		return Set{}, fmt.Errorf("load %s: %d corpus files skipped, first %v", dir, len(cs.Skipped), cs.Skipped[0].Error())
	}
	return Set{Name: filepath.Base(dir), Articles: cs.Articles, Items: items}, nil
}

// Split makes the off-corpus split of s: half of its articles (chosen by a hash of their IDs
// and seed, so the split is fixed) stay indexed, and their questions keep
// their kind; every question about an article of the other half becomes
// OffCorpus — the corpus no longer covers its topic, so it must be
// refused. Questions about no particular article keep their kind.
//
// With distractor set, s is kept whole and half of distractor's articles
// are added to its corpus, the questions about the other half becoming
// OffCorpus: the split for a set with too few articles to halve (the
// bundled article).
func Split(s Set, distractor *Set, seed uint64) Set {
	if distractor != nil {
		kept, off := halve(distractor.Articles, seed)
		out := Set{Name: s.Name + "+" + distractor.Name + "/off-corpus"}
		out.Articles = append(slices.Clone(s.Articles), kept...)
		out.Items = slices.Clone(s.Items)
		for _, it := range distractor.Items {
			if off[it.About()] {
				it.Kind, it.From = OffCorpus, distractor.Name
				out.Items = append(out.Items, it)
			}
		}
		return out
	}
	kept, off := halve(s.Articles, seed)
	out := Set{Name: s.Name + "/off-corpus", Articles: kept}
	for _, it := range s.Items {
		if off[it.About()] {
			it.Kind = OffCorpus
		}
		out.Items = append(out.Items, it)
	}
	return out
}

// Smalls are small corpora cut from s, each split as Split does: s's
// articles ordered by how many answerable questions they have (ties by
// ID), cut into up to k disjoint groups of n, each group half indexed and
// the other half's questions to refuse. They are the shape of a
// community's first corpus — a few dozen articles — where most off-topic
// questions share few words with it; several of them give the measure
// enough questions to mean something.
func Smalls(s Set, n, k int, seed uint64) []Set {
	count := map[string]int{}
	for _, it := range s.Items {
		if it.Kind == Answerable {
			count[*it.Article]++
		}
	}
	arts := slices.Clone(s.Articles)
	slices.SortStableFunc(arts, func(a, b corpus.Article) int {
		return cmp.Or(count[b.ID]-count[a.ID], cmp.Compare(a.ID, b.ID))
	})
	var out []Set
	for g := 0; g < k && (g+1)*n <= len(arts) && count[arts[g*n].ID] > 0; g++ {
		group := arts[g*n : (g+1)*n]
		keep := map[string]bool{}
		for _, a := range group {
			keep[a.ID] = true
		}
		sub := Set{Name: fmt.Sprintf("%s/%d#%d", s.Name, n, g+1), Articles: group}
		for _, it := range s.Items {
			if keep[it.About()] {
				sub.Items = append(sub.Items, it)
			}
		}
		out = append(out, Split(sub, nil, seed))
	}
	return out
}

// halve returns the articles kept and the IDs of those left out.
func halve(arts []corpus.Article, seed uint64) ([]corpus.Article, map[string]bool) {
	type ranked struct {
		h uint64
		a corpus.Article
	}
	rs := make([]ranked, len(arts))
	for i, a := range arts {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d\x00%s", seed, a.ID)
		rs[i] = ranked{h.Sum64(), a}
	}
	slices.SortFunc(rs, func(x, y ranked) int { return cmp.Compare(x.h, y.h) })
	var kept []corpus.Article
	off := map[string]bool{}
	for i, r := range rs {
		if i < (len(rs)+1)/2 {
			kept = append(kept, r.a)
		} else {
			off[r.a.ID] = true
		}
	}
	slices.SortFunc(kept, func(x, y corpus.Article) int { return cmp.Compare(x.ID, y.ID) })
	return kept, off
}
