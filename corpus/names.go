package corpus

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"
)

// errBadName is the reason for a file or directory whose name is not valid
// UTF-8.
//
// Such a file is skipped rather than indexed under an escaped ID: an
// article ID is what every citation, `ask --json`, Discord and the model's
// prompt show, all of them UTF-8, so an escaped ID would name a file that
// exists nowhere; and io/fs paths are UTF-8 (fs.ValidPath), so no fs.FS,
// LoadFS's included, can open it. Renaming the file is the fix, and the
// Problem says so.
var errBadName = errors.New("name is not valid UTF-8")

// skipBadName reports the entry e of the directory dir, whose name is not
// valid UTF-8, if the walk would have read it: a directory, an article file
// by its extension, or a symlink that may lead to either. Its Problem.Path
// shows each byte that is not UTF-8 as \xNN.
func (l *loader) skipBadName(dir string, e fs.DirEntry) {
	name := e.Name()
	link := e.Type()&fs.ModeSymlink != 0
	switch {
	case e.IsDir():
		l.skip(path.Join(dir, escapeName(name)), 0, fmt.Errorf("%w: directory not read; rename it to index what it holds", errBadName))
	case parserFor(name) != nil || link && path.Ext(name) == "":
		l.skip(path.Join(dir, escapeName(name)), 0, fmt.Errorf("%w: rename the file to index it", errBadName))
	}
}

// escapeName returns name with each byte that is not part of valid UTF-8
// written as \xNN.
func escapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02x`, name[i])
		} else {
			b.WriteString(name[i : i+size])
		}
		i += size
	}
	return b.String()
}
