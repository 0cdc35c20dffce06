package retrieval

import (
	"bufio"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// formatVersion is the on-disk layout version, and of what Terms produces
// (the postings hold its terms): an index of another version is rebuilt.
// 6: checksums of every file in the manifest, and of the manifest itself;
// 7: Terms folds Unicode (NFKD, diacritics dropped) as well.
const formatVersion = 7

const manifestName = "manifest.json"

// load reads the manifest and the generation it names. It returns the
// manifest whenever it could be parsed, even if the index is unusable.
func (ix *Index) load(ctx context.Context) (*snapshot, *manifest, error) {
	data, err := os.ReadFile(filepath.Join(ix.dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, errNoIndex
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, nil, fmt.Errorf("manifest is corrupt: %w", err)
	}
	if m.Format != formatVersion {
		return nil, nil, fmt.Errorf("index format %d, this build reads %d", m.Format, formatVersion)
	}
	if sum := m.checksum(); m.Checksum != sum {
		return nil, nil, fmt.Errorf("manifest is corrupt: checksum %s, content has %s", m.Checksum, sum)
	}
	if reason := embedderChange(m.Embedder, ix.emb.Info()); reason != "" {
		return nil, &m, errors.New(reason)
	}
	if m.Chunk.withDefaults() != ix.chunk {
		return nil, &m, fmt.Errorf("chunk settings changed from %s to %s", m.Chunk, ix.chunk)
	}
	for _, kind := range []string{"articles", "vectors", "lexical"} {
		if _, ok := m.Files[fileName(kind, m.Generation)]; !ok {
			return nil, &m, fmt.Errorf("manifest names no %s file", kind)
		}
	}
	for name, sum := range m.Files {
		fi, err := os.Stat(filepath.Join(ix.dir, name))
		if err != nil {
			return nil, &m, fmt.Errorf("index file: %w", err)
		}
		if fi.Size() != sum.Size {
			return nil, &m, fmt.Errorf("index file %s has %d bytes, manifest says %d", name, fi.Size(), sum.Size)
		}
	}

	s := &snapshot{gen: m.Generation, embedder: m.Embedder, builtAt: m.BuiltAt}
	if err := ix.readChecked(m, "articles", func(r io.Reader) error {
		return gob.NewDecoder(bufio.NewReaderSize(r, 1<<20)).Decode(&s.articles)
	}); err != nil {
		return nil, &m, err
	}
	if len(s.articles) != len(m.Articles) {
		return nil, &m, fmt.Errorf("articles file has %d articles, manifest %d", len(s.articles), len(m.Articles))
	}
	s.byID = make(map[string]int, len(s.articles))
	for i, a := range s.articles {
		ma := m.Articles[i]
		if a.ID != ma.ID || a.Fingerprint != ma.Fingerprint {
			return nil, &m, fmt.Errorf("articles file disagrees with manifest at %q", ma.ID)
		}
		s.byID[a.ID] = i
		first := len(s.passages)
		s.passages = append(s.passages, Chunk(a, ix.chunk)...)
		if got := passageIDs(s.passages[first:]); !slices.Equal(got, ma.Passages) {
			return nil, &m, fmt.Errorf("passages of %q differ from the manifest", a.ID)
		}
		s.artRows = append(s.artRows, [2]int{first, len(s.passages)})
	}
	if len(s.passages) != m.Passages {
		return nil, &m, fmt.Errorf("%d passages, manifest says %d", len(s.passages), m.Passages)
	}
	if err := ctx.Err(); err != nil {
		return nil, &m, err
	}

	// Vectors and postings decode in parallel: they are the bulk of a cold
	// start.
	var wg sync.WaitGroup
	var lexErr error
	wg.Go(func() {
		lexErr = ix.readChecked(m, "lexical", func(r io.Reader) (err error) {
			s.lexical, err = readLexical(bufio.NewReaderSize(r, 1<<20), len(s.passages))
			return err
		})
	})
	vecErr := ix.readChecked(m, "vectors", func(r io.Reader) (err error) {
		s.vectors, err = readVectors(ctx, r, ix.vectors, passageIDs(s.passages), s.artRows)
		return err
	})
	wg.Wait()
	if err := errors.Join(vecErr, lexErr); err != nil {
		if s.vectors != nil {
			ix.vectors.release(s.vectors, emptyStore(ix.vectors))
		}
		return nil, &m, err
	}
	if d := m.Embedder.Dims; d != 0 && s.vectors.Len() > 0 && s.vectors.dims != d {
		ix.vectors.release(s.vectors, emptyStore(ix.vectors))
		return nil, &m, fmt.Errorf("vectors have %d dims, manifest says %d", s.vectors.dims, d)
	}
	return s, &m, nil
}

func fileName(kind string, gen uint64) string {
	ext := ".gob"
	if kind == "vectors" {
		ext = ".vec"
	}
	return kind + "-" + strconv.FormatUint(gen, 10) + ext
}

func passageIDs(ps []Passage) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

// persist writes the snapshot's generation files and then its manifest.
func (ix *Index) persist(ctx context.Context, s *snapshot) error {
	files := map[string]func(io.Writer) error{
		fileName("articles", s.gen): func(w io.Writer) error {
			return gob.NewEncoder(w).Encode(s.articles)
		},
		fileName("vectors", s.gen): s.vectors.writeTo,
		fileName("lexical", s.gen): s.lexical.writeTo,
	}
	m := manifest{
		Format:     formatVersion,
		Generation: s.gen,
		BuiltAt:    s.builtAt,
		Embedder:   s.embedder,
		Chunk:      ix.chunk,
		Files:      map[string]fileSum{},
		Passages:   len(s.passages),
	}
	for i, a := range s.articles {
		r := s.artRows[i]
		m.Articles = append(m.Articles, manifestArticle{
			ID: a.ID, Fingerprint: a.Fingerprint, Passages: passageIDs(s.passages[r[0]:r[1]]),
		})
	}
	var written []string
	fail := func(err error) error {
		for _, name := range written {
			os.Remove(filepath.Join(ix.dir, name))
		}
		return fmt.Errorf("persist index: %w", err)
	}
	// The three files are independent; write them in parallel.
	type result struct {
		name string
		sum  fileSum
		err  error
	}
	results := make(chan result, len(files))
	for name, write := range files {
		go func() {
			sum, err := writeFileAtomic(ctx, filepath.Join(ix.dir, name), write)
			results <- result{name, sum, err}
		}()
	}
	var errs []error
	for range files {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		written = append(written, r.name)
		m.Files[r.name] = r.sum
	}
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	m.Checksum = m.checksum()
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fail(err)
	}
	// The commit point: after this rename the new generation is the index.
	if _, err := writeFileAtomic(ctx, filepath.Join(ix.dir, manifestName), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return fail(err)
	}
	return nil
}

// writeFileAtomic writes path through a temporary file in the same
// directory: write, fsync, rename, fsync the directory. It checks ctx before
// the rename, so a cancelled write never replaces path. It returns the
// size and checksum of what it wrote.
func writeFileAtomic(ctx context.Context, path string, write func(io.Writer) error) (fileSum, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fileSum{}, fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	cw := &summingWriter{w: bw, crc: crc32.New(castagnoli)}
	name := filepath.Base(path)
	if err := write(cw); err != nil {
		return fileSum{}, fmt.Errorf("write %s: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		return fileSum{}, fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		return fileSum{}, fmt.Errorf("sync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fileSum{}, fmt.Errorf("close %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return fileSum{}, fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fileSum{}, fmt.Errorf("rename %s: %w", name, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not supported everywhere
		d.Close()
	}
	return cw.sum(), nil
}

// maxGenOnDisk is the highest generation named by a file in the directory.
func (ix *Index) maxGenOnDisk() uint64 {
	var g uint64
	if ix.prev != nil {
		g = ix.prev.Generation
	}
	entries, _ := os.ReadDir(ix.dir)
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".gob"), ".vec")
		if _, num, ok := strings.Cut(name, "-"); ok && isGenFile(e.Name()) {
			if n, err := strconv.ParseUint(num, 10, 64); err == nil {
				g = max(g, n)
			}
		}
	}
	return g
}

// isGenFile reports whether name is a generation's data file.
func isGenFile(name string) bool {
	return (strings.HasSuffix(name, ".gob") || strings.HasSuffix(name, ".vec")) &&
		(strings.HasPrefix(name, "articles-") || strings.HasPrefix(name, "vectors-") ||
			strings.HasPrefix(name, "lexical-"))
}

// removeStale deletes generation files other than gen's and leftover
// temporary files. Failures are only logged: stale files waste space but
// never confuse a later Open, which reads what the manifest names.
func (ix *Index) removeStale(gen uint64) {
	entries, err := os.ReadDir(ix.dir)
	if err != nil {
		ix.log.Warn("list index dir", "dir", ix.dir, "err", err)
		return
	}
	keep := map[string]bool{
		manifestName: true, lockName: true, filesName: true,
		fileName("articles", gen): true, fileName("vectors", gen): true, fileName("lexical", gen): true,
	}
	for _, e := range entries {
		name := e.Name()
		stale := strings.HasPrefix(name, ".tmp-") || isGenFile(name)
		if stale && !keep[name] {
			if err := os.Remove(filepath.Join(ix.dir, name)); err != nil {
				ix.log.Warn("remove stale index file", "file", name, "err", err)
			}
		}
	}
}
