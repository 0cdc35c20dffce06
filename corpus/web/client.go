// Package web brings articles from the web into a corpus directory: pages
// by URL (Library.Add) and the items of RSS and Atom feeds (Feeds), each
// fetched, read through the corpus package's own parsers (readability for
// HTML) and written as a Markdown article with front matter, then indexed
// through the Indexer it is given.
//
// Fetching a URL someone typed is a request made by the server on their
// behalf, so the Client is defensive: every connection it makes — the
// first and each redirect's — is checked on the address the name resolved
// to, just before connecting, and refused when it is on the machine
// itself, a private or shared (CGNAT) network, link-local (cloud metadata
// services) or another special-purpose range, unless Options.AllowPrivate;
// no proxy from the environment is used; the whole fetch has a deadline,
// the body a size limit and redirects a count limit; only HTML and plain
// text are read as pages (RSS, Atom and JSON Feed as feeds); and a page is
// parsed, never run: scripts are dropped with the rest of the markup.
//
// What was added, by whom, and the feeds with their conditional-request
// state live in a state directory (beside the index), never in the
// corpus. The package knows nothing about indexes or Discord.
package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/encoding/htmlindex"
)

// Options configure a Client. Zero fields take the defaults below.
type Options struct {
	// UserAgent names verbatim to the sites it fetches from.
	UserAgent string
	// Timeout bounds one fetch: connecting, redirects, headers and body.
	Timeout time.Duration
	// MaxBytes is the largest body read; a larger one is refused.
	MaxBytes int64
	// MaxRedirects is how many redirects one fetch may follow.
	MaxRedirects int
	// AllowPrivate lets fetches connect to loopback, private, link-local
	// and other special-purpose addresses (tests; a corpus served on the
	// local network). Off, they are refused with ErrForbiddenAddress.
	AllowPrivate bool
	// Logger receives a line per fetch; nil discards them.
	Logger *slog.Logger

	// check, when set, replaces the address policy (tests).
	check func(netip.Addr) error
}

// Defaults for zero Options fields.
const (
	DefaultUserAgent    = "verbatim (+https://github.com/verbatimbot/verbatim)"
	DefaultTimeout      = 20 * time.Second
	DefaultMaxBytes     = 5 << 20
	DefaultMaxRedirects = 5
	maxURLLength        = 2048
)

// Reasons a fetch fails, wrapped with detail; ErrForbiddenAddress is the
// other one.
var (
	ErrBadURL           = errors.New("not an http or https URL")
	ErrTooLarge         = errors.New("too large")
	ErrContentType      = errors.New("not a kind of document verbatim reads")
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrUnreadable: the page was fetched but holds no article text the
	// corpus parsers could find.
	ErrUnreadable = errors.New("no article text found on the page")
	// ErrNotAFeed: the document is not RSS, Atom or JSON Feed.
	ErrNotAFeed = errors.New("not an RSS, Atom or JSON feed")
)

// StatusError is a fetch the server answered with an HTTP error status.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered HTTP %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// Temporary reports whether a failed fetch may work later: a timeout, a
// broken connection, HTTP 429 or a 5xx. Refusals (a forbidden address, a
// bad URL, a 4xx, a document too large or of the wrong type) are not.
func Temporary(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code == http.StatusTooManyRequests || se.Code == http.StatusRequestTimeout || se.Code >= 500
	}
	if errors.Is(err, ErrForbiddenAddress) || errors.Is(err, ErrBadURL) || errors.Is(err, ErrTooLarge) ||
		errors.Is(err, ErrContentType) || errors.Is(err, ErrTooManyRedirects) || errors.Is(err, ErrUnreadable) ||
		errors.Is(err, ErrNotAFeed) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Client fetches pages and feeds safely (see the package comment).
type Client struct {
	opts Options
	http *http.Client
	log  *slog.Logger
}

// NewClient returns a Client; it does no I/O.
func NewClient(opts Options) *Client {
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxRedirects < 0 {
		opts.MaxRedirects = 0
	} else if opts.MaxRedirects == 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	check := opts.check
	if check == nil {
		check = checkAddr
		if opts.AllowPrivate {
			check = func(netip.Addr) error { return nil }
		}
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: dialControl(check)}
	tr := &http.Transport{
		Proxy:                  nil, // a proxy would be the address checked, not the site
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  opts.Timeout,
		MaxIdleConns:           16,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	c := &Client{opts: opts, log: opts.Logger}
	c.http = &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > opts.MaxRedirects {
				return fmt.Errorf("%w (more than %d)", ErrTooManyRedirects, opts.MaxRedirects)
			}
			if err := checkURL(req.URL); err != nil {
				return fmt.Errorf("redirect to %s: %w", req.URL.Redacted(), err)
			}
			return nil
		},
	}
	return c
}

