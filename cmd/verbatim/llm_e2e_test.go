package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/eval"
	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
)

// fakeModel is the fake OpenAI-compatible server (llama-server flavour)
// whose model answers every chat request with reply (streamed when asked).
func fakeModel(t *testing.T, opts openaitest.Options, reply string) *openaitest.Server {
	t.Helper()
	srv := openaitest.New(t, opts)
	srv.Chat(openaitest.Content(reply))
	return srv
}

// lastChat is the last chat request srv received.
func lastChat(t *testing.T, srv *openaitest.Server) openaitest.ChatRequest {
	t.Helper()
	reqs := srv.ChatRequests()
	if len(reqs) == 0 {
		t.Fatal("the model got no chat request")
	}
	return reqs[len(reqs)-1]
}

// llmReply is what the fake model says: one real quote of ¶9 and one
// invented quote attributed to the same paragraph.
var llmReply = mustJSON(map[string]any{
	"answer": "Tehran is interested in the S-400 missile system [1], which it already bought last year [2].",
	"citations": []any{
		map[string]any{"marker": 1, "label": bundledID + " ¶9", "quote": "Firstly, the Tehran’s interest is turned to electronic warfare systems, coastal defense systems and S-400 missile system."},
		map[string]any{"marker": 2, "label": bundledID + " ¶9", "quote": "Iran bought the S-400 missile system from Moscow last year for a record price."},
	},
})

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestAskWithLLMShowsOnlyVerifiedQuotes(t *testing.T) {
	srv := fakeModel(t, openaitest.Options{APIKey: "sk-test-secret"}, llmReply)
	env := []string{"OPENAI_BASE_URL=" + srv.URL, "OPENAI_API_KEY=sk-test-secret", "VERBATIM_CHAT_MODEL=test-model"}

	r := verbatim(t, t.TempDir(), "", env, "ask", "--json", "Which missile system is Tehran interested in buying?")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	var ans struct {
		jsonAnswer
		Mode  string `json:"mode"`
		Stats struct{ Dropped, Repaired int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &ans); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if ans.Mode != "llm" || len(ans.Citations) != 1 || ans.Citations[0].Paragraph != 9 || ans.Stats.Dropped != 1 {
		t.Errorf("want one verified ¶9 citation and one dropped quote in llm mode, got %+v", ans)
	}
	if strings.Contains(fmt.Sprint(ans.Citations), "record price") {
		t.Errorf("the invented quote is shown as a citation")
	}
	if strings.Contains(r.stdout+r.stderr, "sk-test-secret") {
		t.Error("the API key was printed")
	}
	req := lastChat(t, srv)
	if req.Model != "test-model" {
		t.Errorf("model sent = %v", req.Model)
	}
	prompt := req.Message("user")
	if !strings.Contains(prompt, "["+bundledID+" ¶9]") || !strings.Contains(prompt, "S-400 missile system") {
		t.Errorf("the prompt lacks the labelled ¶9 passage:\n%.600s", prompt)
	}
}

// TestAskWithLLMPiped: with stdout not a terminal, the answer is not
// streamed and stdout holds the verified answer only — no preview of the
// model's raw text, no "Verified answer:" after it (issue 9, item 4).
func TestAskWithLLMPiped(t *testing.T) {
	srv := fakeModel(t, openaitest.Options{}, llmReply)
	env := []string{"OPENAI_BASE_URL=" + srv.URL, "VERBATIM_CHAT_MODEL=test-model"}

	r := verbatim(t, t.TempDir(), "", env, "ask", "Which missile system is Tehran interested in buying?")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	if lastChat(t, srv).Stream {
		t.Error("a piped ask streamed the answer")
	}
	// The invented quote's marker [2] is dropped in the verified answer,
	// and only the real quote is listed.
	if !strings.HasPrefix(r.stdout, "Tehran is interested in the S-400 missile system [1], which it already bought last year.\n") ||
		strings.Contains(r.stdout, "[2]") || strings.Contains(r.stdout, "Verified answer") {
		t.Errorf("stdout is not the verified answer alone:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "[1] “Firstly, the Tehran’s interest") || strings.Contains(r.stdout, "“Iran bought the S-400") {
		t.Errorf("citations not verified in the final render:\n%s", r.stdout)
	}
}

// TestAskWithLLMRejectedKey: a rejected key is not retried; the answer is
// made without the model and says why, the key printed nowhere; with
// VERBATIM_LLM=on it is a one-line error (exit 2) instead.
func TestAskWithLLMRejectedKey(t *testing.T) {
	srv := fakeModel(t, openaitest.Options{APIKey: "sk-right-secret"}, llmReply)
	env := []string{"OPENAI_BASE_URL=" + srv.URL, "OPENAI_API_KEY=sk-bad-secret", "VERBATIM_CHAT_MODEL=test-model"}

	r := verbatim(t, t.TempDir(), "", env, "ask", "Which missile system is Tehran interested in buying?")
	want := "verbatim: the model at " + srv.URL + " rejected the API key (401); showing quotes found without it\n"
	if r.code != 0 || r.stderr != want || !strings.Contains(r.stdout, "¶9") {
		t.Errorf("exit %d\nstderr %q\nwant   %q\nstdout:\n%s", r.code, r.stderr, want, r.stdout)
	}
	r = verbatim(t, t.TempDir(), "", append(env, "VERBATIM_LLM=on"), "ask", "Which missile system is Tehran interested in buying?")
	if r.code != 2 || !strings.Contains(r.stderr, "rejected the API key (401)") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || r.stdout != "" {
		t.Errorf("VERBATIM_LLM=on: exit %d, want 2 and one line; stderr:\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "sk-bad-secret") {
		t.Error("the API key was printed")
	}
	if n := len(srv.ChatRequests()); n != 2 {
		t.Errorf("401 was retried: %d requests for two questions", n)
	}
}

// TestRemoteEmbeddings indexes through a /v1/embeddings server, reuses the
// vectors on the next run, and rebuilds with a clear message when the
// embedder changes back to local.
func TestRemoteEmbeddings(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	embedded := func() (n int, models []string) {
		for _, r := range srv.EmbedRequests() {
			n += len(r.Input)
			models = append(models, r.Model)
		}
		return n, models
	}
	work := t.TempDir()
	index := "VERBATIM_INDEX=" + filepath.Join(work, "index")
	remote := []string{index, "VERBATIM_EMBED_MODEL=test-embed", "VERBATIM_EMBED_BASE_URL=" + srv.URL, "VERBATIM_LLM=off"}

	r := verbatim(t, work, "", remote, "ask", "--json", "What does INSTEX stand for?")
	if r.code != 0 || !strings.Contains(r.stdout, "Instrument in Support of Trade Exchanges") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	first, models := embedded()
	if first < 10 || models[0] != "test-embed" {
		t.Fatalf("embedded %d texts with %v; want every passage with test-embed", first, models)
	}
	// The refusal model fitted on the local embedder's cosines is not
	// used over these vectors: --explain says which one is.
	r = verbatim(t, work, "", remote, "ask", "--explain", "What does INSTEX stand for?")
	if r.code != 0 || !strings.Contains(r.stdout, "the lexical refusal model") {
		t.Errorf("--explain over another embedder's index does not name the lexical refusal model:\n%s", r.stdout)
	}
	first, _ = embedded()

	r = verbatim(t, work, "", remote, "index")
	total, _ := embedded()
	again := total - first
	if r.code != 0 || !strings.Contains(r.stdout, "unchanged 1") || again > 0 {
		t.Errorf("second run re-embedded %d passages:\n%s", again, r.stdout)
	}

	r = verbatim(t, work, "", []string{index}, "index")
	if r.code != 0 || !strings.Contains(r.stdout, "Rebuilt the index") || !strings.Contains(r.stdout, "embedder") {
		t.Errorf("switching to the local embedder did not rebuild with a reason:\n%s%s", r.stdout, r.stderr)
	}
}

// TestEvalLLMMode runs `eval` against the fake model and reports the quotes
// the verifier dropped per answer.
func TestEvalLLMMode(t *testing.T) {
	srv := fakeModel(t, openaitest.Options{}, llmReply)
	work := t.TempDir()
	qa := filepath.Join(work, "qa.jsonl")
	writeCorpus(t, work, map[string]string{"qa.jsonl": `{"id":"s3","question":"Which missile system is Tehran interested in buying?","answers":["S-400"],"article":"` + bundledID + `","paragraph":9}` + "\n"})
	env := []string{"OPENAI_BASE_URL=" + srv.URL, "VERBATIM_CHAT_MODEL=test-model"}

	r := verbatim(t, work, "", env, "eval", "--json", qa)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var reps []eval.Report
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(reps) != 3 || reps[2].Mode != "llm" {
		t.Fatalf("want retrieval, extractive and llm reports, got %+v", reps)
	}
	if llm := reps[2]; llm.HitAt1 != 1 || llm.DroppedPer != 1 || llm.Fallbacks != 0 || llm.AnswerInQuote1 != 1 {
		t.Errorf("llm report = %+v; want hit@1 1, one dropped quote", llm)
	}
}

// TestIndexWithASmallEmbeddingBatch: against a llama-server whose batch
// (-ub) is smaller than some passages, index completes, names each
// passage it had to shorten by article and paragraph, and --verbose names
// the embedding model, its dimensions and the batches sent (issue 9, item 6).
func TestIndexWithASmallEmbeddingBatch(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{BatchTokens: 160, EmbedDims: 16})
	work := t.TempDir()
	env := []string{"VERBATIM_INDEX=" + filepath.Join(work, "index"), "VERBATIM_EMBED_MODEL=tiny-embed", "VERBATIM_EMBED_BASE_URL=" + srv.URL, "VERBATIM_LLM=off"}
	r := verbatim(t, work, "", env, "index", "--verbose")
	if r.code != 0 || !strings.Contains(r.stdout, "Indexed 1 article") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "passage too long for the embedding server") || !strings.Contains(r.stderr, "article="+bundledID+" paragraphs=¶") {
		t.Errorf("no passage named as shortened:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "embeddings: openai model tiny-embed, 16 dims at "+srv.URL+", batches of up to ") || !strings.Contains(r.stderr, "split to fit the server's input limit") {
		t.Errorf("--verbose does not describe the embedder:\n%s", r.stderr)
	}
	if n := len(srv.EmbedRequests()); n > 60 {
		t.Errorf("%d embedding requests for one article", n)
	}
}

// TestContextWindows asks the bundled question at windows from the
// smallest that works up: a llama-server of that window (which rejects a
// longer prompt with 400) accepts every request, the prompt and max_tokens
// fit together, and the log says when passages were dropped. -v prints how
// many paragraphs each window holds (docs/llm.md quotes them).
func TestContextWindows(t *testing.T) {
	for _, window := range []int{1024, 2048, 4096, 8192} {
		srv := openaitest.New(t, openaitest.Options{ContextTokens: window})
		srv.Chat(openaitest.Content(llmReply))
		r := verbatim(t, t.TempDir(), "", []string{"OPENAI_BASE_URL=" + srv.URL, "VERBATIM_CHAT_MODEL=m",
			fmt.Sprintf("VERBATIM_CONTEXT_TOKENS=%d", window)}, "ask", "Which missile system is Tehran interested in buying?")
		req := lastChat(t, srv)
		shown := strings.Count(req.Message("user"), "¶")
		dropped := strings.Contains(r.stderr, "passages dropped to fit the context window")
		if r.code != 0 || strings.Contains(r.stderr, "showing quotes found without it") || req.PromptTokens()+req.Limit() > window || dropped != (shown < 24) {
			t.Errorf("window %d: exit %d, prompt %d + max_tokens %d, %d paragraphs; stderr:\n%s", window, r.code, req.PromptTokens(), req.Limit(), shown, r.stderr)
		}
		t.Logf("VERBATIM_CONTEXT_TOKENS=%d: %d of 24 paragraphs, max_tokens %d", window, shown, req.Limit())
	}
}
