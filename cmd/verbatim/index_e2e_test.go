package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	beesFile     = "# The Honey Bee\n\nA queen bee can lay two thousand eggs in a single day.\n"
	beesQuestion = "How many eggs can a queen bee lay in a single day?"
)

// askJSON runs `ask --json` and decodes the answer.
func askJSON(t *testing.T, work string, env []string, args ...string) (jsonAnswer, result) {
	t.Helper()
	r := verbatim(t, work, "", env, append([]string{"ask", "--json"}, args...)...)
	var ans jsonAnswer
	if r.code != 0 {
		t.Fatalf("ask: exit %d\n%s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &ans); err != nil {
		t.Fatalf("ask --json: %v\n%s", err, r.stdout)
	}
	return ans, r
}

// A flipped number inside the articles file is never quoted as verbatim:
// the checksum catches it, the index is rebuilt from the corpus, and stderr
// says why.
func TestCorruptIndexIsRebuilt(t *testing.T) {
	work := t.TempDir()
	corpusDir, indexDir := filepath.Join(work, "articles"), filepath.Join(work, "index")
	writeCorpus(t, corpusDir, map[string]string{
		"wheat.md": "# Wheat\n\nAfter the new canal opened, the wheat harvest rose to 1909 tonnes.\n",
	})
	env := []string{"VERBATIM_CORPUS=" + corpusDir, "VERBATIM_INDEX=" + indexDir}
	if r := verbatim(t, work, "", env, "index"); r.code != 0 {
		t.Fatalf("index: exit %d\n%s", r.code, r.stderr)
	}
	gobs, _ := filepath.Glob(filepath.Join(indexDir, "articles-*.gob"))
	if len(gobs) != 1 {
		t.Fatalf("articles files: %v", gobs)
	}
	data, err := os.ReadFile(gobs[0])
	if err != nil || !strings.Contains(string(data), "1909") {
		t.Fatalf("articles file lacks 1909: %v", err)
	}
	if err := os.WriteFile(gobs[0], []byte(strings.Replace(string(data), "1909", "9999", 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	ans, r := askJSON(t, work, env, "--verbose", "How many tonnes did the wheat harvest rise to after the canal opened?")
	if len(ans.Citations) == 0 || !strings.Contains(ans.Citations[0].Quote, "1909 tonnes") || strings.Contains(r.stdout, "9999") {
		t.Errorf("answer after corruption: %+v", ans)
	}
	name := filepath.Base(gobs[0])
	if !strings.Contains(r.stderr, "rebuilt the index: index file "+name+" is corrupt: checksum") {
		t.Errorf("stderr does not say why the index was rebuilt:\n%s", r.stderr)
	}
	// Rebuilt once: the next ask says nothing about it.
	if _, r := askJSON(t, work, env, "How many tonnes did the wheat harvest rise to after the canal opened?"); strings.Contains(r.stderr, "rebuilt") {
		t.Errorf("second ask rebuilt again:\n%s", r.stderr)
	}
}

// indexJSON runs `index --json` with args and decodes the summary.
func indexJSON(t *testing.T, work string, env []string, args ...string) indexSummaryJSON {
	t.Helper()
	r := verbatim(t, work, "", env, append([]string{"index", "--json"}, args...)...)
	var s indexSummaryJSON
	if r.code != 0 {
		t.Fatalf("index: exit %d\n%s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("index --json: %v\n%s", err, r.stdout)
	}
	return s
}

type indexSummaryJSON struct {
	Added     []string `json:"added"`
	Updated   []string `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Rebuilt   bool     `json:"rebuilt"`
	Skipped   []struct {
		Path string `json:"path"`
	} `json:"skipped"`
	Files struct {
		Parsed   int `json:"parsed"`
		Reused   int `json:"reused"`
		Verified int `json:"verified"`
	} `json:"files"`
}

// An edit that keeps a file's size and modification time (rsync -t, cp -p,
// a tar restore) is seen — its ctime moved, so its content is checked —
// while untouched files are neither parsed nor read; `index --full`
// parses every file.
func TestEditKeepingSizeAndMtimeIsSeen(t *testing.T) {
	work := t.TempDir()
	corpusDir := filepath.Join(work, "articles")
	writeCorpus(t, corpusDir, map[string]string{
		"wheat.md": "# Wheat\n\nAfter the new canal opened, the wheat harvest rose to 1909 tonnes.\n",
		"tides.md": "# Tides\n\nTides are caused mainly by the gravitational pull of the Moon.\n",
	})
	wheat := filepath.Join(corpusDir, "wheat.md")
	fi, err := os.Stat(wheat)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"VERBATIM_CORPUS=" + corpusDir, "VERBATIM_INDEX=" + filepath.Join(work, "index")}
	indexJSON(t, work, env)
	// Past the racy window: from now on the index trusts the files' ctimes.
	time.Sleep(2100 * time.Millisecond)
	if s := indexJSON(t, work, env); s.Files.Verified != 2 {
		t.Fatalf("second index: %+v, want both files checked by content (their ctimes were recent)", s.Files)
	}
	if s := indexJSON(t, work, env); s.Files.Reused != 2 || s.Files.Parsed+s.Files.Verified != 0 {
		t.Fatalf("third index: %+v, want both files trusted unread", s.Files)
	}

	// Same size, same mtime, different bytes.
	if err := os.WriteFile(wheat, []byte("# Wheat\n\nAfter the new canal opened, the wheat harvest rose to 9999 tonnes.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(wheat, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	ans, _ := askJSON(t, work, env, "How many tonnes did the wheat harvest rise to after the canal opened?")
	if len(ans.Citations) == 0 || !strings.Contains(ans.Citations[0].Quote, "9999 tonnes") {
		t.Errorf("ask after an edit that kept size and mtime still quotes the old text: %+v", ans.Citations)
	}

	s := indexJSON(t, work, env, "--full")
	if s.Files.Parsed != 2 || s.Files.Reused+s.Files.Verified != 0 || s.Unchanged != 2 {
		t.Errorf("index --full: %+v, want both files parsed and unchanged", s)
	}
}

// Commands that answer name a bad corpus file once — when it is new or
// changed — and count it afterwards; index lists every one every time.
func TestSkippedFilesReportedOnce(t *testing.T) {
	work := t.TempDir()
	corpusDir := filepath.Join(work, "articles")
	writeCorpus(t, corpusDir, map[string]string{
		"bees.md":    beesFile,
		"binary.txt": "\x00\x01binary",
	})
	env := []string{"VERBATIM_CORPUS=" + corpusDir, "VERBATIM_INDEX=" + filepath.Join(work, "index")}
	ask := func() string {
		t.Helper()
		_, r := askJSON(t, work, env, beesQuestion)
		return r.stderr
	}
	if s := ask(); strings.Count(s, "skipped binary.txt: binary file") != 1 || strings.Contains(s, "as reported before") {
		t.Errorf("first ask does not name the bad file once:\n%s", s)
	}
	if s := ask(); strings.Contains(s, "binary.txt") || !strings.Contains(s, "1 corpus entry was skipped, as reported before") {
		t.Errorf("second ask names the bad file again instead of counting it:\n%s", s)
	}
	writeCorpus(t, corpusDir, map[string]string{"empty.md": "# Nothing here\n"})
	if s := ask(); !strings.Contains(s, "skipped empty.md") || strings.Contains(s, "binary.txt") || !strings.Contains(s, "1 more corpus entry was skipped") {
		t.Errorf("a new bad file is not named (with the old one counted):\n%s", s)
	}
	writeCorpus(t, corpusDir, map[string]string{"binary.txt": "\x00\x01still binary, but changed"})
	if s := ask(); !strings.Contains(s, "skipped binary.txt") || strings.Contains(s, "empty.md") {
		t.Errorf("a changed bad file is not named again:\n%s", s)
	}
	s := indexJSON(t, work, env)
	if len(s.Skipped) != 2 {
		t.Errorf("index lists %d skipped files, want both: %+v", len(s.Skipped), s.Skipped)
	}
	if s := ask(); strings.Contains(s, "binary.txt") || strings.Contains(s, "empty.md") || !strings.Contains(s, "2 corpus entries were skipped") {
		t.Errorf("after index, ask names files again:\n%s", s)
	}
}
