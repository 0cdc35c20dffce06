package llm

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
	"github.com/verbatimbot/verbatim/prompts"
	"github.com/verbatimbot/verbatim/retrieval"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenLLM compares got with testdata/name, rewriting it under -update.
func goldenLLM(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./bot/llm -run %s -update creates it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./bot/llm -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestWhatIsSent pins the exact request bodies (golden files) and checks the
// parts that matter: model, stream flag, response_format, every paragraph
// with its label, the question, and nothing else.
func TestWhatIsSent(t *testing.T) {
	for _, tt := range []struct {
		name       string
		structured bool
		stream     bool
	}{
		{"request_json.golden", true, false},
		{"request_text_stream.golden", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, openaitest.Content(goodJSONReply))
			l := testLLM(t, srv.URL, nil)
			l.client.noSchema.Store(!tt.structured)
			req := bot.DraftRequest{
				Question:   bot.Question{Text: "and how much is it worth?", History: []bot.Turn{{Question: "Which missile system is Tehran interested in buying?", Answer: "The S-400 [1]."}}},
				Standalone: "How much is Iran's S-400 deal worth?",
				Hits:       testHits(),
			}
			if tt.stream {
				req.OnDelta = func(string) {}
			}
			if _, err := l.Draft(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			sent := srv.ChatRequests()
			if len(sent) != 1 {
				t.Fatalf("%d requests, want 1", len(sent))
			}
			got := sent[0]
			auth := srv.Requests()[0].Header.Get("Authorization")
			if got.Model != "test-model" || got.Stream != tt.stream || auth != "Bearer sk-test" {
				t.Errorf("model=%q stream=%v auth=%q, want test-model, %v, Bearer sk-test", got.Model, got.Stream, auth, tt.stream)
			}
			if (got.ResponseFormat != nil) != tt.structured {
				t.Errorf("response_format sent = %v, want %v", got.ResponseFormat != nil, tt.structured)
			}
			if tt.structured && (got.ResponseFormat.Type != "json_schema" || got.ResponseFormat.JSONSchema == nil ||
				!got.ResponseFormat.JSONSchema.Strict || got.ResponseFormat.JSONSchema.Name != prompts.SchemaName ||
				!json.Valid(got.ResponseFormat.JSONSchema.Schema)) {
				t.Errorf("response_format is not a strict json_schema: %s", got.Raw)
			}
			if len(got.Messages) != 2 || got.Messages[0].Role != "system" || got.Messages[1].Role != "user" {
				t.Fatalf("messages: %+v, want system then user", got.Messages)
			}
			user := got.Message("user")
			for _, h := range testHits() {
				for i, p := range strings.Split(h.Text, "\n\n") {
					if want := prompts.Label(h.ArticleID, h.First+i) + " " + p; !strings.Contains(user, want) {
						t.Errorf("prompt lacks %q", want)
					}
				}
			}
			for _, want := range []string{req.Question.Text, req.Standalone} {
				if !strings.Contains(user, want) {
					t.Errorf("prompt lacks the question %q", want)
				}
			}
			if strings.Contains(user, req.Question.History[0].Answer) {
				t.Error("the answer prompt carries the conversation; only Rewrite should")
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got.Raw, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			goldenLLM(t, tt.name, pretty.Bytes())
		})
	}
}

func TestDraftJSON(t *testing.T) {
	srv := newServer(t, openaitest.Content(goodJSONReply))
	d, err := testLLM(t, srv.URL, nil).Draft(t.Context(), testRequest("Which missile system is Tehran interested in buying?"))
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Draft{
		Text: "Tehran wants the S-400 system [1], a deal worth $3.67 billion [2].",
		Claims: []bot.Claim{
			{Marker: 1, ArticleID: "iran-s400", Paragraph: 3, Quote: "Iran is interested in buying the S-400 missile system", Score: 0.9},
			{Marker: 2, ArticleID: "iran-s400", Paragraph: 4, Quote: "The deal, worth $3.67 billion, has not been signed yet.", Score: 0.9},
		},
	}
	if fmt.Sprint(d) != fmt.Sprint(want) {
		t.Errorf("draft:\n got %+v\nwant %+v", d, want)
	}
}

func TestDraftStreams(t *testing.T) {
	textReply := "Tehran is interested in the S-400 [1].\n\nCITATIONS:\n[1] (iran-s400 ¶3) \"Iran is interested in buying the S-400 missile system\"\n"
	for _, tt := range []struct {
		name       string
		structured bool
		reply      string
		want       string
	}{
		{"json", true, goodJSONReply, "Tehran wants the S-400 system [1], a deal worth $3.67 billion [2]."},
		{"plain text", false, textReply, "Tehran is interested in the S-400 [1]."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, openaitest.Content(tt.reply))
			l := testLLM(t, srv.URL, nil)
			l.client.noSchema.Store(!tt.structured)
			var deltas []string
			req := testRequest("q")
			req.OnDelta = func(s string) { deltas = append(deltas, s) }
			d, err := l.Draft(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(deltas, ""); got != tt.want {
				t.Errorf("streamed %q, want %q", got, tt.want)
			}
			if len(deltas) < 5 {
				t.Errorf("answer arrived in %d deltas, want it streamed piece by piece", len(deltas))
			}
			if d.Text != tt.want || len(d.Claims) == 0 {
				t.Errorf("final draft %+v, want text %q with claims", d, tt.want)
			}
			if !srv.ChatRequests()[0].Stream {
				t.Error("request with OnDelta was not streamed")
			}
		})
	}
}

