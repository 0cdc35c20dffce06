package llm

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
)

// recorded loads an exchange of openaicompat/openaitest/testdata/realservers.
func recorded(t *testing.T, file string) *openaitest.Exchange {
	t.Helper()
	ex, err := openaitest.Load(filepath.Join("..", "..", "openaicompat", "openaitest", "testdata", "realservers", file))
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// streamed is testRequest with a preview that records what was shown.
func streamed(q string) (bot.DraftRequest, *strings.Builder) {
	var shown strings.Builder
	req := testRequest(q)
	req.OnDelta = func(s string) { shown.WriteString(s) }
	return req, &shown
}

// TestStreamCutShort: a stream that ends without finish_reason or [DONE]
// is a broken connection, never a complete reply: retried once while
// nothing was shown, else a ModelError saying so (issue 9, item 3).
func TestStreamCutShort(t *testing.T) {
	tests := []struct {
		name     string
		flavour  openaitest.Flavour
		replies  []openaitest.Reply
		wantReqs int
		wantOK   bool
	}{
		{"llama-server killed before any text, then fine", openaitest.LlamaServer,
			[]openaitest.Reply{openaitest.Drop(0), openaitest.Content(goodJSONReply)}, 2, true},
		{"Ollama runner killed before any text, then fine", openaitest.Ollama,
			[]openaitest.Reply{openaitest.Drop(0), openaitest.Content(goodJSONReply)}, 2, true},
		{"killed twice: retried once only", openaitest.LlamaServer, []openaitest.Reply{openaitest.Drop(0)}, 2, false},
		{"killed after text was shown: not retried", openaitest.LlamaServer,
			[]openaitest.Reply{openaitest.Content(goodJSONReply).DropAfter(6), openaitest.Content(goodJSONReply)}, 1, false},
		{"Ollama runner killed after text was shown", openaitest.Ollama,
			[]openaitest.Reply{openaitest.Content(goodJSONReply).DropAfter(6), openaitest.Content(goodJSONReply)}, 1, false},
		{"recorded llama-server kill (18)", openaitest.LlamaServer,
			[]openaitest.Reply{openaitest.Replay(recorded(t, "llama-server/18-verbatim-stream-server-killed.json"))}, 1, false},
		{"recorded Ollama runner kill (13)", openaitest.Ollama,
			[]openaitest.Reply{openaitest.Replay(recorded(t, "ollama/13-verbatim-stream-runner-killed.json"))}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := openaitest.New(t, openaitest.Options{Flavour: tt.flavour, Models: []string{"test-model"}})
			srv.Chat(tt.replies...)
			req, shown := streamed("Which missile system is Tehran interested in buying?")
			d, err := testLLM(t, srv.URL, func(c *Config) { c.APIKey = "" }).Draft(t.Context(), req)
			if n := len(srv.ChatRequests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
			if tt.wantOK {
				if err != nil || len(d.Claims) != 2 {
					t.Fatalf("draft %+v, %v; want the retry's two claims", d, err)
				}
				return
			}
			me, ok := errors.AsType[*bot.ModelError](err)
			if !ok || me.Notice != "the model at "+srv.URL+" broke off its reply: the stream ended before the model finished" {
				t.Fatalf("err = %v, want a ModelError saying the stream broke off", err)
			}
			if tt.wantReqs == 1 && shown.Len() == 0 && !strings.Contains(tt.name, "recorded") {
				t.Error("test premise: nothing was shown before the cut")
			}
		})
	}
}

// TestRambleIsBounded: max_tokens goes with every answer and rewrite
// request, so a model that never stops is cut by the server, and the reply
// cut at the bound is read like any other (issue 9, item 1).
func TestRambleIsBounded(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{APIKey: "sk-test", TokenDelay: time.Millisecond})
	srv.Chat(openaitest.Ramble())
	l := testLLM(t, srv.URL, func(c *Config) { c.MaxAnswerTokens = 64; c.Timeout = 3 * time.Second })
	req, shown := streamed("Which missile system is Tehran interested in buying?")
	start := time.Now()
	d, err := l.Draft(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second || len(d.Claims) != 0 || len(strings.Fields(shown.String())) < 50 {
		t.Errorf("took %s, %d claims, preview %d words; want the 64-token reply, no citations", took, len(d.Claims), len(strings.Fields(shown.String())))
	}
	if _, err := l.Rewrite(t.Context(), bot.Question{Text: "and then?", History: []bot.Turn{{Question: "Who?", Answer: "Zarif."}}}); err != nil {
		t.Fatal(err)
	}
	sent := srv.ChatRequests()
	if sent[0].Limit() != 64 || sent[1].Limit() != 64 {
		t.Errorf("max_tokens %d (answer), %d (rewrite); want 64 both", sent[0].Limit(), sent[1].Limit())
	}
}

// TestRecordedRepliesCutAtTheBound replays real replies that ended with
// finish_reason "length": each is a Draft, not an error.
func TestRecordedRepliesCutAtTheBound(t *testing.T) {
	for _, file := range []string{
		"llama-server/02-verbatim-ask-stream-json-schema.json",
		"llama-server/03-verbatim-ask-nostream-json-schema.json",
		"ollama/07-verbatim-ask-stream-json-schema.json",
		"ollama/08-verbatim-ask-nostream-json-schema.json",
	} {
		t.Run(file, func(t *testing.T) {
			ex := recorded(t, file)
			srv := openaitest.New(t, openaitest.Options{})
			srv.Chat(openaitest.Replay(ex))
			req := testRequest("Which missile system is Tehran interested in buying?")
			if ex.RequestStream() {
				req.OnDelta = func(string) {}
			}
			if _, err := testLLM(t, srv.URL, func(c *Config) { c.APIKey = "" }).Draft(t.Context(), req); err != nil {
				t.Errorf("a reply cut at the bound failed: %v", err)
			}
		})
	}
}

// TestFailuresAreModelErrors: every way the server fails is a ModelError
// whose notice names the server and the cause (issue 9, item 2).
func TestFailuresAreModelErrors(t *testing.T) {
	tests := []struct {
		name   string
		opts   openaitest.Options
		reply  openaitest.Reply
		notice string // after "the model at <base> "
	}{
		{"hangs", openaitest.Options{}, openaitest.Hang(), "did not answer within 300ms"},
		{"5xx", openaitest.Options{}, openaitest.Error(503, "loading model"), "failed (503): loading model"},
		{"recorded context overflow (12)", openaitest.Options{},
			openaitest.Replay(recorded(t, "llama-server/12-verbatim-ask-stream-over-context-400.json")),
			"rejected the prompt as longer than its context window (400): request (2813 tokens) exceeds the available context size (512 tokens), try increasing it"},
		{"recorded missing Ollama model (03)", openaitest.Options{Flavour: openaitest.Ollama},
			openaitest.Replay(recorded(t, "ollama/03-verbatim-ask-model-not-found-404.json")),
			"is not available: the server has no model test-model (404)"},
		{"key echoed in the error body", openaitest.Options{}, openaitest.Error(500, "bad upstream key sk-test-0123456789"),
			"failed (500): bad upstream key [redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := openaitest.New(t, tt.opts)
			srv.Chat(tt.reply)
			req, _ := streamed("q")
			_, err := testLLM(t, srv.URL, func(c *Config) {
				c.APIKey, c.Timeout, c.Retries = "sk-test-0123456789", 300*time.Millisecond, -1
			}).Draft(t.Context(), req)
			me, ok := errors.AsType[*bot.ModelError](err)
			if want := "the model at " + srv.URL + " " + tt.notice; !ok || me.Notice != want {
				t.Errorf("err = %v\n notice %q\n   want %q", err, noticeOf(err), want)
			}
		})
	}
}

