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
// a tab, its synonyms' terms. It comes from WordNet 3.0 (see
// synonyms.LICENSE and internal/gensynonyms).
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
