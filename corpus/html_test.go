package corpus

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// articleBody is long enough for readability to take it as the main text.
const articleBody = `<p>The river festival returned this weekend after a three-year pause, drawing crowds to both banks for the boat parade and the evening fireworks over the water.</p>
<p>Organisers said more than forty thousand people attended on Saturday alone, a figure they described as the best turnout since the festival began in 1987.</p>
<p>Local businesses reported brisk trade, and the council said it would consider making the event a yearly fixture again from next summer onwards.</p>`

func TestParseHTMLFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/corpus/page.html")
	if err != nil {
		t.Fatal(err)
	}
	p := parseHTML(t.Context(), "page", data)
	checkArticles(t, p)
	if len(p.entries) != 1 || len(p.skipped) != 0 || len(p.warnings) != 0 {
		t.Fatalf("got %d articles, problems %v, warnings %v", len(p.entries), p.skipped, p.warnings)
	}
	a := p.entries[0].article
	assertArticle(t, a, wantPage)
	for _, junk := range []string{"Home", "Subscribe", "Most read", "Celebrity chef", "All rights reserved", "analytics"} {
		for _, para := range a.Paragraphs {
			if strings.Contains(para, junk) {
				t.Errorf("page clutter %q in paragraph %q", junk, para)
			}
		}
	}
}

// wantPage is testdata/corpus/page.html as an article.
var wantPage = Article{
	ID:        "page",
	Title:     "City council approves new cycle lanes",
	URL:       "https://daily.example.com/2021/03/cycle-lanes",
	Author:    "Priya Natarajan",
	Published: time.Date(2021, 3, 14, 9, 30, 0, 0, time.UTC),
	Paragraphs: []string{
		// readability keeps the byline element when the page's metadata
		// already names the author.
		"By Priya Natarajan",
		"The city council voted 9 to 4 on Thursday to build twelve kilometres of protected cycle lanes along the river, the largest expansion of the network in a decade.",
		"Work on the first section, between the old bridge and the railway station, is due to start in May and should take about six months, according to the transport department.",
		"Objections from shop owners",
		"Several shop owners on Mill Street said the loss of parking spaces would hurt trade. “Our customers come by car,” said Tom Baker, who runs a hardware shop there. The council promised a review after a year.",
		"We expect cycling trips to double by 2025.",
		"Twelve kilometres of protected lanes",
		"Thirty new bicycle parking spots",
		"The project will cost £4.5 million, most of it paid by a national grant for active travel that the city won last year after a competitive bid.",
	},
}

func TestParseHTML(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Article // ID is always "web/festival"
		wantErr error
	}{
		{
			name: "og:url when no canonical link, title from <title>",
			in: `<html><head><title>Festival returns</title><meta property="og:url" content="https://og.example/f">
				</head><body><article>` + articleBody + `</article></body></html>`,
			want: Article{Title: "Festival returns", URL: "https://og.example/f", Paragraphs: paragraphsOf(articleBody)},
		},
		{
			name: "blocks in reading order: headings, nested lists, quotes, cells, pre",
			in: `<html><head><title>T</title><link rel="Canonical Alternate" href="https://c.example/t"></head><body><article>` +
				articleBody + `<h3>Figures</h3><ul><li>Boats: <b>120</b><ul><li>sail</li></ul></li></ul>
				<blockquote>Best year yet,<br>said the mayor.</blockquote>
				<table><tr><td>Saturday</td><td>40,000</td></tr></table><pre>line one
				line two</pre></article></body></html>`,
			want: Article{Title: "T", URL: "https://c.example/t", Paragraphs: append(paragraphsOf(articleBody),
				"Figures", "Boats: 120", "sail", "Best year yet, said the mayor.", "Saturday", "40,000", "line one line two")},
		},
		{
			name: "declared latin-1 is decoded",
			in:   "<html><head><meta charset=\"iso-8859-1\"><title>Caf\xe9</title></head><body><article>" + articleBody + "<p>Caf\xe9 cr\xe8me.</p></article></body></html>",
			want: Article{Title: "Café", Paragraphs: append(paragraphsOf(articleBody), "Café crème.")},
		},
		{
			name: "date from JSON-LD",
			in: `<html><head><title>T</title><script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",
				"headline":"Festival","datePublished":"2022-07-09T18:00:00+00:00","author":{"@type":"Person","name":"Lee Park"}}</script>
				</head><body><article>` + articleBody + `</article></body></html>`,
			want: Article{Title: "Festival", Author: "Lee Park", Published: time.Date(2022, 7, 9, 18, 0, 0, 0, time.UTC),
				Paragraphs: paragraphsOf(articleBody)},
		},
		{name: "undeclared latin-1", in: "<html><body><p>caf\xe9</p></body></html>", wantErr: errNotUTF8},
		{name: "binary", in: "<html>\x00\x00</html>", wantErr: errBinary},
		{name: "no text", in: "<html><head><title>Empty</title></head><body><img src=x></body></html>", wantErr: errEmpty},
		{name: "empty file", in: "", wantErr: errEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parseHTML(t.Context(), "web/festival", []byte(tt.in))
			checkArticles(t, p)
			if tt.wantErr != nil {
				if len(p.entries) != 0 || len(p.skipped) != 1 || !errors.Is(p.skipped[0].Err, tt.wantErr) {
					t.Fatalf("got %d articles, problems %v; want only %v", len(p.entries), p.skipped, tt.wantErr)
				}
				return
			}
			if len(p.entries) != 1 || len(p.skipped) != 0 {
				t.Fatalf("got %d articles, problems %v; want one article", len(p.entries), p.skipped)
			}
			tt.want.ID = "web/festival"
			assertArticle(t, p.entries[0].article, tt.want)
		})
	}
}

// paragraphsOf returns the folded text of each <p> in s.
func paragraphsOf(s string) []string {
	var out []string
	for _, part := range strings.Split(s, "<p>")[1:] {
		out = append(out, foldSpace(strings.TrimSuffix(strings.TrimSpace(part), "</p>")))
	}
	return slices.Clip(out)
}

func FuzzParseHTML(f *testing.F) {
	page, err := os.ReadFile("testdata/corpus/page.html")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(page))
	f.Add("<html><head><title>T</title></head><body><article>" + articleBody + "</article></body></html>")
	f.Add("<p>short</p>")
	f.Add("<meta charset=latin1><p>caf\xe9 " + strings.Repeat("word ", 120) + "</p>")
	f.Add("<table><tr><td>a<td>b</table><pre>\t x \n y</pre><ul><li>1<li>2</ul>")
	f.Add("<div>bare <span>text</span><br><br>more&nbsp;&nbsp;text</div><svg><text>no</text></svg>")
	f.Fuzz(func(t *testing.T, in string) {
		p := parseHTML(t.Context(), "fuzz", []byte(in))
		checkArticles(t, p)
		if len(p.entries)+len(p.skipped) != 1 {
			t.Fatalf("want one article or one problem, got %d and %d", len(p.entries), len(p.skipped))
		}
	})
}

func BenchmarkParseHTML(b *testing.B) {
	page, err := os.ReadFile("testdata/corpus/page.html")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		if p := parseHTML(b.Context(), "page", page); len(p.entries) != 1 {
			b.Fatal(p.skipped)
		}
	}
}
