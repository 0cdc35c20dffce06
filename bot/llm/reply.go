package llm

// llmreply.go reads a chat model's reply, structured (JSON) or plain text,
// complete or cut short, into a Draft; and extracts the answer text from a
// reply still streaming in.

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/prompts"
	"github.com/verbatimbot/verbatim/retrieval"
)

// reply is a model's answer as prompts/answer.schema.json describes it.
type reply struct {
	Answer    string          `json:"answer"`
	Citations []replyCitation `json:"citations"`
	Refused   bool            `json:"refused"`
}

type replyCitation struct {
	Marker flexInt `json:"marker"`
	Label  string  `json:"label"`
	Quote  string  `json:"quote"`
}

// flexInt accepts 2, "2" and "[2]" (models are not always strict).
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"[] `)
	n, err := strconv.Atoi(s)
	if err != nil {
		*f = 0
		return nil
	}
	*f = flexInt(n)
	return nil
}

// parseReply reads a reply in either format. It never fails: what cannot be
// read is left out.
func parseReply(content string) reply {
	s := strings.TrimSpace(stripThink(content))
	if i := jsonStart(s); i >= 0 {
		if r, ok := parseJSONReply(s[i:]); ok {
			return r
		}
	}
	return parseTextReply(stripFence(s))
}

// jsonStart finds the first '{' that opens an object with a key, or -1.
func jsonStart(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		rest := strings.TrimLeft(s[i+1:], " \t\r\n")
		if strings.HasPrefix(rest, `"`) {
			return i
		}
	}
	return -1
}

// parseJSONReply decodes the first JSON object of s; if it is cut short or
// broken, it retries on ever shorter prefixes closed by closeJSON, so a reply
// truncated mid-citation still yields its answer and complete citations.
func parseJSONReply(s string) (reply, bool) {
	var r reply
	if json.NewDecoder(strings.NewReader(s)).Decode(&r) == nil {
		return r, r.Answer != "" || len(r.Citations) > 0 || r.Refused
	}
	cuts := append(commaCuts(s), len(s))
	tries := 0
	for i := len(cuts) - 1; i >= 0 && tries < 256; i-- {
		tries++
		r = reply{}
		closed, cutString := closeJSON(s[:cuts[i]])
		if json.Unmarshal([]byte(closed), &r) != nil || (r.Answer == "" && len(r.Citations) == 0) {
			continue
		}
		if cutString && len(r.Citations) > 0 {
			// The reply stopped inside the last citation: a cut quote could
			// end mid-word, so leave that citation out.
			r.Citations = r.Citations[:len(r.Citations)-1]
		}
		return r, true
	}
	return reply{}, false
}

// commaCuts lists the offsets of commas outside strings in the first JSON
// value of s.
func commaCuts(s string) []int {
	var cuts []int
	inStr, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && c == ',':
			cuts = append(cuts, i)
		}
	}
	return cuts
}

// closeJSON completes a JSON prefix: it ends an open string (dropping a
// partial escape), drops a dangling ',', fills a dangling ':' with null and
// closes open arrays and objects. openString reports a string was cut.
func closeJSON(s string) (closed string, openString bool) {
	var stack []byte
	inStr, esc := false, false
	safe := 0 // end of the last complete character inside a string
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
			if c == 'u' {
				if i+4 >= len(s) {
					s = s[:safe]
					i = len(s)
					continue
				}
				i += 4
			}
			safe = i + 1
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
			safe = i + 1
		case inStr:
			safe = i + 1
		case c == '{' || c == '[':
			stack = append(stack, c)
		case c == '}' || c == ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	var b strings.Builder
	if inStr {
		if esc {
			s = s[:safe]
		}
		b.WriteString(s)
		b.WriteByte('"')
	} else {
		t := strings.TrimRight(s, " \t\r\n")
		t = strings.TrimSuffix(t, ",")
		if strings.HasSuffix(t, ":") {
			t += "null"
		}
		b.WriteString(t)
	}
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i] == '{' {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
	}
	return b.String(), inStr
}

