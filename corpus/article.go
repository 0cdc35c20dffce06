// Package corpus reads articles from disk (Markdown with optional YAML front
// matter, plain text, HTML and JSON Lines) and from the bundled default
// corpus, and splits each into numbered paragraphs.
//
// Paragraph numbers are 1-based, in reading order, and stable: they are what
// every citation points at. Inside a paragraph, runs of white space (as
// unicode.IsSpace defines it, so including no-break spaces and line
// separators) are folded to one space and the ends trimmed; nothing else is
// changed, so a quote that is a substring of a paragraph is a quote from the
// source. Empty paragraphs are dropped.
//
// Formats, chosen by file extension:
//   - .md, .markdown: optional front matter (title, url, author, date);
//     else a first "# Heading" line is the title; else the file name.
//     Paragraphs are blank-line-separated blocks, Markdown syntax kept.
//   - .txt: the first non-blank line is the title; blank-line-separated
//     paragraphs follow (several blank lines are one separator).
//   - .html, .htm: the main text found by readability, one paragraph per
//     block element; title, byline, canonical URL and date from the page.
//   - .jsonl: one article per line with title, url, author, date and text
//     (paragraphs separated by blank lines), and optionally an id.
//
// Bad input never stops loading: a file or JSON line that cannot be used is
// listed in Set.Skipped with the reason, and the rest loads.
// The work per file is bounded: by Options.MaxFileBytes, by the HTML
// parser's limit of 512 nested elements, and by Options.ParseTimeout; and
// cancelling the context stops a parse in progress.
//
// corpus knows nothing about embeddings, retrieval or Discord.
package corpus

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Article is one source document split into paragraphs.
type Article struct {
	// ID is the path relative to the corpus root without extension, with
	// forward slashes (for .jsonl: the file ID plus "#" and the record's id
	// field or its 1-based line number).
	ID        string
	Title     string
	URL       string
	Author    string
	Published time.Time // zero when unknown
	// Paragraphs holds the text of paragraph n at index n-1.
	Paragraphs []string
	// Source is the path of the file the article came from, relative to the
	// corpus root (for reporting).
	Source string
	// Fingerprint is a SHA-256 (hex) over Title, URL, Author, Published and
	// Paragraphs, each length-prefixed so that moving text across a
	// paragraph boundary changes it. It leaves out ID and Source: it changes
	// when and only when the article's indexed content changes.
	Fingerprint string
}

// fingerprintVersion starts every fingerprint, so that changing what goes
// into one changes them all.
const fingerprintVersion = "verbatim/corpus fingerprint v1"

// fingerprint computes the Fingerprint of a from its other fields.
func (a *Article) fingerprint() string {
	h := sha256.New()
	put := func(s string) { writeField(h, s) }
	put(fingerprintVersion)
	put(a.Title)
	put(a.URL)
	put(a.Author)
	if a.Published.IsZero() {
		put("")
	} else {
		put(a.Published.UTC().Format(time.RFC3339Nano))
	}
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(a.Paragraphs)))
	h.Write(n[:])
	for _, p := range a.Paragraphs {
		put(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeField writes s to h preceded by its length.
func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

// Paragraph returns paragraph n (1-based) and whether it exists.
func (a *Article) Paragraph(n int) (string, bool) {
	if n < 1 || n > len(a.Paragraphs) {
		return "", false
	}
	return a.Paragraphs[n-1], true
}

// Problem is an input file (or JSON line) that could not be loaded and was
// skipped, or, in Set.Warnings, a part of a loaded one that was ignored.
// Loading goes on either way.
type Problem struct {
	Path string // relative to the corpus root
	Line int    // 1-based line for .jsonl records, else 0
	Err  error
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return p.Path + ":" + strconv.Itoa(p.Line) + ": " + p.Err.Error()
	}
	return p.Path + ": " + p.Err.Error()
}

func (p Problem) Unwrap() error { return p.Err }

// Set is the result of loading a corpus: the articles, in a deterministic
// order (sorted by ID), and the inputs that were skipped, with reasons.
type Set struct {
	Articles []Article
	// Skipped lists files and JSON lines that were not loaded, sorted by
	// path and line.
	Skipped []Problem
	// Warnings lists things ignored in articles that did load, such as a
	// date that could not be parsed, sorted by path and line.
	Warnings []Problem
	// Files lists, in path order, the files whose every article loaded
	// without a problem or warning, as they were when read: a caller may
	// remember them to answer Options.Reuse in a later load.
	Files []FileStat
	// Parsed, Reused and Verified count the article files that were read
	// and parsed, taken from Options.Reuse without being read, and taken
	// from Reuse after their content was read and found unchanged
	// (Reused.Verify).
	Parsed, Reused, Verified int
}

// FileStat identifies a version of an article file.
type FileStat struct {
	Path    string // relative to the corpus root, as Article.Source
	Size    int64
	ModTime time.Time
	// Inode and ChangeTime (the inode's status change time, ctime) are
	// set where the system reports them, else zero. Tools that restore a
	// modification time (cp -p, rsync -t, tar, some editors) cannot set
	// ctime back: a file whose inode and ctime are as remembered has not
	// been written since.
	Inode      uint64
	ChangeTime time.Time
	// Hash is the SHA-256 of the file's bytes ("sha256:" and hex), set
	// for every file in Set.Files: computed when the file was read, or
	// the hash Reuse vouched for.
	Hash string
}

// Article returns the article with the given ID and whether it exists. It
// relies on Articles being sorted by ID, as loading leaves them.
func (s *Set) Article(id string) (*Article, bool) {
	i, ok := slices.BinarySearchFunc(s.Articles, id, func(a Article, id string) int {
		return strings.Compare(a.ID, id)
	})
	if !ok {
		return nil, false
	}
	return &s.Articles[i], true
}

// Options tune loading.
type Options struct {
	// MaxFileBytes is the largest file that is read; larger files are
	// skipped with a Problem. Zero means DefaultMaxFileBytes.
	MaxFileBytes int64
	// Reuse, if set, is asked about each article file before it is read.
	// When it returns ok, the articles it returns (with their
	// Fingerprints) stand for the file, which is not parsed: a caller
	// that remembers Set.Files of an earlier load, and the articles they
	// gave, answers for files whose size and modification time are
	// unchanged, so an unchanged corpus loads without parsing it. With
	// Reused.Verify the file is still read and hashed (on parallel
	// workers, before the files are parsed) and the articles stand for it
	// only if its content hash is Reused.Hash; otherwise it is parsed as
	// usual. The articles pass the same checks (duplicate IDs, no
	// paragraphs) as parsed ones, and get Source set to the file's path.
	Reuse func(FileStat) (Reused, bool)
	// ParseTimeout bounds the time one file may take to parse; a file that
	// takes longer is skipped with a Problem saying so, and loading goes
	// on. Zero means DefaultParseTimeout. Only HTML needs it: the other
	// formats parse in time linear in the file's size.
	ParseTimeout time.Duration
}

// Reused is what Options.Reuse vouches for a file with.
type Reused struct {
	Articles []Article
	// Hash is the FileStat.Hash of the content the articles came from.
	Hash string
	// Verify asks the loader to check the file's content against Hash
	// (see Options.Reuse): for a file whose size and modification time
	// match but whose inode or ctime do not, or are unknown.
	Verify bool
}

// DefaultMaxFileBytes is the default per-file size limit (16 MiB).
const DefaultMaxFileBytes = 16 << 20
