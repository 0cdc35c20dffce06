package corpus

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestLoadDirNonUTF8Names: files and directories whose names are not UTF-8
// are reported with the bad bytes escaped and a reason saying what to do,
// rather than "open: invalid argument"; other files with such names are
// ignored as before, and the rest of the corpus loads.
func TestLoadDirNonUTF8Names(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("this file system does not store names that are not UTF-8")
	}
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"good.txt":          "Good\n\nI load.",
		"caf\xe9.txt":       "Cafe\n\nA Latin-1 file name.",
		"d\xfcr/inside.md":  "# Inside\n\nIn a directory with a Latin-1 name.",
		"photo\xff.jpg":     "not an article",
		"caf\xc3\xa9.txt":   "Café\n\nA UTF-8 file name loads.",
		"link\xe9":          "->good.txt",
		"sub/f\xe4hre.html": "<p>x</p>",
	})
	set, err := LoadDir(t.Context(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range set.Articles {
		ids = append(ids, a.ID)
	}
	if want := []string{"café", "good"}; !slices.Equal(ids, want) {
		t.Errorf("loaded %q, want %q", ids, want)
	}
	assertProblems(t, set.Skipped, []Problem{
		{Path: `caf\xe9.txt`, Err: errBadName},
		{Path: `d\xfcr`, Err: errBadName},
		{Path: `link\xe9`, Err: errBadName},
		{Path: `sub/f\xe4hre.html`, Err: errBadName},
	})
	for _, p := range set.Skipped {
		if !strings.Contains(p.Error(), "rename") || strings.Contains(p.Error(), "invalid argument") {
			t.Errorf("problem %q does not say to rename", p.Error())
		}
	}
}

func TestProblemWording(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"good.txt":     "Good\n\nI load.",
		"loop":         "->.",
		"sub/up":       "->..",
		"sub/self":     "->.",
		"types.jsonl":  `{"title": 3, "text": "A."}` + "\n",
		"syntax.jsonl": "{oops\n",
		"id.jsonl":     `{"id": {}, "text": "A."}` + "\n",
	})
	set, err := LoadDir(t.Context(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"id.jsonl:1":     "id.jsonl:1: json: id must be a string or a number, not {}",
		"loop":           "loop: symlink loop: leads back to the corpus root",
		"sub/self":       "sub/self: symlink loop: leads to its own ancestor directory sub",
		"sub/up":         "sub/up: symlink loop: leads back to the corpus root",
		"syntax.jsonl:1": "syntax.jsonl:1: json: invalid character 'o' looking for beginning of object key string",
		"types.jsonl:1":  "types.jsonl:1: json: cannot unmarshal number into Go struct field record.title of type string",
	}
	got := map[string]string{}
	for _, p := range set.Skipped {
		where := p.Path
		if p.Line > 0 {
			where = fmt.Sprintf("%s:%d", p.Path, p.Line)
		}
		got[where] = p.Error()
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q\nwant %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("skipped %v", set.Skipped)
	}
	var je jsonError
	for _, p := range set.Skipped {
		if p.Path != "id.jsonl" && strings.HasSuffix(p.Path, ".jsonl") && !errors.As(p.Err, &je) {
			t.Errorf("%v does not wrap the decoding error", p)
		}
	}
}