// TestStreamMidwayErrorNotRetried: once text was forwarded, a failure is
// reported rather than retried (the preview cannot be taken back).
func TestStreamMidwayErrorNotRetried(t *testing.T) {
	srv := newServer(t, openaitest.Content(`{"answer":"Tehran wants the S-400"}`).ErrorAfter(2, "upstream crashed"))
	var got string
	req := testRequest("q")
	req.OnDelta = func(s string) { got += s }
	_, err := testLLM(t, srv.URL, nil).Draft(t.Context(), req)
	if err == nil || !strings.Contains(err.Error(), "upstream crashed") {
		t.Errorf("err = %v, want the stream's error", err)
	}
	if got != "Tehran wants" || len(srv.ChatRequests()) != 1 {
		t.Errorf("forwarded %q over %d requests, want %q once", got, len(srv.ChatRequests()), "Tehran wants")
	}
}

// TestReplies parses every reply in testdata/replies and compares the
// Draft with its golden file; it also streams each reply in small pieces and
// checks the preview is the parsed answer.
func TestReplies(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "replies", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no replies in testdata/replies: %v", err)
	}
	hits := testHits()
	idx := newParagraphIndex(hits, presentHits(hits))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r := parseReply(string(raw))
			got, err := json.MarshalIndent(r.draft(idx), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			goldenLLM(t, filepath.Join("replies", name+".golden"), append(got, '\n'))

			structured := !strings.HasPrefix(name, "text_")
			for _, size := range []int{1, 4, 50} {
				var preview strings.Builder
				sf := newStreamFilter(func(s string) { preview.WriteString(s) }, structured)
				for _, piece := range splitRunes(string(raw), size) {
					sf.write(piece)
				}
				want := strings.TrimSpace(r.Answer)
				if name == "text_refusal" {
					want = strings.TrimSpace(strings.SplitN(want, "\n", 2)[0])
				}
				if name == "garbage" || name == "empty" || name == "prose_refusal" {
					continue // nothing to compare: the preview is best effort
				}
				if got := strings.TrimSpace(preview.String()); got != want {
					t.Errorf("pieces of %d: preview %q, want %q", size, got, want)
				}
			}
		})
	}
}