// kind is what a fetch is for: the document types it accepts.
type kind int

const (
	pageKind kind = iota
	feedKind
)

// accepts reports whether a document of media type mt is read as k.
func (k kind) accepts(mt string) bool {
	switch mt {
	case "text/html", "application/xhtml+xml", "text/plain":
		return true
	}
	return k == feedKind && (strings.HasSuffix(mt, "xml") || strings.HasSuffix(mt, "json"))
}

func (k kind) acceptHeader() string {
	if k == feedKind {
		return "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
	}
	return "text/html, application/xhtml+xml, text/plain;q=0.9"
}

func (k kind) String() string {
	if k == feedKind {
		return "feed (RSS, Atom or JSON Feed)"
	}
	return "page (HTML or plain text)"
}

// validators are a conditional request's: what the last answer carried.
type validators struct {
	ETag, LastModified string
}

// response is a fetched document.
type response struct {
	// URL is where the document came from, after redirects.
	URL *url.URL
	// NotModified: the server answered 304 to a conditional request; there
	// is no body.
	NotModified bool
	// MediaType is the Content-Type without parameters, lower-cased.
	MediaType string
	// Body is the document, converted to UTF-8 when the Content-Type named
	// another charset.
	Body       []byte
	validators validators
}

// ParseURL checks that raw is an absolute http(s) URL of reasonable length
// and returns it without its fragment.
func ParseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > maxURLLength {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrBadURL, maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

func checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q", ErrBadURL, u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%w: no host", ErrBadURL)
	}
	return nil
}

// fetch gets raw as a document of kind k, conditionally when v is set.
func (c *Client) fetch(ctx context.Context, raw string, k kind, v validators) (response, error) {
	u, err := ParseURL(raw)
	if err != nil {
		return response{}, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return response{}, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	req.Header.Set("Accept", k.acceptHeader())
	if v.ETag != "" {
		req.Header.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		req.Header.Set("If-Modified-Since", v.LastModified)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is said by the caller
		}
		return response{}, fmt.Errorf("fetch %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	out := response{URL: resp.Request.URL, validators: validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}}
	if resp.StatusCode == http.StatusNotModified && (v.ETag != "" || v.LastModified != "") {
		out.NotModified = true
		c.log.Debug("fetched", "url", u.Redacted(), "status", resp.StatusCode, "took", time.Since(start))
		return out, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return response{}, &StatusError{URL: out.URL.Redacted(), Code: resp.StatusCode}
	}
	if resp.ContentLength > c.opts.MaxBytes {
		return response{}, fmt.Errorf("fetch %s: %w: %d bytes, limit %d", out.URL.Redacted(), ErrTooLarge, resp.ContentLength, c.opts.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBytes+1))
	if err != nil {
		return response{}, fmt.Errorf("fetch %s: read: %w", out.URL.Redacted(), err)
	}
	if int64(len(body)) > c.opts.MaxBytes {
		return response{}, fmt.Errorf("fetch %s: %w: over %d bytes", out.URL.Redacted(), ErrTooLarge, c.opts.MaxBytes)
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = http.DetectContentType(body)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return response{}, fmt.Errorf("fetch %s: %w: Content-Type %q", out.URL.Redacted(), ErrContentType, ct)
	}
	if !k.accepts(mt) {
		return response{}, fmt.Errorf("fetch %s: %w: %s, want a %s", out.URL.Redacted(), ErrContentType, mt, k)
	}
	out.MediaType = mt
	if out.Body, err = toUTF8(body, params["charset"]); err != nil {
		return response{}, fmt.Errorf("fetch %s: %w", out.URL.Redacted(), err)
	}
	c.log.Debug("fetched", "url", u.Redacted(), "final_url", out.URL.Redacted(), "status", resp.StatusCode,
		"type", mt, "bytes", len(body), "took", time.Since(start))
	return out, nil
}

// toUTF8 decodes body from the charset a Content-Type named. Without one,
// or with UTF-8, it is left for the parsers (which read a <meta charset>).
func toUTF8(body []byte, charset string) ([]byte, error) {
	if charset == "" {
		return body, nil
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return body, nil // unknown: let the parser look at the bytes
	}
	if name, _ := htmlindex.Name(enc); name == "utf-8" {
		return body, nil
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", charset, err)
	}
	return out, nil
}
