package discord

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
)

// slowStreamer streams words answers at a steady pace, as a model would.
type slowStreamer struct {
	words int
	every time.Duration
}

func (s slowStreamer) Answer(ctx context.Context, q bot.Question) (bot.Answer, error) {
	var text strings.Builder
	t := time.NewTicker(s.every)
	defer t.Stop()
	for i := range s.words {
		select {
		case <-ctx.Done():
			return bot.Answer{}, ctx.Err()
		case <-t.C:
		}
		w := fmt.Sprintf(" word%d", i)
		text.WriteString(w)
		q.OnDelta(w)
	}
	a := goodAnswer(q.Text)
	a.Text = strings.TrimSpace(text.String()) + " [1]"
	return a, nil
}

// BenchmarkConcurrentStreams (item 3): 8 answers streamed at once against
// a Discord that takes 400 ms to answer each edit. Every stream may edit
// once a second; the bot reaches that only if edits of different
// interactions do not queue behind each other. "per-token" is the bot's
// bucket per interaction token; "shared" is discordgo's default, one
// bucket for every interaction's edits.
func BenchmarkConcurrentStreams(b *testing.B) {
	const streams = 8
	latency := 400 * time.Millisecond
	answer := slowStreamer{words: 60, every: 100 * time.Millisecond} // 6 s of writing
	if testing.Short() {
		answer.words = 25 // 2.5 s
	}
	for _, mode := range []struct {
		name   string
		bucket func(appID, token string) string
	}{
		{"per-token", nil},
		{"shared", func(string, string) string { return discordgo.EndpointWebhookToken("", "") }},
	} {
		b.Run(mode.name, func(b *testing.B) {
			h := start(b, discordtest.GuildID, withAnswerer(answer),
				withConfig(func(c *Config) {
					c.MaxConcurrent, c.RatePerMinute, c.AnswerTimeout, c.MaxQuestionChars = streams, 1000, time.Minute, 500
				}),
				withBot(func(bt *Bot) {
					bt.editWindow = 5 * time.Second // the production pace: one edit a second
					if mode.bucket != nil {
						bt.editBucket = mode.bucket
					}
				}))
			h.fake.SetLatency(func(c discordtest.Call) bool { return c.Method == "PATCH" }, latency)
			var edits, previews int
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				ins := make([]discordtest.Interaction, streams)
				for s := range streams {
					ins[s] = h.fake.SendSlash(b, discordtest.Slash{Name: "ask", User: user(40 + s), GuildID: discordtest.GuildID,
						Options: []discordtest.Option{{Name: "question", Value: fmt.Sprintf("stream %d of round %d?", s, i)}}})
				}
				var wg sync.WaitGroup
				for _, in := range ins {
					wg.Add(1)
					go func() {
						defer wg.Done()
						h.fake.WaitCall(b, time.Minute, "final edit", func(c discordtest.Call) bool {
							return editOriginal(in)(c) && c.Status == http.StatusOK && strings.Contains(string(c.Body), `"custom_id":"up:`)
						})
					}()
				}
				wg.Wait()
				elapsed += time.Since(start)
				for _, in := range ins {
					for _, c := range h.fake.Find(editOriginal(in)) {
						if c.Status == http.StatusOK {
							edits++
							if !strings.Contains(string(c.Body), `"custom_id":"up:`) {
								previews++
							}
						}
					}
				}
				h.settle(b)
			}
			b.ReportMetric(float64(edits)/elapsed.Seconds(), "edits/s")
			b.ReportMetric(float64(previews)/float64(b.N*streams), "previews/stream")
			b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/round")
		})
	}
}
