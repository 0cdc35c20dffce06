package corpus

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestLoadDirFixtures(t *testing.T) {
	set, err := LoadDir(t.Context(), "testdata/corpus", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Article{
		{ID: "dispatch", Title: "Harbour reopens after storm", Paragraphs: []string{
			"The harbour at Port Ellen reopened on Tuesday, three days after the storm.",
			"Ferries will run on a reduced timetable until Friday.",
			"Officials said repairs would cost £1.2m.",
		}},
		{ID: "feed#4", Title: "No id here", Published: time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC), Paragraphs: []string{
			"This record has no id, so its line number names it.", "Second paragraph."}},
		{ID: "feed#42", Title: "Numbered story", Paragraphs: []string{"A record whose id is a number."}},
		{ID: "feed#late", Title: "After the broken line", Paragraphs: []string{"Lines after a broken one still load."}},
		{ID: "feed#solar-farm", Title: "Solar farm opens", URL: "https://wire.example.net/solar", Author: "A. Writer",
			Published: time.Date(2023, 5, 2, 6, 0, 0, 0, time.UTC), Paragraphs: []string{
				"The largest solar farm in the region opened today.", "It will power 20,000 homes."}},
		{ID: "front-matter", Title: "Grain exports resume from Black Sea ports", URL: "https://example.org/news/grain-exports",
			Author: "Jane Doe, Sam Roe", Published: time.Date(2022, 8, 1, 0, 0, 0, 0, time.UTC), Paragraphs: []string{
				"# Grain exports resume",
				"The first ship carrying grain left Odesa on Monday morning, bound for Lebanon with 26,000 tonnes of corn.",
				"## What the deal covers",
				"The agreement, brokered by **Turkey** and the United Nations, covers three ports and a safe corridor.",
				"- Odesa - Chornomorsk - Pivdennyi",
			}},
		{ID: "notes/untitled_note", Title: "untitled note", Paragraphs: []string{
			"A note without a heading or front matter.", "Its title comes from the file name."}},
		wantPage,
		{ID: "plain-heading", Title: "The Adjacent Possible", Paragraphs: []string{
			"Some ideas are ahead of their time; most are not. The *adjacent possible* is the set of ideas one step away from what exists.",
			"It was coined by Stuart Kauffman.",
		}},
	}
	if len(set.Articles) != len(want) {
		var ids []string
		for _, a := range set.Articles {
			ids = append(ids, a.ID)
		}
		t.Fatalf("loaded %q, want %d articles", ids, len(want))
	}
	for i, w := range want {
		a := set.Articles[i]
		assertArticle(t, a, w)
		if a.Fingerprint != a.fingerprint() || a.Source == "" {
			t.Errorf("%s: fingerprint %q source %q", a.ID, a.Fingerprint, a.Source)
		}
	}
	if a, ok := set.Article("feed#42"); !ok || a.Source != "feed.jsonl" {
		t.Errorf("Article(feed#42) = %v, %v", a, ok)
	}
	if _, ok := set.Article("feed"); ok {
		t.Error("Article(feed) exists")
	}
	assertProblems(t, set.Skipped, []Problem{{Path: "feed.jsonl", Line: 5}})
	if len(set.Warnings) != 0 {
		t.Errorf("warnings %v", set.Warnings)
	}
}

// assertProblems checks paths and lines, and Err with errors.Is where want
// has one.
func assertProblems(t *testing.T, got, want []Problem) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("problems:\n got %v\nwant %v", got, want)
		return
	}
	for i, w := range want {
		g := got[i]
		if g.Path != w.Path || g.Line != w.Line || g.Err == nil || (w.Err != nil && !errors.Is(g.Err, w.Err)) {
			t.Errorf("problem %d = %s:%d %v, want %s:%d %v", i, g.Path, g.Line, g.Err, w.Path, w.Line, w.Err)
		}
	}
}

