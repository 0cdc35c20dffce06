package main

import (
	"strings"
	"testing"
)

// TestChatLongLines: piped chat reads a line of 2 MiB without aborting,
// refuses it (and a question just over the limit) with a message, and
// answers the questions around them.
func TestChatLongLines(t *testing.T) {
	in := "What does INSTEX stand for?\n" + strings.Repeat("why ", 512<<10) + "\n" +
		strings.Repeat("a", 501) + "\nWho is the Iranian Ambassador to Russia?\n"
	r := verbatim(t, t.TempDir(), in, nil, "chat")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "Instrument in Support of Trade Exchanges") || !strings.Contains(r.stdout, "Qasem Jalali") {
		t.Errorf("chat did not answer the questions around the long lines:\n%s", r.stdout)
	}
	if strings.Count(r.stderr, "question too long") != 2 || !strings.Contains(r.stderr, "501 characters, the limit is 500") || strings.Contains(r.stderr, "token too long") {
		t.Errorf("want one message per over-long question on stderr, got:\n%s", r.stderr)
	}
}

// TestExitCodeRule: the cases the rule of README "Exit codes" settles
// beyond TestExitCodes: a question over the limit is a usage error for ask;
// a chat none of whose questions could be answered is a failure; help for
// an unknown command is a usage error.
func TestExitCodeRule(t *testing.T) {
	long := strings.Repeat("word ", 101)
	for _, tc := range []struct {
		name, stdin string
		args        []string
		code        int
		stderr      string
	}{
		{"ask too long", "", []string{"ask", long}, exitUsage, "question too long: 504 characters, the limit is 500"},
		{"ask limit from the setting", "", []string{"ask", "--", "What does INSTEX stand for?"}, exitUsage, "27 characters, the limit is 20"},
		{"chat all too long", long + "\n" + long + "\n", []string{"chat"}, exitFailure, "none of the 2 questions could be answered"},
		{"chat one too long", long + "\n", []string{"chat"}, exitFailure, "the question could not be answered"},
		{"chat only blank lines", "\n  \n", []string{"chat"}, exitOK, ""},
		{"help for an unknown command", "", []string{"help", "frob"}, exitUsage, `unknown command "frob"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var env []string
			if strings.Contains(tc.name, "setting") {
				env = []string{"VERBATIM_MAX_QUESTION_CHARS=20"}
			}
			r := verbatim(t, t.TempDir(), tc.stdin, env, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, want %d with %q; stderr:\n%s", r.code, tc.code, tc.stderr, r.stderr)
			}
		})
	}
}
