package bot

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/retrieval"
)

// ParagraphSource gives the verifier the text of the articles it checks
// quotes against. The retrieval index implements it.
type ParagraphSource interface {
	Article(id string) (corpus.Article, bool)
}

// VerifyOptions tune the verifier. The zero value means the defaults.
type VerifyOptions struct {
	// MinQuoteRunes: quotes shorter than this are too short to check and are
	// dropped. Default 12.
	MinQuoteRunes int
	// MinCoverage: a near miss is repaired when its longest common block with
	// a paragraph covers at least this fraction of the (normalised) quote.
	// Default 0.85.
	MinCoverage float64
}

func (o VerifyOptions) withDefaults() VerifyOptions {
	if o.MinQuoteRunes <= 0 {
		o.MinQuoteRunes = 12
	}
	if o.MinCoverage <= 0 || o.MinCoverage > 1 {
		o.MinCoverage = 0.85
	}
	return o
}

// Verdict is what the verifier made of an answerer's claims.
type Verdict struct {
	// Citations are the claims that survived, in claim order, numbered
	// 1..n in Marker; identical citations are merged.
	Citations []Citation
	Stats     Stats
	// Markers maps each claim marker (Claim.Marker > 0) to its citation's
	// new marker, or to 0 when the claim was dropped. Use RenumberMarkers
	// to rewrite the draft text with it.
	Markers map[int]int
}

// Verify checks each claim against the source and keeps only quotes that
// occur in a paragraph. It is the only place Citations are built.
//
// A claim is checked against its cited paragraph first, then against the
// other paragraphs of the retrieved hits (the label may be wrong): an exact
// match, then a match after normalisation (NFKC, white space removed,
// curly/straight quote marks, dashes and ellipses unified, case folded),
// then a near miss whose longest common block covers MinCoverage of the
// quote, repaired to the matching span of the paragraph. Whatever matched,
// Citation.Quote is cut from the paragraph itself, never copied from the
// claim. Exact and normalised matches in the cited paragraph are Verified;
// anything else that survives is Repaired. Claims too short to check or
// without a match are dropped.
func Verify(src ParagraphSource, claims []Claim, hits []retrieval.Hit, opts VerifyOptions) Verdict {
	opts = opts.withDefaults()
	v := verifier{src: src, opts: opts, articles: map[string]*corpus.Article{}, norms: map[paraRef]normText{}}
	for _, h := range hits {
		for p := h.First; p <= h.Last; p++ {
			v.retrieved = append(v.retrieved, paraRef{h.ArticleID, p})
		}
	}
	out := Verdict{Markers: map[int]int{}}
	index := map[citeKey]int{} // citation key -> marker
	for _, c := range claims {
		cite, status, ok := v.check(c)
		if !ok {
			out.Stats.Dropped++
			if c.Marker > 0 {
				if _, seen := out.Markers[c.Marker]; !seen {
					out.Markers[c.Marker] = 0
				}
			}
			continue
		}
		if status == Repaired {
			out.Stats.Repaired++
		}
		key := citeKey{cite.Article.ID, cite.Paragraph, cite.Quote}
		marker, dup := index[key]
		if !dup {
			marker = len(out.Citations) + 1
			index[key] = marker
			cite.Marker = marker
			cite.Status = status
			cite.Score = c.Score
			out.Citations = append(out.Citations, cite)
		}
		if c.Marker > 0 && out.Markers[c.Marker] == 0 {
			out.Markers[c.Marker] = marker
		}
	}
	return out
}

type paraRef struct {
	article   string
	paragraph int
}

type citeKey struct {
	article   string
	paragraph int
	quote     string
}

type verifier struct {
	src       ParagraphSource
	opts      VerifyOptions
	retrieved []paraRef
	articles  map[string]*corpus.Article
	norms     map[paraRef]normText
}

func (v *verifier) article(id string) *corpus.Article {
	if a, ok := v.articles[id]; ok {
		return a
	}
	var ap *corpus.Article
	if a, ok := v.src.Article(id); ok {
		ap = &a
	}
	v.articles[id] = ap
	return ap
}

func (v *verifier) paragraph(r paraRef) (string, bool) {
	a := v.article(r.article)
	if a == nil {
		return "", false
	}
	return a.Paragraph(r.paragraph)
}

func (v *verifier) normalized(r paraRef, text string) normText {
	if n, ok := v.norms[r]; ok {
		return n
	}
	n := normalize(text)
	v.norms[r] = n
	return n
}

