package corpus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"codeberg.org/readeck/go-readability/v2"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/encoding/htmlindex"
)

// parseHTML reads a web page. The main text is found with readability (as
// Firefox's reader view does), dropping navigation, footers and other
// clutter; its block elements (p, li, h1–h6, blockquote, pre, td, …) are the
// paragraphs, in reading order. The title and byline come from readability,
// the URL from <link rel="canonical"> or else <meta property="og:url">, and
// the date from the page's published-time metadata.
//
// Pages must be UTF-8 unless a <meta charset> declares another encoding.
//
// The work is bounded. A page whose elements nest deeper than 512 (the
// limit of golang.org/x/net/html's parser) is refused with errTooDeep:
// deep nesting is what makes both html.Parse and readability take time
// quadratic in the page's size. And when ctx ends, html.Parse stops (it
// reads through a ctxReader) or readability, which cannot be interrupted,
// is abandoned.
func parseHTML(ctx context.Context, id string, data []byte) parsed {
	if bytes.IndexByte(data, 0) >= 0 {
		return failed(errBinary)
	}
	data, err := decodeHTML(data)
	if err != nil {
		return failed(err)
	}
	doc, err := html.Parse(ctxReader{ctx, bytes.NewReader(data)})
	if err != nil {
		return failed(htmlParseError(ctx, err))
	}
	canonical := canonicalURL(doc)
	var base *url.URL
	if u, err := url.Parse(canonical); err == nil && u.IsAbs() {
		base = u
	}
	page, err := readable(ctx, doc, base)
	if err != nil {
		return failed(err)
	}
	if page.Node == nil {
		return failed(fmt.Errorf("%w: no readable content", errEmpty))
	}
	a := Article{
		ID:         id,
		Title:      foldSpace(page.Title()),
		URL:        canonical,
		Author:     foldSpace(page.Byline()),
		Paragraphs: htmlBlocks(page.Node),
	}
	if a.Title == "" {
		a.Title = humanize(path.Base(id))
	}
	if len(a.Paragraphs) == 0 {
		return failed(fmt.Errorf("%w: no readable content", errEmpty))
	}
	var out parsed
	if t, err := page.PublishedTime(); err == nil {
		a.Published = t
	} else if !errors.Is(err, readability.ErrTimestampMissing) {
		out.warnings = append(out.warnings, Problem{Err: err})
	}
	out.entries = []entry{{article: a}}
	return out
}

// errTooDeep is the reason for a page nested deeper than html.Parse allows.
var errTooDeep = errors.New("HTML elements nested more than 512 deep")

// htmlParseError says why html.Parse failed. Reading from memory fails only
// when ctx ends, so any other failure is the parser's own refusal, which
// golang.org/x/net/html makes (as of v0.45.0) only for a stack of open
// elements deeper than 512, in these words.
func htmlParseError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if strings.Contains(err.Error(), "open stack of elements exceeds 512") {
		return errTooDeep
	}
	return fmt.Errorf("parse html: %w", err)
}

// readable finds the main text of doc with readability, giving up when ctx
// ends. Readability cannot be interrupted, so it is then left to finish in
// the background over doc, which nothing else holds; the depth limit of
// html.Parse keeps that short (readability's cost grows with the size of
// the page times its depth).
func readable(ctx context.Context, doc *html.Node, base *url.URL) (readability.Article, error) {
	type result struct {
		page readability.Article
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.err = fmt.Errorf("readability failed: %v", p)
			}
			done <- r
		}()
		parser := readability.NewParser()
		r.page, r.err = parser.ParseAndMutate(doc, base)
		if r.err != nil {
			r.err = fmt.Errorf("readability: %w", r.err)
		}
	}()
	select {
	case r := <-done:
		return r.page, r.err
	case <-ctx.Done():
		return readability.Article{}, ctx.Err()
	}
}

// metaCharset finds a charset declared near the start of a page.
var metaCharset = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_:.-]+)`)

// decodeHTML returns data as UTF-8: as is if it already is, else decoded
// from the encoding a <meta> in the first 1024 bytes declares.
func decodeHTML(data []byte) ([]byte, error) {
	if utf8.Valid(data) {
		return bytes.TrimPrefix(data, []byte("\uFEFF")), nil
	}
	head := data[:min(len(data), 1024)]
	if m := metaCharset.FindSubmatch(head); m != nil {
		enc, err := htmlindex.Get(string(m[1]))
		if err == nil {
			if name, _ := htmlindex.Name(enc); name != "utf-8" {
				out, err := enc.NewDecoder().Bytes(data)
				if err != nil {
					return nil, fmt.Errorf("decode %s: %w", m[1], err)
				}
				if utf8.Valid(out) {
					return out, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%w (first bad byte at offset %d) and no other charset declared", errNotUTF8, invalidAt(data))
}

// canonicalURL returns the href of <link rel="canonical">, or else the
// content of <meta property="og:url">, or "".
func canonicalURL(doc *html.Node) string {
	var canonical, og string
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Link:
				if canonical == "" && hasToken(attr(n, "rel"), "canonical") {
					canonical = strings.TrimSpace(attr(n, "href"))
				}
			case atom.Meta:
				if og == "" && strings.EqualFold(strings.TrimSpace(attr(n, "property")), "og:url") {
					og = strings.TrimSpace(attr(n, "content"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	visit(doc)
	if canonical != "" {
		return canonical
	}
	return og
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

// hasToken reports whether the space-separated list has tok, ignoring case.
func hasToken(list, tok string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
}

// blockElements start and end a paragraph. Text between them, however
// deeply nested in inline elements, belongs to one paragraph.
var blockElements = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Caption: true, atom.Center: true, atom.Dd: true, atom.Details: true,
	atom.Dialog: true, atom.Dir: true, atom.Div: true, atom.Dl: true, atom.Dt: true,
	atom.Fieldset: true, atom.Figcaption: true, atom.Figure: true, atom.Footer: true,
	atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Header: true, atom.Hgroup: true, atom.Hr: true,
	atom.Legend: true, atom.Li: true, atom.Main: true, atom.Menu: true, atom.Nav: true,
	atom.Ol: true, atom.P: true, atom.Pre: true, atom.Section: true, atom.Summary: true,
	atom.Table: true, atom.Tbody: true, atom.Td: true, atom.Tfoot: true, atom.Th: true,
	atom.Thead: true, atom.Tr: true, atom.Ul: true, atom.Body: true, atom.Html: true,
}

// skippedElements hold no reading text.
var skippedElements = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Head: true, atom.Svg: true, atom.Math: true, atom.Iframe: true,
	atom.Button: true, atom.Select: true, atom.Textarea: true,
}

// htmlBlocks returns the paragraphs under n: the text of each block element
// in document order, whitespace-folded, empty ones dropped. A <br> counts as
// white space.
func htmlBlocks(n *html.Node) []string {
	var out []string
	var buf strings.Builder
	flush := func() {
		if p := foldSpace(buf.String()); p != "" {
			out = append(out, p)
		}
		buf.Reset()
	}
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			buf.WriteString(n.Data)
			return
		case html.ElementNode:
			if skippedElements[n.DataAtom] {
				return
			}
			if n.DataAtom == atom.Br {
				buf.WriteByte(' ')
				return
			}
		case html.DocumentNode:
		default:
			return // comments, doctype
		}
		block := n.Type == html.ElementNode && blockElements[n.DataAtom]
		if block {
			flush()
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
		if block {
			flush()
		}
	}
	visit(n)
	flush()
	return out
}
