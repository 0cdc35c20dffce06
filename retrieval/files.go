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
// corpus files the index was synced from (see Reuse).
const filesName = "files.json"

// racyWindow: a file modified this close before it was read is not
// remembered, because a second change within the file system's timestamp
// granularity (up to 2 s on some) could leave size and modification time
// as they were (git's "racily clean" problem).
const racyWindow = 2 * time.Second

// fileRecord is one remembered corpus file: its size and modification time
// when read, and the articles it gave.
type fileRecord struct {
	Size     int64         `json:"size"`
	ModTime  int64         `json:"mtime_ns"`
	Articles []fileArticle `json:"articles"`
}

type fileArticle struct {
	ID          string `json:"id"`
	Fingerprint string `json:"fingerprint"`
}

type filesRecord struct {
	Format int                   `json:"format"`
	Files  map[string]fileRecord `json:"files"` // by corpus path
	// Checksum is of the record itself (see checksum.go).
	Checksum string `json:"checksum"`
}

func (r filesRecord) checksum() string {
	r.Checksum = ""
	return jsonChecksum(r)
}

// files returns the remembered files, read on first use.
func (ix *Index) files() map[string]fileRecord {
	ix.filesMu.Lock()
	defer ix.filesMu.Unlock()
	if !ix.knownRead {
		ix.knownRead = true
		ix.known = ix.readFiles()
	}
	return ix.known
}

func (ix *Index) readFiles() map[string]fileRecord {
	data, err := os.ReadFile(filepath.Join(ix.dir, filesName))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			ix.log.Warn("read remembered corpus files", "err", err)
		}
		return nil
	}
	var r filesRecord
	err = json.Unmarshal(data, &r)
	switch {
	case err != nil:
	case r.Format != formatVersion:
		err = fmt.Errorf("format %d, this build reads %d", r.Format, formatVersion)
	case r.Checksum != r.checksum():
		err = fmt.Errorf("checksum %s, content has %s", r.Checksum, r.checksum())
	}
	if err != nil {
		ix.log.Warn("remembered corpus files unusable; reading every file", "file", filesName, "err", err)
		return nil
	}
	return r.Files
}

// Reuse is a corpus.Options.Reuse over the files remembered by
// RememberFiles: for a file of the size and modification time remembered,
// whose articles are all in the loaded index with the fingerprints it gave,
// it returns the indexed copies of those articles, so an unchanged corpus
// file is neither read nor parsed. Otherwise it returns false and the file
// is read.
func (ix *Index) Reuse(f corpus.FileStat) ([]corpus.Article, bool) {
	rec, ok := ix.files()[f.Path]
	if !ok || rec.Size != f.Size || rec.ModTime != f.ModTime.UnixNano() || len(rec.Articles) == 0 {
		return nil, false
	}
	s := ix.snap.Load()
	out := make([]corpus.Article, 0, len(rec.Articles))
	for _, ra := range rec.Articles {
		i, ok := s.byID[ra.ID]
		if !ok || s.articles[i].Fingerprint != ra.Fingerprint || s.articles[i].Source != f.Path {
			return nil, false
		}
		out = append(out, s.articles[i])
	}
	return out, true
}

// RememberFiles records the files of a loaded corpus (set.Files and the
// articles they gave), so that later loads through Reuse skip them while
// they are unchanged. loaded is when the load began: files modified within
// two seconds before it are not remembered (see racyWindow). Files are
// recorded only with articles the index holds with the same fingerprint,
// so call it after Sync. Nothing is written when the record is unchanged.
func (ix *Index) RememberFiles(ctx context.Context, set corpus.Set, loaded time.Time) error {
	s := ix.snap.Load()
	bySource := make(map[string][]fileArticle, len(set.Files))
	for _, a := range set.Articles {
		i, ok := s.byID[a.ID]
		if !ok || s.articles[i].Fingerprint != a.Fingerprint {
			continue
		}
		bySource[a.Source] = append(bySource[a.Source], fileArticle{a.ID, a.Fingerprint})
	}
	next := make(map[string]fileRecord, len(set.Files))
	for _, f := range set.Files {
		arts := bySource[f.Path]
		if len(arts) == 0 || !f.ModTime.Before(loaded.Add(-racyWindow)) {
			continue
		}
		next[f.Path] = fileRecord{Size: f.Size, ModTime: f.ModTime.UnixNano(), Articles: arts}
	}
	if maps.EqualFunc(next, ix.files(), func(a, b fileRecord) bool {
		return a.Size == b.Size && a.ModTime == b.ModTime && slices.Equal(a.Articles, b.Articles)
	}) {
		return nil
	}
	rec := filesRecord{Format: formatVersion, Files: next}
	rec.Checksum = rec.checksum()
	data, err := json.Marshal(rec)
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
