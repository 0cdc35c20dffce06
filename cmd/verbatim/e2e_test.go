package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/eval"
)

// binPath is the verbatim binary built once for the end-to-end tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "verbatim-e2e-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "verbatim")
	if runtime.GOOS == "windows" {
		binPath += ".exe"
	}
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build verbatim: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// verbatim runs the binary in dir with a clean environment plus env.
func verbatim(t *testing.T, dir, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := binCommand(t, dir, env, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := exitCode(t, cmd.Run())
	return result{out.String(), errb.String(), code}
}

// binCommand is the binary to run in dir with a clean environment plus env.
func binCommand(t *testing.T, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	return cmd
}

// exitCode is the exit code of a run that ended with err.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run verbatim: %v", err)
	}
	return 0
}

// jsonAnswer is the stable `ask --json` contract scripts read.
type jsonAnswer struct {
	Question  string `json:"question"`
	Answer    string `json:"answer"`
	Refused   bool   `json:"refused"`
	Citations []struct {
		Article struct {
			ID    string `json:"id"`
			Title string `json:"title"`
			URL   string `json:"url"`
		} `json:"article"`
		Paragraph int     `json:"paragraph"`
		Quote     string  `json:"quote"`
		Score     float64 `json:"score"`
	} `json:"citations"`
	Passages []struct {
		ID      string   `json:"id"`
		Signals []string `json:"signals"`
	} `json:"passages"`
}

const bundledID = "iran-and-russia-on-their-way-to-new-level-of-partnership"

func TestAskBundledCorpus(t *testing.T) {
	dir := t.TempDir()
	r := verbatim(t, dir, "", nil, "ask", "Which missile system is Tehran interested in buying?")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "S-400") || !strings.Contains(r.stdout, "¶9") || !strings.Contains(r.stdout, "Iran and Russia on their way to new level of partnership") {
		t.Errorf("answer lacks the S-400 quote from ¶9 with its title:\n%s", r.stdout)
	}
}

func TestAskJSONContract(t *testing.T) {
	dir := t.TempDir()
	r := verbatim(t, dir, "", nil, "ask", "--json", "--explain", "When was Iran disconnected from SWIFT?")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	var ans jsonAnswer
	if err := json.Unmarshal([]byte(r.stdout), &ans); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, r.stdout)
	}
	if ans.Refused || len(ans.Citations) == 0 {
		t.Fatalf("no citations: %+v", ans)
	}
	c := ans.Citations[0]
	if c.Article.ID != bundledID || c.Paragraph != 24 || !strings.Contains(c.Quote, "2018") || c.Score == 0 {
		t.Errorf("first citation = %+v, want ¶24 of %s quoting 2018", c, bundledID)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(r.stdout), &raw)
	for _, k := range []string{"question", "answer", "refused", "citations"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if len(ans.Passages) == 0 || len(ans.Passages[0].Signals) == 0 {
		t.Errorf("--explain gave no passages with signals: %+v", ans.Passages)
	}
}

func TestAskRefusesUnsupported(t *testing.T) {
	dir := t.TempDir()
	r := verbatim(t, dir, "", nil, "ask", "--json", "Who won the 2018 FIFA World Cup?")
	if r.code != 0 {
		t.Fatalf("a clean refusal must exit 0; got %d, stderr: %s", r.code, r.stderr)
	}
	var ans jsonAnswer
	if err := json.Unmarshal([]byte(r.stdout), &ans); err != nil {
		t.Fatal(err)
	}
	if !ans.Refused || len(ans.Citations) != 0 || ans.Answer == "" {
		t.Errorf("want a refusal with no citations and a reason, got %+v", ans)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no question", []string{"ask"}, 1},
		{"unknown command", []string{"frobnicate"}, 1},
		{"unknown flag", []string{"ask", "--nope", "q"}, 1},
		{"help", []string{"ask", "--help"}, 0},
		{"missing corpus", []string{"ask", "--corpus", filepath.Join(dir, "nowhere"), "q"}, 2},
		{"corpus without articles", []string{"ask", "--corpus", filepath.Join(dir, "empty"), "q"}, 2},
		{"missing eval file", []string{"eval", filepath.Join(dir, "none.jsonl")}, 2},
		{"version", []string{"version"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := verbatim(t, dir, "", nil, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, tc.code, r.stderr)
			}
			if tc.code != 0 && strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("want a one-line reason on stderr, got:\n%s", r.stderr)
			}
		})
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			for _, args := range [][]string{{c.name, "--help"}, {"help", c.name}, {c.name, "-h"}} {
				r := verbatim(t, t.TempDir(), "", nil, args...)
				if r.code != 0 || strings.Count(r.stdout, "Usage:") != 1 {
					t.Errorf("%q: exit %d, want the usage once on stdout:\n%s\nstderr: %s", args, r.code, r.stdout, r.stderr)
				}
			}
		})
	}
}

