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
// (with its own copies of their articles) only while they are unchanged:
// outright while inode and ctime are as remembered, by content hash when
// only size and modification time are.
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
	load := func(reuse func(corpus.FileStat) (corpus.Reused, bool)) corpus.Set {
		set, err := corpus.LoadDir(t.Context(), corpusDir, corpus.Options{Reuse: reuse})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	ix := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	set := load(nil)
	syncIndex(t, ix, set.Articles)

	// How a new process's Reuse answers for each file.
	verdicts := func() map[string]string {
		ix := openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
		out := map[string]string{}
		for _, name := range []string{"a.md", "b.md"} {
			p := filepath.Join(corpusDir, name)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			st := statOf(t, corpusDir, name)
			st.Size, st.ModTime = fi.Size(), fi.ModTime()
			r, ok := ix.reuse(st)
			switch {
			case !ok:
				out[name] = "read"
			case r.Verify:
				out[name] = "verify"
			default:
				out[name] = "trusted"
			}
		}
		return out
	}
	want := func(what string, got map[string]string, a, b string) {
		t.Helper()
		if got["a.md"] != a || got["b.md"] != b {
			t.Errorf("%s: %v, want a.md %s, b.md %s", what, got, a, b)
		}
	}

	// Just written (ctime within racyWindow of the load): verified by
	// content next time.
	if err := ix.rememberFiles(t.Context(), set, time.Now()); err != nil {
		t.Fatal(err)
	}
	want("ctimes too recent", verdicts(), "verify", "verify")
	// Loaded well after their last change: trusted by inode and ctime
	// (where the system has them).
	if err := ix.rememberFiles(t.Context(), set, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	trusted := "trusted"
	if set.Files[0].ChangeTime.IsZero() {
		trusted = "verify" // no ctime on this system
	}
	want("unchanged", verdicts(), trusted, trusted)

	// Same size, same modification time, new bytes (cp -p, rsync -t):
	// ctime moved, so the content is checked.
	write("a.md", "# A\n\nThe coffee harvest fell.\n", old)
	want("edited keeping size and mtime", verdicts(), "verify", trusted)
	ix = openIndex(t, dir, NewLocalEmbedder(), ChunkOptions{})
	edited := load(ix.reuse)
	if a, _ := edited.Article("a"); a.Paragraphs[0] != "The coffee harvest fell." {
		t.Errorf("a after an edit that kept size and mtime: %q", a.Paragraphs)
	}
	if rep := syncIndex(t, ix, edited.Articles); !slices.Equal(rep.Updated, []string{"a"}) {
		t.Errorf("updated %v, want a", rep.Updated)
	}

	// An edit that changes the size is read without asking the hash.
	write("b.md", "# B\n\nTea prices fell sharply.\n", old.Add(time.Minute))
	want("b resized", verdicts(), "read", "read") // a: the index's copy of a changed

	// A record whose fingerprints the index does not hold is not trusted.
	ix2 := openIndex(t, t.TempDir(), NewLocalEmbedder(), ChunkOptions{})
	ix2.known, ix2.knownRead = ix.files(), true
	if _, ok := ix2.reuse(statOf(t, corpusDir, "b.md")); ok {
		t.Error("an index without the articles vouched for a file")
	}
}

// statOf is the corpus.FileStat the loader would give name.
func statOf(t *testing.T, corpusDir, name string) corpus.FileStat {
	t.Helper()
	set, err := corpus.LoadDir(t.Context(), corpusDir, corpus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range set.Files {
		if f.Path == name {
			f.Hash = ""
			return f
		}
	}
	t.Fatalf("%s not loaded", name)
	return corpus.FileStat{}
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
