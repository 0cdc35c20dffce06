package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/eval"
	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
)

// badModels are the servers of issue 9's "must show": one that never
// answers, one whose generation dies mid-reply, one that rambles and one
// that talks gibberish (llama-server and Ollama flavours).
var badModels = []struct {
	name    string
	opts    openaitest.Options
	reply   openaitest.Reply
	notice  string // after "verbatim: the model at <base> " or on its own
	ownLine bool   // the notice does not name the server
}{
	{"never answers", openaitest.Options{Flavour: openaitest.Ollama}, openaitest.Hang(), "did not answer within 1s", false},
	{"drops the connection", openaitest.Options{}, openaitest.Drop(5), "closed the connection without answering", false},
	{"rambles", openaitest.Options{TokenDelay: time.Millisecond}, openaitest.Ramble(), "none of the model's quotes could be verified against the articles", true},
	{"gibberish", openaitest.Options{Flavour: openaitest.Ollama}, openaitest.Gibberish(9), "none of the model's quotes could be verified against the articles", true},
}

func badModelEnv(base string) []string {
	return []string{"OPENAI_BASE_URL=" + base, "VERBATIM_CHAT_MODEL=test-model", "VERBATIM_LLM_TIMEOUT=1s",
		"VERBATIM_LLM_RETRIES=0", "VERBATIM_MAX_ANSWER_TOKENS=64"}
}

func noticeLine(base, notice string, ownLine bool) string {
	if ownLine {
		return "verbatim: " + notice + "; showing quotes found without it\n"
	}
	return "verbatim: the model at " + base + " " + notice + "; showing quotes found without it\n"
}

