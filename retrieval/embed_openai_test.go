package retrieval

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeEmbeddings speaks POST /v1/embeddings. Each input's vector is
// [len(input), 1, 0, ...] (before normalisation), so tests can tell them
// apart. Responses listed in fail are sent first, one per request.
type fakeEmbeddings struct {
	t    *testing.T
	dims int
	mu   sync.Mutex
	reqs []embedReq
	fail []fakeFailure
}

type fakeFailure struct {
	status     int
	retryAfter string
}

type embedReq struct {
	Model      string   `json:"model"`
	Input      []string `json:"input"`
	Dimensions int      `json:"dimensions"`
	auth       string
}

func (f *fakeEmbeddings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	var req embedReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("decode request: %v", err)
	}
	req.auth = r.Header.Get("Authorization")
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	var fail *fakeFailure
	if len(f.fail) > 0 {
		fail = &f.fail[0]
		f.fail = f.fail[1:]
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if fail != nil {
		if fail.retryAfter != "" {
			w.Header().Set("Retry-After", fail.retryAfter)
		}
		w.WriteHeader(fail.status)
		fmt.Fprintf(w, `{"error":{"message":"fake %d","type":"fake_error","code":null}}`, fail.status)
		return
	}
	type datum struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	resp := struct {
		Object string  `json:"object"`
		Data   []datum `json:"data"`
		Model  string  `json:"model"`
		Usage  struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}{Object: "list", Model: req.Model}
	// Answer in reverse order: clients must use "index".
	for i := len(req.Input) - 1; i >= 0; i-- {
		v := make([]float32, f.dims)
		v[0], v[1] = float32(len(req.Input[i])), 1
		resp.Data = append(resp.Data, datum{"embedding", i, v})
	}
	json.NewEncoder(w).Encode(resp)
}

