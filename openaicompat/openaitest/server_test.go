package openaitest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// spyT records the errors the server reports instead of failing the test.
type spyT struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (s *spyT) Errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

func (s *spyT) errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}

func post(t *testing.T, srv *Server, path, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, strings.TrimSuffix(srv.URL, "/v1")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// events reads a stream's data: payloads; err is how the body ended.
func events(resp *http.Response) (data []string, err error) {
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
		}
	}
	return data, sc.Err()
}

type chunk struct {
	Model   string `json:"model"`
	Choices []struct {
		Delta struct {
			Content *string `json:"content"`
		} `json:"delta"`
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// read decodes a stream into its text, finish_reason and whether [DONE]
// came.
func read(t *testing.T, data []string) (text, finish string, done bool, chunks []chunk) {
	t.Helper()
	var b strings.Builder
	for _, d := range data {
		if d == "[DONE]" {
			done = true
			continue
		}
		var c chunk
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("chunk %s: %v", d, err)
		}
		chunks = append(chunks, c)
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				b.WriteString(*ch.Delta.Content)
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	return b.String(), finish, done, chunks
}

const ask = `{"model":"test-model","messages":[{"role":"user","content":"Which missile system?"}]`

func TestContentStreamsInEveryFlavour(t *testing.T) {
	for _, f := range []Flavour{LlamaServer, Ollama, OpenAI} {
		t.Run(f.String(), func(t *testing.T) {
			srv := New(t, Options{Flavour: f})
			srv.Chat(Content("Tehran wants the S-400 [1]."))
			data, err := events(post(t, srv, ChatPath, ask+`,"stream":true,"stream_options":{"include_usage":true}}`))
			if err != nil {
				t.Fatal(err)
			}
			text, finish, done, chunks := read(t, data)
			if text != "Tehran wants the S-400 [1]." || finish != "stop" || !done {
				t.Errorf("text %q finish %q done %v", text, finish, done)
			}
			if u := chunks[len(chunks)-1].Usage; u == nil || u.CompletionTokens != 5 || len(chunks[len(chunks)-1].Choices) != 0 {
				t.Errorf("last chunk %+v, want usage with 5 completion tokens and no choices", chunks[len(chunks)-1])
			}

			resp := post(t, srv, ChatPath, ask+`}`)
			var c chunk
			if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if c.Choices[0].Message.Content != "Tehran wants the S-400 [1]." || *c.Choices[0].FinishReason != "stop" || c.Usage == nil {
				t.Errorf("completion %+v", c)
			}
		})
	}
}

// keyShape is the set of JSON keys of a chunk, its first choice and delta.
func keyShape(t *testing.T, event string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(event), &m); err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	keys := func(v any) []string {
		mm, _ := v.(map[string]any)
		var ks []string
		for k := range mm {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	shape := fmt.Sprint(keys(m))
	if cs, _ := m["choices"].([]any); len(cs) > 0 {
		shape += fmt.Sprint(keys(cs[0])) + fmt.Sprint(keys(cs[0].(map[string]any)["delta"]))
		if d, _ := cs[0].(map[string]any)["delta"].(map[string]any); d != nil {
			if c, ok := d["content"]; ok && c == nil {
				shape += "content:null"
			}
		}
	}
	return shape
}

// TestChunksShapedAsRecorded compares the fake's stream with a recorded
// one of the same server: the first, a middle and the last chunk have the
// same keys (llama-server's role-only first chunk with content null, its
// empty final delta with timings; Ollama's role in every delta).
func TestChunksShapedAsRecorded(t *testing.T) {
	for _, tt := range []struct {
		flavour Flavour
		file    string
	}{
		{LlamaServer, "llama-server/07-curl-stream-json-schema.json"},
		{Ollama, "ollama/04-curl-stream-json-schema.json"},
	} {
		t.Run(tt.flavour.String(), func(t *testing.T) {
			ex, err := Load(filepath.Join("testdata", "realservers", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var recorded []string
			for _, e := range ex.Events() {
				recorded = append(recorded, strings.TrimSpace(strings.TrimPrefix(e, "data: ")))
			}
			srv := New(t, Options{Flavour: tt.flavour})
			srv.Chat(Content("one two three four"))
			fake, err := events(post(t, srv, ChatPath, ask+`,"stream":true}`))
			if err != nil {
				t.Fatal(err)
			}
			pick := func(es []string) []string { return []string{es[0], es[len(es)/2], es[len(es)-2], es[len(es)-1]} }
			for i, pair := range [][2]string{{pick(recorded)[0], pick(fake)[0]}, {pick(recorded)[1], pick(fake)[1]}, {pick(recorded)[2], pick(fake)[2]}} {
				if r, f := keyShape(t, pair[0]), keyShape(t, pair[1]); r != f {
					t.Errorf("chunk %d: recorded keys %s, fake %s", i, r, f)
				}
			}
			if pick(recorded)[3] != "[DONE]" || pick(fake)[3] != "[DONE]" {
				t.Errorf("streams end with %q and %q, want [DONE]", pick(recorded)[3], pick(fake)[3])
			}
		})
	}
}

// TestDrop: a killed llama-server cuts the stream after complete events
// with no finish_reason and no terminating chunk; a killed Ollama runner
// ends it cleanly after an empty-model chunk, without finish_reason or
// [DONE] — as recorded in llama-server/18 and ollama/13.
func TestDrop(t *testing.T) {
	for _, tt := range []struct {
		flavour Flavour
		wantErr error
	}{{LlamaServer, io.ErrUnexpectedEOF}, {Ollama, nil}} {
		t.Run(tt.flavour.String(), func(t *testing.T) {
			srv := New(t, Options{Flavour: tt.flavour})
			srv.Chat(Drop(5))
			data, err := events(post(t, srv, ChatPath, ask+`,"stream":true}`))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("stream ended with %v, want %v", err, tt.wantErr)
			}
			text, finish, done, chunks := read(t, data)
			if finish != "" || done || len(strings.Fields(text)) != 5 {
				t.Errorf("text %q finish %q done %v: want 5 words and no end", text, finish, done)
			}
			if last := chunks[len(chunks)-1]; (last.Model == "") != (tt.flavour == Ollama) {
				t.Errorf("last chunk model %q", last.Model)
			}
			// Not streamed: llama-server's connection closes, Ollama answers 500.
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, strings.TrimSuffix(srv.URL, "/v1")+ChatPath, strings.NewReader(ask+`}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if tt.flavour == LlamaServer {
				if err == nil {
					resp.Body.Close()
					t.Error("a killed llama-server answered")
				}
				return
			}
			if err != nil || resp.StatusCode != 500 {
				t.Errorf("Ollama non-stream: %v %v", resp, err)
			}
			resp.Body.Close()
		})
	}
}

func TestRambleStopsAtTheBound(t *testing.T) {
	srv := New(t, Options{ContextTokens: 300})
	srv.Chat(Ramble())
	data, err := events(post(t, srv, ChatPath, ask+`,"stream":true,"max_tokens":40,"response_format":{"type":"json_object"}}`))
	if err != nil {
		t.Fatal(err)
	}
	text, finish, _, _ := read(t, data)
	if finish != "length" || len(strings.Fields(text)) != 40 || !strings.HasPrefix(text, `{"answer":"`) {
		t.Errorf("finish %q after %d words (%.40q…), want length after 40 inside an answer string", finish, len(strings.Fields(text)), text)
	}
	// Without max_tokens it goes on until the window is full.
	data, err = events(post(t, srv, ChatPath, ask+`,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	text, finish, _, _ = read(t, data)
	prompt := (&ChatRequest{Messages: []Message{{"user", "Which missile system?"}}}).PromptTokens()
	if n := len(strings.Fields(text)); finish != "length" || n != 300-prompt {
		t.Errorf("finish %q after %d tokens, want length after %d", finish, n, 300-prompt)
	}
}

func TestHangUntilTheClientGivesUp(t *testing.T) {
	srv := New(t, Options{})
	srv.Chat(Hang())
	c := &http.Client{Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err := c.Post(strings.TrimSuffix(srv.URL, "/v1")+ChatPath, "application/json", strings.NewReader(ask+`}`))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("err = %v after %s, want the client's timeout", err, time.Since(start))
	}
}

func TestGibberishIsShapedAsAsked(t *testing.T) {
	srv := New(t, Options{})
	srv.Chat(Gibberish(1))
	resp := post(t, srv, ChatPath, ask+`,"response_format":{"type":"json_schema","json_schema":{"name":"cited_answer","strict":true,"schema":{"type":"object"}}}}`)
	var c chunk
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var reply struct {
		Answer    string
		Citations []struct{ Label, Quote string }
	}
	if err := json.Unmarshal([]byte(c.Choices[0].Message.Content), &reply); err != nil || reply.Answer == "" || len(reply.Citations) != 1 || reply.Citations[0].Label != "" {
		t.Errorf("JSON gibberish %q: %v", c.Choices[0].Message.Content, err)
	}
}

// TestErrorsAsRecorded: the bodies the fake makes up are the ones the real
// servers sent (compared as JSON).
func TestErrorsAsRecorded(t *testing.T) {
	tests := []struct {
		file string
		opts Options
		body string
	}{
		{"ollama/03-verbatim-ask-model-not-found-404.json", Options{Flavour: Ollama, Models: []string{"tiny:latest"}},
			`{"model":"llama3.1","messages":[{"role":"user","content":"q"}],"stream":true}`},
		{"llama-server/11-embeddings-not-enabled-501.json", Options{NoEmbeddings: true},
			`{"model":"tiny.gguf","input":["Which missile system is Tehran interested in buying?"]}`},
		{"llama-server/16-embeddings-input-too-large-500.json", Options{BatchTokens: 512}, ""},
		{"llama-server/12-verbatim-ask-stream-over-context-400.json", Options{ContextTokens: 512}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ex, err := Load(filepath.Join("testdata", "realservers", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			body := tt.body
			if body == "" {
				body = ex.Request.Body
			}
			srv := New(t, tt.opts)
			resp := post(t, srv, ex.Request.Path, body)
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != ex.Response.Status {
				t.Errorf("status %d, want %d", resp.StatusCode, ex.Response.Status)
			}
			var g, w map[string]map[string]any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("%s: %v", got, err)
			}
			if err := json.Unmarshal([]byte(ex.Response.Body), &w); err != nil {
				t.Fatal(err)
			}
			// The token counts are the fake's own (TestTokensAtLeastRecorded).
			for _, m := range []map[string]any{g["error"], w["error"]} {
				m["message"] = regexpTokens.ReplaceAllString(m["message"].(string), "(N tokens)")
				delete(m, "n_prompt_tokens")
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("body\n got %s\nwant %s", got, ex.Response.Body)
			}
		})
	}
}

var regexpTokens = regexp.MustCompile(`\(\d+ tokens\)`)

// TestStrict: requests a real server rejects fail the test and get a 400.
func TestStrict(t *testing.T) {
	for _, tt := range []struct{ name, path, body string }{
		{"not JSON", ChatPath, `{"model":`},
		{"no model", ChatPath, `{"messages":[{"role":"user","content":"q"}]}`},
		{"no messages", ChatPath, `{"model":"m","messages":[]}`},
		{"bad role", ChatPath, `{"model":"m","messages":[{"role":"robot","content":"q"}]}`},
		{"content parts", ChatPath, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"q"}]}]}`},
		{"max_tokens 0", ChatPath, `{"model":"m","messages":[{"role":"user","content":"q"}],"max_tokens":0}`},
		{"stream_options without stream", ChatPath, `{"model":"m","messages":[{"role":"user","content":"q"}],"stream_options":{"include_usage":true}}`},
		{"schema without a name", ChatPath, `{"model":"m","messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}`},
		{"empty input", EmbedPath, `{"model":"m","input":[]}`},
		{"empty string input", EmbedPath, `{"model":"m","input":["a",""]}`},
		{"no embedding model", EmbedPath, `{"input":"a"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spy := &spyT{TB: t}
			srv := New(spy, Options{})
			srv.Chat(Content("never sent"))
			resp := post(t, srv, tt.path, tt.body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || len(spy.errors()) != 1 {
				t.Errorf("status %d, test errors %q: want 400 and one error", resp.StatusCode, spy.errors())
			}
		})
	}
}

// TestWrongKeyIsEchoed: OpenAI's 401 names the key it was given.
func TestWrongKeyIsEchoed(t *testing.T) {
	srv := New(t, Options{Flavour: OpenAI, APIKey: "sk-right"})
	srv.Chat(Content("hi"))
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, strings.TrimSuffix(srv.URL, "/v1")+ChatPath, strings.NewReader(ask+`}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-wrong-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(body), "Incorrect API key provided: sk-wrong-0123456789") {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	if n := len(srv.ChatRequests()); n != 1 {
		t.Errorf("%d chat requests recorded, want 1", n)
	}
}

func TestEmbeddings(t *testing.T) {
	srv := New(t, Options{Flavour: Ollama, Models: []string{"tiny-embed:latest"}, ReverseEmbeddings: true, EmbedDims: 8})
	resp := post(t, srv, EmbedPath, `{"model":"tiny-embed","input":["Tehran missile","gas prices"]}`)
	var out struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(out.Data) != 2 || out.Data[0].Index != 1 || !slices.Equal(out.Data[0].Embedding, Vector("gas prices", 8)) {
		t.Errorf("data %+v, want the two vectors last first", out.Data)
	}
	if got := srv.EmbedRequests(); len(got) != 1 || got[0].Model != "tiny-embed" || len(got[0].Input) != 2 {
		t.Errorf("recorded %+v", got)
	}
}
