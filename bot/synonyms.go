package bot

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"sort"
	"strings"
	"sync"
)

//go:generate go run ./internal/gensynonyms -out synonyms.txt.gz

// synonymsGz is the synonym table: a term (as retrieval.Terms makes it),
// a tab, its synonyms' terms (maybe none), one line each, sorted by term.
// An adjective and the noun it pertains to count as synonyms both ways
// ("Iranian" and "Iran", "presidential" and "president"). Every single-word English noun, verb and adjective WordNet 3.0 knows has
// a line, so the table is also a dictionary (see synonyms.LICENSE and
// internal/gensynonyms).
//
//go:embed synonyms.txt.gz
var synonymsGz []byte

// synonymTable is the table decompressed, with the offset of each line:
// looking a term up is a binary search over the lines, so loading builds
// no map of its 57k entries (a cold start pays a few milliseconds).
type synonymTable struct {
	data  string
	lines []int32 // start of each line (the header line excluded)
}

var synonymsOnce = sync.OnceValue(loadSynonyms)

func loadSynonyms() *synonymTable {
	zr, err := gzip.NewReader(bytes.NewReader(synonymsGz))
	if err != nil {
		panic("bot: synonyms.txt.gz: " + err.Error())
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		panic("bot: synonyms.txt.gz: " + err.Error())
	}
	t := &synonymTable{data: string(raw), lines: make([]int32, 0, 60_000)}
	for i := 0; i < len(t.data); {
		end := strings.IndexByte(t.data[i:], '\n')
		if end < 0 {
			end = len(t.data) - i
		}
		if t.data[i] != '#' {
			t.lines = append(t.lines, int32(i))
		}
		i += end + 1
	}
	return t
}

// line returns the table's line for term, without its newline.
func (t *synonymTable) line(term string) (string, bool) {
	key := func(i int) string {
		s := t.data[t.lines[i]:]
		if j := strings.IndexByte(s, '\t'); j >= 0 {
			return s[:j]
		}
		return s
	}
	i := sort.Search(len(t.lines), func(i int) bool { return key(i) >= term })
	if i == len(t.lines) || key(i) != term {
		return "", false
	}
	s := t.data[t.lines[i]:]
	if j := strings.IndexByte(s, '\n'); j >= 0 {
		s = s[:j]
	}
	return s, true
}

// synonymsOf returns the terms of term's synonyms.
func synonymsOf(term string) []string {
	l, ok := synonymsOnce().line(term)
	if !ok {
		return nil
	}
	_, syns, _ := strings.Cut(l, "\t")
	return strings.Fields(syns)
}

// isWord reports whether term is an English word (a WordNet lemma's term),
// rather than a name, an abbreviation or a misspelling.
func isWord(term string) bool {
	_, ok := synonymsOnce().line(term)
	return ok
}