// writeTree creates files under dir; a value starting with "->" makes a
// symlink to the rest.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(filepath.FromSlash(target), p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadDirBadInput(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{
		"secret.txt":      "Secret\n\nDo not load me.",
		"dir/leak.md":     "# Leak\n\nNor me.",
		"dir/another.txt": "Another\n\nNor me either.",
	})
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"good.txt":               "Good\n\nI load.",
		"sub/deeper/fine.md":     "# Fine\n\nSo do I.",
		"binary.txt":             "Title\n\nab\x00\x01cd",
		"latin1.md":              "# Caf\xe9\n\nna\xefve",
		"big.txt":                "Big\n\n" + strings.Repeat("word ", 100),
		"empty.txt":              "",
		"title-only.txt":         "Just a title\n",
		"dup.md":                 "# Dup\n\nFrom markdown.",
		"dup.txt":                "Dup\n\nFrom text.",
		"feed.jsonl":             "{\"id\": \"a\", \"text\": \"A.\"}\n{oops\n{\"id\": \"a\", \"text\": \"Again.\"}\n",
		"bad-date.md":            "---\ndate: 22/08/2020\n---\nText.",
		"image.png":              "\x89PNG\r\n\x1a\n\x00",
		"README":                 "no extension: ignored",
		".hidden.txt":            "Hidden\n\nIgnored.",
		".git/config.txt":        "Git\n\nIgnored.",
		"link-in.txt":            "->good.txt",
		"link-dir":               "->sub",
		"link-out.txt":           "->" + filepath.ToSlash(filepath.Join(outside, "secret.txt")),
		"link-out-rel.md":        "->../" + filepath.Base(outside) + "/dir/leak.md",
		"link-out-dir":           "->" + filepath.ToSlash(filepath.Join(outside, "dir")),
		"link-broken.md":         "->missing.md",
		"link-broken.jpg":        "->missing.jpg",
		"sub/loop":               "->..",
		"sub/deeper/self":        "->.",
		"chain-a.txt":            "->chain-b.txt",
		"chain-b.txt":            "->chain-a.txt",
		"sub/deeper/up-good.txt": "->../../good.txt",
	})
	set, err := LoadDir(t.Context(), root, Options{MaxFileBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range set.Articles {
		ids = append(ids, a.ID+"="+a.Source)
	}
	wantIDs := []string{
		"bad-date=bad-date.md",
		"dup=dup.md",
		"feed#a=feed.jsonl",
		"good=good.txt",
		"link-dir/deeper/fine=link-dir/deeper/fine.md",
		"link-dir/deeper/up-good=link-dir/deeper/up-good.txt",
		"link-in=link-in.txt",
		"sub/deeper/fine=sub/deeper/fine.md",
		"sub/deeper/up-good=sub/deeper/up-good.txt",
	}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("articles:\n got %q\nwant %q", ids, wantIDs)
	}
	if a, _ := set.Article("sub/deeper/up-good"); a == nil || a.Title != "Good" || a.Fingerprint != set.Articles[3].Fingerprint {
		t.Errorf("linked .txt read as %+v", a)
	}
	assertProblems(t, set.Skipped, []Problem{
		{Path: "big.txt", Err: errTooLarge},
		{Path: "binary.txt", Err: errBinary},
		{Path: "chain-a.txt", Err: errLoop},
		{Path: "chain-b.txt", Err: errLoop},
		{Path: "dup.txt", Err: errDuplicate},
		{Path: "empty.txt", Err: errEmpty},
		{Path: "feed.jsonl", Line: 2},
		{Path: "feed.jsonl", Line: 3, Err: errDuplicate},
		{Path: "latin1.md", Err: errNotUTF8},
		{Path: "link-broken.md", Err: errBadLink},
		{Path: "link-dir/deeper/self", Err: errLoop},
		{Path: "link-dir/loop", Err: errLoop},
		{Path: "link-out-dir", Err: errOutside},
		{Path: "link-out-rel.md", Err: errOutside},
		{Path: "link-out.txt", Err: errOutside},
		{Path: "sub/deeper/self", Err: errLoop},
		{Path: "sub/loop", Err: errLoop},
		{Path: "title-only.txt", Err: errEmpty},
	})
	assertProblems(t, set.Warnings, []Problem{{Path: "bad-date.md"}})
	for _, p := range append(set.Skipped, set.Warnings...) {
		t.Log(p)
	}
	for _, p := range set.Skipped {
		if strings.Contains(p.Error(), root) {
			t.Errorf("problem %q names the absolute root", p.Error())
		}
	}
}

