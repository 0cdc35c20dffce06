package discord

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus"
)

const testToken = "MTIzNDU2Nzg5MDEyMzQ1Njc4.secret-test-token.XYZ"

// Questions the fake answerer treats specially, by prefix.
const (
	qFail    = "fail"    // returns an error (mentioning the token)
	qStream  = "stream"  // streams the answer through OnDelta
	qLong    = "long"    // a very long answer
	qRefuse  = "refuse"  // a refused answer
	qBlock   = "block"   // blocks until release(question) or ctx ends
	qMention = "mention" // a normal answer, echoing nothing special
	qBadURL  = "badurl"  // citations whose article URLs Discord would refuse
	qHostile = "hostile" // text and quotes holding terminal and bidi controls
)

// hostileText holds what a terminal or a chat client would act on.
const hostileText = "Pwned \x1b]0;pwned\x07\x1b[2J text \u202egnp.exe\u202c here."

// badURLs are article URLs Discord refuses in an embed.
var badURLs = []string{"/articles/relative", "example.org/no-scheme", "javascript:alert(1)", "https://example.org/" + strings.Repeat("a", 2100)}

var badLinks = corpus.Article{
	ID:         "bad/links",
	Title:      "Relative link",
	URL:        "/articles/relative",
	Paragraphs: []string{"A paragraph whose article has a relative URL."},
}

// streamWords is what the streaming answer says, word by word.
var streamWords = strings.Fields(strings.Repeat("Streaming answers arrive word by word and are edited into the response. ", 4))

var westphalia = corpus.Article{
	ID:    "history/westphalia",
	Title: "Peace of Westphalia",
	URL:   "https://example.org/westphalia",
	Paragraphs: []string{
		"The Thirty Years' War devastated central Europe.",
		"Negotiations took place in Osnabrück and Münster.",
		"The treaties were signed in 1648, ending the war. Sovereignty became the rule.",
	},
}

var untitledNotes = corpus.Article{
	ID:         "notes/misc",
	Title:      "Field notes",
	Paragraphs: []string{"Nobody @everyone pinged anyone <@&42> here."},
}

type fakeLibrary struct{ arts []corpus.Article }

func (l fakeLibrary) Articles() []corpus.Article { return l.arts }
func (l fakeLibrary) Article(id string) (corpus.Article, bool) {
	for _, a := range l.arts {
		if a.ID == id {
			return a, true
		}
	}
	return corpus.Article{}, false
}

var testLibrary = fakeLibrary{arts: []corpus.Article{westphalia, untitledNotes}}

// goodAnswer is the fake answerer's ordinary answer.
func goodAnswer(q string) bot.Answer {
	return bot.Answer{
		Question: q,
		Text:     "The treaties were signed in 1648 [1]. Notes say nobody was pinged [2].",
		Mode:     "extractive",
		Citations: []bot.Citation{
			{Article: bot.ArticleRef{ID: westphalia.ID, Title: westphalia.Title, URL: westphalia.URL}, Paragraph: 3,
				Quote: "The treaties were signed in 1648, ending the war.", Status: bot.Verified, Marker: 1, Score: 0.9},
			{Article: bot.ArticleRef{ID: untitledNotes.ID, Title: untitledNotes.Title}, Paragraph: 1,
				Quote: "Nobody @everyone pinged anyone <@&42> here.", Status: bot.Verified, Marker: 2, Score: 0.5},
		},
	}
}

// longAnswer is a 15,000-character answer with 30 citations.
func longAnswer(q string) bot.Answer {
	a := goodAnswer(q)
	var b strings.Builder
	for i := 0; b.Len() < 15000; i++ {
		fmt.Fprintf(&b, "Sentence %d of a long answer says something about the treaties. ", i)
		if i%20 == 19 {
			b.WriteString("\n\n")
		}
	}
	b.WriteString("THE END.")
	a.Text = b.String()
	for i := 3; i <= 30; i++ {
		c := a.Citations[0]
		c.Marker = i
		a.Citations = append(a.Citations, c)
	}
	return a
}

type fakeAnswerer struct {
	mu      sync.Mutex
	seen    []bot.Question
	gates   map[string]chan struct{}
	entered chan string // receives each qBlock question as it starts
}

func newFakeAnswerer() *fakeAnswerer {
	return &fakeAnswerer{gates: map[string]chan struct{}{}, entered: make(chan string, 100)}
}

func (f *fakeAnswerer) gate(q string) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.gates[q]
	if !ok {
		g = make(chan struct{})
		f.gates[q] = g
	}
	return g
}

func (f *fakeAnswerer) release(q string) { close(f.gate(q)) }

// questions returns the questions answered so far whose text has prefix p.
func (f *fakeAnswerer) questions(p string) []bot.Question {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []bot.Question
	for _, q := range f.seen {
		if strings.HasPrefix(q.Text, p) {
			out = append(out, q)
		}
	}
	return out
}

func (f *fakeAnswerer) Answer(ctx context.Context, q bot.Question) (bot.Answer, error) {
	f.mu.Lock()
	f.seen = append(f.seen, bot.Question{Text: q.Text, History: append([]bot.Turn(nil), q.History...)})
	f.mu.Unlock()
	if strings.HasPrefix(q.Text, qBlock) {
		f.entered <- q.Text
	}
	switch {
	case strings.HasPrefix(q.Text, qFail):
		return bot.Answer{}, fmt.Errorf("model server said 500 (auth %s): %w", testToken, errors.New("boom"))
	case strings.HasPrefix(q.Text, qStream):
		var text strings.Builder
		for i, w := range streamWords {
			if i > 0 {
				w = " " + w
			}
			text.WriteString(w)
			if q.OnDelta != nil {
				q.OnDelta(w)
			}
			t := time.NewTimer(20 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return bot.Answer{}, ctx.Err()
			case <-t.C:
			}
		}
		a := goodAnswer(q.Text)
		a.Text = text.String() + " [1]"
		a.Mode = "llm"
		return a, nil
	case strings.HasPrefix(q.Text, qLong):
		return longAnswer(q.Text), nil
	case strings.HasPrefix(q.Text, qBadURL):
		a := goodAnswer(q.Text)
		a.Citations = nil
		for i, u := range badURLs {
			a.Citations = append(a.Citations, bot.Citation{Article: bot.ArticleRef{ID: badLinks.ID, Title: fmt.Sprintf("Bad %d", i), URL: u},
				Paragraph: 1, Quote: badLinks.Paragraphs[0], Status: bot.Verified, Marker: i + 1})
		}
		return a, nil
	case strings.HasPrefix(q.Text, qHostile):
		a := goodAnswer(q.Text)
		a.Text = hostileText + " [1]"
		a.Citations[0].Quote = "The treaties \x1b[31mwere\x1b[0m signed"
		return a, nil
	case strings.HasPrefix(q.Text, qRefuse):
		return bot.Answer{Question: q.Text, Text: "The articles do not say.", Refused: true, Mode: "extractive"}, nil
	case strings.HasPrefix(q.Text, qBlock):
		select {
		case <-f.gate(q.Text):
		case <-ctx.Done():
			return bot.Answer{}, ctx.Err()
		}
		return goodAnswer(q.Text), nil
	}
	return goodAnswer(q.Text), nil
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
