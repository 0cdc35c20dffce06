//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/corpus/synth"
	"github.com/verbatimbot/verbatim/retrieval"
)

// The index's lock is flock(2) on <index>/lock (retrieval/lock_unix.go);
// these tests take it and probe it the way another verbatim process would.

// holdLock takes the index lock as a writing process would, and returns
// its release.
func holdLock(t *testing.T, indexDir string) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(indexDir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return func() { f.Close() }
}

// lockHeld reports whether another process holds the index lock.
func lockHeld(indexDir string) bool {
	f, err := os.Open(filepath.Join(indexDir, "lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// startVerbatim starts the binary in dir with the clean environment of
// verbatim() plus env.
func startVerbatim(t *testing.T, dir string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &out
}

// askBees asks the bees question and checks it is answered from the bees
// article; it returns stderr. It may run on any goroutine: it reports
// problems as an error rather than failing the test.
func askBees(t *testing.T, work string, env []string) (string, error) {
	cmd := exec.Command(binPath, "ask", "--json", beesQuestion)
	cmd.Dir = work
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stderr.String(), fmt.Errorf("ask: %v\n%s", err, stderr.String())
	}
	var ans jsonAnswer
	if err := json.Unmarshal(stdout.Bytes(), &ans); err != nil {
		return stderr.String(), fmt.Errorf("ask --json: %v\n%s", err, stdout.String())
	}
	if ans.Refused || len(ans.Citations) == 0 || ans.Citations[0].Article.ID != "bees" {
		return stderr.String(), fmt.Errorf("ask did not answer from the bees article: %+v\nstderr: %s", ans, stderr.String())
	}
	return stderr.String(), nil
}

// Readers answer while a writer holds the index: asks during a long
// re-index all answer from the last committed index and say the corpus has
// changes being indexed; after a corpus change two concurrent asks both
// answer.
func TestAsksWhileIndexing(t *testing.T) {
	work := t.TempDir()
	corpusDir, indexDir := filepath.Join(work, "corpus"), filepath.Join(work, "index")
	writeCorpus(t, corpusDir, map[string]string{"bees.md": beesFile})
	if err := synth.New(1).WriteDir(filepath.Join(corpusDir, "first"), 0, 100, 0, 2); err != nil {
		t.Fatal(err)
	}
	env := []string{"VERBATIM_CORPUS=" + corpusDir, "VERBATIM_INDEX=" + indexDir}
	indexJSON(t, work, env)
	if err := synth.New(2).WriteDir(filepath.Join(corpusDir, "more"), 0, 1500, 0, 2); err != nil {
		t.Fatal(err)
	}

	writer, out := startVerbatim(t, work, env, "index")
	for deadline := time.Now().Add(30 * time.Second); !lockHeld(indexDir); time.Sleep(5 * time.Millisecond) {
		if writer.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("the index run never took the lock:\n%s", out)
		}
	}
	var wg sync.WaitGroup
	stderrs, errs := make([]string, 3), make([]error, 3)
	for i := range stderrs {
		wg.Go(func() { stderrs[i], errs[i] = askBees(t, work, env) })
	}
	wg.Wait()
	during := 0
	for i, s := range stderrs {
		if errs[i] != nil {
			t.Errorf("ask during the index run: %v", errs[i])
		}
		if strings.Contains(s, "that another process is indexing") {
			during++
		}
	}
	if err := writer.Wait(); err != nil {
		t.Fatalf("index: %v\n%s", err, out)
	}
	if during == 0 {
		t.Errorf("no ask said the corpus has changes being indexed; stderr:\n%s", strings.Join(stderrs, "\n"))
	}
	if s, err := askBees(t, work, env); err != nil || strings.Contains(s, "another process") {
		t.Errorf("ask after the index finished: %v; stderr:\n%s", err, s)
	}

	// Two asks at once after a corpus change: one indexes it, the other
	// answers from the committed index (or finds the work done).
	writeCorpus(t, corpusDir, map[string]string{"tides.md": "# Tides\n\nTides are caused mainly by the Moon.\n"})
	for i := range 2 {
		wg.Go(func() { _, errs[i] = askBees(t, work, env) })
	}
	wg.Wait()
	for _, err := range errs[:2] {
		if err != nil {
			t.Errorf("concurrent asks after a corpus change: %v", err)
		}
	}
}

// kill -9 at several points of a re-index never costs the committed
// index: after each kill `ask` answers from the previous generation (the
// test holds the lock, as a writer would, so the ask cannot index the
// change itself) and the next `index` completes without a rebuild.
func TestKillNineDuringIndex(t *testing.T) {
	work := t.TempDir()
	corpusDir, indexDir := filepath.Join(work, "corpus"), filepath.Join(work, "index")
	writeCorpus(t, corpusDir, map[string]string{"bees.md": beesFile})
	if err := synth.New(1).WriteDir(filepath.Join(corpusDir, "base"), 0, 400, 0, 2); err != nil {
		t.Fatal(err)
	}
	env := []string{"VERBATIM_CORPUS=" + corpusDir, "VERBATIM_INDEX=" + indexDir}
	indexJSON(t, work, env)

	hasTemp := func(prefix string) func() bool {
		return func() bool {
			entries, _ := os.ReadDir(indexDir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), prefix) {
					return true
				}
			}
			return false
		}
	}
	var manifest []byte // the committed manifest before each round
	points := []struct {
		name string
		at   func() bool // kill as soon as this holds
	}{
		{"loading the corpus", func() bool { return true }},
		{"holding the lock (embedding)", func() bool { return lockHeld(indexDir) }},
		{"writing the generation's files", hasTemp(".tmp-")},
		{"writing the vectors", hasTemp(".tmp-vectors-")},
		{"writing the manifest", hasTemp(".tmp-manifest.json-")},
		{"just past the commit", func() bool {
			g, _ := os.ReadFile(filepath.Join(indexDir, "manifest.json"))
			return !bytes.Equal(g, manifest)
		}},
	}
	killed := 0
	for round, pt := range points {
		articles := articleCount(t, indexDir)
		var err error
		if manifest, err = os.ReadFile(filepath.Join(indexDir, "manifest.json")); err != nil {
			t.Fatal(err)
		}
		batch := filepath.Join(corpusDir, "batch-"+strconv.Itoa(round))
		if err := synth.New(uint64(10+round)).WriteDir(batch, 0, 150, 0, 2); err != nil {
			t.Fatal(err)
		}
		cmd, out := startVerbatim(t, work, env, "index")
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		hit := false
	poll:
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
			select {
			case <-done:
				break poll
			default:
			}
			if pt.at() {
				hit = cmd.Process.Signal(syscall.SIGKILL) == nil
				break
			}
			time.Sleep(500 * time.Microsecond)
		}
		<-done
		if hit && cmd.ProcessState.Success() {
			hit = false // it finished as the signal was sent
		}
		if hit {
			killed++
		}
		t.Logf("kill -9 while %s: killed=%t (%s)", pt.name, hit, cmd.ProcessState)

		// The committed generation is usable: the previous one, or the
		// new one if the kill came after the commit.
		after := articleCount(t, indexDir)
		if after != articles && after != articles+150 {
			t.Fatalf("after kill -9 while %s: %d articles committed, want %d or %d\n%s", pt.name, after, articles, articles+150, out)
		}
		release := holdLock(t, indexDir)
		stderr, err := askBees(t, work, env)
		release()
		if err != nil {
			t.Errorf("after kill -9 while %s: %v", pt.name, err)
		}
		if strings.Contains(stderr, "rebuilt") {
			t.Errorf("ask after kill -9 while %s rebuilt the index:\n%s", pt.name, stderr)
		}
		if after == articles && !strings.Contains(stderr, "(150 added, 0 updated, 0 removed) that another process is indexing") {
			t.Errorf("ask after kill -9 while %s does not say the batch is pending:\n%s", pt.name, stderr)
		}

		s := indexJSON(t, work, env)
		if s.Rebuilt || len(s.Added) != articles+150-after {
			t.Errorf("index after kill -9 while %s: rebuilt=%t added=%d, want %d added, no rebuild", pt.name, s.Rebuilt, len(s.Added), articles+150-after)
		}
		if n := articleCount(t, indexDir); n != articles+150 {
			t.Errorf("after the next index: %d articles, want %d", n, articles+150)
		}
		entries, _ := os.ReadDir(indexDir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".tmp-") {
				t.Errorf("temporary file left after the next index: %s", e.Name())
			}
		}
	}
	if killed < 3 {
		t.Errorf("only %d of %d kills landed before the index run finished; the scenario was not exercised", killed, len(points))
	}
}

// articleCount is the number of articles in the committed index, which
// must be usable.
func articleCount(t *testing.T, indexDir string) int {
	t.Helper()
	ix, err := retrieval.Open(t.Context(), retrieval.Options{Dir: indexDir, Embedder: retrieval.NewLocalEmbedder()})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	info := ix.Info()
	if info.NeedsRebuild {
		t.Fatalf("committed index unusable: %s", info.RebuildReason)
	}
	return info.Articles
}