func noticeOf(err error) string {
	if me, ok := errors.AsType[*bot.ModelError](err); ok {
		return me.Notice
	}
	return ""
}

// TestTimeLeftForTheFallback: a model slower than the question's deadline
// gives up early enough for the engine to answer without it.
func TestTimeLeftForTheFallback(t *testing.T) {
	srv := newServer(t, openaitest.Hang())
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, err := testLLM(t, srv.URL, nil).Draft(ctx, testRequest("q"))
	dl, _ := ctx.Deadline()
	if me, ok := errors.AsType[*bot.ModelError](err); !ok || !strings.HasSuffix(me.Notice, "did not answer in the time left for this question") {
		t.Errorf("err = %v", err)
	}
	if left := time.Until(dl); left < 50*time.Millisecond || ctx.Err() != nil {
		t.Errorf("returned with %s left of the question's deadline", left)
	}
}

// TestEngineFallsBackOnModelFailure drives bot.Engine with the answerer
// against a server that never answers, one that drops the stream and one
// that talks gibberish: the answer is the extractive one with a notice
// naming the server and the cause.
func TestEngineFallsBackOnModelFailure(t *testing.T) {
	tests := []struct {
		name   string
		reply  openaitest.Reply
		notice string
	}{
		{"hangs", openaitest.Hang(), "the model at %s did not answer within 300ms; showing quotes found without it"},
		{"drops the stream", openaitest.Drop(5), "the model at %s broke off its reply: the stream ended before the model finished; showing quotes found without it"},
		{"gibberish", openaitest.Gibberish(3), "none of the model's quotes could be verified against the articles; showing quotes found without it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.reply)
			llm := testLLM(t, srv.URL, func(c *Config) { c.Timeout = 300 * time.Millisecond })
			e := bot.NewEngine(articleIndex(t, e2eArticle()), bot.EngineOptions{Answerer: llm, Rewriter: llm})
			ans, err := e.Answer(t.Context(), bot.Question{Text: "Which missile system is Iran interested in buying?", OnDelta: func(string) {}})
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tt.notice, "%s", srv.URL)
			if ans.Fallback != want || ans.Mode != bot.ModeExtractive || len(ans.Citations) == 0 || !strings.Contains(ans.Citations[0].Quote, "S-400") {
				t.Errorf("fallback %q mode %s citations %+v\nwant %q and the extractive S-400 quote", ans.Fallback, ans.Mode, ans.Citations, want)
			}
			if strings.Contains(ans.Text, "unverified") || ans.Text == "" {
				t.Errorf("answer text %q", ans.Text)
			}
		})
	}
}