// check finds the claim's quote in a paragraph and builds its citation
// (without Marker, Status and Score, which Verify sets).
func (v *verifier) check(c Claim) (Citation, Verification, bool) {
	quote := cleanQuote(c.Quote)
	if utf8.RuneCountInString(quote) < v.opts.MinQuoteRunes {
		return Citation{}, "", false
	}
	nq := normalize(quote).s
	if nq == "" {
		return Citation{}, "", false
	}
	cited := paraRef{c.ArticleID, c.Paragraph}
	candidates := []paraRef{cited}
	for _, r := range v.retrieved {
		if r != cited && !slices.Contains(candidates, r) {
			candidates = append(candidates, r)
		}
	}
	// Exact or normalised match, cited paragraph first.
	for _, r := range candidates {
		text, ok := v.paragraph(r)
		if !ok {
			continue
		}
		status := Verified
		if r != cited {
			status = Repaired
		}
		if strings.Contains(text, quote) {
			return v.cite(r, quote), status, true
		}
		np := v.normalized(r, text)
		if i := strings.Index(np.s, nq); i >= 0 {
			if q, ok := v.cut(text, np, i, i+len(nq), false); ok {
				return v.cite(r, q), status, true
			}
		}
	}
	// Near miss: the longest common block, best coverage wins, cited
	// paragraph on ties.
	minBlock := int(float64(len(nq))*v.opts.MinCoverage + 0.999)
	best, bestLen := paraRef{}, 0
	var bestQ string
	for _, r := range candidates {
		text, ok := v.paragraph(r)
		if !ok {
			continue
		}
		np := v.normalized(r, text)
		start, end, n := nearMiss(nq, np.s, minBlock)
		if n <= bestLen {
			continue
		}
		if q, ok := v.cut(text, np, start, end, true); ok {
			best, bestLen, bestQ = r, n, q
		}
	}
	if bestLen == 0 {
		return Citation{}, "", false
	}
	return v.cite(best, bestQ), Repaired, true
}

func (v *verifier) cite(r paraRef, quote string) Citation {
	a := v.article(r.article)
	return Citation{
		Article:   ArticleRef{ID: a.ID, Title: a.Title, URL: a.URL},
		Paragraph: r.paragraph,
		Quote:     quote,
	}
}

// cut maps the normalised range [start, end) back to the exact source text,
// widened to whole white-space-delimited words when snap is set, and trimmed.
func (v *verifier) cut(text string, np normText, start, end int, snap bool) (string, bool) {
	if start < 0 || end > len(np.s) || start >= end {
		return "", false
	}
	s, e := int(np.from[start]), int(np.to[end-1])
	if snap {
		for s > 0 {
			r, w := utf8.DecodeLastRuneInString(text[:s])
			if unicode.IsSpace(r) {
				break
			}
			s -= w
		}
		for e < len(text) {
			r, w := utf8.DecodeRuneInString(text[e:])
			if unicode.IsSpace(r) {
				break
			}
			e += w
		}
	}
	q := strings.TrimSpace(text[s:e])
	if utf8.RuneCountInString(q) < v.opts.MinQuoteRunes {
		return "", false
	}
	return q, true
}

// nearMiss finds the longest common block of q and p, if it is at least
// minBlock bytes long, and returns the span of p that matches q around it:
// the block, extended over the parts of q it does not cover as far as they
// still resemble p (edit distance at most half their length). Any block
// that long contains q[len(q)-minBlock:minBlock], so it is found by
// searching p for that middle and extending each occurrence.
func nearMiss(q, p string, minBlock int) (start, end, length int) {
	lo, hi := len(q)-minBlock, minBlock
	if minBlock <= 0 || lo >= hi || len(p) < minBlock {
		return 0, 0, 0
	}
	mid := q[lo:hi]
	var qStart, qEnd int
	for off := 0; off <= len(p)-len(mid); {
		i := strings.Index(p[off:], mid)
		if i < 0 {
			break
		}
		j := off + i
		l := 0
		for lo-l > 0 && j-l > 0 && q[lo-l-1] == p[j-l-1] {
			l++
		}
		r := 0
		for hi+r < len(q) && j+len(mid)+r < len(p) && q[hi+r] == p[j+len(mid)+r] {
			r++
		}
		if n := len(mid) + l + r; n >= minBlock && n > length {
			qStart, qEnd = lo-l, hi+r
			start, end, length = j-l, j+len(mid)+r, n
		}
		off = j + 1
	}
	if length == 0 {
		return 0, 0, 0
	}
	if tail := q[qEnd:]; tail != "" {
		end += alignPrefix(tail, p[end:min(len(p), end+2*len(tail)+2)])
	}
	if head := q[:qStart]; head != "" {
		start -= alignPrefix(reverse(head), reverse(p[max(0, start-2*len(head)-2):start]))
	}
	return start, end, length
}

