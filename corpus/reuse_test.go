package corpus

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A file Reuse answers for is not read; Files lists the clean files.
func TestLoadDirReuse(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.md", "# A\n\nFirst paragraph.\n")
	write("b.txt", "B\n\nSecond file.\n")
	write("bad.md", "---\ntitle: Bad\ndate: not a date\n---\n\nText.\n")
	first, err := LoadDir(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range first.Files {
		paths = append(paths, f.Path)
	}
	if !slices.Equal(paths, []string{"a.md", "b.txt"}) {
		t.Fatalf("Files = %v, want the two files loaded without warnings", paths)
	}
	if f := first.Files[0]; runtime.GOOS == "linux" && (f.Inode == 0 || f.ChangeTime.IsZero()) {
		t.Errorf("no inode or ctime on Linux: %+v", f)
	}

	// Change a.md on disk; Reuse vouches for its old version.
	write("a.md", "# A\n\nChanged.\n")
	old, _ := first.Article("a")
	var asked []string
	second, err := LoadDir(t.Context(), dir, Options{Reuse: func(f FileStat) (Reused, bool) {
		asked = append(asked, f.Path)
		if f.Path == "a.md" {
			return Reused{Articles: []Article{*old}, Hash: "sha256:old"}, true
		}
		return Reused{}, false
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{"a.md", "b.txt", "bad.md"}) {
		t.Errorf("Reuse asked about %v", asked)
	}
	a, ok := second.Article("a")
	if !ok || a.Paragraphs[0] != "First paragraph." || a.Fingerprint != old.Fingerprint || a.Source != "a.md" {
		t.Errorf("reused article = %+v", a)
	}
	if len(second.Files) != 2 || len(second.Warnings) != 1 {
		t.Errorf("Files %v, Warnings %v", second.Files, second.Warnings)
	}
	if second.Files[0].Hash != "sha256:old" || second.Files[1].Hash != first.Files[1].Hash || !strings.HasPrefix(first.Files[1].Hash, "sha256:") {
		t.Errorf("hashes: reused %q, read %q then %q", second.Files[0].Hash, first.Files[1].Hash, second.Files[1].Hash)
	}
}

// A file Reuse vouches for only by content is read and hashed: the reused
// articles stand for it while its bytes are the same, and it is parsed as
// usual once they differ, though size and modification time did not change.
func TestLoadDirReuseVerify(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.md")
	stamp := time.Now().Add(-time.Hour)
	write := func(text string) {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, stamp, stamp); err != nil {
			t.Fatal(err)
		}
	}
	write("# A\n\nThe harvest rose to 1909 tonnes.\n")
	first, err := LoadDir(t.Context(), dir, Options{})
	if err != nil || len(first.Files) != 1 {
		t.Fatal(err, first.Files)
	}
	// Many files, so that the verifying workers run in parallel (-race).
	for i := range 40 {
		name := filepath.Join(dir, "more", strconv.Itoa(i)+".txt")
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte("T\n\nText "+strconv.Itoa(i)+".\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	more, err := LoadDir(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]FileStat{}
	for _, f := range more.Files {
		byPath[f.Path] = f
	}
	stale := first.Articles[0]
	stale.Paragraphs = []string{"(the remembered copy)"}
	load := func() Set {
		set, err := LoadDir(t.Context(), dir, Options{Reuse: func(f FileStat) (Reused, bool) {
			if f.Path == "a.md" {
				return Reused{Articles: []Article{stale}, Hash: first.Files[0].Hash, Verify: true}, true
			}
			return Reused{Hash: byPath[f.Path].Hash, Verify: true}, true
		}})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}

	set := load()
	if a, _ := set.Article("a"); a.Paragraphs[0] != "(the remembered copy)" || len(set.Articles) != 1 {
		t.Errorf("unchanged bytes: a = %q, %d articles (the others vouched with no articles)", a.Paragraphs, len(set.Articles))
	}
	write("# A\n\nThe harvest rose to 9999 tonnes.\n") // same size, same mtime
	set = load()
	a, _ := set.Article("a")
	if a.Paragraphs[0] != "The harvest rose to 9999 tonnes." {
		t.Errorf("edited bytes, same size and mtime: a = %q, want the file's new text", a.Paragraphs)
	}
	if f := set.Files[0]; f.Path != "a.md" || f.Hash == first.Files[0].Hash || f.Size != first.Files[0].Size || !f.ModTime.Equal(first.Files[0].ModTime) {
		t.Errorf("a.md stat = %+v", f)
	}
}
