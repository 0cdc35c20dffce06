package corpus

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
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

	// Change a.md on disk; Reuse vouches for its old version.
	write("a.md", "# A\n\nChanged.\n")
	old, _ := first.Article("a")
	var asked []string
	second, err := LoadDir(t.Context(), dir, Options{Reuse: func(f FileStat) ([]Article, bool) {
		asked = append(asked, f.Path)
		if f.Path == "a.md" {
			return []Article{*old}, true
		}
		return nil, false
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
}