// alignPrefix returns the length of the prefix of p closest (in edit
// distance) to t, or 0 when even that one differs in more than half of t.
func alignPrefix(t, p string) int {
	prev := make([]int, len(p)+1)
	cur := make([]int, len(p)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(t); i++ {
		cur[0] = i
		for j := 1; j <= len(p); j++ {
			cost := 1
			if t[i-1] == p[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j-1]+cost, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	best := 0
	for j := range prev {
		if prev[j] < prev[best] {
			best = j
		}
	}
	if 2*prev[best] > len(t) {
		return 0
	}
	return best
}

func reverse(s string) string {
	b := []byte(s)
	slices.Reverse(b)
	return string(b)
}

// cleanQuote trims white space, surrounding quote marks and ellipses that
// answerers add around a quote.
func cleanQuote(q string) string {
	for {
		t := strings.TrimSpace(q)
		t = strings.TrimPrefix(t, "...")
		t = strings.TrimSuffix(t, "...")
		t = strings.TrimFunc(t, func(r rune) bool {
			return r == '…' || isQuoteMark(r) || unicode.IsSpace(r)
		})
		if t == q {
			return q
		}
		q = t
	}
}

func isQuoteMark(r rune) bool {
	switch r {
	case '"', '\'', '“', '”', '„', '‟', '‘', '’', '‚', '‛', '«', '»', '‹', '›', '`', '´', '′', '″', '＂', '＇':
		return true
	}
	return false
}

// normText is a normalised text with, for each of its bytes, the source
// byte range it came from.
type normText struct {
	s        string
	from, to []int32
}

// normalize applies NFKC, removes white space and invisible format
// characters, maps quote marks to ' or ", dashes to '-', and lower-cases,
// remembering where each output byte came from. NFKC already turns '…'
// into "..." and odd spaces into ' '.
func normalize(src string) normText {
	var b strings.Builder
	n := normText{from: make([]int32, 0, len(src)), to: make([]int32, 0, len(src))}
	var buf [utf8.UTFMax]byte
	for pos := 0; pos < len(src); {
		w := norm.NFKC.NextBoundaryInString(src[pos:], true)
		if w <= 0 {
			w = len(src) - pos
		}
		seg := src[pos : pos+w]
		if !norm.NFKC.IsNormalString(seg) {
			seg = norm.NFKC.String(seg)
		}
		for _, r := range seg {
			r = foldRune(r)
			if r < 0 {
				continue
			}
			k := utf8.EncodeRune(buf[:], r)
			b.Write(buf[:k])
			for range k {
				n.from = append(n.from, int32(pos))
				n.to = append(n.to, int32(pos+w))
			}
		}
		pos += w
	}
	n.s = b.String()
	return n
}

// foldRune maps r to its comparison form, or -1 to drop it.
func foldRune(r rune) rune {
	switch {
	case unicode.IsSpace(r), unicode.Is(unicode.Cf, r):
		return -1
	}
	switch r {
	case '“', '”', '„', '‟', '«', '»', '″', '〃':
		return '"'
	case '‘', '’', '‚', '‛', '‹', '›', '`', '´', '′':
		return '\''
	case '‐', '‑', '‒', '–', '—', '―', '−', '⁃', '﹘', '﹣', '－':
		return '-'
	}
	return unicode.ToLower(r)
}

var markerRE = regexp.MustCompile(`\s?\[(\d+(?:\s*,\s*\d+)*)\]`)

// RenumberMarkers rewrites the [n] markers of a draft text to the
// citations' numbering (Verdict.Markers): markers of dropped claims are
// removed, "[1, 3]" lists are rewritten element by element, and brackets
// that are not claim markers are left alone.
func RenumberMarkers(text string, markers map[int]int) string {
	return markerRE.ReplaceAllStringFunc(text, func(m string) string {
		lead := ""
		if m[0] != '[' {
			_, w := utf8.DecodeRuneInString(m)
			lead, m = m[:w], m[w:]
		}
		var kept []string
		for _, f := range strings.Split(m[1:len(m)-1], ",") {
			old, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return lead + m
			}
			nw, isMarker := markers[old]
			if !isMarker {
				return lead + m // not a claim marker: leave the whole bracket
			}
			if s := strconv.Itoa(nw); nw > 0 && !slices.Contains(kept, s) {
				kept = append(kept, s)
			}
		}
		if len(kept) == 0 {
			return ""
		}
		return lead + "[" + strings.Join(kept, ", ") + "]"
	})
}
