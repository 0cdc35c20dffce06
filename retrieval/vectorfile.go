package retrieval

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"runtime"
	"unsafe"
)

// The vector file holds a store's vectors and its partitions:
//
//	"VBVEC\x00\x05\n"      magic and version (8 bytes)
//	rows, dims, parts,     uint32 little endian each; trained is the row
//	trained                count the partitions were trained for
//	parts×dims float32     little endian: the partition centroids
//	rows uint32            little endian: each row's partition
//	rows×dims int8         row by row: q with the row's vector = q/|q|
//	crc32c                 uint32 little endian, of everything after the header
//
// Row i is the vector of the snapshot's passage i (the manifest lists them).
//
// Why our own file and not chromem-go's export (DB.ExportToWriter /
// ImportFromReader): its gob of 55k 768-dim float32 documents took 4.5 s
// to import on this machine — over the 2 s cold-start budget on its own —
// and writes in place rather than write-then-rename. This file is 42 MB of
// int8 at 55k passages (a quarter of float32), read and checked in ~40 ms
// and dequantised straight into the chromem collections (BENCHMARKS.md);
// it is written through writeFileAtomic like every index file.
const vectorMagic = "VBVEC\x00\x05\n"

const vectorHeader = 8 + 4*4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// littleEndian is whether float32s can be written and read as raw bytes.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

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
	binary.LittleEndian.PutUint32(hdr[16:], uint32(len(s.centroids)))
	binary.LittleEndian.PutUint32(hdr[20:], uint32(s.trainedRows))
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(w, crc)
	buf := make([]byte, 0, 1<<16)
	flush := func(need int) error {
		if len(buf)+need <= cap(buf) {
			return nil
		}
		_, err := out.Write(buf)
		buf = buf[:0]
		return err
	}
	for _, c := range s.centroids {
		for _, x := range c {
			if err := flush(4); err != nil {
				return fmt.Errorf("write vectors: %w", err)
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		}
	}
	for _, p := range s.part {
		if err := flush(4); err != nil {
			return fmt.Errorf("write vectors: %w", err)
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(p))
	}
	q := make([]int8, s.dims)
	for _, v := range s.rows {
		if err := flush(s.dims); err != nil {
			return fmt.Errorf("write vectors: %w", err)
		}
		if v == nil {
			clear(q)
		} else {
			toInt8(v, q)
		}
		buf = append(buf, int8Bytes(q)...)
	}
	if err := flush(cap(buf) + 1); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], crc.Sum32())
	if _, err := w.Write(tail[:]); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	return nil
}

// readVectors reads a vector file whose rows belong to ids, checks it, and
// loads the vectors into new collections of db.
func readVectors(ctx context.Context, r io.Reader, db *vectorDB, ids []string) (*chromemStore, error) {
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
	parts := int(binary.LittleEndian.Uint32(hdr[16:]))
	trained := int(binary.LittleEndian.Uint32(hdr[20:]))
	if rows != len(ids) {
		return nil, fmt.Errorf("read vectors: %d vectors for %d passages", rows, len(ids))
	}
	if dims > 1<<16 || (rows > 0 && (dims == 0 || parts == 0)) || parts > max(rows, 1) {
		return nil, fmt.Errorf("read vectors: implausible dims %d or partitions %d", dims, parts)
	}
	if rows == 0 {
		s := emptyStore(db)
		return s, nil
	}
	// The whole body is read at once (42 MB at 55k passages) and checked
	// before anything is decoded.
	body := make([]byte, parts*dims*4+rows*4+rows*dims)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(tail[:]) {
		return nil, errors.New("read vectors: checksum mismatch")
	}
	s := emptyStore(db)
	s.ids, s.dims, s.trainedRows = ids, dims, trained
	s.centroids = make([][]float32, parts)
	off := 0
	for p := range s.centroids {
		c := make([]float32, dims)
		for d := range c {
			c[d] = math.Float32frombits(binary.LittleEndian.Uint32(body[off:]))
			off += 4
		}
		s.centroids[p] = c
	}
	s.part = make([]int32, rows)
	for r := range s.part {
		p := binary.LittleEndian.Uint32(body[off:])
		off += 4
		if int(p) >= parts {
			return nil, fmt.Errorf("read vectors: row %d in partition %d of %d", r, p, parts)
		}
		s.part[r] = int32(p)
	}
	vals := body[off:]
	s.rowOf = make(map[string]int32, rows)
	for r, id := range ids {
		s.rowOf[id] = int32(r)
	}
	// Dequantise on bounded parallel workers, a block of rows each, into
	// one slice per row (so a later sync can drop any row alone).
	s.rows = make([][]float32, rows)
	const block = 1024
	err := forEach(ctx, (rows+block-1)/block, runtime.GOMAXPROCS(0), func(ctx context.Context, b int) error {
		for r := b * block; r < min((b+1)*block, rows); r++ {
			q := unsafe.Slice((*int8)(unsafe.Pointer(&vals[r*dims])), dims)
			v := make([]float32, dims)
			if dequantise(q, v) {
				s.rows[r] = v
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	s.colls, s.counts = newPartitions(parts)
	if err := s.fill(ctx, s.members()); err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	return s, nil
}
