package retrieval

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/verbatimbot/verbatim/corpus"
)

const sharedDir = "../../shared"

var blankLines = regexp.MustCompile(`\n[ \t]*\n`)

// paragraphsOf splits text into blank-line-separated paragraphs with runs of
// white space folded, as corpus does.
func paragraphsOf(text string) []string {
	var ps []string
	for _, b := range blankLines.Split(strings.ReplaceAll(text, "\r\n", "\n"), -1) {
		if p := strings.Join(strings.Fields(b), " "); p != "" {
			ps = append(ps, p)
		}
	}
	return ps
}

// loadTxt reads a bundled-format .txt article: first line title.
func loadTxt(t testing.TB, path string) corpus.Article {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("shared corpus not available: %v", err)
	}
	title, body, _ := strings.Cut(string(data), "\n")
	id := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return corpus.Article{ID: id, Title: strings.TrimSpace(title), Paragraphs: paragraphsOf(body)}
}

// loadMDDir reads an eval corpus: "# title", blank line, paragraphs.
func loadMDDir(t testing.TB, dir string) []corpus.Article {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(files) == 0 {
		t.Skipf("eval corpus %s not available", dir)
	}
	sort.Strings(files)
	var out []corpus.Article
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, body, _ := strings.Cut(string(data), "\n")
		out = append(out, corpus.Article{
			ID:         strings.TrimSuffix(filepath.Base(f), ".md"),
			Title:      strings.TrimSpace(strings.TrimPrefix(first, "#")),
			Paragraphs: paragraphsOf(body),
		})
	}
	return out
}

func bundledArticles(t testing.TB) []corpus.Article {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(sharedDir, "corpus", "*.txt"))
	if len(files) == 0 {
		t.Skip("shared corpus not available")
	}
	var out []corpus.Article
	for _, f := range files {
		out = append(out, loadTxt(t, f))
	}
	return out
}

type qaRow struct {
	ID        string   `json:"id"`
	Question  string   `json:"question"`
	Answers   []string `json:"answers"`
	Article   *string  `json:"article"`
	Paragraph *int     `json:"paragraph"`
}

func loadQA(t testing.TB, path string) []qaRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("eval set not available: %v", err)
	}
	defer f.Close()
	var rows []qaRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r qaRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

// countingEmbedder counts the texts it is asked to embed.
type countingEmbedder struct {
	Embedder
	calls, texts atomic.Int64
	seen         chan string // if set, receives every text
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.calls.Add(1)
	c.texts.Add(int64(len(texts)))
	if c.seen != nil {
		for _, t := range texts {
			c.seen <- t
		}
	}
	return c.Embedder.Embed(ctx, texts)
}

func openIndex(t testing.TB, dir string, emb Embedder, chunk ChunkOptions) *Index {
	t.Helper()
	ix, err := Open(t.Context(), Options{Dir: dir, Embedder: emb, Chunk: chunk})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func syncIndex(t testing.TB, ix *Index, arts []corpus.Article) SyncReport {
	t.Helper()
	rep, err := ix.Sync(t.Context(), arts, nil)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return rep
}

// dot is the inner product, unrolled by four.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}
