package llm

import (
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
)

// TestRewriteReplays replays the recorded follow-up rewrites: llama-server's
// 500 for a reply its output parser rejected (05) is retried and the retry's
// reply (06) used; Ollama's (10) is used as it came. Both replies are a
// random model's gibberish: whether the engine should trust such a rewrite
// is bot's decision (issue 9, item 5), not the answerer's.
func TestRewriteReplays(t *testing.T) {
	q := bot.Question{Text: "and when was it signed?", History: []bot.Turn{{
		Question: "Which missile system is Tehran interested in buying?", Answer: "The S-400 [1]."}}}
	tests := []struct {
		name    string
		flavour openaitest.Flavour
		files   []string
		prefix  string
	}{
		{"llama-server 500 then 200", openaitest.LlamaServer,
			[]string{"llama-server/05-verbatim-chat-rewrite-500-peg-format.json", "llama-server/06-verbatim-chat-rewrite-retry-200.json"}, "orous sage likenessTx"},
		{"Ollama", openaitest.Ollama, []string{"ollama/10-verbatim-chat-rewrite.json"}, "songs compighters happ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := openaitest.New(t, openaitest.Options{Flavour: tt.flavour, Models: []string{"test-model"}})
			for _, f := range tt.files {
				srv.Chat(openaitest.Replay(recorded(t, f)))
			}
			got, err := testLLM(t, srv.URL, func(c *Config) { c.APIKey = "" }).Rewrite(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, tt.prefix) || len(srv.ChatRequests()) != len(tt.files) {
				t.Errorf("rewrite %q after %d requests; want the recorded reply %q… after %d", got, len(srv.ChatRequests()), tt.prefix, len(tt.files))
			}
		})
	}
}

// TestEngineDistrustsRecordedRewrites: the recorded gibberish rewrites
// (llama-server 05→06, Ollama 10) lose the follow-up, so the engine does not
// search them; it answers the user's own words, and does not refuse because
// of the model (issue 9, item 5).
func TestEngineDistrustsRecordedRewrites(t *testing.T) {
	set, err := corpus.Bundled(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	q := bot.Question{Text: "What does INSTEX stand for?", History: []bot.Turn{{
		Question: "Which missile system is Tehran interested in buying?", Answer: "The S-400 [1]."}}}
	for _, tt := range []struct {
		name    string
		flavour openaitest.Flavour
		files   []string
	}{
		{"llama-server", openaitest.LlamaServer, []string{"llama-server/05-verbatim-chat-rewrite-500-peg-format.json", "llama-server/06-verbatim-chat-rewrite-retry-200.json"}},
		{"Ollama", openaitest.Ollama, []string{"ollama/10-verbatim-chat-rewrite.json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := openaitest.New(t, openaitest.Options{Flavour: tt.flavour, Models: []string{"test-model"}})
			for _, f := range tt.files {
				srv.Chat(openaitest.Replay(recorded(t, f)))
			}
			rw := testLLM(t, srv.URL, func(c *Config) { c.APIKey = "" })
			e := bot.NewEngine(articleIndex(t, set.Articles[0]), bot.EngineOptions{Rewriter: rw})
			ans, err := e.Answer(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			if len(srv.ChatRequests()) != len(tt.files) {
				t.Fatalf("%d requests, want the recorded %d", len(srv.ChatRequests()), len(tt.files))
			}
			if ans.Refused || ans.Standalone != q.Text || !strings.Contains(ans.Citations[0].Quote, "Instrument in Support of Trade Exchanges") {
				t.Errorf("standalone %q, refused %v, citations %+v; want the user's words answered", ans.Standalone, ans.Refused, ans.Citations)
			}
		})
	}
}