// writeCorpus writes files (slash-separated paths) under dir; a body
// starting with "->" makes a symlink to the rest.
func writeCorpus(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(body, "->"); ok {
			err = os.Symlink(filepath.FromSlash(target), p)
		} else {
			err = os.WriteFile(p, []byte(body), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestIndexAskEvalOnTempCorpus(t *testing.T) {
	work := t.TempDir()
	corpusDir := filepath.Join(work, "articles")
	indexDir := filepath.Join(work, "index")
	writeCorpus(t, corpusDir, map[string]string{
		"bees.md":      "---\ntitle: The Honey Bee\nurl: https://example.org/bees\n---\n\nHoney bees live in colonies of up to sixty thousand workers.\n\nA queen bee can lay two thousand eggs in a single day.\n",
		"tides.txt":    "Why the sea has tides\n\nTides are caused mainly by the gravitational pull of the Moon.\n\nSpring tides happen when the Sun and Moon line up.\n",
		"broken.jsonl": "{\"title\": \"Volcanoes\", \"text\": \"Mount Etna is one of the most active volcanoes in the world.\"}\n{not json\n",
		"binary.txt":   "\x00\x01\x02binary",
	})
	env := []string{"VERBATIM_INDEX=" + indexDir}

	r := verbatim(t, work, "", env, "index", "--corpus", corpusDir)
	if r.code != 0 {
		t.Fatalf("index: exit %d, stderr: %s", r.code, r.stderr)
	}
	for _, want := range []string{"added 3", "broken.jsonl:2", "binary.txt"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("index summary lacks %q:\n%s", want, r.stdout)
		}
	}

	// index listed the skipped files: ask only counts them.
	r = verbatim(t, work, "", env, "ask", "--corpus", corpusDir, "--json", "How many eggs can a queen bee lay in a day?")
	if strings.Contains(r.stderr, "broken.jsonl") || strings.Contains(r.stderr, "binary.txt") || !strings.Contains(r.stderr, "2 corpus entries were skipped") {
		t.Errorf("ask after index does not just count the skipped files on stderr:\n%s", r.stderr)
	}
	var ans jsonAnswer
	if err := json.Unmarshal([]byte(r.stdout), &ans); err != nil || r.code != 0 {
		t.Fatalf("ask: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	if len(ans.Citations) == 0 || ans.Citations[0].Article.ID != "bees" || ans.Citations[0].Paragraph != 2 || ans.Citations[0].Article.URL != "https://example.org/bees" {
		t.Errorf("want bees ¶2 with its URL first, got %+v", ans.Citations)
	}

	// A second index run re-embeds nothing; a changed article is updated.
	r = verbatim(t, work, "", env, "index", "--corpus", corpusDir)
	if !strings.Contains(r.stdout, "added 0, updated 0, removed 0, unchanged 3") {
		t.Errorf("second index run not a no-op:\n%s", r.stdout)
	}
	writeCorpus(t, corpusDir, map[string]string{"tides.txt": "Why the sea has tides\n\nTides are caused mainly by the Moon.\n"})
	if err := os.Remove(filepath.Join(corpusDir, "bees.md")); err != nil {
		t.Fatal(err)
	}
	r = verbatim(t, work, "", env, "index", "--corpus", corpusDir)
	if !strings.Contains(r.stdout, "added 0, updated 1, removed 1, unchanged 1") {
		t.Errorf("after a change and a removal:\n%s", r.stdout)
	}

	r = verbatim(t, work, "", env, "sources", "--corpus", corpusDir)
	if r.code != 0 || !strings.Contains(r.stdout, "tides") || strings.Contains(r.stdout, "bees") {
		t.Errorf("sources: exit %d\n%s", r.code, r.stdout)
	}

	qa := filepath.Join(work, "qa.jsonl")
	writeCorpus(t, work, map[string]string{"qa.jsonl": `{"id":"q1","question":"What causes tides?","answers":["the Moon"],"article":"tides","paragraph":1}
{"id":"q2","question":"Who painted the Mona Lisa?","answers":[],"article":null,"paragraph":null}
`})
	r = verbatim(t, work, "", env, "eval", "--corpus", corpusDir, "--json", qa)
	if r.code != 0 {
		t.Fatalf("eval: exit %d, stderr: %s", r.code, r.stderr)
	}
	var reps []eval.Report
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, r.stdout)
	}
	byMode := map[string]eval.Report{}
	for _, rep := range reps {
		byMode[rep.Mode] = rep
	}
	if ex := byMode["extractive"]; ex.HitAt1 != 1 || ex.AnswerInQuote1 != 1 || ex.RefusalRecall != 1 || ex.RefusalPrecision != 1 {
		t.Errorf("extractive eval = %+v", ex)
	}
	if rt := byMode["retrieval"]; rt.HitAt1 != 1 {
		t.Errorf("retrieval eval = %+v", rt)
	}
}

func TestChatScripted(t *testing.T) {
	in := "Who is the Iranian Ambassador to Russia?\n\nWhat does INSTEX stand for?\n"
	r := verbatim(t, t.TempDir(), in, nil, "chat")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "Qasem Jalali") || !strings.Contains(r.stdout, "Instrument in Support of Trade Exchanges") {
		t.Errorf("chat did not answer both lines:\n%s", r.stdout)
	}
}

