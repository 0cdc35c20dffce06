package retrieval

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"unsafe"
)

// The vector file holds a store as it is in memory:
//
//	"VBVEC\x00\x03\n"   magic and version (8 bytes)
//	rows, dims          uint32 little endian each
//	rows float32        little endian: the scale of each row
//	dims×rows int8      the quantised values, dimension by dimension
//	crc32c              uint32 little endian, of the scales' and values' bytes
//
// Row i is the vector of the snapshot's passage i (the manifest lists them).
const vectorMagic = "VBVEC\x00\x03\n"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// littleEndian is whether float32s can be written and read as raw bytes.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func floatBytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*4)
}

func int8Bytes(v []int8) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v))
}

// writeTo persists the vectors in the vector file format.
func (s *columnStore) writeTo(w io.Writer) error {
	var hdr [16]byte
	copy(hdr[:], vectorMagic)
	binary.LittleEndian.PutUint32(hdr[8:], uint32(len(s.ids)))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(s.dims))
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(w, crc)
	scales := floatBytes(s.scale)
	if !littleEndian {
		scales = make([]byte, len(s.scale)*4)
		for i, x := range s.scale {
			binary.LittleEndian.PutUint32(scales[i*4:], math.Float32bits(x))
		}
	}
	if _, err := out.Write(scales); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	if _, err := out.Write(int8Bytes(s.cols)); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], crc.Sum32())
	if _, err := w.Write(tail[:]); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	return nil
}

// readVectors reads a vector file whose rows belong to ids, checks its
// checksum, and builds the store.
func readVectors(r io.Reader, ids []string) (*columnStore, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var hdr [16]byte
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
	s := newColumnStore(ids, dims)
	scales, vals := floatBytes(s.scale), int8Bytes(s.cols)
	if _, err := io.ReadFull(br, scales); err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	if _, err := io.ReadFull(br, vals); err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	sum := crc32.Update(crc32.Checksum(scales, castagnoli), castagnoli, vals)
	if sum != binary.LittleEndian.Uint32(tail[:]) {
		return nil, errors.New("read vectors: checksum mismatch")
	}
	if !littleEndian {
		for i := range s.scale {
			s.scale[i] = math.Float32frombits(binary.LittleEndian.Uint32(scales[i*4:]))
		}
	}
	return s, nil
}
