package corpus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// nestedPage is the page of issue 11: depth <div>s around one paragraph.
func nestedPage(depth int) []byte {
	return []byte("<html><head><title>D</title></head><body>" + strings.Repeat("<div>", depth) +
		"<p>The river festival drew forty thousand people to the banks on Saturday.</p>" +
		strings.Repeat("</div>", depth) + "</body></html>")
}

// heavyPage is about size bytes of pages nested 500 deep: within the depth
// limit, yet about a second's work per MiB for html.Parse and readability.
func heavyPage(size int) []byte {
	block := strings.Repeat("<div>", 500) + "<p>Some words of the text.</p>" + strings.Repeat("</div>", 500)
	var b bytes.Buffer
	b.WriteString("<html><head><title>Heavy</title></head><body>")
	for b.Len() < size {
		b.WriteString(block)
	}
	b.WriteString("</body></html>")
	return b.Bytes()
}

func TestParseHTMLNestingLimit(t *testing.T) {
	for _, tc := range []struct {
		depth int
		want  error // nil: the paragraph loads
	}{
		{100, nil},
		{500, nil},
		{600, errTooDeep},
		{10_000, errTooDeep},
		{100_000, errTooDeep}, // the 1.1 MB page that stalled index for minutes
	} {
		t.Run(fmt.Sprint(tc.depth), func(t *testing.T) {
			p := parseHTML(t.Context(), "deep", nestedPage(tc.depth))
			if tc.want == nil {
				if len(p.entries) != 1 || !strings.Contains(strings.Join(p.entries[0].article.Paragraphs, " "), "forty thousand") {
					t.Fatalf("entries %v, skipped %v", p.entries, p.skipped)
				}
				return
			}
			if len(p.entries) != 0 || len(p.skipped) != 1 || !errors.Is(p.skipped[0].Err, tc.want) {
				t.Fatalf("entries %v, skipped %v; want one problem: %v", p.entries, p.skipped, tc.want)
			}
		})
	}
}

// TestLoadDirBoundsEachFile: a page nested too deep and a page that runs
// past the parse timeout are skipped, each with its reason, and the rest
// of the corpus loads. The two bounds are checked in separate loads, so a
// busy machine cannot turn the depth refusal into a timeout: the depth one
// with a timeout no parse here comes near, the timeout with one every
// parse of the heavy page exceeds.
func TestLoadDirBoundsEachFile(t *testing.T) {
	for _, tt := range []struct {
		name    string
		bad     []byte
		timeout time.Duration
		want    error
	}{
		{"too deep", nestedPage(100_000), time.Minute, errTooDeep},
		{"too slow", heavyPage(1 << 20), time.Millisecond, errParseTimeout},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range map[string][]byte{
				"bad.html":  tt.bad,
				"fine.html": nestedPage(20),
				"good.txt":  []byte("Good\n\nThe quick brown fox jumps over the lazy dog.\n"),
			} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			set, err := LoadDir(t.Context(), dir, Options{ParseTimeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range set.Articles {
				ids = append(ids, a.ID)
			}
			// With a 1ms timeout even fine.html may run out of time; the
			// text file never does.
			if tt.timeout >= time.Second && strings.Join(ids, ",") != "fine,good" || !slices.Contains(ids, "good") {
				t.Errorf("loaded %q, want fine and good", ids)
			}
			var bad *Problem
			for i := range set.Skipped {
				if set.Skipped[i].Path == "bad.html" {
					bad = &set.Skipped[i]
				}
			}
			if bad == nil || !errors.Is(bad.Err, tt.want) {
				t.Fatalf("skipped %v, want bad.html with %v", set.Skipped, tt.want)
			}
			if tt.want == errParseTimeout && !strings.Contains(bad.Error(), "1ms") {
				t.Errorf("the timeout's reason does not name the limit: %v", bad)
			}
		})
	}
}

// TestLoadDirCanceledWhileParsing: when the loader's context ends (Ctrl-C)
// while its last page is being parsed, LoadDir reports the cancellation,
// not a set with that page skipped as if it were broken.
func TestLoadDirCanceledWhileParsing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "heavy.html"), heavyPage(2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	time.AfterFunc(20*time.Millisecond, cancel) // the page takes over a second
	set, err := LoadDir(ctx, dir, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, set %+v; want context.Canceled", err, set)
	}
}

func TestParseHTMLStopsWhenCtxEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p := parseHTML(ctx, "page", nestedPage(10))
	if len(p.entries) != 0 || len(p.skipped) != 1 || !errors.Is(p.skipped[0].Err, context.Canceled) {
		t.Fatalf("entries %v, skipped %v; want the parse stopped by the context", p.entries, p.skipped)
	}
}

// TestReadableIsAbandoned: readability cannot be interrupted, so readable
// returns as soon as its context ends and leaves readability to finish.
func TestReadableIsAbandoned(t *testing.T) {
	doc, err := html.Parse(bytes.NewReader(heavyPage(512 << 10)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := readable(ctx, doc, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v; want context.Canceled", err)
	}
}

// BenchmarkParseHTMLNesting measures parseHTML on the page of issue 11 at
// several depths: 500 parses; deeper pages are refused after reading 512
// levels. -short keeps to the smaller depths.
func BenchmarkParseHTMLNesting(b *testing.B) {
	depths := []int{500, 1_000, 10_000, 100_000}
	if testing.Short() {
		depths = depths[:2]
	}
	for _, depth := range depths {
		page := nestedPage(depth)
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				p := parseHTML(b.Context(), "deep", page)
				if len(p.entries)+len(p.skipped) != 1 {
					b.Fatal(p)
				}
			}
		})
	}
}

// ordinaryPage is about size bytes of an ordinary article page: navigation,
// headings, lists and paragraphs with links and bold words.
func ordinaryPage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("<html><head><title>Council meeting</title></head><body><nav><a href=/>Home</a></nav><article>")
	for i := 0; b.Len() < size; i++ {
		if i%20 == 0 {
			fmt.Fprintf(&b, "<h2>Section %d</h2><div class=box><ul><li>one</li><li>two</li></ul></div>", i/20)
		}
		fmt.Fprintf(&b, "<p>Paragraph %d says the council met on a Tuesday to discuss the new cycle lanes, and that <a href=/v>the vote</a> was close, with <b>nine</b> in favour and four against.</p>\n", i)
	}
	b.WriteString("</article><footer>Contact</footer></body></html>")
	return b.Bytes()
}

// BenchmarkParseHTMLSize measures parseHTML on large pages: ordinary ones
// up to the default 16 MiB file limit, and pages nested 500 deep (within the
// depth limit, the slowest kind per byte), for the default parse timeout.
// -short keeps to 1 MiB.
func BenchmarkParseHTMLSize(b *testing.B) {
	cases := []struct {
		name string
		page func(int) []byte
		size int
	}{
		{"ordinary/1MiB", ordinaryPage, 1 << 20},
		{"nested500/1MiB", heavyPage, 1 << 20},
		{"ordinary/16MiB", ordinaryPage, 16 << 20},
		{"nested500/4MiB", heavyPage, 4 << 20},
	}
	if testing.Short() {
		cases = cases[:2]
	}
	for _, c := range cases {
		page := c.page(c.size)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				if p := parseHTML(b.Context(), "page", page); len(p.entries) != 1 {
					b.Fatal(p.skipped)
				}
			}
		})
	}
}
