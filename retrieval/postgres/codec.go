package postgres

import (
	"cmp"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
)

// The lexicon of a generation is every term's document frequency:
//
//	uvarint count, then per term in byte order: uvarint len, term, uvarint df
//
// A segment's postings of one term are its passages that hold the term:
//
//	uvarint count, then per passage in pid order:
//	uvarint pid − previous pid, uvarint tf, uvarint passage length
//
// Both are bytea values: a question reads one lexicon per generation
// (when the process loads it) and one postings value per term and segment.

var errCorrupt = errors.New("corrupt lexical data")

func encodeLexicon(df map[string]int32) []byte {
	terms := slices.Sorted(maps.Keys(df))
	buf := binary.AppendUvarint(nil, uint64(len(terms)))
	for _, t := range terms {
		buf = binary.AppendUvarint(buf, uint64(len(t)))
		buf = append(buf, t...)
		buf = binary.AppendUvarint(buf, uint64(df[t]))
	}
	return buf
}

func decodeLexicon(buf []byte) (map[string]int32, error) {
	n, buf, err := uvarint(buf)
	if err != nil || n > uint64(len(buf)) {
		return nil, errCorrupt
	}
	df := make(map[string]int32, n)
	for range n {
		var l, d uint64
		if l, buf, err = uvarint(buf); err != nil || l > uint64(len(buf)) {
			return nil, errCorrupt
		}
		t := string(buf[:l])
		if d, buf, err = uvarint(buf[l:]); err != nil {
			return nil, errCorrupt
		}
		df[t] = int32(d)
	}
	if len(buf) != 0 {
		return nil, errCorrupt
	}
	return df, nil
}

// posting is one passage holding a term.
type posting struct {
	pid    int64
	tf     uint16
	docLen uint32
}

func encodePostings(ps []posting) []byte {
	slices.SortFunc(ps, func(a, b posting) int { return cmp.Compare(a.pid, b.pid) })
	buf := binary.AppendUvarint(make([]byte, 0, 1+len(ps)*5), uint64(len(ps)))
	var prev int64
	for _, p := range ps {
		buf = binary.AppendUvarint(buf, uint64(p.pid-prev))
		buf = binary.AppendUvarint(buf, uint64(p.tf))
		buf = binary.AppendUvarint(buf, uint64(p.docLen))
		prev = p.pid
	}
	return buf
}

func uvarint(buf []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(buf)
	if n <= 0 {
		return 0, nil, errCorrupt
	}
	return v, buf[n:], nil
}
