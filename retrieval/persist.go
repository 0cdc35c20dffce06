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
// 7: Terms folds Unicode (NFKD, diacritics dropped) as well;
// 8: "US" in capitals, "USA" and "U.S.A." are the term "u.s".
const formatVersion = 8

// FormatVersion is the version of Terms (which stores' postings hold) and
// of what the in-process store writes: a store holding a generation of
// another version reports it unusable, so it is rebuilt.
const FormatVersion = formatVersion

const manifestName = "manifest.json"

// load reads the manifest and the generation it names. It returns the
// manifest whenever it could be parsed, even if the index is unusable.
func (d *DirStore) load(ctx context.Context, want Want) (*Generation, *manifest, error) {
	data, err := os.ReadFile(filepath.Join(d.dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, ErrNoGeneration
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
	if reason := want.Mismatch(m.Embedder, m.Chunk); reason != "" {
		return nil, &m, errors.New(reason)
	}
	for _, kind := range []string{"articles", "vectors", "lexical"} {
		if _, ok := m.Files[fileName(kind, m.Generation)]; !ok {
			return nil, &m, fmt.Errorf("manifest names no %s file", kind)
		}
	}
	for name, sum := range m.Files {
		fi, err := os.Stat(filepath.Join(d.dir, name))
		if err != nil {
			return nil, &m, fmt.Errorf("index file: %w", err)
		}
		if fi.Size() != sum.Size {
			return nil, &m, fmt.Errorf("index file %s has %d bytes, manifest says %d", name, fi.Size(), sum.Size)
		}
	}

	g := &Generation{Number: m.Generation, Embedder: m.Embedder, BuiltAt: m.BuiltAt}
	if err := d.readChecked(m, "articles", func(r io.Reader) error {
		return gob.NewDecoder(bufio.NewReaderSize(r, 1<<20)).Decode(&g.Articles)
	}); err != nil {
		return nil, &m, err
	}
	if len(g.Articles) != len(m.Articles) {
		return nil, &m, fmt.Errorf("articles file has %d articles, manifest %d", len(g.Articles), len(m.Articles))
	}
	g.Passages, g.ArticleRows = Layout(g.Articles, want.Chunk)
	for i, a := range g.Articles {
		ma := m.Articles[i]
		if a.ID != ma.ID || a.Fingerprint != ma.Fingerprint {
			return nil, &m, fmt.Errorf("articles file disagrees with manifest at %q", ma.ID)
		}
		r := g.ArticleRows[i]
		if got := passageIDs(g.Passages[r[0]:r[1]]); !slices.Equal(got, ma.Passages) {
			return nil, &m, fmt.Errorf("passages of %q differ from the manifest", a.ID)
		}
	}
	if len(g.Passages) != m.Passages {
		return nil, &m, fmt.Errorf("%d passages, manifest says %d", len(g.Passages), m.Passages)
	}
	if err := ctx.Err(); err != nil {
		return nil, &m, err
	}

	// Vectors and postings decode in parallel: they are the bulk of a cold
	// start.
	var wg sync.WaitGroup
	var lexErr error
	ix := &dirIndex{db: d.vectors}
	wg.Go(func() {
		lexErr = d.readChecked(m, "lexical", func(r io.Reader) (err error) {
			ix.lexical, err = readLexical(bufio.NewReaderSize(r, 1<<20), len(g.Passages))
			return err
		})
	})
	vecErr := d.readChecked(m, "vectors", func(r io.Reader) (err error) {
		ix.vectors, err = readVectors(ctx, r, d.vectors, passageIDs(g.Passages), g.ArticleRows)
		return err
	})
	wg.Wait()
	if err := errors.Join(vecErr, lexErr); err != nil {
		if ix.vectors != nil {
			d.vectors.release(ix.vectors, emptyStore(d.vectors))
		}
		return nil, &m, err
	}
	if dm := m.Embedder.Dims; dm != 0 && ix.vectors.Len() > 0 && ix.vectors.dims != dm {
		d.vectors.release(ix.vectors, emptyStore(d.vectors))
		return nil, &m, fmt.Errorf("vectors have %d dims, manifest says %d", ix.vectors.dims, dm)
	}
	g.Index = ix
	return g, &m, nil
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

// persist writes a generation's files and then its manifest.
func (d *DirStore) persist(ctx context.Context, g *Generation, chunk ChunkOptions) error {
	ix := g.Index.(*dirIndex)
	files := map[string]func(io.Writer) error{
		fileName("articles", g.Number): func(w io.Writer) error {
			return gob.NewEncoder(w).Encode(g.Articles)
		},
		fileName("vectors", g.Number): ix.vectors.writeTo,
		fileName("lexical", g.Number): ix.lexical.writeTo,
	}
	m := manifest{
		Format:     formatVersion,
		Generation: g.Number,
		BuiltAt:    g.BuiltAt,
		Embedder:   g.Embedder,
		Chunk:      chunk,
		Files:      map[string]fileSum{},
		Passages:   len(g.Passages),
	}
	for i, a := range g.Articles {
		r := g.ArticleRows[i]
		m.Articles = append(m.Articles, manifestArticle{
			ID: a.ID, Fingerprint: a.Fingerprint, Passages: passageIDs(g.Passages[r[0]:r[1]]),
		})
	}
	var written []string
	fail := func(err error) error {
		for _, name := range written {
			os.Remove(filepath.Join(d.dir, name))
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
			sum, err := writeFileAtomic(ctx, filepath.Join(d.dir, name), write)
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
	if _, err := writeFileAtomic(ctx, filepath.Join(d.dir, manifestName), func(w io.Writer) error {
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
func (d *DirStore) maxGenOnDisk() uint64 {
	var g uint64
	entries, _ := os.ReadDir(d.dir)
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
func (d *DirStore) removeStale(gen uint64) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		d.log.Warn("list index dir", "dir", d.dir, "err", err)
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
			if err := os.Remove(filepath.Join(d.dir, name)); err != nil {
				d.log.Warn("remove stale index file", "file", name, "err", err)
			}
		}
	}
}
