package web

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/url"
	"path"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/verbatimbot/verbatim/corpus"
)

// readPage turns a fetched page into an article through corpus.Parse — the
// loader's own HTML (readability) and plain-text parsers — with its
// canonical URL: the page's <link rel="canonical"> (or og:url) when it is
// an http(s) URL on the same site as the page, else the URL the page came
// from after redirects. parseTimeout bounds the parse as the loader's
// ParseTimeout does.
func readPage(ctx context.Context, r response, parseTimeout time.Duration) (corpus.Article, error) {
	name := slug(r.URL) + ".html"
	if r.MediaType == "text/plain" {
		name = slug(r.URL) + ".txt"
	}
	if parseTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, parseTimeout)
		defer cancel()
	}
	a, err := corpus.Parse(ctx, name, r.Body)
	if err != nil {
		return corpus.Article{}, err
	}
	a.URL = canonical(r.URL, a.URL)
	return a, nil
}

// canonical is the URL an article is known by: claimed (from the page)
// when it is an absolute http(s) URL, or one relative to the page, on the
// page's own site (the same registrable domain, so an AMP or mobile host
// may name the main one); else the page's own URL. Fragments are dropped.
func canonical(page *url.URL, claimed string) string {
	own := *page
	own.Fragment, own.RawFragment = "", ""
	if claimed == "" {
		return own.String()
	}
	c, err := page.Parse(claimed)
	if err != nil || checkURL(c) != nil || site(c.Hostname()) != site(page.Hostname()) {
		return own.String()
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// site is the registrable domain of host (example.co.uk for
// news.example.co.uk), or host itself when it has none (an IP address,
// localhost).
func site(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// maxSlug bounds the readable part of an article's file name.
const maxSlug = 60

// slug is a file name stem for the page at u: the last segment of its
// path, lower-cased, with runs of other characters than letters and
// digits turned into '-' ("index" for a site's home page).
func slug(u *url.URL) string {
	last := path.Base(strings.TrimSuffix(u.Path, "/"))
	last = strings.TrimSuffix(last, path.Ext(last))
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(last) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !ok {
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteRune(r)
		if b.Len() >= maxSlug {
			break
		}
	}
	if b.Len() == 0 {
		return "index"
	}
	return b.String()
}

// hostDir is the directory of a site's articles: the host name, lower-case,
// with a port kept as "_port".
func hostDir(u *url.URL) string {
	h := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	h = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, h)
	h = strings.Trim(h, ".")
	if h == "" {
		h = "_"
	}
	if p := u.Port(); p != "" {
		h += "_" + p
	}
	return h
}

// articlePath is where the article known by canonical URL c is written,
// relative to the corpus: web/<host>/<slug>-<8 hex digits of the URL's
// SHA-256>.md, so one URL always has one file and two URLs never share one.
func articlePath(c string) string {
	u, err := url.Parse(c)
	if err != nil {
		u = &url.URL{Host: "_", Path: c}
	}
	sum := sha256.Sum256([]byte(c))
	return path.Join("web", hostDir(u), slug(u)+"-"+hex.EncodeToString(sum[:4])+".md")
}

// contentHash identifies an article's text, whatever its title or URL:
// the SHA-256 of its paragraphs, each length-prefixed.
func contentHash(paragraphs []string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range paragraphs {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
