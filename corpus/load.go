package corpus

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Reasons a file or record is skipped. They are wrapped with detail in
// Problem.Err.
var (
	errBinary     = errors.New("binary file (contains NUL bytes)")
	errNotUTF8    = errors.New("not valid UTF-8")
	errEmpty      = errors.New("no paragraphs")
	errTooLarge   = errors.New("file too large")
	errOutside    = errors.New("symlink leads outside the corpus root")
	errLoop       = errors.New("symlink loop")
	errBadLink    = errors.New("broken symlink")
	errNotRegular = errors.New("not a regular file")
	errDuplicate  = errors.New("duplicate article ID")
)

// maxLinkHops bounds how many symlinks one path may pass through, as the
// kernel's ELOOP does.
const maxLinkHops = 40

// parseFunc turns the bytes of one file into articles. id is the file's
// article ID (its path without extension). A parser whose work can grow
// faster than the file (HTML) gives up when ctx ends; see Options.ParseTimeout.
type parseFunc func(ctx context.Context, id string, data []byte) parsed

// parsed is what a parser made of one file. The loader fills in Problem.Path,
// Article.Source and Article.Fingerprint.
type parsed struct {
	entries  []entry
	skipped  []Problem
	warnings []Problem
}

// entry is one article and the line it came from (0 unless .jsonl).
type entry struct {
	article Article
	line    int
}

// failed is the result for a file that could not be parsed at all.
func failed(err error) parsed {
	return parsed{skipped: []Problem{{Err: err}}}
}

// parserFor returns the parser for a file name's extension, or nil if files
// like it are not articles.
func parserFor(name string) parseFunc {
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown":
		return linear(parseMarkdown)
	case ".txt":
		return linear(parseText)
	case ".html", ".htm":
		return parseHTML
	case ".jsonl":
		return linear(parseJSONL)
	}
	return nil
}

// LoadDir loads every article under the directory root: .md and .markdown,
// .txt, .html and .htm, and .jsonl files, in any subdirectory. Other files,
// and files and directories whose names start with a dot, are ignored.
//
// It returns an error only if root cannot be read at all or ctx is done.
// A file that cannot be loaded (unreadable, binary, not UTF-8, too large,
// without paragraphs, a duplicate ID) is reported in Set.Skipped by its path
// relative to root, and loading goes on; a broken .jsonl line is reported
// with its line number and the file's other lines still load.
//
// Symbolic links are followed, as files or directories, when they resolve
// inside root; a link leading outside root (including any absolute link), a
// broken link, and a link to one of its own ancestor directories are
// reported and skipped. An article reached through a link takes its ID from
// the link's path. All reads go through an os.Root, so nothing outside root
// is read even if the tree changes while it is loaded.
func LoadDir(ctx context.Context, root string, opts Options) (Set, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return Set{}, fmt.Errorf("open corpus: %w", err)
	}
	defer r.Close()
	return LoadFS(ctx, r.FS(), opts)
}

// LoadFS is LoadDir over a file system; paths in Problems are fsys paths.
// Symlinks are resolved, and confined to fsys, only when fsys implements
// fs.ReadLinkFS; otherwise they are reported and skipped.
func LoadFS(ctx context.Context, fsys fs.FS, opts Options) (Set, error) {
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	l := &loader{fsys: fsys, opts: opts}
	if err := l.walk(ctx, ".", ".", []string{"."}); err != nil {
		return Set{}, err
	}
	return l.load(ctx)
}

// loader holds the state of one LoadFS call.
type loader struct {
	fsys  fs.FS
	opts  Options
	files []input
	set   Set
}

// input is an article file found by the walk.
type input struct {
	name    string // path as seen from the root, through any symlinks
	actual  string // symlink-free path of the file itself
	size    int64
	modTime time.Time
	inode   uint64
	changed time.Time // ctime, if known
}

