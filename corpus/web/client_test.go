package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckAddr(t *testing.T) {
	refused := []string{
		"127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", // loopback, also IPv4-mapped
		"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", // private
		"fc00::1", "fd00:ec2::254", // unique-local, EC2's IPv6 metadata
		"169.254.169.254", "fe80::1", // link-local, the metadata service
		"100.64.0.1", "100.100.100.200", // CGNAT, Alibaba's metadata
		"0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255", "240.0.0.1",
		"64:ff9b::7f00:1",   // NAT64 of 127.0.0.1
		"2002:a9fe:a9fe::1", // 6to4 of 169.254.169.254
		"198.18.0.1", "192.0.2.1",
	}
	for _, s := range refused {
		if err := checkAddr(netip.MustParseAddr(s)); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s: allowed (err %v)", s, err)
		}
	}
	allowed := []string{"93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "172.32.0.1", "100.128.0.1", "64:ff9b::5db8:d70e"}
	for _, s := range allowed {
		if err := checkAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s: refused: %v", s, err)
		}
	}
}

// TestFetchRefusesLoopback is the safety rule of issue 13: a URL that
// resolves to 127.0.0.1 — by address or by name — is refused unless
// AllowPrivate, and the server never sees a request.
func TestFetchRefusesLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<p>secret</p>")
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	c := NewClient(Options{})
	for _, u := range []string{srv.URL, fmt.Sprintf("http://localhost:%d/", port), fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", port)} {
		_, err := c.fetch(t.Context(), u, pageKind, validators{})
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s: err = %v, want ErrForbiddenAddress", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server was reached %d times", n)
	}
	allowed := NewClient(Options{AllowPrivate: true})
	if _, err := allowed.fetch(t.Context(), srv.URL, pageKind, validators{}); err != nil {
		t.Errorf("with AllowPrivate: %v", err)
	}
}

// TestFetchChecksEveryConnection: a redirect to an address the policy
// refuses fails, though the first server was allowed — the check is on
// each connection's address, not on the first URL.
func TestFetchChecksEveryConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2 here: %v", err)
	}
	var inner atomic.Int32
	second := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.Add(1)
		fmt.Fprint(w, "metadata")
	}))
	second.Listener = ln
	second.Start()
	defer second.Close()
	first := httptest.NewServer(http.RedirectHandler(second.URL+"/latest/meta-data", http.StatusFound))
	defer first.Close()
	c := NewClient(Options{check: func(ip netip.Addr) error {
		if ip == netip.MustParseAddr("127.0.0.2") {
			return fmt.Errorf("%w: test policy", ErrForbiddenAddress)
		}
		return nil
	}})
	_, err = c.fetch(t.Context(), first.URL, pageKind, validators{})
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress on the redirect", err)
	}
	if inner.Load() != 0 {
		t.Error("the redirect target was reached")
	}
}

func TestFetchLimits(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<p>"+strings.Repeat("word ", 1000)+"</p>") // no Content-Length: chunked
	})
	mux.HandleFunc("/pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		fmt.Fprint(w, "%PDF-1.7")
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) })
	mux.HandleFunc("/ua", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, r.UserAgent())
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := NewClient(Options{AllowPrivate: true, MaxBytes: 1000, MaxRedirects: 3, Timeout: 300 * time.Millisecond})
	cases := []struct {
		path      string
		want      error
		temporary bool
	}{
		{"/big", ErrTooLarge, false},
		{"/pdf", ErrContentType, false},
		{"/loop", ErrTooManyRedirects, false},
		{"/file", ErrBadURL, false},
		{"/slow", nil, true},
		{"/gone", nil, false},
		{"/busy", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			_, err := c.fetch(t.Context(), srv.URL+tc.path, pageKind, validators{})
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if Temporary(err) != tc.temporary {
				t.Errorf("Temporary(%v) = %t", err, !tc.temporary)
			}
		})
	}
	r, err := c.fetch(t.Context(), srv.URL+"/ua", pageKind, validators{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(r.Body), "verbatim") {
		t.Errorf("User-Agent %q does not name verbatim", r.Body)
	}
	for _, bad := range []string{"ftp://example.com/", "javascript:alert(1)", "http://", "/relative"} {
		if _, err := c.fetch(t.Context(), bad, pageKind, validators{}); !errors.Is(err, ErrBadURL) {
			t.Errorf("%q: err = %v, want ErrBadURL", bad, err)
		}
	}
}

func TestFetchDecodesDeclaredCharset(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.Write([]byte("<p>caf\xe9</p>"))
	}))
	defer srv.Close()
	r, err := NewClient(Options{AllowPrivate: true}).fetch(t.Context(), srv.URL, pageKind, validators{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Body), "café") {
		t.Errorf("body %q", r.Body)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