func newFake(t *testing.T, fail ...fakeFailure) (*fakeEmbeddings, *httptest.Server) {
	f := &fakeEmbeddings{t: t, dims: 8, fail: fail}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func testOpenAI(t *testing.T, srv *httptest.Server, mod func(*OpenAIEmbedConfig)) *OpenAIEmbedder {
	cfg := OpenAIEmbedConfig{
		BaseURL: srv.URL + "/v1", APIKey: "sk-test", Model: "text-embedding-3-small",
		BatchSize: 2, MinBackoff: time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewOpenAIEmbedder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOpenAIEmbedBatches(t *testing.T) {
	f, srv := newFake(t)
	e := testOpenAI(t, srv, nil)
	if e.Info().Dims != 0 {
		t.Fatalf("dims before first response = %d", e.Info().Dims)
	}
	texts := []string{"a", "bb", "ccc", "dddd", "eeeee"}
	vecs, err := e.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.reqs) != 3 {
		t.Fatalf("%d requests, want 3 batches of ≤2", len(f.reqs))
	}
	var sent []string
	for _, r := range f.reqs {
		if r.Model != "text-embedding-3-small" || r.auth != "Bearer sk-test" || len(r.Input) > 2 {
			t.Errorf("request %+v", r)
		}
		sent = append(sent, r.Input...)
	}
	if strings.Join(sent, ",") != strings.Join(texts, ",") {
		t.Errorf("inputs sent %v", sent)
	}
	for i, v := range vecs {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d not normalised: |v|² = %v", i, n)
		}
		// [len, 1] normalised: v[0]/v[1] == len(text) — order kept despite the reversed response.
		if got := v[0] / v[1]; math.Abs(float64(got)-float64(len(texts[i]))) > 1e-4 {
			t.Errorf("vector %d belongs to a text of length %v", i, got)
		}
	}
	if info := e.Info(); info != (EmbedderInfo{Name: "openai", Model: "text-embedding-3-small", Dims: 8}) {
		t.Errorf("Info = %+v", info)
	}
}

func TestOpenAIEmbedRetries(t *testing.T) {
	f, srv := newFake(t, fakeFailure{status: 429, retryAfter: "0.01"}, fakeFailure{status: 503})
	e := testOpenAI(t, srv, nil)
	vecs, err := e.Embed(t.Context(), []string{"x"})
	if err != nil || len(vecs) != 1 {
		t.Fatalf("Embed after 429, 503: %v", err)
	}
	if len(f.reqs) != 3 {
		t.Errorf("%d requests, want 3 (429, 503, ok)", len(f.reqs))
	}
}

func TestOpenAIEmbedRetryAfterHonoured(t *testing.T) {
	_, srv := newFake(t, fakeFailure{status: 429, retryAfter: "1"})
	e := testOpenAI(t, srv, func(c *OpenAIEmbedConfig) { c.MaxBackoff = 5 * time.Second })
	start := time.Now()
	if _, err := e.Embed(t.Context(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %v, Retry-After said 1s", d)
	}
}

func TestOpenAIEmbedUnauthorisedFailsFast(t *testing.T) {
	f, srv := newFake(t, fakeFailure{status: 401}, fakeFailure{status: 401})
	e := testOpenAI(t, srv, nil)
	_, err := e.Embed(t.Context(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "the server rejected the API key (401)") {
		t.Fatalf("err = %v", err)
	}
	if len(f.reqs) != 1 {
		t.Errorf("401 retried: %d requests", len(f.reqs))
	}
}

func TestOpenAIEmbedGivesUp(t *testing.T) {
	f, srv := newFake(t, fakeFailure{status: 500}, fakeFailure{status: 500}, fakeFailure{status: 500})
	e := testOpenAI(t, srv, func(c *OpenAIEmbedConfig) { c.MaxRetries = 2 })
	if _, err := e.Embed(t.Context(), []string{"x"}); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("err = %v", err)
	}
	if len(f.reqs) != 3 {
		t.Errorf("%d requests, want 3", len(f.reqs))
	}
}

func TestOpenAIEmbedConfiguredDims(t *testing.T) {
	f, srv := newFake(t)
	e := testOpenAI(t, srv, func(c *OpenAIEmbedConfig) { c.Dims = 8 })
	if _, err := e.Embed(t.Context(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if f.reqs[0].Dimensions != 8 {
		t.Errorf("dimensions sent = %d", f.reqs[0].Dimensions)
	}
	e2 := testOpenAI(t, srv, func(c *OpenAIEmbedConfig) { c.Dims = 16 })
	if _, err := e2.Embed(t.Context(), []string{"x"}); err == nil {
		t.Error("wrong dims accepted")
	}
}

func TestOpenAIConfigStringRedacts(t *testing.T) {
	s := OpenAIEmbedConfig{APIKey: "sk-secret", Model: "m"}.String()
	if strings.Contains(s, "sk-secret") || !strings.Contains(s, "[redacted]") {
		t.Errorf("String() = %s", s)
	}
}

// The index works end to end with a remote embedder.
func TestIndexWithOpenAIEmbedder(t *testing.T) {
	_, srv := newFake(t)
	e := testOpenAI(t, srv, func(c *OpenAIEmbedConfig) { c.BatchSize = 16 })
	dir := t.TempDir()
	ix := openIndex(t, dir, e, ChunkOptions{})
	rep := syncIndex(t, ix, testArticles())
	if rep.Passages != 3 {
		t.Fatalf("report %+v", rep)
	}
	if info := ix.Info(); info.Embedder.Dims != 8 {
		t.Errorf("info %+v", info)
	}
	// A fresh process: Dims unknown until the first call, still compatible.
	again := openIndex(t, dir, testOpenAI(t, srv, nil), ChunkOptions{})
	if info := again.Info(); info.NeedsRebuild || info.Passages != 3 {
		t.Fatalf("reopen: %+v", info)
	}
	hits, err := again.Search(t.Context(), "coffee producer Brazil", 3)
	if err != nil || len(hits) == 0 || hits[0].ArticleID != "beta" {
		t.Fatalf("search: %v %v", hitIDs(hits), err)
	}
}