// parseTextReply reads the plain-text format of prompts/system.tmpl: the
// answer, then citation lines `[n] (label) "quote"`, optionally under a
// heading; a reply starting with prompts.Refusal is a refusal.
func parseTextReply(s string) reply {
	var r reply
	var answer []string
	inCitations := false
	for _, line := range strings.Split(s, "\n") {
		if isCitationsHeading(line) {
			inCitations = true
			continue
		}
		if c, ok := parseCitationLine(line); ok {
			inCitations = true
			r.Citations = append(r.Citations, c)
			continue
		}
		if !inCitations {
			answer = append(answer, line)
		}
	}
	r.Answer = answerLabelRE.ReplaceAllString(strings.TrimSpace(strings.Join(answer, "\n")), "")
	if rest, ok := strings.CutPrefix(r.Answer, prompts.Refusal); ok {
		r.Refused = true
		r.Answer = strings.TrimSpace(strings.TrimLeft(rest, ":.-—– "))
	}
	return r
}

// answerLabelRE matches a leading "Answer:" or "**Answer:**".
var answerLabelRE = regexp.MustCompile(`^(?i)(?:\*\*|__)?answer\s*:(?:\*\*|__)?\s*`)

var headings = []string{"citations", "sources", "quotes", "references"}

// isCitationsHeading matches "CITATIONS:", "**Sources**", "## Quotes" and the like.
func isCitationsHeading(line string) bool {
	s := strings.ToLower(strings.Trim(line, " \t\r*#_:"))
	for _, h := range headings {
		if s == h {
			return true
		}
	}
	return false
}

var citationLineRE = regexp.MustCompile(`^\s*(?:[-*•]\s*)?\*{0,2}\[(\d+)\]\*{0,2}\s*[:.\-–—]?\s*(.*)$`)

// parseCitationLine reads `[1] (article ¶3) "quote"`; the label may also be
// bracketed or bare before the quote.
func parseCitationLine(line string) (replyCitation, bool) {
	m := citationLineRE.FindStringSubmatch(line)
	if m == nil {
		return replyCitation{}, false
	}
	n, _ := strconv.Atoi(m[1])
	rest := strings.TrimSpace(m[2])
	var label string
	switch {
	case strings.HasPrefix(rest, "("):
		if i := strings.Index(rest, ")"); i > 0 {
			label, rest = rest[1:i], rest[i+1:]
		}
	case strings.HasPrefix(rest, "["):
		if i := strings.Index(rest, "]"); i > 0 {
			label, rest = rest[1:i], rest[i+1:]
		}
	default:
		if i := strings.IndexAny(rest, "\"“«"); i > 0 {
			label, rest = rest[:i], rest[i:]
		}
	}
	label = strings.TrimRight(strings.TrimSpace(label), ":-–—,")
	quote := trimQuotes(strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(rest), ":-–—")))
	if quote == "" {
		return replyCitation{}, false
	}
	return replyCitation{Marker: flexInt(n), Label: strings.TrimSpace(label), Quote: quote}, true
}

// trimQuotes removes one pair of surrounding quotation marks.
func trimQuotes(s string) string {
	first, n := utf8.DecodeRuneInString(s)
	last, m := utf8.DecodeLastRuneInString(s)
	if len(s) >= n+m && strings.ContainsRune(`"“«„'‘`, first) && strings.ContainsRune(`"”»'’“`, last) {
		return strings.TrimSpace(s[n : len(s)-m])
	}
	return s
}

// stripThink removes the <think>…</think> reasoning some local models emit.
func stripThink(s string) string {
	for {
		i := strings.Index(s, "<think>")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "</think>")
		if j < 0 {
			return s[:i] // still thinking: nothing after it is an answer
		}
		s = s[:i] + s[i+j+len("</think>"):]
	}
}

