package discord

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus"
)

func TestSplitText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"fits", "hello world", 20, []string{"hello world"}},
		{"at a space", "hello world again", 12, []string{"hello world", "again"}},
		{"prefers a newline", "one two\nthree four", 15, []string{"one two", "three four"}},
		{"hard cut without spaces", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"counts UTF-16 units", "😀😀😀", 4, []string{"😀😀", "😀"}},
		{"never cuts a rune", "éééé", 3, []string{"ééé", "é"}},
		{"empty", "", 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitText(tt.in, tt.max)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("splitText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			for _, p := range got {
				if textLen(p) > tt.max {
					t.Errorf("piece %q longer than %d", p, tt.max)
				}
			}
		})
	}
}

func citation(n int, quote string) bot.Citation {
	return bot.Citation{Article: bot.ArticleRef{ID: "a", Title: "Title (2024)", URL: "https://example.org/a_(b)"}, Paragraph: n, Quote: quote, Marker: n}
}

// TestRenderAnswerLimits renders answers of every size and checks each page
// against Discord's limits and that no text is lost.
func TestRenderAnswerLimits(t *testing.T) {
	many := func(n int, quote string) []bot.Citation {
		var cs []bot.Citation
		for i := 1; i <= n; i++ {
			cs = append(cs, citation(i, quote))
		}
		return cs
	}
	tests := []struct {
		name      string
		q         string
		a         bot.Answer
		wantPages int
	}{
		{"short", "q?", bot.Answer{Text: "Yes [1].", Mode: "llm", Citations: many(1, "yes")}, 1},
		{"long title", strings.Repeat("why ", 200), bot.Answer{Text: "Because."}, 1},
		// 25,000 chars: 7 full-ish descriptions, one per message (two of
		// 4,096 exceed 6,000), the short last one sharing the 6th message.
		{"one huge paragraph", "q?", bot.Answer{Text: strings.Repeat("word ", 5000)}, 6},
		// 10,000 UTF-16 units: 4,096 | 4,096 + 1,808.
		{"emoji answer", "q?", bot.Answer{Text: strings.Repeat("😀", 5000)}, 2},
		{"hundred citations", "q?", bot.Answer{Text: "Many.", Citations: many(100, strings.Repeat("quoted text ", 20))}, 8},
		{"huge quote", "q?", bot.Answer{Text: "One.", Citations: many(1, strings.Repeat("x", 9000))}, 2},
		{"refused, empty", "q?", bot.Answer{Refused: true}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := renderAnswer(tt.q, tt.a)
			if len(pages) != tt.wantPages {
				t.Errorf("pages = %d, want %d", len(pages), tt.wantPages)
			}
			var all strings.Builder
			for i, p := range pages {
				total := 0
				if len(p.Embeds) == 0 || len(p.Embeds) > maxEmbeds {
					t.Errorf("page %d: %d embeds", i, len(p.Embeds))
				}
				for _, e := range p.Embeds {
					if textLen(e.Description) > maxDescription || textLen(e.Title) > maxTitle {
						t.Errorf("page %d: embed over its limits (%d, %d)", i, textLen(e.Title), textLen(e.Description))
					}
					total += embedLen(e)
					all.WriteString(e.Description)
				}
				if total > maxEmbedsChars {
					t.Errorf("page %d: embeds total %d", i, total)
				}
			}
			squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
			if !strings.Contains(squash(all.String()), squash(tt.a.Text)) {
				t.Errorf("answer text lost")
			}
			for _, c := range tt.a.Citations {
				if !strings.Contains(squash(all.String()), squash(escape(c.Quote))) {
					t.Errorf("citation %d lost", c.Marker)
					break
				}
			}
			if tt.a.Refused && !strings.Contains(all.String(), refusedLead) {
				t.Errorf("refusal not marked")
			}
		})
	}
}

