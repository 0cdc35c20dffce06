// Package synth generates deterministic synthetic news articles for scale
// tests and benchmarks: ~600 words in 8–15 paragraphs, words drawn from a
// Zipf-distributed invented vocabulary (so a few words are very common and
// most are rare, as in real text), each article with its own topic words,
// and sentences carrying people, places, organisations, numbers and dates so
// that questions about them have answers in one paragraph.
//
// Output depends only on the seed and the article number: article i of seed
// S is the same whether 10 or 100,000 are generated, and Edit(S, i, round)
// is a changed version of it, for incremental re-indexing.
package synth

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/verbatimbot/verbatim/corpus"
)

// vocabSize is the number of invented content words.
const vocabSize = 40_000

// Generator makes the articles of one seed. It is safe for concurrent use.
type Generator struct {
	seed   uint64
	vocab  []string // content words, most frequent first
	first  []string // given names
	last   []string // family names
	places []string
	orgs   []string
}

// New returns the generator of seed.
func New(seed uint64) *Generator {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	g := &Generator{seed: seed}
	seen := map[string]bool{}
	word := func(minSyl, maxSyl int) string {
		for {
			w := inventWord(r, minSyl+r.IntN(maxSyl-minSyl+1))
			if !seen[w] && !isFunctionWord(w) {
				seen[w] = true
				return w
			}
		}
	}
	// Frequent words are short, rare ones long, as in natural language.
	g.vocab = make([]string, vocabSize)
	for i := range g.vocab {
		switch {
		case i < 300:
			g.vocab[i] = word(1, 2)
		case i < 5000:
			g.vocab[i] = word(2, 3)
		default:
			g.vocab[i] = word(2, 4)
		}
	}
	title := func(n, minSyl, maxSyl int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = capitalize(word(minSyl, maxSyl))
		}
		return out
	}
	g.first = title(400, 2, 3)
	g.last = title(2000, 2, 4)
	g.places = title(600, 2, 4)
	g.orgs = make([]string, 300)
	for i := range g.orgs {
		g.orgs[i] = capitalize(word(2, 3)) + " " + orgKinds[r.IntN(len(orgKinds))]
	}
	return g
}

