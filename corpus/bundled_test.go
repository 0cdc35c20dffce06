package corpus

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const bundledID = "iran-and-russia-on-their-way-to-new-level-of-partnership"

func TestBundled(t *testing.T) {
	set, err := Bundled(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Articles) != 1 || len(set.Skipped) != 0 || len(set.Warnings) != 0 {
		t.Fatalf("got %d articles, skipped %v, warnings %v", len(set.Articles), set.Skipped, set.Warnings)
	}
	a := set.Articles[0]
	if a.ID != bundledID || a.Title != "Iran and Russia on their way to new level of partnership" || a.Source != bundledID+".txt" {
		t.Errorf("got ID %q title %q source %q", a.ID, a.Title, a.Source)
	}
	if len(a.Paragraphs) != 45 {
		t.Errorf("%d paragraphs, want 45", len(a.Paragraphs))
	}
	// Gold paragraphs of ../shared/eval/seed-qa.jsonl, pinned here so the
	// numbering cannot drift even where that file is absent.
	for n, want := range map[int]string{
		1:  "The coronavirus pandemic has had a significant impact",
		2:  "August 22",
		9:  "S-400",
		11: "30th time",
		24: "INSTEX (Instrument in Support of Trade Exchanges)",
	} {
		if p, _ := a.Paragraph(n); !strings.Contains(p, want) {
			t.Errorf("¶%d = %q, want it to contain %q", n, p, want)
		}
	}
}

// seedQA is a row of the eval format (../shared/eval/README.md).
type seedQA struct {
	ID        string   `json:"id"`
	Answers   []string `json:"answers"`
	Article   *string  `json:"article"`
	Paragraph *int     `json:"paragraph"`
}

func TestBundledSeedQA(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "shared", "eval", "seed-qa.jsonl"))
	if os.IsNotExist(err) {
		t.Skip("../shared/eval/seed-qa.jsonl not found")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set, err := Bundled(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	answerable := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var q seedQA
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			t.Fatal(err)
		}
		if q.Article == nil {
			continue
		}
		answerable++
		a, ok := set.Article(*q.Article)
		if !ok {
			t.Errorf("%s: no article %q", q.ID, *q.Article)
			continue
		}
		p, _ := a.Paragraph(*q.Paragraph)
		found := false
		for _, ans := range q.Answers {
			found = found || strings.Contains(p, ans)
		}
		if !found {
			t.Errorf("%s: ¶%d = %q has none of %q", q.ID, *q.Paragraph, p, q.Answers)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if answerable == 0 {
		t.Error("no answerable rows")
	}
}

func TestLoadQuail(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "eval", "quail-news-blogs")
	meta, err := os.Open(filepath.Join(dir, "articles.jsonl"))
	if os.IsNotExist(err) {
		t.Skip("../shared/eval/quail-news-blogs not found")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	set, err := LoadDir(t.Context(), filepath.Join(dir, "corpus"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Articles) != 60 || len(set.Skipped) != 0 {
		t.Fatalf("got %d articles, skipped %v; want 60, none", len(set.Articles), set.Skipped)
	}
	sc := bufio.NewScanner(meta)
	rows := 0
	for sc.Scan() {
		var m struct {
			Article    string `json:"article"`
			Title      string `json:"title"`
			Paragraphs int    `json:"paragraphs"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		rows++
		a, ok := set.Article(m.Article)
		if !ok {
			t.Errorf("no article %q", m.Article)
			continue
		}
		if len(a.Paragraphs) != m.Paragraphs || a.Title != m.Title {
			t.Errorf("%s: %d paragraphs, title %q; want %d, %q", a.ID, len(a.Paragraphs), a.Title, m.Paragraphs, m.Title)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != 60 {
		t.Errorf("articles.jsonl has %d rows, want 60", rows)
	}
}

func BenchmarkLoadDirQuail(b *testing.B) {
	dir := filepath.Join("..", "..", "shared", "eval", "quail-news-blogs", "corpus")
	if _, err := os.Stat(dir); err != nil {
		b.Skip("../shared/eval/quail-news-blogs not found")
	}
	for b.Loop() {
		if set, err := LoadDir(b.Context(), dir, Options{}); err != nil || len(set.Articles) != 60 {
			b.Fatal(len(set.Articles), err)
		}
	}
}