func (f input) stat() FileStat {
	return FileStat{Path: f.name, Size: f.size, ModTime: f.modTime, Inode: f.inode, ChangeTime: f.changed}
}

func (l *loader) skip(name string, line int, err error) {
	l.set.Skipped = append(l.set.Skipped, Problem{Path: name, Line: line, Err: err})
}

// walk collects the article files in a directory. name is its path as seen
// from the root, actual its symlink-free path, and ancestors the actual
// paths of it and every directory above it, to catch symlink loops.
func (l *loader) walk(ctx context.Context, name, actual string, ancestors []string) error {
	entries, err := fs.ReadDir(l.fsys, actual)
	if err != nil && name == "." {
		return fmt.Errorf("read corpus root: %w", err)
	}
	if err != nil {
		l.skip(name, 0, pathless("read directory", err))
		return nil
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("load corpus: %w", err)
		}
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !utf8.ValidString(e.Name()) {
			l.skipBadName(name, e)
			continue
		}
		childName, childActual := path.Join(name, e.Name()), path.Join(actual, e.Name())
		info, err := e.Info()
		if err != nil {
			l.skip(childName, 0, pathless("stat", err))
			continue
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			// A link that cannot be followed is reported unless its name
			// says it is some other kind of file (a picture, say), which
			// the walk would have ignored anyway.
			quiet := path.Ext(e.Name()) != "" && parserFor(e.Name()) == nil
			r, err := resolveLink(l.fsys, childActual)
			if err == nil {
				var target fs.FileInfo
				if target, err = fs.Stat(l.fsys, r); err == nil {
					childActual, info = r, target
				} else {
					err = fmt.Errorf("%w: %w", errBadLink, cause(err))
				}
			}
			if err != nil {
				if !quiet {
					l.skip(childName, 0, err)
				}
				continue
			}
			if info.IsDir() && slices.Contains(ancestors, childActual) {
				reason := fmt.Errorf("%w: leads to its own ancestor directory %s", errLoop, childActual)
				if childActual == "." {
					reason = fmt.Errorf("%w: leads back to the corpus root", errLoop)
				}
				l.skip(childName, 0, reason)
				continue
			}
		}
		switch {
		case info.IsDir():
			if err := l.walk(ctx, childName, childActual, append(ancestors[:len(ancestors):len(ancestors)], childActual)); err != nil {
				return err
			}
		case parserFor(childName) == nil:
			// not an article file
		case !info.Mode().IsRegular():
			l.skip(childName, 0, errNotRegular)
		default:
			ino, ctime := changeID(info)
			l.files = append(l.files, input{name: childName, actual: childActual, size: info.Size(), modTime: info.ModTime(), inode: ino, changed: ctime})
		}
	}
	return nil
}

