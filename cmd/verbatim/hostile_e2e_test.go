package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// nestedHTML is the page of issue 11: depth nested <div>s around one
// paragraph (100,000 of them stalled `index` for minutes).
func nestedHTML(depth int) string {
	return "<html><head><title>D</title></head><body>" + strings.Repeat("<div>", depth) +
		"<p>x y z.</p>" + strings.Repeat("</div>", depth) + "</body></html>"
}

// heavyHTML is about size bytes of pages nested 500 deep: within the
// parser's depth limit, and about a second's parsing per MiB.
func heavyHTML(size int) string {
	block := strings.Repeat("<div>", 500) + "<p>Some words of the text.</p>" + strings.Repeat("</div>", 500)
	return "<html><head><title>Heavy</title></head><body>" + strings.Repeat(block, size/len(block)+1) + "</body></html>"
}

// TestIndexBoundsParsing: a page nested 100,000 deep is skipped with its
// reason at once, and VERBATIM_PARSE_TIMEOUT skips a page that parses
// longer; the rest of the corpus is indexed.
func TestIndexBoundsParsing(t *testing.T) {
	work := t.TempDir()
	corpusDir := filepath.Join(work, "c")
	writeCorpus(t, corpusDir, map[string]string{
		"deep.html":  nestedHTML(100_000),
		"heavy.html": heavyHTML(2 << 20),
		"good.txt":   "Good\n\nThe quick brown fox jumps over the lazy dog.\n",
	})
	env := []string{"VERBATIM_INDEX=" + filepath.Join(work, "index"), "VERBATIM_PARSE_TIMEOUT=100ms"}
	r := verbatim(t, work, "", env, "index", "--corpus", corpusDir)
	if r.code != 0 {
		t.Fatalf("index: exit %d, stderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "added 1, updated 0, removed 0, unchanged 0, skipped 2") {
		t.Errorf("index summary:\n%s", r.stdout)
	}
	for file, reason := range map[string]string{
		"deep.html":  "HTML elements nested more than 512 deep",
		"heavy.html": "took too long to parse: gave up after 100ms",
	} {
		if !hasLine(r.stdout, file, reason) {
			t.Errorf("index output has no line naming %s with %q:\n%s", file, reason, r.stdout)
		}
	}
}

// TestIndexInterruptedWhileParsing: Ctrl-C reaches the HTML parser, so
// `index` stops at once in the middle of a page that takes seconds.
func TestIndexInterruptedWhileParsing(t *testing.T) {
	work := t.TempDir()
	corpusDir := filepath.Join(work, "c")
	writeCorpus(t, corpusDir, map[string]string{"heavy.html": heavyHTML(8 << 20)}) // ~10 s of parsing
	cmd := exec.Command(binPath, "index", "--corpus", corpusDir, "--index", filepath.Join(work, "index"))
	cmd.Dir = work
	cmd.Env = []string{"HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	time.Sleep(500 * time.Millisecond) // into parsing the page
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatal("index did not stop within 5 s of SIGINT while parsing a page")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("err %v, stderr:\n%s\nwant exit 2 and a line saying it was interrupted", err, stderr.String())
	}
}

// hasLine reports whether some line of out holds every one of parts.
func hasLine(out string, parts ...string) bool {
	for line := range strings.Lines(out) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// hostileEntry is one file of the hostile corpus: its content, or a
// symlink target after "->", and, for a bad one, what `index --json`
// must report.
type hostileEntry struct {
	body string
	// skipped: the path (with ":line" for a .jsonl record) and a part of
	// the reason index must report; empty for a file that must load.
	skipped map[string]string
}

// TestHostileCorpus is the hostile-corpus scenario of issue 11: a corpus of
// deep HTML, control characters, binary and non-UTF-8 content and names, a
// huge paragraph, broken JSON Lines, symlink loops and escapes, empty files
// and thousands of tiny files. `index` reports every bad entry by name with
// its reason and nothing else; every good article answers a question about
// it with a citation of itself; nothing printed holds a control character.
func TestHostileCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes a 2,000-file corpus")
	}
	work := t.TempDir()
	corpusDir := filepath.Join(work, "corpus")
	outside := filepath.Join(work, "outside")
	writeCorpus(t, outside, map[string]string{"secret.txt": "Secret\n\nThe launch code is swordfish.\n"})

	// question -> article ID for every good article
	good := map[string]string{}
	entries := map[string]hostileEntry{
		"deep.html":            {body: nestedHTML(100_000), skipped: map[string]string{"deep.html": "nested more than 512 deep"}},
		"heavy.html":           {body: heavyHTML(1 << 20), skipped: map[string]string{"heavy.html": "took too long to parse"}},
		"binary.txt":           {body: "Title\n\nab\x00\x01cd", skipped: map[string]string{"binary.txt": "binary file"}},
		"latin1.md":            {body: "# Caf\xe9\n\nUn caf\xe9 cr\xe8me.", skipped: map[string]string{"latin1.md": "not valid UTF-8"}},
		"too-big.txt":          {body: "Big\n\n" + strings.Repeat("word ", 1<<20), skipped: map[string]string{"too-big.txt": "file too large"}},
		"empty.txt":            {body: "", skipped: map[string]string{"empty.txt": "no paragraphs"}},
		"empty.md":             {body: "", skipped: map[string]string{"empty.md": "no paragraphs"}},
		"empty.html":           {body: "", skipped: map[string]string{"empty.html": "no paragraphs"}},
		"empty.jsonl":          {body: "", skipped: map[string]string{"empty.jsonl": "no paragraphs"}},
		"title-only.txt":       {body: "Only a title\n", skipped: map[string]string{"title-only.txt": "only a title line"}},
		"script-only.html":     {body: "<html><body><script>alert(1)</script></body></html>", skipped: map[string]string{"script-only.html": "no readable content"}},
		"loop":                 {body: "->.", skipped: map[string]string{"loop": "symlink loop: leads back to the corpus root"}},
		"chain-a.md":           {body: "->chain-b.md", skipped: map[string]string{"chain-a.md": "symlink loop"}},
		"chain-b.md":           {body: "->chain-a.md", skipped: map[string]string{"chain-b.md": "symlink loop"}},
		"escape.txt":           {body: "->../outside/secret.txt", skipped: map[string]string{"escape.txt": "symlink leads outside the corpus root"}},
		"absolute.txt":         {body: "->" + filepath.Join(outside, "secret.txt"), skipped: map[string]string{"absolute.txt": "symlink leads outside the corpus root"}},
		"escape-dir":           {body: "->../outside", skipped: map[string]string{"escape-dir": "symlink leads outside the corpus root"}},
		"dangling.md":          {body: "->nowhere.md", skipped: map[string]string{"dangling.md": "broken symlink"}},
		"dup.md":               {body: "# Duplicate\n\nThe first dup article tells of quillwort marshes.\n"},
		"dup.txt":              {body: "Duplicate\n\nA second article with the same ID.\n", skipped: map[string]string{"dup.txt": "duplicate article ID"}},
		"control.txt":          {body: "Harbour \x1b[31mnews\n\nThe harbour pilots voted " + escapes + "to strike over pay on Monday.\n"},
		"crlf-bom.txt":         {body: "\uFEFFWindows file\r\n\r\nThe brackish lagoon is home to flamingos.\r\n"},
		"latin1-meta.html":     {body: "<html><head><meta charset=\"iso-8859-1\"><title>Caf\xe9</title></head><body><article><p>" + strings.Repeat("The caf\xe9 on the square serves marzipan tarts every morning. ", 8) + "</p></article></body></html>"},
		"huge.txt":             {body: "Huge\n\nThe tollkeeper of the gorge wrote " + strings.Repeat("on and on ", 200_000) + "until dawn.\n"},
		"tab\tand\nnewline.md": {body: "# Odd name\n\nThe odd file name hides a recipe for nettle soup.\n"},
		"feed.jsonl": {body: `{"id": "ok", "title": "Wire", "text": "The ferry to the quarry island runs twice a day."}` + "\n" +
			"{broken\n" + `{"title": 7, "text": "wrong type"}` + "\n" + `{"id": "none", "title": "No text"}` + "\n",
			skipped: map[string]string{"feed.jsonl:2": "json: invalid character", "feed.jsonl:3": "json: cannot unmarshal", "feed.jsonl:4": "no text"}},
		".hidden.txt":   {body: "Hidden\n\nNever loaded."},
		"picture.png":   {body: "\x89PNG\r\n\x1a\n\x00"},
		"no-extension":  {body: "ignored"},
		"sub/inner.txt": {body: "Inner\n\nThe inner article sits beside a loop back to its parent.\n"},
		"sub/up":        {body: "->..", skipped: map[string]string{"sub/up": "symlink loop: leads back to the corpus root"}},
	}
	if runtime.GOOS == "linux" {
		entries["caf\xe9.txt"] = hostileEntry{body: "Cafe\n\nA Latin-1 name.", skipped: map[string]string{`caf\xe9.txt`: "name is not valid UTF-8"}}
		entries["d\xfcr/inside.md"] = hostileEntry{body: "# Inside\n\nUnder a Latin-1 directory name.", skipped: map[string]string{`d\xfcr`: "name is not valid UTF-8"}}
	}
	good["What do the harbour pilots want?"] = "control"
	good["Where do flamingos live?"] = "crlf-bom"
	good["What does the café serve every morning?"] = "latin1-meta"
	good["What did the tollkeeper of the gorge write?"] = "huge"
	good["What does the odd file name hide?"] = "tab\tand\nnewline"
	good["How often does the ferry to the quarry island run?"] = "feed#ok"
	good["What does the first dup article tell of?"] = "dup"
	good["What does the inner article sit beside?"] = "sub/inner"
	// Thousands of tiny files, each with a word of its own.
	const tiny = 2000
	for i := range tiny {
		w := tinyWord(i)
		entries[fmt.Sprintf("tiny/%04d.txt", i)] = hostileEntry{body: fmt.Sprintf("Vault %s\n\nThe %s vault keeps copper coins.\n", w, w)}
		if i%97 == 0 {
			good[fmt.Sprintf("What does the %s vault keep?", w)] = fmt.Sprintf("tiny/%04d", i)
		}
	}

	files := map[string]string{}
	wantSkipped := map[string]string{}
	for name, e := range entries {
		files[name] = e.body
		maps.Copy(wantSkipped, e.skipped)
	}
	writeCorpus(t, corpusDir, files)

	env := []string{
		"VERBATIM_INDEX=" + filepath.Join(work, "index"),
		"VERBATIM_MAX_FILE_BYTES=4194304",
		"VERBATIM_PARSE_TIMEOUT=300ms",
		"VERBATIM_HISTORY_TURNS=0",
	}
	printable := func(what string, r result) {
		t.Helper()
		for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
			if bad := unprintable(out); bad != "" {
				t.Errorf("%s: %s holds %s", what, name, bad)
			}
		}
	}

	r := verbatim(t, work, "", env, "index", "--json", "--corpus", corpusDir)
	printable("index", r)
	var rep struct {
		Added   []string `json:"added"`
		Skipped []struct {
			Path   string `json:"path"`
			Line   int    `json:"line"`
			Reason string `json:"reason"`
		} `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
		t.Fatalf("index: exit %d, %v\n%.3000s\n%s", r.code, err, r.stdout, r.stderr)
	}
	gotSkipped := map[string]string{}
	for _, s := range rep.Skipped {
		where := s.Path
		if s.Line > 0 {
			where = fmt.Sprintf("%s:%d", s.Path, s.Line)
		}
		gotSkipped[where] = s.Reason
	}
	for where, reason := range wantSkipped {
		if got, ok := gotSkipped[where]; !ok || !strings.Contains(got, reason) {
			t.Errorf("%s: reported %q (reported: %t), want a reason with %q", where, got, ok, reason)
		}
	}
	for where, reason := range gotSkipped {
		if _, ok := wantSkipped[where]; !ok {
			t.Errorf("%s reported as skipped (%s), but it is not a bad entry", where, reason)
		}
	}
	special := 0
	for _, id := range good {
		if !strings.HasPrefix(id, "tiny/") {
			special++
		}
	}
	if want := tiny + special; len(rep.Added) != want {
		t.Errorf("added %d articles, want %d", len(rep.Added), want)
	}

	t.Logf("index: %d added, %d skipped", len(rep.Added), len(rep.Skipped))
	// Every good special file, and one tiny file in 97, answers a question
	// about itself, in one piped chat session.
	var questions []string
	for q := range good {
		questions = append(questions, q)
	}
	slices.Sort(questions)
	r = verbatim(t, work, strings.Join(questions, "\n")+"\n", env, "chat", "--json", "--extractive", "--corpus", corpusDir)
	printable("chat", r)
	if r.code != 0 {
		t.Fatalf("chat: exit %d\n%s", r.code, r.stderr)
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for _, q := range questions {
		var ans jsonAnswer
		if err := dec.Decode(&ans); err != nil {
			t.Fatalf("answer to %q: %v", q, err)
		}
		if ans.Question != q || ans.Refused || len(ans.Citations) == 0 || ans.Citations[0].Article.ID != good[q] {
			t.Errorf("%q: refused %t, citations %+v; want %s first", q, ans.Refused, ans.Citations, good[q])
		}
	}

	// What people read is printable too, and skips name each bad entry once.
	r = verbatim(t, work, "", env, "ask", "--explain", "--corpus", corpusDir, "What do the harbour pilots want?")
	printable("ask", r)
	if r.code != 0 || !strings.Contains(r.stdout, "to strike over pay") {
		t.Errorf("ask: exit %d\n%s", r.code, r.stdout)
	}
	r = verbatim(t, work, "", env, "sources", "--corpus", corpusDir)
	printable("sources", r)
	if r.code != 0 || !strings.Contains(r.stdout, `"tab\tand\nnewline"`) {
		t.Errorf("sources: exit %d\n%.2000s", r.code, r.stdout)
	}
}

// tinyWord is a made-up word of its own for tiny file i: "quor" and i in
// letters ("quorab", "quorac", …).
func tinyWord(i int) string {
	b := []byte("quor")
	for range 3 {
		b = append(b, byte('a'+i%26))
		i /= 26
	}
	return string(b)
}
