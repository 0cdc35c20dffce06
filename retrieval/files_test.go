package retrieval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// An index remembers the files it was synced from, and vouches for them
// (with its own copies of their articles) only while they are unchanged.
func TestRememberFilesAndReuse(t *testing.T) {
	corpusDir, dir := t.TempDir(), t.TempDir()
	old := time.Now().Add(-time.Hour)
	write := func(name, text string, mod time.Time) {
		p := filepath.Join(corpusDir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	write("a.md", "# A\n\nThe coffee harvest rose.\n", old)
	write("b.md", "# B\n\nTea prices fell.\n", old)
	write("new.md", "# New\n\nJust written.\n", time.Now())
	load := func(reuse func(corpus.FileStat) ([]corpus.Article, bool)) corpus.Set {
		set, err := corpus.LoadDir(t.Context(), corpusDir, corpus.Options{Reuse: reuse})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	ix := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	set := load(nil)
	syncIndex(t, ix, set.Articles)
	if err := ix.RememberFiles(t.Context(), set, time.Now()); err != nil {
		t.Fatal(err)
	}

	// A new process: a and b are reused, new.md (too recent) is read.
	ix = openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	var reused []string
	reuse := func(f corpus.FileStat) ([]corpus.Article, bool) {
		arts, ok := ix.Reuse(f)
		if ok {
			reused = append(reused, f.Path)
		}
		return arts, ok
	}
	again := load(reuse)
	if !slices.Equal(reused, []string{"a.md", "b.md"}) {
		t.Errorf("reused %v, want a.md and b.md", reused)
	}
	if rep := syncIndex(t, ix, again.Articles); rep.Changed() {
		t.Errorf("sync of reused corpus changed the index: %+v", rep)
	}

	// An edit changes size and time: a.md is read again and updated.
	write("a.md", "# A\n\nThe coffee harvest fell sharply.\n", old.Add(time.Minute))
	reused = nil
	edited := load(reuse)
	if !slices.Equal(reused, []string{"b.md"}) {
		t.Errorf("after an edit reused %v, want b.md", reused)
	}
	rep := syncIndex(t, ix, edited.Articles)
	if !slices.Equal(rep.Updated, []string{"a"}) {
		t.Errorf("updated %v, want a", rep.Updated)
	}

	// A record whose fingerprints the index does not hold is not trusted.
	ix2 := openIndex(t, t.TempDir(), NewLocalEmbedder(), ChunkOptions{})
	ix2.known, ix2.knownRead = ix.files(), true
	if _, ok := ix2.Reuse(corpus.FileStat{Path: "b.md", Size: 22, ModTime: old}); ok {
		t.Error("an index without the articles vouched for a file")
	}
}

// A remembered-files record whose content no longer matches its checksum
// (here: a modification time moved to match an edited file) is not
// trusted: every file is read.
func TestRememberedFilesChecksum(t *testing.T) {
	corpusDir, dir := t.TempDir(), t.TempDir()
	writeCorpusFile(t, corpusDir, "a.md", "# A\n\nThe coffee harvest rose.\n")
	opts := CorpusOptions{Index: Options{Dir: dir}, Corpus: corpusDir}
	openCorpus(t, opts)
	data, err := os.ReadFile(filepath.Join(dir, filesName))
	if err != nil {
		t.Fatal(err)
	}
	var rec filesRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.Checksum == "" || rec.Checksum != rec.checksum() {
		t.Fatalf("files.json: %v, checksum %q", err, rec.Checksum)
	}

	// Same size, new text; the record is edited to the new mtime.
	writeCorpusFile(t, corpusDir, "a.md", "# A\n\nThe coffee harvest fell.\n")
	r := rec.Files["a.md"]
	r.ModTime = modTime(t, filepath.Join(corpusDir, "a.md")).UnixNano()
	rec.Files["a.md"] = r
	data, _ = json.Marshal(rec)
	write(t, filepath.Join(dir, filesName), string(data))

	ix, rep := openCorpus(t, opts)
	if !slices.Equal(rep.Sync.Updated, []string{"a"}) {
		t.Errorf("tampered files.json: %+v, want a updated", rep.Sync)
	}
	if a, _ := ix.Article("a"); a.Paragraphs[0] != "The coffee harvest fell." {
		t.Errorf("a = %q", a.Paragraphs)
	}
}
