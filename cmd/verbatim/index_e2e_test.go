package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