var (
	onsets   = []string{"b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "ch", "cl", "dr", "fr", "gr", "pl", "pr", "sh", "st", "th", "tr"}
	vowels   = []string{"a", "e", "i", "o", "u", "ai", "ea", "io", "ou"}
	codas    = []string{"", "", "", "n", "r", "s", "l", "t", "m", "nd", "rk", "st"}
	suffix   = []string{"", "", "", "", "s", "ed", "ing", "er", "ion", "al", "ly"}
	orgKinds = []string{"Institute", "Ministry", "Council", "Group", "Bank", "Agency", "University", "Party", "Foundation", "Company"}
	months   = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	units    = []string{"percent", "people", "million dollars", "kilometres", "tonnes", "votes", "days", "billion euros", "homes", "schools"}
	verbs    = []string{"said", "announced", "reported", "warned", "confirmed", "argued", "estimated", "told reporters", "wrote", "noted"}
)

// functionWords glue sentences together; they are the most frequent words of
// any English text and are drawn apart from the content vocabulary.
var functionWords = strings.Fields("the of and to in a is that for it as was with on by at from this be are have has had not but or which an they their its were been more also after over into than other about when who would could")

func isFunctionWord(w string) bool {
	for _, f := range functionWords {
		if f == w {
			return true
		}
	}
	return false
}

func inventWord(r *rand.Rand, syllables int) string {
	var b strings.Builder
	for range syllables {
		b.WriteString(onsets[r.IntN(len(onsets))])
		b.WriteString(vowels[r.IntN(len(vowels))])
	}
	b.WriteString(codas[r.IntN(len(codas))])
	b.WriteString(suffix[r.IntN(len(suffix))])
	return b.String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ID is the article ID of article i: "<thousands>/<i>" (a directory per
// thousand articles), e.g. "012/012345".
func ID(i int) string { return fmt.Sprintf("%03d/%06d", i/1000, i) }

// Path is the corpus-relative file path of article i.
func Path(i int) string { return ID(i) + ".md" }

// Article returns article i, with Source set to Path(i) and Fingerprint
// empty (the index computes one).
func (g *Generator) Article(i int) corpus.Article { return g.article(i, 0) }

// Edit returns a changed version of article i for edit round round ≥ 1: the
// same article with one paragraph rewritten, as a news update would.
func (g *Generator) Edit(i, round int) corpus.Article { return g.article(i, round) }

// Articles returns articles 0..n-1.
func (g *Generator) Articles(n int) []corpus.Article {
	out := make([]corpus.Article, n)
	for i := range out {
		out[i] = g.Article(i)
	}
	return out
}

// topic is what one article is about: the words and names it keeps coming
// back to.
type topic struct {
	words  []string
	people []string
	place  string
	org    string
}

func (g *Generator) article(i, round int) corpus.Article {
	r := rand.New(rand.NewPCG(g.seed, uint64(i)+1))
	zipf := rand.NewZipf(r, 1.07, 2, vocabSize-1)
	t := topic{place: g.places[r.IntN(len(g.places))], org: g.orgs[r.IntN(len(g.orgs))]}
	for range 8 {
		// Topic words come from the long tail: they are what tells one
		// article from another.
		t.words = append(t.words, g.vocab[300+r.IntN(vocabSize-300)])
	}
	for range 3 {
		t.people = append(t.people, g.first[r.IntN(len(g.first))]+" "+g.last[r.IntN(len(g.last))])
	}
	day := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(3650))
	a := corpus.Article{
		ID:        ID(i),
		Title:     g.title(r, t),
		URL:       "https://news.example.org/" + ID(i),
		Author:    g.first[r.IntN(len(g.first))] + " " + g.last[r.IntN(len(g.last))],
		Published: day,
		Source:    Path(i),
	}
	n := 8 + r.IntN(8)
	// ~600 words over n paragraphs.
	words := 540 + r.IntN(120)
	edited := -1
	if round > 0 {
		edited = int(uint64(round) * 0x9e3779b9 % uint64(n))
	}
	for p := range n {
		target := words / n
		text := g.paragraph(r, zipf, t, day, target-15+r.IntN(30))
		if p == edited {
			er := rand.New(rand.NewPCG(g.seed^uint64(round)<<32, uint64(i)+1))
			text = g.paragraph(er, rand.NewZipf(er, 1.07, 2, vocabSize-1), t, day, target-15+er.IntN(30))
		}
		a.Paragraphs = append(a.Paragraphs, text)
	}
	return a
}

func (g *Generator) title(r *rand.Rand, t topic) string {
	switch r.IntN(3) {
	case 0:
		return fmt.Sprintf("%s %s over %s in %s", t.org, g.verbTitle(r), t.words[0], t.place)
	case 1:
		return fmt.Sprintf("%s and the %s of %s", capitalize(t.words[0]), t.words[1], t.place)
	default:
		return fmt.Sprintf("%s: %s %s %s", t.place, t.people[0], g.verbTitle(r), t.words[2])
	}
}

func (g *Generator) verbTitle(r *rand.Rand) string {
	return []string{"clashes", "agrees", "rethinks", "warns", "moves", "bets"}[r.IntN(6)]
}

// paragraph writes sentences until it has about words words.
func (g *Generator) paragraph(r *rand.Rand, zipf *rand.Zipf, t topic, day time.Time, words int) string {
	var b strings.Builder
	count := 0
	for count < words {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		s := g.sentence(r, zipf, t, day)
		count += strings.Count(s, " ") + 1
		b.WriteString(s)
	}
	return b.String()
}

// sentence is either a fact (who said what, when, how much) or filler prose
// in the article's vocabulary.
func (g *Generator) sentence(r *rand.Rand, zipf *rand.Zipf, t topic, day time.Time) string {
	w := func() string {
		if r.IntN(10) == 0 {
			return t.words[r.IntN(len(t.words))]
		}
		return g.vocab[zipf.Uint64()]
	}
	fw := func() string { return functionWords[r.IntN(len(functionWords))] }
	phrase := func(n int) string {
		parts := make([]string, 0, 2*n)
		for j := range n {
			if j > 0 && r.IntN(2) == 0 {
				parts = append(parts, fw())
			}
			parts = append(parts, w())
		}
		return strings.Join(parts, " ")
	}
	person := t.people[r.IntN(len(t.people))]
	when := day.AddDate(0, 0, -r.IntN(60))
	date := months[when.Month()-1] + " " + strconv.Itoa(when.Day()) + ", " + strconv.Itoa(when.Year())
	num := strconv.Itoa(2 + r.IntN(9800))
	unit := units[r.IntN(len(units))]
	switch r.IntN(6) {
	case 0:
		return fmt.Sprintf("%s %s on %s that the %s had %s %s %s.", person, verbs[r.IntN(len(verbs))], date, phrase(2), phrase(2), num, unit)
	case 1:
		return fmt.Sprintf("According to the %s, %s %s in %s rose to %s %s.", t.org, phrase(1), phrase(2), t.place, num, unit)
	case 2:
		return fmt.Sprintf("In %s, %s %s %s the %s.", t.place, phrase(3), fw(), phrase(3), phrase(2))
	default:
		s := phrase(6 + r.IntN(8))
		return capitalize(s) + "."
	}
}

// Markdown renders an article as a Markdown file with YAML front matter
// (title, url, author, date), the format corpus reads back to the same
// article.
func Markdown(a corpus.Article) []byte {
	var b strings.Builder
	b.WriteString("---\n")
	fmt.Fprintf(&b, "title: %q\n", a.Title)
	if a.URL != "" {
		fmt.Fprintf(&b, "url: %q\n", a.URL)
	}
	if a.Author != "" {
		fmt.Fprintf(&b, "author: %q\n", a.Author)
	}
	if !a.Published.IsZero() {
		fmt.Fprintf(&b, "date: %s\n", a.Published.Format("2006-01-02"))
	}
	b.WriteString("---\n")
	for _, p := range a.Paragraphs {
		b.WriteString("\n")
		b.WriteString(p)
		b.WriteString("\n")
	}
	return []byte(b.String())
}

// Question is a question about one paragraph of a generated article.
type Question struct {
	Text      string
	ArticleID string
	Paragraph int // 1-based
}

// Questions returns n questions about articles 0..articles-1, each built
// from a sentence of one paragraph (its rarest words, as a reader who had
// read it would ask), deterministic for the seed.
func (g *Generator) Questions(articles, n int) []Question {
	r := rand.New(rand.NewPCG(g.seed, 0x9e57))
	rank := make(map[string]int, len(g.vocab))
	for i, w := range g.vocab {
		rank[w] = i
	}
	out := make([]Question, 0, n)
	for range n {
		i := r.IntN(max(1, articles))
		a := g.Article(i)
		p := r.IntN(len(a.Paragraphs))
		sentences := strings.SplitAfter(a.Paragraphs[p], ". ")
		s := strings.TrimSuffix(strings.TrimSpace(sentences[r.IntN(len(sentences))]), ".")
		var keep []string
		for _, f := range strings.Fields(s) {
			f = strings.Trim(f, ",.:")
			if rk, ok := rank[f]; (ok && rk >= 300) || (!ok && !isFunctionWord(f)) {
				keep = append(keep, f)
			}
		}
		if len(keep) > 6 {
			keep = keep[:6]
		}
		out = append(out, Question{
			Text:      "What happened with " + strings.Join(keep, " ") + "?",
			ArticleID: a.ID,
			Paragraph: p + 1,
		})
	}
	return out
}

// WriteDir writes articles lo..hi-1 (their Edit of round, if round > 0) as
// Markdown files under dir, creating directories as needed, on up to
// workers goroutines. An original article's file gets its publication date
// as modification time (a corpus of existing articles); an edit keeps the
// time of writing.
func (g *Generator) WriteDir(dir string, lo, hi, round, workers int) error {
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		mu   sync.Mutex
		errs []error
	)
	next.Store(int64(lo))
	for range max(1, workers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= hi {
					return
				}
				a := g.Article(i)
				if round > 0 {
					a = g.Edit(i, round)
				}
				p := filepath.Join(dir, filepath.FromSlash(Path(i)))
				err := os.MkdirAll(filepath.Dir(p), 0o755)
				if err == nil {
					err = os.WriteFile(p, Markdown(a), 0o644)
				}
				if err == nil && round == 0 {
					// An original article is as old as its date; an
					// edit is new.
					err = os.Chtimes(p, a.Published, a.Published)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("write article %d: %w", i, err))
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