func TestLoadDirRoot(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.txt")
	writeTree(t, dir, map[string]string{"file.txt": "T\n\nx", "link": "->."})
	for name, root := range map[string]string{
		"missing": filepath.Join(dir, "missing"),
		"file":    file,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := LoadDir(t.Context(), root, Options{}); err == nil {
				t.Error("no error")
			}
		})
	}
	t.Run("root through symlink", func(t *testing.T) {
		set, err := LoadDir(t.Context(), filepath.Join(dir, "link"), Options{})
		if err != nil || len(set.Articles) != 1 {
			t.Errorf("got %v, %v", set, err)
		}
	})
	t.Run("empty dir", func(t *testing.T) {
		set, err := LoadDir(t.Context(), t.TempDir(), Options{})
		if err != nil || len(set.Articles)+len(set.Skipped) != 0 {
			t.Errorf("got %v, %v", set, err)
		}
	})
}

func TestLoadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := LoadDir(ctx, "testdata/corpus", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// failingFS fails to open one file, as an unreadable file would.
type failingFS struct {
	fs.FS
	bad string
}

func (f failingFS) Open(name string) (fs.File, error) {
	if name == f.bad {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.FS.Open(name)
}

func (f failingFS) ReadLink(name string) (string, error) {
	return f.FS.(fs.ReadLinkFS).ReadLink(name)
}

func (f failingFS) Lstat(name string) (fs.FileInfo, error) {
	return f.FS.(fs.ReadLinkFS).Lstat(name)
}

func TestLoadFS(t *testing.T) {
	mapFS := fstest.MapFS{
		"a.txt":          {Data: []byte("A\n\nText a.")},
		"locked.txt":     {Data: []byte("Locked\n\nText.")},
		"sub/b.md":       {Data: []byte("# B\n\nText b.")},
		"sub/up.txt":     {Data: []byte("../a.txt"), Mode: fs.ModeSymlink},
		"sub/escape.txt": {Data: []byte("../../etc/passwd.txt"), Mode: fs.ModeSymlink},
		"sub/abs.txt":    {Data: []byte("/a.txt"), Mode: fs.ModeSymlink},
	}
	set, err := LoadFS(t.Context(), failingFS{mapFS, "locked.txt"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range set.Articles {
		ids = append(ids, a.ID)
	}
	if want := []string{"a", "sub/b", "sub/up"}; !slices.Equal(ids, want) {
		t.Errorf("articles %q, want %q", ids, want)
	}
	assertProblems(t, set.Skipped, []Problem{
		{Path: "locked.txt", Err: fs.ErrPermission},
		{Path: "sub/abs.txt", Err: errOutside},
		{Path: "sub/escape.txt", Err: errOutside},
	})
	if got := set.Skipped[0].Error(); got != "locked.txt: open: permission denied" {
		t.Errorf("problem reads %q", got)
	}
}

func TestProblemError(t *testing.T) {
	if got := (Problem{Path: "a/b.jsonl", Line: 3, Err: errEmpty}).Error(); got != "a/b.jsonl:3: no paragraphs" {
		t.Errorf("got %q", got)
	}
	if got := (Problem{Path: "a.txt", Err: errBinary}).Error(); got != "a.txt: binary file (contains NUL bytes)" {
		t.Errorf("got %q", got)
	}
}