func TestStreamedAnswerHoldsBack(t *testing.T) {
	tests := []struct {
		prefix     string
		structured bool
		want       string
	}{
		{`{"answer":"caf\u00`, true, "caf"},
		{`{"answer":"caf\u00e9 \ud83d`, true, "café "},
		{`{"answer":"caf\u00e9 \ud83d\ude00!`, true, "café 😀!"},
		{`{"answer":"a \"b\" c\`, true, `a "b" c`},
		{"<thi", false, ""},
		{"<think>the answer is 4", false, ""},
		{"<think>x</think>\nIt is 4.", false, "It is 4."},
		{"NOT_IN", false, ""},
		{"NOT_IN_ARTICLES The articles", false, "The articles"},
		{"It is 4 [1].\n\nCITA", false, "It is 4 [1]."},
		{"It is 4 [1].\n[1", false, "It is 4 [1]."},
		{"It is 4 [1].\nSo it", false, "It is 4 [1].\nSo it"},
		{"It is 4 [1].\nSo", false, "It is 4 [1]."},
		{"Sure, here:\n{\"answer\":\"x", true, "x"},
	}
	for _, tt := range tests {
		if got := streamedAnswer(tt.prefix, tt.structured); got != tt.want {
			t.Errorf("streamedAnswer(%q, %v) = %q, want %q", tt.prefix, tt.structured, got, tt.want)
		}
	}
}

func TestLabels(t *testing.T) {
	hits := testHits()
	idx := newParagraphIndex(hits, presentHits(hits))
	tests := []struct {
		label   string
		article string
		n       int
	}{
		{"iran-s400 ¶3", "iran-s400", 3},
		{"[iran-s400 ¶4]", "iran-s400", 4},
		{"(news/gas ¶12)", "news/gas", 12},
		{"iran-s400#p3", "iran-s400", 3},
		{"news/gas, paragraph 12", "news/gas", 12},
		{"IRAN-S400 ¶ 3", "iran-s400", 3},
		{"Gas prices ¶12", "news/gas", 12},
		{"unknown-article ¶2", "unknown-article", 2},
		{"¶3", "¶3", 0}, // two articles shown: an article-less label stays for the verifier
		{"", "", 0},
	}
	for _, tt := range tests {
		a, n := idx.resolve(tt.label)
		if tt.label == "¶3" {
			if a != "" || n != 3 {
				t.Errorf("resolve(%q) = %q, %d; want \"\", 3", tt.label, a, n)
			}
			continue
		}
		if a != tt.article || n != tt.n {
			t.Errorf("resolve(%q) = %q, %d; want %q, %d", tt.label, a, n, tt.article, tt.n)
		}
	}
}

// TestInventedQuotesReachTheDraftUnchanged: the answerer passes the model's
// quotes on as claims, word for word; it is the verifier that drops or
// repairs them (see the end-to-end test through the Engine).
func TestInventedQuotesReachTheDraftUnchanged(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "replies", "invented_quotes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, openaitest.Content(string(raw)))
	d, err := testLLM(t, srv.URL, nil).Draft(t.Context(), testRequest("Does Iran own the S-400?"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Claims) != 2 || d.Claims[0].Quote != "Iran has already received its first S-400 battery." ||
		d.Claims[1].Quote != "The deal, worth $5 billion, was signed." {
		t.Errorf("claims %+v, want the model's two quotes as written", d.Claims)
	}
	for _, c := range d.Claims {
		for _, h := range testHits() {
			if strings.Contains(h.Text, c.Quote) {
				t.Errorf("test premise: quote %q is in the passages", c.Quote)
			}
		}
	}
}

func TestContextBudget(t *testing.T) {
	// Ten articles of five 400-character paragraphs, best first.
	var hits []retrieval.Hit
	for i := range 10 {
		var paras []string
		for j := range 5 {
			paras = append(paras, fmt.Sprintf("A%dP%d ", i, j+1)+strings.Repeat("word ", 79))
		}
		hits = append(hits, retrieval.Hit{Passage: retrieval.Passage{
			ID: fmt.Sprintf("a%d#p1-5", i), ArticleID: fmt.Sprintf("a%d", i), Title: fmt.Sprintf("Article %d", i),
			First: 1, Last: 5, Text: strings.Join(paras, "\n\n")}, Score: 1 - float64(i)/10})
	}
	for _, tt := range []struct {
		context   int
		wantParas int // roughly: the prompt must fit, and use most of the room
	}{
		{context: 1024},
		{context: 4096},
		{context: 4096 + 1024},
		{context: 64000, wantParas: 50},
	} {
		t.Run(fmt.Sprint(tt.context), func(t *testing.T) {
			// OpenAI's window holds the prompt and max_tokens together.
			srv := openaitest.New(t, openaitest.Options{Flavour: openaitest.OpenAI, APIKey: "sk-test", ContextTokens: tt.context})
			srv.Chat(openaitest.Content(goodJSONReply))
			l := testLLM(t, srv.URL, func(c *Config) { c.ContextTokens = tt.context })
			req := testRequest("q")
			req.Hits = hits
			if _, err := l.Draft(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			got := srv.ChatRequests()[0]
			used := promptTokens(got.Message("system"), got.Message("user"))
			budget := l.promptBudget()
			if used > budget {
				t.Errorf("prompt of ~%d tokens exceeds the budget of %d", used, budget)
			}
			if got.Limit() != l.answerTokens() || got.PromptTokens()+got.Limit() > tt.context {
				t.Errorf("max_tokens %d with a prompt of %d tokens (as the server counts): over the window of %d", got.Limit(), got.PromptTokens(), tt.context)
			}
			user := got.Message("user")
			shown := strings.Count(user, "] A") // each paragraph: "[aN ¶M] AnPm word …"
			// Trimming is by whole paragraphs with an estimate rounded up
			// per paragraph.
			perParagraph := estimateTokens("[a0 ¶1] A0P1 " + strings.Repeat("word ", 79) + "\n\n")
			if shown < 50 && used < budget-perParagraph-shown {
				t.Errorf("%d of 50 paragraphs shown in ~%d tokens: %d of %d left unused", shown, used, budget-used, budget)
			}
			if tt.wantParas > 0 && shown != tt.wantParas {
				t.Errorf("%d paragraphs shown, want %d", shown, tt.wantParas)
			}
			// Trimming drops from the bottom of the ranking: the shown
			// paragraphs are a prefix of the ranked list.
			for i := range shown {
				if want := fmt.Sprintf("A%dP%d ", i/5, i%5+1); !strings.Contains(user, want) {
					t.Errorf("paragraph %s is missing but a lower-ranked one was kept", want)
				}
			}
			if !strings.Contains(user, "A0P1 ") {
				t.Error("the best paragraph was trimmed")
			}
		})
	}
}

func TestOverlappingChunksShownOnce(t *testing.T) {
	hits := []retrieval.Hit{
		{Passage: retrieval.Passage{ArticleID: "a", Title: "A", First: 2, Last: 3, Text: "two\n\nthree"}, Score: 1},
		{Passage: retrieval.Passage{ArticleID: "a", Title: "A", First: 3, Last: 4, Text: "three\n\nfour"}, Score: 0.5},
	}
	ps := presentHits(hits)
	var labels []string
	for _, p := range ps {
		for _, para := range p.Paragraphs {
			labels = append(labels, para.Label+" "+para.Text)
		}
	}
	if want := "[a ¶2] two|[a ¶3] three|[a ¶4] four"; strings.Join(labels, "|") != want {
		t.Errorf("paragraphs shown: %q, want %q", strings.Join(labels, "|"), want)
	}
}

func TestRewrite(t *testing.T) {
	history := []bot.Turn{
		{Question: "Who won the 2019 election?", Answer: "The Labour party [1]."},
		{Question: "Which missile system is Tehran interested in buying?", Answer: "The S-400 [1]."},
		{Question: "Who said so?", Answer: "A senior official [1]."},
	}
	tests := []struct {
		name    string
		history []bot.Turn
		reply   string
		want    string
		wantReq bool
	}{
		{"no history: no request", nil, "", "and when was that signed?", false},
		{"cleaned reply", history, "Standalone question: \"When was Iran's S-400 deal signed?\"\n", "When was Iran's S-400 deal signed?", true},
		{"think and markdown", history, "<think>hmm</think>\n**When was Iran's S-400 deal signed?**", "When was Iran's S-400 deal signed?", true},
		{"empty reply keeps the question", history, "  \n", "and when was that signed?", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			if tt.wantReq {
				srv.Chat(openaitest.Content(tt.reply))
			}
			l := testLLM(t, srv.URL, func(c *Config) { c.HistoryTurns = 2 })
			got, err := l.Rewrite(t.Context(), bot.Question{Text: "and when was that signed?", History: tt.history})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Rewrite = %q, want %q", got, tt.want)
			}
			sent := srv.ChatRequests()
			if (len(sent) == 1) != tt.wantReq || len(sent) > 1 {
				t.Fatalf("%d requests, want request=%v", len(sent), tt.wantReq)
			}
			if !tt.wantReq {
				return
			}
			req := sent[0]
			if req.ResponseFormat != nil || req.Stream || req.Model != "test-model" {
				t.Errorf("condense request: response_format=%v stream=%v model=%q", req.ResponseFormat != nil, req.Stream, req.Model)
			}
			user := req.Message("user")
			for _, want := range []string{"and when was that signed?", "Which missile system is Tehran interested in buying?", "A senior official [1]."} {
				if !strings.Contains(user, want) {
					t.Errorf("condense prompt lacks %q:\n%s", want, user)
				}
			}
			if strings.Contains(user, "2019 election") {
				t.Errorf("condense prompt sends more than the last 2 turns:\n%s", user)
			}
		})
	}
}

func TestRewriteError(t *testing.T) {
	srv := newServer(t, openaitest.Error(http.StatusUnauthorized, "bad key"))
	_, err := testLLM(t, srv.URL, nil).Rewrite(t.Context(), bot.Question{Text: "and then?", History: []bot.Turn{{Question: "a", Answer: "b"}}})
	if err == nil || !strings.HasSuffix(err.Error(), "rejected the API key (401)") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParseReply(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "replies", "*.txt"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), 3)
	}
	hits := testHits()
	idx := newParagraphIndex(hits, presentHits(hits))
	f.Fuzz(func(t *testing.T, s string, size int) {
		d := parseReply(s).draft(idx)
		for _, c := range d.Claims {
			if strings.TrimSpace(c.Quote) == "" || c.Marker <= 0 {
				t.Errorf("claim with empty quote or no marker: %+v", c)
			}
		}
		if d.Refused && len(d.Claims) > 0 {
			t.Errorf("refused draft with claims: %+v", d)
		}
		var preview strings.Builder
		sf := newStreamFilter(func(s string) { preview.WriteString(s) }, size%2 == 0)
		for _, p := range splitRunes(s, max(1, size%64)) {
			sf.write(p)
		}
	})
}

// articleIndex is a real retrieval index (local embedder) over one
// article, for end-to-end tests: the engine's refusal model needs real
// term statistics and scores.
func articleIndex(t testing.TB, art corpus.Article) *retrieval.Index {
	t.Helper()
	ix, err := retrieval.Open(t.Context(), retrieval.Options{Dir: t.TempDir(), Embedder: retrieval.NewLocalEmbedder()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Sync(t.Context(), []corpus.Article{art}, nil); err != nil {
		t.Fatal(err)
	}
	return ix
}

func e2eArticle() corpus.Article {
	return corpus.Article{ID: "iran-s400", Title: "Tehran eyes Russian air defences", URL: "https://example.org/s400", Paragraphs: []string{
		"Iran is interested in buying the S-400 missile system, a senior official said on Tuesday.",
		"The deal, worth $3.67 billion, has not been signed yet, according to the official.",
		"Russia delivered the older S-300 system to Iran in 2016 after years of delay.",
	}}
}

// TestEngineNeverShowsInventedQuotes drives bot.Engine with the LLM answerer
// against a model that invents, alters and mislabels quotes: whatever it
// does, every citation the user sees is exact source text of its paragraph.
func TestEngineNeverShowsInventedQuotes(t *testing.T) {
	const (
		exact    = "Iran is interested in buying the S-400 missile system"
		invented = "Iran has already received its first S-400 battery from Moscow."
		altered  = "The deal, worth $3.76 billion, has not been signed yet"
		relabel  = "Russia delivered the older S-300 system to Iran in 2016"
	)
	reply := func(cites ...[2]string) string {
		r := reply{Answer: "Iran wants the S-400 [1] but has not bought it [2]; it got the S-300 before [3] and more [4]."}
		for i, c := range cites {
			r.Citations = append(r.Citations, replyCitation{Marker: flexInt(i + 1), Label: c[0], Quote: c[1]})
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	art := e2eArticle()
	tests := []struct {
		name         string
		reply        string
		wantMode     bot.Mode
		wantRefused  bool
		wantVerified []string // quotes expected among the citations
	}{
		{"mixed", reply([2]string{"iran-s400 ¶1", exact}, [2]string{"iran-s400 ¶1", invented},
			[2]string{"iran-s400 ¶2", altered}, [2]string{"iran-s400 ¶1", relabel}), bot.ModeLLM, false, []string{exact}},
		{"all invented", reply([2]string{"iran-s400 ¶1", invented}, [2]string{"iran-s400 ¶2", "Moscow and Tehran signed the contract in secret last year."}),
			bot.ModeExtractive, false, nil},
		{"model refuses", `{"answer":"The articles do not say.","citations":[],"refused":true}`, bot.ModeLLM, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, openaitest.Content(tt.reply))
			llm := testLLM(t, srv.URL, nil)
			e := bot.NewEngine(articleIndex(t, art), bot.EngineOptions{Answerer: llm, Rewriter: llm})
			var preview strings.Builder
			ans, err := e.Answer(t.Context(), bot.Question{Text: "Which missile system is Iran interested in buying?",
				OnDelta: func(s string) { preview.WriteString(s) }})
			if err != nil {
				t.Fatal(err)
			}
			if sent := srv.ChatRequests(); len(sent) != 1 || !sent[0].Stream {
				t.Errorf("%d requests (stream=%v), want one streamed", len(sent), len(sent) > 0 && sent[0].Stream)
			}
			t.Logf("answer %q, citations %+v, stats %+v", ans.Text, ans.Citations, ans.Stats)
			if ans.Mode != tt.wantMode || ans.Refused != tt.wantRefused {
				t.Errorf("mode=%s refused=%v, want %s, %v (answer %q)", ans.Mode, ans.Refused, tt.wantMode, tt.wantRefused, ans.Text)
			}
			for i, c := range ans.Citations {
				if c.Paragraph < 1 || c.Paragraph > len(art.Paragraphs) || !strings.Contains(art.Paragraphs[c.Paragraph-1], c.Quote) {
					t.Errorf("citation %d: %q is not in ¶%d", i+1, c.Quote, c.Paragraph)
				}
				for _, bad := range []string{invented, altered, "Moscow and Tehran signed"} {
					if strings.Contains(c.Quote, bad) {
						t.Errorf("citation %d shows the model's %q", i+1, bad)
					}
				}
				if !strings.Contains(ans.Text, fmt.Sprintf("[%d]", c.Marker)) && ans.Mode == bot.ModeLLM {
					t.Errorf("citation %d has marker %d that the text %q lacks", i+1, c.Marker, ans.Text)
				}
			}
			for _, want := range tt.wantVerified {
				found := false
				for _, c := range ans.Citations {
					found = found || c.Quote == want
				}
				if !found {
					t.Errorf("exact quote %q is not among the citations %+v", want, ans.Citations)
				}
			}
			if tt.name == "mixed" && ans.Stats.Dropped+ans.Stats.Repaired < 2 {
				t.Errorf("stats %+v: want the invented and altered quotes dropped or repaired", ans.Stats)
			}
			if tt.wantMode == bot.ModeExtractive && (len(ans.Citations) == 0 || preview.Len() == 0) {
				t.Errorf("fallback: %d citations, preview %q; want extractive citations after a streamed preview", len(ans.Citations), preview.String())
			}
		})
	}
}

// TestEngineLLMFollowUp: the engine asks the model to rewrite a follow-up with
// the conversation, then answers the standalone question.
func TestEngineLLMFollowUp(t *testing.T) {
	const standalone = "How much is Iran's S-400 deal worth?"
	srv := newServer(t, openaitest.Content(standalone),
		openaitest.Content(`{"answer":"$3.67 billion [1].","citations":[{"marker":1,"label":"iran-s400 ¶2","quote":"The deal, worth $3.67 billion, has not been signed yet"}],"refused":false}`))
	llm := testLLM(t, srv.URL, nil)
	e := bot.NewEngine(articleIndex(t, e2eArticle()), bot.EngineOptions{Answerer: llm, Rewriter: llm})
	ans, err := e.Answer(t.Context(), bot.Question{Text: "and how much is it worth?", History: []bot.Turn{
		{Question: "Which missile system is Iran interested in buying?", Answer: "The S-400 [1]."}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := srv.ChatRequests()
	if len(sent) != 2 {
		t.Fatalf("%d requests, want rewrite then answer", len(sent))
	}
	if !strings.Contains(sent[0].Message("user"), "The S-400 [1].") {
		t.Errorf("rewrite request lacks the conversation:\n%s", sent[0].Message("user"))
	}
	if !strings.Contains(sent[1].Message("user"), standalone) || ans.Standalone != standalone {
		t.Errorf("answer request or Answer.Standalone (%q) lacks the standalone question", ans.Standalone)
	}
	if len(ans.Citations) != 1 || ans.Citations[0].Paragraph != 2 || ans.Citations[0].Status != bot.Verified {
		t.Errorf("citations %+v, want ¶2 verified", ans.Citations)
	}
}

// longReply is a 4 KB structured reply with twelve citations.
func longReply() string {
	r := reply{Answer: strings.Repeat("Tehran wants the S-400 system, officials said [1]. ", 40)}
	for i := range 12 {
		r.Citations = append(r.Citations, replyCitation{Marker: flexInt(i + 1), Label: "iran-s400 ¶3", Quote: "Iran is interested in buying the S-400 missile system, a senior official said on Tuesday."})
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// BenchmarkStreamFilter measures forwarding a streamed 4 KB reply arriving
// in deltas of 3 runes (the filter re-reads the growing reply per delta).
func BenchmarkStreamFilter(b *testing.B) {
	pieces := splitRunes(longReply(), 3)
	b.ReportAllocs()
	for b.Loop() {
		sf := newStreamFilter(func(string) {}, true)
		for _, p := range pieces {
			sf.write(p)
		}
	}
}

// BenchmarkParseTruncatedReply measures the worst case of the lenient
// parser: a long reply cut inside its last quote.
func BenchmarkParseTruncatedReply(b *testing.B) {
	s := longReply()
	s = s[:len(s)-60]
	b.ReportAllocs()
	for b.Loop() {
		if r := parseReply(s); len(r.Citations) == 0 {
			b.Fatal("nothing parsed")
		}
	}
}