// TestAskWithoutTheModel: against each bad server, ask exits 0 with the
// extractive answer — byte for byte what VERBATIM_LLM=off prints — and one
// notice on stderr naming the server and the cause; --json carries the
// notice in "fallback"; VERBATIM_LLM=on fails instead.
func TestAskWithoutTheModel(t *testing.T) {
	const q = "Which missile system is Tehran interested in buying?"
	work := t.TempDir()
	extractive := verbatim(t, work, "", []string{"VERBATIM_LLM=off"}, "ask", q)
	if extractive.code != 0 || !strings.Contains(extractive.stdout, "¶9") {
		t.Fatalf("extractive answer: exit %d\n%s%s", extractive.code, extractive.stdout, extractive.stderr)
	}
	for _, m := range badModels {
		t.Run(m.name, func(t *testing.T) {
			srv := openaitest.New(t, m.opts)
			srv.Chat(m.reply)
			env := badModelEnv(srv.URL)
			r := verbatim(t, work, "", env, "ask", q)
			if want := noticeLine(srv.URL, m.notice, m.ownLine); r.code != 0 || r.stderr != want {
				t.Errorf("exit %d\nstderr %q\nwant   %q", r.code, r.stderr, want)
			}
			if r.stdout != extractive.stdout {
				t.Errorf("stdout is not the extractive answer alone:\n%s\nwant:\n%s", r.stdout, extractive.stdout)
			}
			if sent := lastChat(t, srv); sent.Limit() != 64 || sent.Stream {
				t.Errorf("request max_tokens %d stream %v; want 64 and no stream (stdout is a pipe)", sent.Limit(), sent.Stream)
			}

			r = verbatim(t, work, "", env, "ask", "--json", q)
			var ans struct {
				Mode      string `json:"mode"`
				Fallback  string `json:"fallback"`
				Citations []struct {
					Paragraph int `json:"paragraph"`
				} `json:"citations"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &ans); err != nil || r.code != 0 {
				t.Fatalf("--json: exit %d, %v\n%s", r.code, err, r.stdout)
			}
			if want := strings.TrimSuffix(strings.TrimPrefix(noticeLine(srv.URL, m.notice, m.ownLine), "verbatim: "), "\n"); ans.Fallback != want ||
				ans.Mode != "extractive" || len(ans.Citations) == 0 || ans.Citations[0].Paragraph != 9 || r.stderr != "" {
				t.Errorf("--json: %+v, stderr %q; want fallback %q with the extractive ¶9", ans, r.stderr, want)
			}

			r = verbatim(t, work, "", append(env, "VERBATIM_LLM=on"), "ask", q)
			if !m.ownLine && (r.code != 2 || !strings.Contains(r.stderr, m.notice) || r.stdout != "") {
				t.Errorf("VERBATIM_LLM=on: exit %d, stderr %q; want 2 and the cause", r.code, r.stderr)
			}
		})
	}
}

// TestChatWithoutTheModel: piped chat, two lines, against each bad server:
// exit 0, every answer the extractive one with its notice, no model text
// on stdout. The second line is a follow-up the model is asked to rewrite
// first: a rambling or gibberish model's rewrite loses the question, so the
// engine searches the user's own words instead (issue 9, item 5) and the
// second answer is the extractive one too.
func TestChatWithoutTheModel(t *testing.T) {
	const lines = "Which missile system is Tehran interested in buying?\nWhat does INSTEX stand for?\n"
	work := t.TempDir()
	extractive := verbatim(t, work, lines, []string{"VERBATIM_LLM=off"}, "chat")
	if extractive.code != 0 || !strings.Contains(extractive.stdout, "Instrument in Support of Trade Exchanges") {
		t.Fatalf("extractive chat: exit %d\n%s%s", extractive.code, extractive.stdout, extractive.stderr)
	}
	for _, m := range badModels {
		t.Run(m.name, func(t *testing.T) {
			srv := openaitest.New(t, m.opts)
			srv.Chat(m.reply)
			r := verbatim(t, work, lines, badModelEnv(srv.URL), "chat")
			notices := strings.Count(r.stderr, noticeLine(srv.URL, m.notice, m.ownLine))
			if r.code != 0 || notices != 2 {
				t.Errorf("exit %d, want 0 and the notice for each answer; stderr:\n%s", r.code, r.stderr)
			}
			if r.stdout != extractive.stdout {
				t.Errorf("stdout is not the extractive answers alone:\n%s\nwant:\n%s", r.stdout, extractive.stdout)
			}
		})
	}
}

// TestEvalWithoutTheModel: eval --modes llm against each bad server exits
// 0, counts every fallback in its own column and as a miss: a gibberish
// model cannot score hit@1 by falling back to the extractive answer.
func TestEvalWithoutTheModel(t *testing.T) {
	work := t.TempDir()
	qa := filepath.Join(work, "qa.jsonl")
	writeCorpus(t, work, map[string]string{"qa.jsonl": `{"id":"s3","question":"Which missile system is Tehran interested in buying?","answers":["S-400"],"article":"` + bundledID + `","paragraph":9}
{"id":"s6","question":"What does INSTEX stand for?","answers":["Instrument in Support of Trade Exchanges"],"article":"` + bundledID + `","paragraph":24}
`})
	for _, m := range badModels {
		t.Run(m.name, func(t *testing.T) {
			srv := openaitest.New(t, m.opts)
			srv.Chat(m.reply)
			r := verbatim(t, work, "", badModelEnv(srv.URL), "eval", "--json", "--modes", "extractive,llm", qa)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var reps []eval.Report
			if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil || len(reps) != 2 {
				t.Fatalf("%v\n%s", err, r.stdout)
			}
			ex, llm := reps[0], reps[1]
			if ex.HitAt1 != 1 {
				t.Errorf("extractive hit@1 %.2f, want 1", ex.HitAt1)
			}
			if llm.Fallbacks != 2 || llm.HitAt1 != 0 || llm.AnswerInQuote1 != 0 {
				t.Errorf("llm: %d fallbacks, hit@1 %.2f, in-quote %.2f; want 2 fallbacks, both misses", llm.Fallbacks, llm.HitAt1, llm.AnswerInQuote1)
			}
			r = verbatim(t, work, "", badModelEnv(srv.URL), "eval", "--modes", "llm", qa)
			if r.code != 0 || !strings.Contains(r.stdout, "fallbacks") {
				t.Errorf("table: exit %d\n%s", r.code, r.stdout)
			}
		})
	}
}
