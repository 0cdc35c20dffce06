package retrieval

import (
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
)

// fakeFailure is an error the fake embedding server answers before it
// answers with vectors.
type fakeFailure struct {
	status     int
	retryAfter string
}

// newFake is the fake OpenAI-compatible server (llama-server flavour, key
// sk-test, 8 dims, vectors listed last input first so that clients must
// place them by "index"), answering the failures first, one per request.
func newFake(t *testing.T, fail ...fakeFailure) *openaitest.Server {
	srv := openaitest.New(t, openaitest.Options{APIKey: "sk-test", EmbedDims: 8, ReverseEmbeddings: true})
	var replies []openaitest.Reply
	for _, f := range fail {
		r := openaitest.Error(f.status, fmt.Sprintf("fake %d", f.status))
		if f.retryAfter != "" {
			r = r.WithHeader("Retry-After", f.retryAfter)
		}
		replies = append(replies, r)
	}
	srv.Embeddings(append(replies, openaitest.Vectors())...)
	return srv
}

func testOpenAI(t *testing.T, srv *openaitest.Server, mod func(*OpenAIEmbedConfig)) *OpenAIEmbedder {
	cfg := OpenAIEmbedConfig{
		BaseURL: srv.URL, APIKey: "sk-test", Model: "text-embedding-3-small",
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
	srv := newFake(t)
	e := testOpenAI(t, srv, nil)
	if e.Info().Dims != 0 {
		t.Fatalf("dims before first response = %d", e.Info().Dims)
	}
	texts := []string{"alpha", "alpha beta", "alpha beta gamma", "alpha beta gamma delta", "alpha beta gamma delta epsilon"}
	vecs, err := e.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.EmbedRequests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 batches of ≤2", len(reqs))
	}
	var sent []string
	for _, r := range reqs {
		if r.Model != "text-embedding-3-small" || len(r.Input) > 2 {
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
		// The server's vector of this very text: order kept despite the reversed response.
		want := openaitest.Vector(texts[i], 8)
		normalize(want)
		for j := range v {
			if math.Abs(float64(v[j]-want[j])) > 1e-5 {
				t.Errorf("vector %d = %v, want the server's vector of %q, %v", i, v, texts[i], want)
				break
			}
		}
	}
	if info := e.Info(); info != (EmbedderInfo{Name: "openai", Model: "text-embedding-3-small", Dims: 8}) {
		t.Errorf("Info = %+v", info)
	}
}

func TestOpenAIEmbedRetries(t *testing.T) {
	srv := newFake(t, fakeFailure{status: 429, retryAfter: "0.01"}, fakeFailure{status: 503})
	e := testOpenAI(t, srv, nil)
	vecs, err := e.Embed(t.Context(), []string{"x"})
	if err != nil || len(vecs) != 1 {
		t.Fatalf("Embed after 429, 503: %v", err)
	}
	if len(srv.EmbedRequests()) != 3 {
		t.Errorf("%d requests, want 3 (429, 503, ok)", len(srv.EmbedRequests()))
	}
}

func TestOpenAIEmbedRetryAfterHonoured(t *testing.T) {
	srv := newFake(t, fakeFailure{status: 429, retryAfter: "1"})
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
	srv := newFake(t, fakeFailure{status: 401}, fakeFailure{status: 401})
	e := testOpenAI(t, srv, nil)
	_, err := e.Embed(t.Context(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "rejected the API key (401)") {
		t.Fatalf("err = %v", err)
	}
	if len(srv.EmbedRequests()) != 1 {
		t.Errorf("401 retried: %d requests", len(srv.EmbedRequests()))
	}
}

func TestOpenAIEmbedGivesUp(t *testing.T) {
	srv := newFake(t, fakeFailure{status: 500}, fakeFailure{status: 500}, fakeFailure{status: 500})
	e := testOpenAI(t, srv, func(c *OpenAIEmbedConfig) { c.Retries = 2 })
	if _, err := e.Embed(t.Context(), []string{"x"}); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("err = %v", err)
	}
	if len(srv.EmbedRequests()) != 3 {
		t.Errorf("%d requests, want 3", len(srv.EmbedRequests()))
	}
}

func TestOpenAIEmbedConfiguredDims(t *testing.T) {
	srv := newFake(t)
	e := testOpenAI(t, srv, func(c *OpenAIEmbedConfig) { c.Dims = 8 })
	if _, err := e.Embed(t.Context(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if srv.EmbedRequests()[0].Dimensions != 8 {
		t.Errorf("dimensions sent = %d", srv.EmbedRequests()[0].Dimensions)
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
	srv := newFake(t)
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

// recordedExchange loads one of the recorded real-server exchanges.
func recordedExchange(t *testing.T, file string) *openaitest.Exchange {
	t.Helper()
	ex, err := openaitest.Load(filepath.Join("..", "openaicompat", "openaitest", "testdata", "realservers", file))
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// TestOpenAIEmbedUnfixableNotRetried: llama-server's 501 (started without
// --embeddings) is not retried and names the fix (issue 9, item 6).
func TestOpenAIEmbedUnfixableNotRetried(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	srv.Embeddings(openaitest.Replay(recordedExchange(t, "llama-server/11-embeddings-not-enabled-501.json")))
	_, err := testOpenAI(t, srv, nil).Embed(t.Context(), []string{"Which missile system?"})
	if err == nil || !strings.Contains(err.Error(), "Start it with `--embeddings`") {
		t.Errorf("err = %v", err)
	}
	if n := len(srv.EmbedRequests()); n != 1 {
		t.Errorf("%d requests: a 501 was retried", n)
	}
}

// TestOpenAIEmbedTooLarge: an input over the server's batch (llama-server's
// 500 "input (N tokens) is too large", never retried) is isolated by
// splitting the batch, then cut to what the server takes; every other text
// is embedded whole (issue 9, item 6).
func TestOpenAIEmbedTooLarge(t *testing.T) {
	long := strings.Repeat("Tehran missile system ", 400) // ~1,200 tokens, as recorded in llama-server/16
	tests := []struct {
		name  string
		first openaitest.Reply // the server's answer to the first request
	}{
		{"fake llama-server with -ub 512", openaitest.Vectors()},
		{"recorded 500 (16), then the fake", openaitest.Replay(recordedExchange(t, "llama-server/16-embeddings-input-too-large-500.json"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := openaitest.New(t, openaitest.Options{BatchTokens: 512, EmbedDims: 8})
			srv.Embeddings(tt.first, openaitest.Vectors())
			e := testOpenAI(t, srv, func(c *OpenAIEmbedConfig) { c.BatchSize = 8 })
			texts := []string{"alpha", "beta gamma", long, "delta", "epsilon zeta"}
			vecs, cuts, err := e.EmbedTruncating(t.Context(), texts)
			if err != nil {
				t.Fatal(err)
			}
			// The fake takes 512 tokens of ASCII: 1,792 characters (Tokens).
			if len(vecs) != len(texts) || len(cuts) != 1 || cuts[0].Index != 2 || cuts[0].Total != len(long) || cuts[0].Kept > 1792 || cuts[0].Kept < 1792*8/10 {
				t.Fatalf("%d vectors, truncations %+v; want 5 and the long text cut to most of the 1,792 characters the server takes", len(vecs), cuts)
			}
			for i, text := range texts {
				if i == 2 {
					continue
				}
				want := openaitest.Vector(text, 8)
				normalize(want)
				if fmt.Sprint(vecs[i]) != fmt.Sprint(want) {
					t.Errorf("vector %d is not the one of %q", i, text)
				}
			}
			reqs := srv.EmbedRequests()
			if len(reqs) > 10 {
				t.Errorf("%d requests to fit one long text", len(reqs))
			}
			if largest, splits := e.BatchStats(); largest != 2 || splits == 0 {
				t.Errorf("BatchStats = %d, %d; want batches of at most 2 after splitting", largest, splits)
			}
		})
	}
}

// TestIndexReportsTruncatedPassage: the index is built, and the passage
// the server could not take whole is reported by article and paragraph.
func TestIndexReportsTruncatedPassage(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{BatchTokens: 256, EmbedDims: 8})
	e := testOpenAI(t, srv, func(c *OpenAIEmbedConfig) { c.BatchSize = 16 })
	var logs strings.Builder
	ix, err := Open(t.Context(), Options{Dir: t.TempDir(), Embedder: e, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	arts := testArticles()
	arts[0].Paragraphs = append(arts[0].Paragraphs, strings.Repeat("A paragraph far longer than the server's batch. ", 80))
	rep, err := ix.Sync(t.Context(), arts, nil)
	if err != nil {
		t.Fatalf("one long passage failed the index: %v", err)
	}
	n := len(arts[0].Paragraphs)
	if want := fmt.Sprintf("article=%s paragraphs=¶%d", arts[0].ID, n); rep.Passages < 3 || !strings.Contains(logs.String(), want) ||
		!strings.Contains(logs.String(), "passage too long for the embedding server") {
		t.Errorf("report %+v; log:\n%s\nwant it to name %s", rep, logs.String(), want)
	}
}