// load reads and parses the collected files in path order, keeping the
// first article of each ID.
func (l *loader) load(ctx context.Context) (Set, error) {
	slices.SortFunc(l.files, func(a, b input) int { return strings.Compare(a.name, b.name) })
	plans, err := l.reuse(ctx)
	if err != nil {
		return Set{}, err
	}
	seen := make(map[string]string) // article ID -> where it came from
	for i, f := range l.files {
		if err := ctx.Err(); err != nil {
			return Set{}, fmt.Errorf("load corpus: %w", err)
		}
		stat := f.stat()
		var p parsed
		pl := plans[i]
		reused := pl.reused
		if reused {
			stat.Hash = pl.hash
			if pl.verified {
				l.set.Verified++
			} else {
				l.set.Reused++
			}
			for _, a := range pl.articles {
				p.entries = append(p.entries, entry{article: a})
			}
		} else {
			err := pl.err
			var data []byte
			if err == nil {
				data, err = readLimited(l.fsys, f.actual, f.size, l.opts.MaxFileBytes)
			}
			if err != nil {
				l.skip(f.name, 0, err)
				continue
			}
			stat.Hash = contentHash(data)
			l.set.Parsed++
			id := strings.TrimSuffix(f.name, path.Ext(f.name))
			if p, err = l.parse(ctx, f.name, id, data); err != nil {
				return Set{}, err
			}
		}
		clean := len(p.skipped) == 0 && len(p.warnings) == 0
		for _, pr := range p.skipped {
			l.skip(f.name, pr.Line, pr.Err)
		}
		for _, w := range p.warnings {
			w.Path = f.name
			l.set.Warnings = append(l.set.Warnings, w)
		}
		for _, e := range p.entries {
			a := e.article
			where := f.name
			if e.line > 0 {
				where = fmt.Sprintf("%s:%d", f.name, e.line)
			}
			if first, ok := seen[a.ID]; ok {
				l.skip(f.name, e.line, fmt.Errorf("%w %q: already loaded from %s", errDuplicate, a.ID, first))
				clean = false
				continue
			}
			if len(a.Paragraphs) == 0 {
				l.skip(f.name, e.line, errEmpty)
				clean = false
				continue
			}
			seen[a.ID] = where
			a.Source = f.name
			if !reused || a.Fingerprint == "" {
				a.Fingerprint = a.fingerprint()
			}
			l.set.Articles = append(l.set.Articles, a)
		}
		if clean && len(p.entries) > 0 {
			l.set.Files = append(l.set.Files, stat)
		}
	}
	slices.SortFunc(l.set.Articles, func(a, b Article) int { return strings.Compare(a.ID, b.ID) })
	byPlace := func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line))
	}
	slices.SortStableFunc(l.set.Skipped, byPlace)
	slices.SortStableFunc(l.set.Warnings, byPlace)
	return l.set, nil
}

// readLimited reads the file at name, refusing files larger than max bytes.
func readLimited(fsys fs.FS, name string, size, max int64) ([]byte, error) {
	if size > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", errTooLarge, size, max)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, pathless("open", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, pathless("read", err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, max)
	}
	return data, nil
}

// pathless describes a failed file operation without the path, which the
// Problem already names: "op: cause", with the *fs.PathError's own Op if err
// is one.
func pathless(op string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// cause returns the reason inside a *fs.PathError, or err.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// resolveLink returns the symlink-free path that the symlink at name (whose
// directory is already symlink-free) leads to, confined to fsys.
func resolveLink(fsys fs.FS, name string) (string, error) {
	rl, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		return "", fmt.Errorf("%w: file system cannot read symlinks", errBadLink)
	}
	done := path.Dir(name)
	pending := []string{path.Base(name)}
	hops := 0
	for len(pending) > 0 {
		elem := pending[0]
		pending = pending[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			if done == "." {
				return "", errOutside
			}
			done = path.Dir(done)
			continue
		}
		next := path.Join(done, elem)
		info, err := rl.Lstat(next)
		if err != nil {
			return "", fmt.Errorf("%w: %w", errBadLink, cause(err))
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", fmt.Errorf("%w: too many levels of symbolic links", errLoop)
		}
		target, err := rl.ReadLink(next)
		if err != nil {
			return "", fmt.Errorf("%w: %w", errBadLink, cause(err))
		}
		if strings.HasPrefix(target, "/") || strings.HasPrefix(target, `\`) || (len(target) > 1 && target[1] == ':') {
			return "", fmt.Errorf("%w (absolute link to %s)", errOutside, target)
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	return done, nil
}

// decodeText checks that data is UTF-8 text and returns it without a
// leading byte order mark.
func decodeText(data []byte) (string, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return "", errBinary
	}
	if !utf8.Valid(data) {
		return "", fmt.Errorf("%w (first bad byte at offset %d)", errNotUTF8, invalidAt(data))
	}
	return strings.TrimPrefix(string(data), "\uFEFF"), nil
}

// invalidAt returns the offset of the first byte of data that is not valid
// UTF-8, or -1.
func invalidAt(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}
