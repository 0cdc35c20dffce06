// Command gensynonyms writes bot/synonyms.txt.gz, the synonym table the
// extractive answerer uses to credit paraphrases, from WordNet 3.0 (Debian:
// apt-get install wordnet-base):
//
//	go generate ./bot
//
// For every single-word lemma of a noun, verb or adjective it takes the
// synsets of the lemma's two most frequent senses per part of speech (four
// when WordNet has no frequencies for them) and
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

// untaggedSenses is how many senses are taken from a lemma none of whose
// senses was ever seen in WordNet's tagged texts: their order then says
// nothing of frequency ("drill": the tool, the baboon, then the exercise).
const untaggedSenses = 4

func main() {
	dir := flag.String("wordnet", "/usr/share/wordnet", "WordNet dict directory")
	out := flag.String("out", "synonyms.txt.gz", "output file")
	flag.Parse()
	syn := map[string]map[string]string{}  // term -> synonym term -> word
	data := map[string]map[string]synset{} // pos -> offset -> synset
	for _, pos := range []string{"noun", "verb", "adj"} {
		synsets, err := readData(filepath.Join(*dir, "data."+pos))
		if err != nil {
			log.Fatal(err)
		}
		data[pos] = synsets
	}
	for _, pos := range []string{"noun", "verb", "adj"} {
		if err := readIndex(filepath.Join(*dir, "index."+pos), pos, data, syn); err != nil {
			log.Fatal(err)
		}
	}
	if err := write(*out, syn); err != nil {
		log.Fatal(err)
	}
}

// synset is a synset's lemmas, in order ("" for one of several words or
// odd characters), and its pertainym pointers.
type synset struct {
	words []string
	// pertains are the nouns an adjective pertains to ("Iranian" to
	// "Iran"): WordNet's "\" pointers.
	pertains []pointer
}

// pointer is a lexical pointer: from word src (1-based; 0: every word of
// the synset) to word dst of synset off (0: every word).
type pointer struct {
	off      string
	src, dst int
}

// readData maps synset offsets to their lemmas and pertainyms.
func readData(path string) (map[string]synset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]synset{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "  ") {
			continue // licence header
		}
		// offset lex_filenum ss_type w_cnt (word lex_id)... p_cnt (symbol offset pos src/dst)...
		fields := strings.Fields(line)
		if len(fields) < 4 {
			continue
		}
		n, err := strconv.ParseInt(fields[3], 16, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, fields[0], err)
		}
		var ss synset
		for i := 0; i < int(n) && 4+2*i < len(fields); i++ {
			w := strings.ToLower(fields[4+2*i])
			if k := strings.IndexByte(w, '('); k >= 0 {
				w = w[:k] // adjective markers: "galore(ip)"
			}
			if !single(w) {
				w = ""
			}
			ss.words = append(ss.words, w)
		}
		at := 4 + 2*int(n)
		if at < len(fields) {
			pcnt, err := strconv.Atoi(fields[at])
			if err != nil {
				return nil, fmt.Errorf("%s: %q: pointer count: %w", path, fields[0], err)
			}
			for i := 0; i < pcnt && at+4+4*i < len(fields); i++ {
				p := fields[at+1+4*i : at+5+4*i]
				if p[0] != "\\" || p[2] != "n" || len(p[3]) != 4 {
					continue
				}
				src, err1 := strconv.ParseInt(p[3][:2], 16, 32)
				dst, err2 := strconv.ParseInt(p[3][2:], 16, 32)
				if err1 != nil || err2 != nil {
					return nil, fmt.Errorf("%s: %q: pointer %q", path, fields[0], p[3])
				}
				ss.pertains = append(ss.pertains, pointer{off: p[1], src: int(src), dst: int(dst)})
			}
		}
		out[fields[0]] = ss
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

// readIndex adds, for every lemma of pos, the lemmas of its first senses'
// synsets, and for an adjective the nouns those senses pertain to, both
// ways ("iranian" ↔ "iran", "presidential" ↔ "president").
func readIndex(path, pos string, data map[string]map[string]synset, syn map[string]map[string]string) error {
	synsets := data[pos]
	add := func(t, w string) {
		st := retrieval.Terms(w)
		if len(st) != 1 || st[0] == t {
			return
		}
		if syn[t] == nil {
			syn[t] = map[string]string{}
		}
		if old, ok := syn[t][st[0]]; !ok || w < old {
			syn[t][st[0]] = w
		}
	}
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
		tagged, err := strconv.Atoi(fields[4+pcnt+1])
		if err != nil {
			return fmt.Errorf("%s: %q: %w", path, fields[0], err)
		}
		n := senses
		if tagged == 0 {
			n = untaggedSenses
		}
		terms := retrieval.Terms(fields[0])
		if len(terms) != 1 {
			continue
		}
		t := terms[0]
		if syn[t] == nil {
			syn[t] = map[string]string{}
		}
		for _, off := range offsets[:min(n, len(offsets))] {
			ss := synsets[off]
			for _, w := range ss.words {
				if w != "" {
					add(t, w)
				}
			}
			for _, p := range ss.pertains {
				if p.src != 0 && (p.src > len(ss.words) || ss.words[p.src-1] != fields[0]) {
					continue // another word of the synset pertains
				}
				for k, w := range data["noun"][p.off].words {
					if w == "" || p.dst != 0 && k+1 != p.dst {
						continue
					}
					add(t, w)
					if nt := retrieval.Terms(w); len(nt) == 1 {
						add(nt[0], fields[0])
					}
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
