// Command gensynonyms writes bot/synonyms.txt.gz, the synonym table the
// extractive answerer uses to credit paraphrases, from WordNet 3.0 (Debian:
// apt-get install wordnet-base):
//
//	go generate ./bot
//
// For every single-word lemma of a noun, verb or adjective it takes the
// synsets of the lemma's two most frequent senses per part of speech and
// keeps the other single-word lemmas there; both sides are reduced to
// retrieval.Terms (so stemmed as the index is). A line is a term, a tab,
// and its synonyms as words (one per term they stem to: the lemma that
// sorts first) separated by spaces — none for a word WordNet knows without
// single-word synonyms: the table is also the list of English words. The
// synonyms stay words so that they can be searched for: stemming a stem
// again does not always give it back.
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/verbatimbot/verbatim/retrieval"
)

// senses is how many of a lemma's most frequent senses per part of speech
// give synonyms: further senses are rare and bring noise ("drill" as a
// baboon).
const senses = 2

func main() {
	dir := flag.String("wordnet", "/usr/share/wordnet", "WordNet dict directory")
	out := flag.String("out", "synonyms.txt.gz", "output file")
	flag.Parse()
	syn := map[string]map[string]string{} // term -> synonym term -> word
	for _, pos := range []string{"noun", "verb", "adj"} {
		synsets, err := readData(filepath.Join(*dir, "data."+pos))
		if err != nil {
			log.Fatal(err)
		}
		if err := readIndex(filepath.Join(*dir, "index."+pos), synsets, syn); err != nil {
			log.Fatal(err)
		}
	}
	if err := write(*out, syn); err != nil {
		log.Fatal(err)
	}
}

// readData maps synset offsets to their single-word lemmas.
func readData(path string) (map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "  ") {
			continue // licence header
		}
		fields := strings.Fields(line)
		if len(fields) < 4 {
			continue
		}
		n, err := strconv.ParseInt(fields[3], 16, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, fields[0], err)
		}
		var words []string
		for i := 0; i < int(n) && 4+2*i < len(fields); i++ {
			w := strings.ToLower(fields[4+2*i])
			if k := strings.IndexByte(w, '('); k >= 0 {
				w = w[:k] // adjective markers: "galore(ip)"
			}
			if single(w) {
				words = append(words, w)
			}
		}
		out[fields[0]] = words
	}
	return out, sc.Err()
}

func single(w string) bool {
	if len(w) < 3 {
		return false
	}
	for _, r := range w {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// readIndex adds, for every lemma, the lemmas of its first senses'
// synsets.
func readIndex(path string, synsets map[string][]string, syn map[string]map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "  ") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 6 || !single(fields[0]) {
			continue
		}
		// lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
		pcnt, err := strconv.Atoi(fields[3])
		if err != nil {
			return fmt.Errorf("%s: %q: %w", path, fields[0], err)
		}
		offsets := fields[4+pcnt+2:]
		terms := retrieval.Terms(fields[0])
		if len(terms) != 1 {
			continue
		}
		t := terms[0]
		if syn[t] == nil {
			syn[t] = map[string]string{}
		}
		for _, off := range offsets[:min(senses, len(offsets))] {
			for _, w := range synsets[off] {
				st := retrieval.Terms(w)
				if len(st) != 1 || st[0] == t {
					continue
				}
				if old, ok := syn[t][st[0]]; !ok || w < old {
					syn[t][st[0]] = w
				}
			}
		}
	}
	return sc.Err()
}

func write(path string, syn map[string]map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(zw)
	fmt.Fprintln(w, "# Synonyms from WordNet 3.0, Copyright 2006 by Princeton University. All rights reserved. See synonyms.LICENSE.")
	keys := make([]string, 0, len(syn))
	for k := range syn {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var vs []string
		for _, w := range syn[k] {
			vs = append(vs, w)
		}
		slices.Sort(vs)
		fmt.Fprintf(w, "%s\t%s\n", k, strings.Join(vs, " "))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
