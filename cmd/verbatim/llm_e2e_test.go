package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/verbatimbot/verbatim/eval"
)

// fakeOpenAI is an OpenAI-compatible chat completions server whose model
// answers with reply (a JSON answer object), streamed when asked.
type fakeOpenAI struct {
	t      *testing.T
	reply  string
	status int // non-zero: fail every request with it

	mu          sync.Mutex
	requests    []map[string]any
	embedded    int
	embedModels []string
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/embeddings" {
		f.embeddings(w, r)
		return
	}
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("request body is not JSON: %v", err)
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	if f.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)
		return
	}
	if stream, _ := req["stream"].(bool); stream {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < len(f.reply); i += 7 {
			chunk := f.reply[i:min(i+7, len(f.reply))]
			delta, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": req["model"],
				"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": chunk}}}})
			fmt.Fprintf(w, "data: %s\n\n", delta)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
		return
	}
	resp, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion", "model": req["model"],
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": f.reply}}},
		"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})
	w.Header().Set("Content-Type", "application/json")
	w.Write(resp)
}

func (f *fakeOpenAI) lastRequest() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return nil
	}
	return f.requests[len(f.requests)-1]
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
	fake := &fakeOpenAI{t: t, reply: llmReply}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	env := []string{"OPENAI_BASE_URL=" + srv.URL + "/v1", "OPENAI_API_KEY=sk-test-secret", "VERBATIM_CHAT_MODEL=test-model"}

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
	req := fake.lastRequest()
	if req["model"] != "test-model" {
		t.Errorf("model sent = %v", req["model"])
	}
	prompt := fmt.Sprint(req["messages"])
	if !strings.Contains(prompt, "["+bundledID+" ¶9]") || !strings.Contains(prompt, "S-400 missile system") {
		t.Errorf("the prompt lacks the labelled ¶9 passage:\n%.600s", prompt)
	}
}

func TestAskWithLLMStreams(t *testing.T) {
	fake := &fakeOpenAI{t: t, reply: llmReply}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	env := []string{"OPENAI_BASE_URL=" + srv.URL + "/v1", "VERBATIM_CHAT_MODEL=test-model"}

	r := verbatim(t, t.TempDir(), "", env, "ask", "Which missile system is Tehran interested in buying?")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	if stream, _ := fake.lastRequest()["stream"].(bool); !stream {
		t.Error("ask did not request a streamed answer")
	}
	if !strings.Contains(r.stdout, "Tehran is interested in the S-400 missile system") {
		t.Errorf("streamed answer text missing:\n%s", r.stdout)
	}
	// The invented quote's marker is dropped in the verified render, and
	// only the real quote is listed.
	if !strings.Contains(r.stdout, "[1] “Firstly, the Tehran’s interest") || strings.Contains(r.stdout, "“Iran bought the S-400") {
		t.Errorf("citations not verified in the final render:\n%s", r.stdout)
	}

	r = verbatim(t, t.TempDir(), "", env, "ask", "--no-stream", "Which missile system is Tehran interested in buying?")
	if stream, _ := fake.lastRequest()["stream"].(bool); stream || r.code != 0 {
		t.Errorf("--no-stream still streamed (exit %d)", r.code)
	}
}

func TestAskWithLLMRejectedKey(t *testing.T) {
	fake := &fakeOpenAI{t: t, status: http.StatusUnauthorized}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	env := []string{"OPENAI_BASE_URL=" + srv.URL + "/v1", "OPENAI_API_KEY=sk-bad-secret", "VERBATIM_CHAT_MODEL=test-model"}

	r := verbatim(t, t.TempDir(), "", env, "ask", "Which missile system is Tehran interested in buying?")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "401") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || strings.Contains(r.stderr, "sk-bad-secret") {
		t.Errorf("want a one-line 401 reason without the key, got:\n%s", r.stderr)
	}
	fake.mu.Lock()
	n := len(fake.requests)
	fake.mu.Unlock()
	if n != 1 {
		t.Errorf("401 was retried: %d requests", n)
	}
}

// embeddings answers /v1/embeddings with a deterministic bag-of-words
// vector per input, and counts the texts embedded.
func (f *fakeOpenAI) embeddings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Input []string `json:"input"`
		Model string   `json:"model"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("embeddings request: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.embedded += len(req.Input)
	f.embedModels = append(f.embedModels, req.Model)
	f.mu.Unlock()
	data := []any{}
	for i, text := range req.Input {
		v := make([]float64, 32)
		for _, word := range strings.Fields(strings.ToLower(text)) {
			h := fnv.New32a()
			h.Write([]byte(word))
			v[h.Sum32()%32]++
		}
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": v})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model,
		"usage": map[string]any{"prompt_tokens": 1, "total_tokens": 1}})
}

// TestRemoteEmbeddings indexes through a /v1/embeddings server, reuses the
// vectors on the next run, and rebuilds with a clear message when the
// embedder changes back to local.
func TestRemoteEmbeddings(t *testing.T) {
	fake := &fakeOpenAI{t: t}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	work := t.TempDir()
	index := "VERBATIM_INDEX=" + filepath.Join(work, "index")
	remote := []string{index, "VERBATIM_EMBED_MODEL=test-embed", "VERBATIM_EMBED_BASE_URL=" + srv.URL + "/v1", "VERBATIM_LLM=off"}

	r := verbatim(t, work, "", remote, "ask", "--json", "What does INSTEX stand for?")
	if r.code != 0 || !strings.Contains(r.stdout, "Instrument in Support of Trade Exchanges") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	fake.mu.Lock()
	first, models := fake.embedded, fake.embedModels
	fake.mu.Unlock()
	if first < 10 || models[0] != "test-embed" {
		t.Fatalf("embedded %d texts with %v; want every passage with test-embed", first, models)
	}

	r = verbatim(t, work, "", remote, "index")
	fake.mu.Lock()
	again := fake.embedded - first
	fake.mu.Unlock()
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
	fake := &fakeOpenAI{t: t, reply: llmReply}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	work := t.TempDir()
	qa := filepath.Join(work, "qa.jsonl")
	writeCorpus(t, work, map[string]string{"qa.jsonl": `{"id":"s3","question":"Which missile system is Tehran interested in buying?","answers":["S-400"],"article":"` + bundledID + `","paragraph":9}` + "\n"})
	env := []string{"OPENAI_BASE_URL=" + srv.URL + "/v1", "VERBATIM_CHAT_MODEL=test-model"}

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
