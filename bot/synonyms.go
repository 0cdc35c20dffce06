package bot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"strings"
	"sync"
)

//go:generate go run ./internal/gensynonyms -out synonyms.txt.gz

// synonymsGz is the synonym table: a term (as retrieval.Terms makes it),
// a tab, its synonyms' terms (maybe none). Every single-word English noun,
// verb and adjective WordNet 3.0 knows has a line, so the table is also a
// dictionary (see synonyms.LICENSE and internal/gensynonyms).
//
//go:embed synonyms.txt.gz
var synonymsGz []byte

// synonyms returns the synonym table, read once.
var synonyms = sync.OnceValue(func() map[string][]string {
	zr, err := gzip.NewReader(bytes.NewReader(synonymsGz))
	if err != nil {
		panic("bot: synonyms.txt.gz: " + err.Error())
	}
	m := make(map[string][]string, 32<<10)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		line := sc.Text()
		term, syns, ok := strings.Cut(line, "\t")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		m[term] = strings.Fields(syns)
	}
	if err := sc.Err(); err != nil {
		panic("bot: synonyms.txt.gz: " + err.Error())
	}
	return m
})

// isWord reports whether term is an English word (a WordNet lemma's term),
// rather than a name, an abbreviation or a misspelling.
func isWord(term string) bool {
	_, ok := synonyms()[term]
	return ok
}
