package bot

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/retrieval"
)

// openIndex builds a retrieval index of arts in a temporary directory with
// the local embedder.
func openIndex(t testing.TB, arts []corpus.Article) *retrieval.Index {
	t.Helper()
	ctx := t.Context()
	ix, err := retrieval.Open(ctx, retrieval.Options{Dir: t.TempDir(), Embedder: retrieval.NewLocalEmbedder()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Sync(ctx, arts, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func bundledIndex(t testing.TB) *retrieval.Index {
	t.Helper()
	set, err := corpus.Bundled(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return openIndex(t, set.Articles)
}

// seedQuestions are the questions of testdata/seed-qa.jsonl (scoring them
// is the eval package's business; these tests only need the text).
func seedQuestions(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile("../testdata/seed-qa.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var qs []string
	for line := range strings.Lines(string(data)) {
		var row struct{ Question string }
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		qs = append(qs, row.Question)
	}
	return qs
}
