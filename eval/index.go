package eval

import (
	"context"
	"fmt"

	"github.com/verbatimbot/verbatim/retrieval"
)

// OpenIndex indexes the set's articles in dir with the local embedder, as
// `verbatim index` would by default.
func OpenIndex(ctx context.Context, s Set, dir string) (*retrieval.Index, error) {
	ix, err := retrieval.Open(ctx, retrieval.Options{Dir: dir, Embedder: retrieval.NewLocalEmbedder()})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", s.Name, err)
	}
	if _, err := ix.Sync(ctx, s.Articles, nil); err != nil {
		ix.Close()
		return nil, fmt.Errorf("index %s: %w", s.Name, err)
	}
	return ix, nil
}