// stripFence removes a surrounding ``` code fence.
func stripFence(s string) string {
	if !strings.HasPrefix(s, "```") {
		return s
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	} else {
		return ""
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
}

// paragraphIndex resolves the reply's labels to the paragraphs shown.
type paragraphIndex struct {
	score    map[paraKey]float64
	articles map[string]string // lower-cased ID or title → ID
	only     string            // the article ID when a single article was shown
}

type paraKey struct {
	article string
	n       int
}

func newParagraphIndex(hits []retrieval.Hit, shown []prompts.Passage) paragraphIndex {
	idx := paragraphIndex{score: make(map[paraKey]float64), articles: make(map[string]string)}
	best := make(map[string]float64)
	for _, h := range hits {
		if s, ok := best[h.ArticleID]; !ok || h.Score > s {
			best[h.ArticleID] = h.Score
		}
		for n := h.First; n <= h.Last; n++ {
			if s, ok := idx.score[paraKey{h.ArticleID, n}]; !ok || h.Score > s {
				idx.score[paraKey{h.ArticleID, n}] = h.Score
			}
		}
	}
	ids := make(map[string]bool)
	for _, p := range shown {
		ids[p.ArticleID] = true
		idx.articles[strings.ToLower(p.ArticleID)] = p.ArticleID
		if t := strings.ToLower(strings.TrimSpace(p.Title)); t != "" {
			if _, taken := idx.articles[t]; !taken {
				idx.articles[t] = p.ArticleID
			}
		}
	}
	if len(ids) == 1 {
		for id := range ids {
			idx.only = id
		}
	}
	return idx
}

var labelRE = regexp.MustCompile(`^(.*?)\s*(?:¶|#p|§|\bparagraph\b|\bpara\.?|\bp\.)\s*(\d+)$`)

// resolve maps a label ("iran-s400 ¶3", "[iran-s400 ¶3]", "iran-s400#p3")
// to an article and paragraph; an unknown article is kept as written for the
// verifier, which searches the other retrieved paragraphs.
func (idx paragraphIndex) resolve(label string) (string, int) {
	label = strings.TrimSpace(strings.Trim(strings.TrimSpace(label), "[]()"))
	m := labelRE.FindStringSubmatch(label)
	if m == nil {
		return idx.article(label), 0
	}
	n, _ := strconv.Atoi(m[2])
	return idx.article(strings.TrimRight(strings.TrimSpace(m[1]), ",:")), n
}

func (idx paragraphIndex) article(s string) string {
	if id, ok := idx.articles[strings.ToLower(strings.TrimSpace(s))]; ok {
		return id
	}
	if s == "" {
		return idx.only
	}
	return s
}

var markerGroupRE = regexp.MustCompile(`\[(\d+(?:\s*,\s*\d+)+)\]`)

// draft turns the reply into a Draft: labels resolved, markers numbered,
// grouped markers "[1, 2]" split into "[1][2]".
func (r reply) draft(idx paragraphIndex) bot.Draft {
	text := markerGroupRE.ReplaceAllStringFunc(r.Answer, func(g string) string {
		var b strings.Builder
		for _, n := range strings.Split(strings.Trim(g, "[]"), ",") {
			b.WriteString("[" + strings.TrimSpace(n) + "]")
		}
		return b.String()
	})
	d := bot.Draft{Text: strings.TrimSpace(text), Refused: r.Refused}
	if d.Refused {
		return d
	}
	for i, c := range r.Citations {
		quote := strings.TrimSpace(c.Quote)
		if quote == "" {
			continue
		}
		article, n := idx.resolve(c.Label)
		marker := int(c.Marker)
		if marker <= 0 {
			marker = i + 1
		}
		d.Claims = append(d.Claims, bot.Claim{
			Marker:    marker,
			ArticleID: article,
			Paragraph: n,
			Quote:     quote,
			Score:     idx.score[paraKey{article, n}],
		})
	}
	if len(d.Claims) == 0 && refusalWording(d.Text) {
		d.Refused = true
	}
	return d
}

var refusalRE = regexp.MustCompile(`(?i)\b(?:articles?|passages?|sources?)\b.*\b(?:do(?:es)?\s+not|don't|doesn't|never)\s+(?:say|mention|state|contain|provide|answer|include|address)`)

// refusalWording reports an answer without citations that says the
// articles do not say, written in prose instead of with the refusal flag.
func refusalWording(s string) bool { return refusalRE.MatchString(s) }

// streamFilter forwards the answer text of a reply as it streams in: the
// "answer" string of a JSON reply, or the text before the citations of a
// plain-text reply, never the refusal word, reasoning or citation lines.
type streamFilter struct {
	buf        strings.Builder
	sent       string
	structured bool
	emit       func(string)
}

// newStreamFilter forwards to emit the answer of a reply in the format that
// was asked for: structured (JSON) or plain text.
func newStreamFilter(emit func(string), structured bool) *streamFilter {
	return &streamFilter{emit: emit, structured: structured}
}

// reset forgets the reply so far, for a retry of a request of which
// nothing was shown.
func (f *streamFilter) reset() {
	f.buf.Reset()
	f.sent = ""
}

// shown reports whether any answer text was forwarded.
func (f *streamFilter) shown() bool { return f.sent != "" }

func (f *streamFilter) write(delta string) {
	f.buf.WriteString(delta)
	ans := streamedAnswer(f.buf.String(), f.structured)
	if len(ans) > len(f.sent) && strings.HasPrefix(ans, f.sent) {
		f.emit(ans[len(f.sent):])
		f.sent = ans
	}
}

// streamedAnswer is the answer text that a reply prefix already fixes: it
// only grows as the prefix does. A structured reply previews only the
// "answer" field of its JSON object (wherever the object starts); a plain
// reply previews its text before the citations, or the "answer" field when
// it turns out to be JSON after all.
func streamedAnswer(s string, structured bool) string {
	t := strings.TrimLeft(s, " \t\r\n")
	if strings.HasPrefix("<think>", t) {
		return ""
	}
	if strings.HasPrefix(t, "<think>") {
		i := strings.Index(t, "</think>")
		if i < 0 {
			return ""
		}
		t = strings.TrimLeft(t[i+len("</think>"):], " \t\r\n")
	}
	if structured {
		if i := jsonStart(t); i >= 0 {
			return partialJSONString(t[i:], "answer")
		}
		return ""
	}
	if t == "" {
		return ""
	}
	if t[0] == '{' || t[0] == '`' {
		return partialJSONString(t, "answer")
	}
	if strings.HasPrefix(prompts.Refusal, t) {
		return ""
	}
	if rest, ok := strings.CutPrefix(t, prompts.Refusal); ok {
		t = strings.TrimLeft(rest, ":.-—– \t\r\n")
	}
	if !strings.Contains(t, "\n") {
		lower := strings.ToLower(t)
		for _, label := range []string{"**answer:**", "__answer:__", "answer:"} {
			if strings.HasPrefix(label, lower) {
				return "" // may be a label the final parse drops
			}
		}
	}
	var b strings.Builder
	for t != "" {
		line, rest, complete := strings.Cut(t, "\n")
		if isCitationsHeading(line) {
			break
		}
		if complete {
			if _, ok := parseCitationLine(line); ok {
				break
			}
			b.WriteString(line + "\n")
			t = rest
			continue
		}
		if !mayStartCitations(line) {
			b.WriteString(line)
		}
		break
	}
	return answerLabelRE.ReplaceAllString(strings.TrimRight(b.String(), " \t\r\n"), "")
}

// mayStartCitations reports whether an unfinished line could still become a
// citations heading or a citation line.
func mayStartCitations(line string) bool {
	s := strings.ToLower(strings.TrimLeft(line, " \t*#_-•"))
	if strings.HasPrefix(s, "[") {
		return true
	}
	for _, h := range headings {
		if strings.HasPrefix(h+":", s) || strings.HasPrefix(s, h) {
			return true
		}
	}
	return s == "" && line != ""
}

// partialJSONString decodes as much of the string value of key as s holds,
// stopping before an escape that is not complete yet.
func partialJSONString(s, key string) string {
	i := strings.Index(s, `"`+key+`"`)
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(s[i+len(key)+2:], " \t\r\n")
	if !strings.HasPrefix(rest, ":") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if !strings.HasPrefix(rest, `"`) {
		return ""
	}
	rest = rest[1:]
	var b strings.Builder
	for j := 0; j < len(rest); {
		c := rest[j]
		if c == '"' {
			break
		}
		if c != '\\' {
			b.WriteByte(c)
			j++
			continue
		}
		// An escape: decode it with encoding/json once it is complete.
		end := j + 2
		if j+1 < len(rest) && rest[j+1] == 'u' {
			end = j + 6
			if end <= len(rest) && isHighSurrogate(rest[j+2:end]) {
				end += 6 // wait for the low surrogate
			}
		}
		if end > len(rest) {
			break
		}
		var dec string
		if json.Unmarshal([]byte(`"`+rest[j:end]+`"`), &dec) != nil {
			break
		}
		b.WriteString(dec)
		j = end
	}
	// Hold back a split multi-byte character.
	out := b.String()
	for len(out) > 0 {
		r, size := utf8.DecodeLastRuneInString(out)
		if r != utf8.RuneError || size != 1 {
			break
		}
		out = out[:len(out)-1]
	}
	return out
}

func isHighSurrogate(hex string) bool {
	v, err := strconv.ParseUint(hex, 16, 16)
	return err == nil && v >= 0xD800 && v < 0xDC00
}