// TestTimeToFirstToken: the wait for the first streamed token reaches the
// Answer and the engine's log record (issue 9, item 11).
func TestTimeToFirstToken(t *testing.T) {
	srv := newServer(t, openaitest.Content(`{"answer":"Iran wants the S-400 [1].","citations":[{"marker":1,"label":"iran-s400 ¶1","quote":"Iran is interested in buying the S-400 missile system"}],"refused":false}`).After(300*time.Millisecond))
	llm := testLLM(t, srv.URL, nil)
	var logs strings.Builder
	e := bot.NewEngine(articleIndex(t, e2eArticle()), bot.EngineOptions{Answerer: llm, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ans, err := e.Answer(t.Context(), bot.Question{Text: "Which missile system is Iran interested in buying?", OnDelta: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	if ft := ans.Timing.FirstToken; ft < 300*time.Millisecond || ft > ans.Timing.Total || ans.Mode != bot.ModeLLM {
		t.Errorf("first token %s, total %s, mode %s; want ≥300ms and ≤ total", ft, ans.Timing.Total, ans.Mode)
	}
	if !strings.Contains(logs.String(), "first_token=3") || !strings.Contains(logs.String(), "took=") {
		t.Errorf("answer log lacks first_token and took: %s", logs.String())
	}
}

// TestSmallWindow: at the smallest window the prompt still fits a
// llama-server of that window (which rejects longer ones with 400), and
// passages dropped to fit are warned about at the default level; a prompt
// the server silently cut (Ollama, recorded in ollama/15) is warned about
// too (issue 9, item 7).
func TestSmallWindow(t *testing.T) {
	var hits = testHits()
	long := strings.Repeat("The deal, worth $3.67 billion, has not been signed yet, the official said. ", 30)
	hits[0].Text = long + "\n\n" + hits[0].Text
	srv := openaitest.New(t, openaitest.Options{ContextTokens: MinContextTokens})
	srv.Chat(openaitest.Content(goodJSONReply))
	var logs strings.Builder
	l := testLLM(t, srv.URL, func(c *Config) {
		c.APIKey, c.ContextTokens = "", MinContextTokens
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	req := testRequest("How much is the deal worth?")
	req.Hits = hits
	if _, err := l.Draft(t.Context(), req); err != nil {
		t.Fatalf("at %d tokens: %v", MinContextTokens, err)
	}
	sent := srv.ChatRequests()[0]
	if !strings.Contains(sent.Message("user"), "[iran-s400 ¶3] The deal, worth $3.67 billion") || sent.PromptTokens()+sent.Limit() > MinContextTokens {
		t.Errorf("prompt of %d tokens with max_tokens %d; want the best paragraph, cut to fit %d:\n%s", sent.PromptTokens(), sent.Limit(), MinContextTokens, sent.Message("user"))
	}
	if !strings.Contains(logs.String(), "passages dropped to fit the context window") {
		t.Errorf("no warning about dropped passages: %s", logs.String())
	}

	ollama := openaitest.New(t, openaitest.Options{Flavour: openaitest.Ollama, Models: []string{"test-model"}})
	ollama.Chat(openaitest.Replay(recorded(t, "ollama/15-verbatim-nostream-prompt-truncated-num_ctx512.json")))
	logs.Reset()
	l = testLLM(t, ollama.URL, func(c *Config) {
		c.APIKey = ""
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	req.Hits = hits
	if _, err := l.Draft(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "server_prompt_tokens=512") || !strings.Contains(logs.String(), "OLLAMA_CONTEXT_LENGTH") {
		t.Errorf("no warning about the cut prompt: %s", logs.String())
	}
}