func TestCitationLine(t *testing.T) {
	tests := []struct {
		name string
		c    bot.Citation
		want string
	}{
		{"with link", citation(2, "a *bold* claim"), "**[2]** “a \\*bold\\* claim” — [Title (2024)](https://example.org/a_%28b%29), ¶2"},
		{"without link", bot.Citation{Article: bot.ArticleRef{Title: "Notes"}, Paragraph: 7, Quote: "q", Marker: 1}, "**[1]** “q” — Notes, ¶7"},
		{"no marker, no title", bot.Citation{Paragraph: 1, Quote: "<@&1> ping"}, "“\\<@&1\\> ping” — untitled, ¶1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := citationLine(tt.c); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPackEmbeds(t *testing.T) {
	var es []*discordgo.MessageEmbed
	for range 25 {
		es = append(es, &discordgo.MessageEmbed{Description: "x"})
	}
	pages := packEmbeds(es)
	if len(pages) != 3 || len(pages[0].Embeds) != 10 || len(pages[2].Embeds) != 5 {
		t.Errorf("25 small embeds packed as %d pages", len(pages))
	}
	big := &discordgo.MessageEmbed{Description: strings.Repeat("y", 4000)}
	if pages := packEmbeds([]*discordgo.MessageEmbed{big, big, big}); len(pages) != 3 {
		t.Errorf("three 4,000-char embeds packed into %d pages, want 3", len(pages))
	}
}

func TestRenderPreviewClips(t *testing.T) {
	p := renderPreview("q", strings.Repeat("z", 10000))
	if n := textLen(p.Embeds[0].Description); n > maxDescription {
		t.Errorf("preview description %d chars", n)
	}
}

// TestRenderSourcesPages: 300 articles list on pages of 15, each within
// Discord's limits, with working ◀ / ▶ custom IDs.
func TestRenderSourcesPages(t *testing.T) {
	lib := fakeLibrary{}
	for i := range 300 {
		a := westphalia
		a.ID = fmt.Sprintf("a%d", i)
		a.Title = fmt.Sprintf("Long title %d ", i) + strings.Repeat("x", 40)
		lib.arts = append(lib.arts, a)
	}
	seen := 0
	for n := 0; n < 20; n++ {
		p := renderSources(lib, "", n)
		if len(p.Embeds) != 1 || textLen(p.Embeds[0].Description) > maxDescription {
			t.Fatalf("page %d: %+v", n, p)
		}
		seen += strings.Count(p.Embeds[0].Description, "• ")
		row := p.Components[0].(discordgo.ActionsRow)
		prev, next := row.Components[0].(discordgo.Button), row.Components[1].(discordgo.Button)
		if prev.Disabled != (n == 0) || next.Disabled != (n == 19) {
			t.Errorf("page %d: prev disabled %v, next disabled %v", n, prev.Disabled, next.Disabled)
		}
		_, data, _ := parseCustomID(next.CustomID)
		if got, _, ok := parseSourcesCustomID(data); !ok || (n < 19 && got != n+1) {
			t.Errorf("page %d: next button %q", n, next.CustomID)
		}
	}
	if seen != 300 {
		t.Errorf("listed %d of 300 articles over the pages", seen)
	}
	if got := renderSources(lib, "nothing like it", 0); !strings.Contains(got.Content, "No article matches") {
		t.Errorf("no-match reply = %+v", got)
	}
	if p := renderSources(lib, "title 7", 0); p.Components != nil || p.Embeds[0].Title != "Sources: 11 of 300 articles" {
		t.Errorf("filtered page = %+v", p.Embeds[0])
	}
	long := strings.Repeat("é", maxFilterChars)
	if id := sourcesCustomID(3, long, "next"); textLen(id) > maxCustomID {
		t.Errorf("custom ID of a %d-character filter has %d characters", maxFilterChars, textLen(id))
	} else if _, data, _ := parseCustomID(id); func() bool { _, f, _ := parseSourcesCustomID(data); return f != long }() {
		t.Errorf("custom ID %q lost the filter", id)
	}
}

// TestRenderParagraphsClipsHuge: a paragraph of a megabyte is shown in
// part, ending with an ellipsis, within a few embeds.
func TestRenderParagraphsClipsHuge(t *testing.T) {
	huge := strings.Repeat("word after word ", 1<<16)
	lib := fakeLibrary{arts: []corpus.Article{{ID: "huge", Title: "Huge", Paragraphs: []string{huge}}}}
	pages := renderParagraphs(lib, []paragraphRef{{key: articleKey("huge"), paragraphs: []int{1}}})
	n, total := 0, 0
	for _, p := range pages {
		for _, e := range p.Embeds {
			n++
			total += len([]rune(e.Description))
		}
	}
	if n > 3 || total > maxParagraphShown+10 || !strings.HasSuffix(strings.TrimSpace(pages[len(pages)-1].Embeds[len(pages[len(pages)-1].Embeds)-1].Description), "…") {
		t.Errorf("%d embeds, %d runes; want at most 3 embeds ending with …", n, total)
	}
}
