package retrieval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// filesName is the file, in the index directory, that remembers which
// corpus files the index was synced from (see reuse).
const filesName = "files.json"

// filesFormat is the version of files.json; a record of another version
// is not used (every file is read once, and the record rewritten).
const filesFormat = 2

// racyWindow: a file changed this close before it was read is not trusted
// by its inode and ctime next time, only by its content hash, because a
// second change within the file system's timestamp granularity (up to 2 s
// on some) could leave every timestamp as it was (git's "racily clean"
// problem).
const racyWindow = 2 * time.Second

// fileRecord is one remembered corpus file: its size, modification time,
// inode and ctime when read, the hash of its bytes, and the articles it
// gave.
type fileRecord struct {
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
	Inode   uint64 `json:"inode,omitempty"`
	// ChangeTime is the ctime in ns, or 0 when unknown or too recent to
	// trust (racyWindow): the file is then verified by Hash.
	ChangeTime int64         `json:"ctime_ns,omitempty"`
	Hash       string        `json:"hash"`
	Articles   []fileArticle `json:"articles"`
}

type fileArticle struct {
	ID          string `json:"id"`
	Fingerprint string `json:"fingerprint"`
}

type filesRecord struct {
	Format int                   `json:"format"`
	Files  map[string]fileRecord `json:"files"` // by corpus path
	// Reported are the skipped corpus entries already reported to the
	// user (reported.go).
	Reported []reportedProblem `json:"reported,omitempty"`
	// Checksum is of the record itself (see checksum.go).
	Checksum string `json:"checksum"`
}

func (r filesRecord) checksum() string {
	r.Checksum = ""
	return jsonChecksum(r)
}

// files returns the remembered files, read on first use.
func (ix *Index) files() filesRecord {
	ix.filesMu.Lock()
	defer ix.filesMu.Unlock()
	if !ix.knownRead {
		ix.knownRead = true
		ix.known = ix.readFiles()
	}
	return ix.known
}

func (ix *Index) readFiles() filesRecord {
	data, err := os.ReadFile(filepath.Join(ix.dir, filesName))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			ix.log.Warn("read remembered corpus files", "err", err)
		}
		return filesRecord{}
	}
	var r filesRecord
	err = json.Unmarshal(data, &r)
	switch {
	case err != nil:
	case r.Format != filesFormat:
		err = fmt.Errorf("format %d, this build reads %d", r.Format, filesFormat)
	case r.Checksum != r.checksum():
		err = fmt.Errorf("checksum %s, content has %s", r.Checksum, r.checksum())
	}
	if err != nil {
		ix.log.Warn("remembered corpus files unusable; reading every file", "file", filesName, "err", err)
		return filesRecord{}
	}
	return r
}

// reuse is a corpus.Options.Reuse over the files remembered by
// rememberFiles. A file of another size or modification time than
// remembered, or whose articles the loaded index does not hold with the
// fingerprints it gave, is read and parsed. For the others it returns the
// indexed copies of their articles, so an unchanged file is not parsed:
// trusted outright when its inode and ctime are as remembered (no tool
// sets ctime back, so the file has not been written since), else — after
// cp -p, rsync -t, a tar restore or an editor that put the old timestamps
// back — only if its content hash is as remembered (the loader reads and
// hashes such files in parallel).
func (ix *Index) reuse(f corpus.FileStat) (corpus.Reused, bool) {
	rec, ok := ix.files().Files[f.Path]
	if !ok || rec.Size != f.Size || rec.ModTime != f.ModTime.UnixNano() || len(rec.Articles) == 0 || rec.Hash == "" {
		return corpus.Reused{}, false
	}
	s := ix.snap.Load()
	out := make([]corpus.Article, 0, len(rec.Articles))
	for _, ra := range rec.Articles {
		i, ok := s.byID[ra.ID]
		if !ok || s.Articles[i].Fingerprint != ra.Fingerprint || s.Articles[i].Source != f.Path {
			return corpus.Reused{}, false
		}
		out = append(out, s.Articles[i])
	}
	trusted := rec.ChangeTime != 0 && !f.ChangeTime.IsZero() && rec.ChangeTime == f.ChangeTime.UnixNano() && rec.Inode == f.Inode
	return corpus.Reused{Articles: out, Hash: rec.Hash, Verify: !trusted}, true
}

// rememberFiles records the files of a loaded corpus (set.Files, with
// their hashes, and the articles they gave), so that later loads through
// reuse skip parsing them while they are unchanged. loaded is when the
// load began: a file changed within racyWindow before it is remembered
// without its ctime, so it is verified by content next time. Files are
// recorded only with articles the index holds with the same fingerprint,
// so call it after Sync. Nothing is written when the record is unchanged.
func (ix *Index) rememberFiles(ctx context.Context, set corpus.Set, loaded time.Time) error {
	next, changed := ix.filesFor(set, loaded, ix.files().Reported)
	if !changed {
		return nil
	}
	return ix.writeFiles(ctx, next)
}

// filesFor is the record rememberFiles would write, with reported as the
// problems reported so far, and whether it differs from the remembered
// one.
func (ix *Index) filesFor(set corpus.Set, loaded time.Time, reported []reportedProblem) (filesRecord, bool) {
	s := ix.snap.Load()
	bySource := make(map[string][]fileArticle, len(set.Files))
	for _, a := range set.Articles {
		i, ok := s.byID[a.ID]
		if !ok || s.Articles[i].Fingerprint != a.Fingerprint {
			continue
		}
		bySource[a.Source] = append(bySource[a.Source], fileArticle{a.ID, a.Fingerprint})
	}
	cut := loaded.Add(-racyWindow)
	next := filesRecord{Format: filesFormat, Files: make(map[string]fileRecord, len(set.Files)), Reported: reported}
	for _, f := range set.Files {
		arts := bySource[f.Path]
		if len(arts) == 0 || f.Hash == "" {
			continue
		}
		rec := fileRecord{Size: f.Size, ModTime: f.ModTime.UnixNano(), Hash: f.Hash, Articles: arts}
		if !f.ChangeTime.IsZero() && f.ChangeTime.Before(cut) && f.ModTime.Before(cut) {
			rec.Inode, rec.ChangeTime = f.Inode, f.ChangeTime.UnixNano()
		}
		next.Files[f.Path] = rec
	}
	known := ix.files()
	same := slices.Equal(next.Reported, known.Reported) && maps.EqualFunc(next.Files, known.Files, func(a, b fileRecord) bool {
		return a.Size == b.Size && a.ModTime == b.ModTime && a.Inode == b.Inode && a.ChangeTime == b.ChangeTime &&
			a.Hash == b.Hash && slices.Equal(a.Articles, b.Articles)
	})
	return next, !same
}

// writeFiles replaces the remembered files with next; the caller holds the
// store's lock.
func (ix *Index) writeFiles(ctx context.Context, next filesRecord) error {
	next.Checksum = next.checksum()
	data, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("remember corpus files: %w", err)
	}
	if _, err := writeFileAtomic(ctx, filepath.Join(ix.dir, filesName), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return fmt.Errorf("remember corpus files: %w", err)
	}
	ix.filesMu.Lock()
	ix.known = next
	ix.filesMu.Unlock()
	return nil
}
