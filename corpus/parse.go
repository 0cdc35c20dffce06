package corpus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrUnsupported is the reason Parse gives for a file name whose extension
// is not an article format.
var ErrUnsupported = errors.New("not an article file (want .md, .markdown, .txt, .html, .htm or .jsonl)")

// IsArticleFile reports whether LoadDir reads files with this name as
// articles (by extension; names starting with a dot are never read).
func IsArticleFile(name string) bool {
	return parserFor(name) != nil
}

// Parse reads one file's bytes the way LoadDir reads a file of that name
// (the extension picks the format; the name without its extension is the
// article ID) and returns its one article, with its Fingerprint set. It is
// how content that does not come from the corpus directory — a fetched web
// page — goes through the same parsers, readability included.
//
// A file that LoadDir would skip is an error saying why; so is a .jsonl
// file holding more than one article. ctx bounds the parse as
// Options.ParseTimeout does (only HTML needs it).
func Parse(ctx context.Context, name string, data []byte) (Article, error) {
	parse := parserFor(name)
	if parse == nil {
		return Article{}, fmt.Errorf("parse %s: %w", name, ErrUnsupported)
	}
	id := strings.TrimSuffix(name, path.Ext(name))
	p := parse(ctx, id, data)
	if err := ctx.Err(); err != nil {
		return Article{}, fmt.Errorf("parse %s: %w", name, err)
	}
	if len(p.skipped) > 0 {
		return Article{}, fmt.Errorf("parse %s: %w", name, p.skipped[0].Err)
	}
	switch len(p.entries) {
	case 0:
		return Article{}, fmt.Errorf("parse %s: %w", name, errEmpty)
	case 1:
	default:
		return Article{}, fmt.Errorf("parse %s: holds %d articles, want one", name, len(p.entries))
	}
	a := p.entries[0].article
	if len(a.Paragraphs) == 0 {
		return Article{}, fmt.Errorf("parse %s: %w", name, errEmpty)
	}
	a.Source = name
	a.Fingerprint = a.fingerprint()
	return a, nil
}

// markdownFrontMatter is what MarkdownFile writes: the keys parseMarkdown
// reads, and when the page was fetched (which it ignores).
type markdownFrontMatter struct {
	Title   string `yaml:"title"`
	URL     string `yaml:"url,omitempty"`
	Author  string `yaml:"author,omitempty"`
	Date    string `yaml:"date,omitempty"`
	Fetched string `yaml:"fetched,omitempty"`
}

// MarkdownFile renders a as a Markdown article with YAML front matter
// (title, url, author, date and, when not zero, fetched), its paragraphs
// separated by blank lines, so that loading the file gives back a's
// title, URL, author, date and paragraphs exactly: the file is read back
// before it is returned, and a mismatch is an error rather than a file
// that would quote something else than a says.
func MarkdownFile(a Article, fetched time.Time) ([]byte, error) {
	fm := markdownFrontMatter{Title: foldSpace(a.Title), URL: strings.TrimSpace(a.URL), Author: foldSpace(a.Author)}
	if fm.Title == "" {
		return nil, errors.New("markdown article: no title")
	}
	if !a.Published.IsZero() {
		fm.Date = a.Published.UTC().Format(time.RFC3339)
	}
	if !fetched.IsZero() {
		fm.Fetched = fetched.UTC().Format(time.RFC3339)
	}
	head, err := yaml.Marshal(fm)
	if err != nil {
		return nil, fmt.Errorf("markdown article: front matter: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("---\n")
	b.Write(head)
	b.WriteString("---\n")
	for _, p := range a.Paragraphs {
		b.WriteString("\n")
		b.WriteString(foldSpace(p))
		b.WriteString("\n")
	}
	back := parseMarkdown("check", b.Bytes())
	if len(back.skipped) > 0 {
		return nil, fmt.Errorf("markdown article: does not read back: %w", back.skipped[0].Err)
	}
	got := back.entries[0].article
	want := a
	want.Title, want.URL, want.Author = fm.Title, fm.URL, fm.Author
	if !want.Published.IsZero() {
		want.Published = want.Published.UTC().Truncate(time.Second)
	}
	if got.Title != want.Title || got.URL != want.URL || got.Author != want.Author ||
		!got.Published.Equal(want.Published) || !slices.Equal(got.Paragraphs, want.Paragraphs) {
		return nil, errors.New("markdown article: does not read back as the same article (a paragraph that is not whitespace-folded?)")
	}
	return b.Bytes(), nil
}
