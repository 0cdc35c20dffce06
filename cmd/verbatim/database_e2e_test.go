package main

import (
	"bufio"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/retrieval/postgres/pgtest"
)

// TestDatabaseIndexAndAsk: with VERBATIM_DATABASE_URL, `verbatim index`
// writes the corpus into PostgreSQL and `verbatim ask` on another machine
// (another HOME and cache, no corpus) answers from it; a re-index after an
// edit is what the next ask sees; an empty database is a clear error.
func TestDatabaseIndexAndAsk(t *testing.T) {
	db := "VERBATIM_DATABASE_URL=" + pgtest.URL(t)
	work := t.TempDir()
	corpusDir := filepath.Join(work, "articles")
	writeCorpus(t, corpusDir, map[string]string{
		"bees.md":   "---\ntitle: The Honey Bee\nurl: https://example.org/bees\n---\n\nHoney bees live in colonies of up to sixty thousand workers.\n\nA queen bee can lay two thousand eggs in a single day.\n",
		"tides.txt": "Why the sea has tides\n\nTides are caused mainly by the gravitational pull of the Moon.\n\nSpring tides happen when the Sun and Moon line up.\n",
	})

	r := verbatim(t, work, "", []string{db}, "ask", "How many eggs can a queen lay?")
	if r.code == 0 || !strings.Contains(r.stderr, "the database holds no index yet") {
		t.Fatalf("ask on an empty database: exit %d\n%s", r.code, r.stderr)
	}

	r = verbatim(t, work, "", []string{db}, "index", "--corpus", corpusDir)
	if r.code != 0 || !strings.Contains(r.stdout, "added 2") {
		t.Fatalf("index into the database: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	ask := func(q string) jsonAnswer {
		t.Helper()
		r := verbatim(t, t.TempDir(), "", []string{db}, "ask", "--json", q)
		var ans jsonAnswer
		if err := json.Unmarshal([]byte(r.stdout), &ans); err != nil || r.code != 0 {
			t.Fatalf("ask from the database: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
		}
		return ans
	}
	ans := ask("How many eggs can a queen bee lay in a day?")
	if len(ans.Citations) == 0 || ans.Citations[0].Article.ID != "bees" || ans.Citations[0].Paragraph != 2 || ans.Citations[0].Article.URL != "https://example.org/bees" {
		t.Fatalf("want bees ¶2 with its URL first, got %+v", ans.Citations)
	}

	// An unchanged corpus writes nothing; an edit is re-indexed, and the
	// next ask anywhere sees it.
	r = verbatim(t, work, "", []string{db}, "index", "--corpus", corpusDir)
	if !strings.Contains(r.stdout, "added 0, updated 0, removed 0, unchanged 2") {
		t.Fatalf("second index run not a no-op:\n%s", r.stdout)
	}
	writeCorpus(t, corpusDir, map[string]string{"bees.md": "---\ntitle: The Honey Bee\n---\n\nHoney bees live in colonies.\n\nA queen bee can lay three thousand eggs in a single day.\n"})
	r = verbatim(t, work, "", []string{db}, "index", "--corpus", corpusDir)
	if !strings.Contains(r.stdout, "added 0, updated 1, removed 0, unchanged 1") {
		t.Fatalf("after an edit:\n%s", r.stdout)
	}
	if ans := ask("How many eggs can a queen bee lay in a day?"); len(ans.Citations) == 0 || !strings.Contains(ans.Citations[0].Quote, "three thousand") {
		t.Fatalf("ask after the re-index quotes %+v, want the edited paragraph", ans.Citations)
	}
	r = verbatim(t, t.TempDir(), "", []string{db}, "sources")
	if r.code != 0 || !strings.Contains(r.stdout, "2 articles, 4 paragraphs") {
		t.Fatalf("sources from the database: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestDatabaseChatFollowsReindex: a running chat answers from the
// generation a re-index commits meanwhile, told by the database
// (LISTEN/NOTIFY; polling is off), without a restart.
func TestDatabaseChatFollowsReindex(t *testing.T) {
	db := "VERBATIM_DATABASE_URL=" + pgtest.URL(t)
	work := t.TempDir()
	corpusDir := filepath.Join(work, "articles")
	writeCorpus(t, corpusDir, map[string]string{
		"bees.md": "---\ntitle: The Honey Bee\n---\n\nHoney bees live in colonies of up to sixty thousand workers.\n",
	})
	if r := verbatim(t, work, "", []string{db}, "index", "--corpus", corpusDir); r.code != 0 {
		t.Fatalf("index: exit %d\n%s", r.code, r.stderr)
	}
	env := []string{db, "VERBATIM_RELOAD_INTERVAL=0", "VERBATIM_LOG_LEVEL=info"}
	cmd := binCommand(t, t.TempDir(), env, "chat", "--json")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	reloaded := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(errPipe)
		once := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), "index reloaded") && !once {
				once = true
				close(reloaded)
			}
		}
	}()
	answers := json.NewDecoder(outPipe)
	askChat := func(q string) jsonAnswer {
		t.Helper()
		if _, err := io.WriteString(in, q+"\n"); err != nil {
			t.Fatal(err)
		}
		var a jsonAnswer
		if err := answers.Decode(&a); err != nil {
			t.Fatalf("read chat answer: %v", err)
		}
		return a
	}
	if a := askChat("Where do tides come from?"); len(a.Citations) > 0 && a.Citations[0].Article.ID == "tides" {
		t.Fatalf("tides quoted before they were indexed: %+v", a.Citations)
	}
	writeCorpus(t, corpusDir, map[string]string{
		"tides.txt": "Why the sea has tides\n\nTides are caused mainly by the gravitational pull of the Moon.\n",
	})
	if r := verbatim(t, work, "", []string{db}, "index", "--corpus", corpusDir); r.code != 0 || !strings.Contains(r.stdout, "added 1") {
		t.Fatalf("re-index: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	select {
	case <-reloaded:
	case <-time.After(20 * time.Second):
		t.Fatal("chat did not reload the generation the re-index committed")
	}
	if a := askChat("What causes tides?"); len(a.Citations) == 0 || a.Citations[0].Article.ID != "tides" {
		t.Fatalf("chat after the re-index: %+v", a.Citations)
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("chat: %v", err)
	}
}
