package retrieval

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"unsafe"
)

// The vector file holds a store's vectors:
//
//	"VBVEC\x00\x05\n"   magic and version (8 bytes)
//	rows, dims          uint32 little endian each
//	rows×dims int8      row by row: q, with the row's vector q/|q|
//	crc32c              uint32 little endian, of the values
//
// Row i is the vector of the snapshot's passage i (the manifest lists them);
// the partitions (articles) and their centroids follow from the rows.
//
// Why our own file and not chromem-go's export (DB.ExportToWriter /
// ImportFromReader): its gob of 55k 768-dim float32 documents took 4.5 s
// to import on this machine — over the 2 s cold-start budget on its own —
// and writes in place rather than write-then-rename. This file is 42 MB of
// int8 at 55k passages (a quarter of float32), read and checked in ~40 ms
// and dequantised straight into the chromem collections (BENCHMARKS.md);
// it is written through writeFileAtomic like every index file.
const vectorMagic = "VBVEC\x00\x05\n"

const vectorHeader = 8 + 2*4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func int8Bytes(v []int8) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v))
}

// writeTo persists the store in the vector file format.
func (s *chromemStore) writeTo(w io.Writer) error {
	var hdr [vectorHeader]byte
	copy(hdr[:], vectorMagic)
	binary.LittleEndian.PutUint32(hdr[8:], uint32(len(s.ids)))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(s.dims))
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(w, crc)
	const per = 256 // rows per write
	buf := make([]int8, per*s.dims)
	for lo := 0; lo < len(s.rows); lo += per {
		hi := min(lo+per, len(s.rows))
		for r := lo; r < hi; r++ {
			q := buf[(r-lo)*s.dims : (r-lo+1)*s.dims]
			if v := s.rows[r]; v != nil {
				toInt8(v, q)
			} else {
				clear(q)
			}
		}
		if _, err := out.Write(int8Bytes(buf[:(hi-lo)*s.dims])); err != nil {
			return fmt.Errorf("write vectors: %w", err)
		}
	}
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], crc.Sum32())
	if _, err := w.Write(tail[:]); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	return nil
}

// readVectors reads a vector file whose rows belong to ids (articles are
// their articles' row ranges), checks it, and loads the vectors into new
// collections of db.
func readVectors(ctx context.Context, r io.Reader, db *vectorDB, ids []string, articles [][2]int) (*chromemStore, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var hdr [vectorHeader]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	if string(hdr[:8]) != vectorMagic {
		return nil, errors.New("read vectors: not a vector file of this version")
	}
	rows := int(binary.LittleEndian.Uint32(hdr[8:]))
	dims := int(binary.LittleEndian.Uint32(hdr[12:]))
	if rows != len(ids) {
		return nil, fmt.Errorf("read vectors: %d vectors for %d passages", rows, len(ids))
	}
	if dims > 1<<16 || (rows > 0 && dims == 0) {
		return nil, fmt.Errorf("read vectors: implausible dims %d", dims)
	}
	if rows == 0 {
		return emptyStore(db), nil
	}
	// The whole body is read at once (42 MB at 55k passages) and checked
	// before anything is decoded.
	vals := make([]byte, rows*dims)
	if _, err := io.ReadFull(br, vals); err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	if crc32.Checksum(vals, castagnoli) != binary.LittleEndian.Uint32(tail[:]) {
		return nil, errors.New("read vectors: checksum mismatch")
	}
	rowVecs := make([][]float32, rows)
	// Dequantise on bounded parallel workers, a block of rows each, into
	// one slice per row (so a later sync can drop any row alone).
	const block = 1024
	err := forEach(ctx, (rows+block-1)/block, runtime.GOMAXPROCS(0), func(ctx context.Context, b int) error {
		for r := b * block; r < min((b+1)*block, rows); r++ {
			q := unsafe.Slice((*int8)(unsafe.Pointer(&vals[r*dims])), dims)
			v := make([]float32, dims)
			if dequantise(q, v) {
				rowVecs[r] = v
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	s, err := buildStore(ctx, db, storeInput{ids: ids, rows: rowVecs, dims: dims, articles: articles})
	if err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	return s, nil
}