// TestIndexInterrupted stops `verbatim index` with SIGINT while it embeds
// new articles: it exits 2 with a one-line reason, and the previous index is
// still there — the next run adds the new articles and re-embeds none of
// the old ones.
func TestIndexInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two synthetic corpora")
	}
	work := t.TempDir()
	corpusDir := filepath.Join(work, "corpus")
	env := []string{"VERBATIM_INDEX=" + filepath.Join(work, "index")}
	if r := verbatim(t, work, "", nil, "bench", "gen", "--articles", "150", "--seed", "1", "--out", filepath.Join(corpusDir, "first")); r.code != 0 {
		t.Fatalf("bench gen: %s", r.stderr)
	}
	if r := verbatim(t, work, "", env, "index", "--corpus", corpusDir); r.code != 0 {
		t.Fatalf("first index: %s", r.stderr)
	}
	if r := verbatim(t, work, "", nil, "bench", "gen", "--articles", "3000", "--seed", "2", "--out", filepath.Join(corpusDir, "more")); r.code != 0 {
		t.Fatalf("bench gen: %s", r.stderr)
	}

	cmd := exec.Command(binPath, "index", "--corpus", corpusDir)
	cmd.Dir = work
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // into loading or embedding the 3,000 new articles
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Skipf("index finished before the interrupt (err %v); machine too fast for this test", err)
	}
	if exit.ExitCode() != 2 || !strings.Contains(stderr.String(), "interrupted") || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and one line saying it was interrupted", exit.ExitCode(), stderr.String())
	}

	r := verbatim(t, work, "", env, "index", "--corpus", corpusDir, "--json")
	var rep struct {
		Added     []string `json:"added"`
		Unchanged int      `json:"unchanged"`
		Rebuilt   bool     `json:"rebuilt"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
		t.Fatalf("index after the interrupt: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if rep.Rebuilt || rep.Unchanged != 150 || len(rep.Added) != 3000 {
		t.Errorf("after the interrupt: rebuilt=%t unchanged=%d added=%d; want the 150 old articles kept and 3000 added", rep.Rebuilt, rep.Unchanged, len(rep.Added))
	}
}
