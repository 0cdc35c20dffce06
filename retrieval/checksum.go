package retrieval

import (
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// Every index file is checked on load: the manifest names the size and
// CRC-32C (Castagnoli) of each data file of its generation, and carries
// the checksum of its own content (manifest.Checksum), as files.json does
// of its own. A mismatch makes the index (or the remembered files) unusable,
// with a reason that says which file; the next Sync rebuilds. The vector
// file also checks its values itself (vectorfile.go).

// fileSum is the size and CRC-32C of an index file, as the manifest
// records it.
type fileSum struct {
	Size   int64  `json:"size"`
	CRC32C string `json:"crc32c"` // 8 hex digits
}

func crcString(sum uint32) string {
	return fmt.Sprintf("%08x", sum)
}

// summingWriter counts and checksums what passes through it.
type summingWriter struct {
	w   io.Writer
	n   int64
	crc hash.Hash32
}

func (s *summingWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.n += int64(n)
	s.crc.Write(p[:n])
	return n, err
}

func (s *summingWriter) sum() fileSum {
	return fileSum{Size: s.n, CRC32C: crcString(s.crc.Sum32())}
}

// readChecked opens the generation's file of the given kind and passes it
// to decode, checksumming every byte read; then it reads what decode left
// and compares size and checksum with the manifest's. A mismatch is
// reported in preference to decode's error, which it usually causes.
func (d *DirStore) readChecked(m manifest, kind string, decode func(io.Reader) error) error {
	name := fileName(kind, m.Generation)
	want := m.Files[name]
	f, err := os.Open(filepath.Join(d.dir, name))
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	sw := &summingWriter{w: io.Discard, crc: crc32.New(castagnoli)}
	r := io.TeeReader(f, sw)
	decErr := decode(r)
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if got := sw.sum(); got != want {
		return fmt.Errorf("index file %s is corrupt: checksum %s over %d bytes, manifest says %s over %d",
			name, got.CRC32C, got.Size, want.CRC32C, want.Size)
	}
	if decErr != nil {
		return fmt.Errorf("decode %s: %w", name, decErr)
	}
	return nil
}

// checksum is the CRC-32C of the manifest's JSON encoding with Checksum
// empty: what Checksum must be.
func (m manifest) checksum() string {
	m.Checksum = ""
	return jsonChecksum(m)
}

// jsonChecksum is the CRC-32C of v's compact JSON encoding. Encoding the
// decoded values again gives the same bytes, so a record whose values were
// changed on disk no longer matches the checksum written with it.
func jsonChecksum(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		// Our records hold only strings, numbers, times and maps of
		// them: they always encode.
		panic("checksum: " + err.Error())
	}
	return "crc32c:" + crcString(crc32.Checksum(data, castagnoli))
}
