package postgres_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/corpus/synth"
	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/postgres"
	"github.com/verbatimbot/verbatim/retrieval/postgres/pgtest"
)

// crashURL, when set, makes the test binary the writer that
// TestKilledWriterLeavesGeneration kills (see TestMain).
const crashURL = "VERBATIM_CRASH_TEST_URL"

// crashArticles is what the killed writer indexes: enough passages that
// some are copied into its transaction before it is killed.
const crashArticles = 300

// stallingEmbedder embeds the first n batches, says so on stdout, and
// then never returns.
type stallingEmbedder struct {
	retrieval.Embedder
	n     int64
	calls atomic.Int64
}

func (s *stallingEmbedder) Concurrency() int { return 1 }

func (s *stallingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if c := s.calls.Add(1); c > s.n {
		if c == s.n+1 {
			os.Stdout.WriteString("stalled\n")
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Embedder.Embed(ctx, texts)
}

// TestMain runs the writer TestKilledWriterLeavesGeneration kills when
// crashURL is set, and the tests otherwise.
func TestMain(m *testing.M) {
	if url := os.Getenv(crashURL); url != "" {
		stalledWriter(url)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// stalledWriter starts writing a generation to url and stalls: it never
// returns unless it fails.
func stalledWriter(url string) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "verbatim-crash-")
	if err == nil {
		defer os.RemoveAll(dir)
		var s *postgres.Store
		if s, err = postgres.Open(ctx, url, postgres.Options{}); err == nil {
			var ix *retrieval.Index
			ix, err = retrieval.Open(ctx, retrieval.Options{Dir: dir,
				Embedder: &stallingEmbedder{Embedder: retrieval.NewLocalEmbedder(), n: 20}, Store: s})
			if err == nil {
				_, err = ix.Sync(ctx, synth.New(1).Articles(crashArticles), nil)
			}
		}
	}
	fmt.Fprintln(os.Stderr, "stalled writer:", err)
}

// TestKilledWriterLeavesGeneration kills (SIGKILL) a process in the middle
// of writing a generation, after it has copied passages into its
// transaction: the generation committed before stays committed and
// whole, nothing of the killed one is left, the writer's lock is free, and
// the next write succeeds.
func TestKilledWriterLeavesGeneration(t *testing.T) {
	url := pgtest.URL(t)
	emb := retrieval.NewLocalEmbedder()
	first := synth.New(1).Articles(10)
	w, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: open(t, url)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Sync(t.Context(), first, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	s := open(t, url)
	before, err := s.Committed(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashURL+"="+url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stalled := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "stalled") {
				stalled <- true
				return
			}
		}
		stalled <- false
	}()
	select {
	case ok := <-stalled:
		if !ok {
			cmd.Wait()
			t.Fatal("the writer ended before it stalled")
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("the writer did not stall")
	}
	// The writer has passages in its open transaction.
	var inFlight int
	if err := queryRow(t, url, `SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()`, &inFlight); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if inFlight == 0 {
		t.Fatal("the writer had no transaction open when it was killed")
	}

	if after, err := s.Committed(t.Context()); err != nil || after != before {
		t.Fatalf("committed generation after the kill = %d, %v; want %d", after, err, before)
	}
	ix, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: emb, Store: s})
	if err != nil {
		t.Fatal(err)
	}
	if got := ix.Info().Articles; got != len(first) {
		t.Fatalf("after the kill the index has %d articles, want %d", got, len(first))
	}
	if hits, err := ix.Search(t.Context(), synth.New(1).Questions(10, 1)[0].Text, 5); err != nil || len(hits) == 0 {
		t.Fatalf("search after the kill: %d hits, %v", len(hits), err)
	}
	var leftover int
	if err := queryRow(t, url, `SELECT count(*) FROM articles WHERE born > $1 OR died IS NOT NULL`, &leftover, int64(before)); err != nil {
		t.Fatal(err)
	}
	if leftover != 0 {
		t.Fatalf("%d article rows of the killed write are left", leftover)
	}
	// The lock went with the killed session: the next writer gets it.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	unlock, err := s.Lock(ctx, true)
	if err != nil {
		t.Fatalf("lock after the kill: %v", err)
	}
	unlock()
	rep, err := ix.Sync(t.Context(), synth.New(1).Articles(crashArticles), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Added) != crashArticles-len(first) || ix.Info().Articles != crashArticles {
		t.Fatalf("write after the kill: %d added, %d articles", len(rep.Added), ix.Info().Articles)
	}
}
