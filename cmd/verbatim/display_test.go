package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain/article", "plain/article"},
		{"with space", "with space"},
		{"café", "café"},
		{"a\tb\nc", `"a\tb\nc"`},
		{"evil\x1b]0;x\x07", `"evil\x1b]0;x\a"`},
		{"rtl\u202eexe.txt", `"rtl\u202eexe.txt"`},
		{"bad\xffbyte", `"bad\xffbyte"`},
		{`"quoted"`, `"\"quoted\""`},
		{`mid"quote`, `mid"quote`},
	} {
		if got := displayName(tc.in); got != tc.want {
			t.Errorf("displayName(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestShownClipsFirst(t *testing.T) {
	long := strings.Repeat("\x1b[2Jword ", 100_000)
	got := shown(long, 50)
	if n := utf8.RuneCountInString(got); n > 50 || !strings.HasSuffix(got, "…") || strings.ContainsRune(got, 0x1b) {
		t.Errorf("shown = %q (%d runes)", got, n)
	}
	if got := shown("short\x07", 0); got != "short" {
		t.Errorf("shown without a limit = %q", got)
	}
}

func TestExcerpt(t *testing.T) {
	if got := excerpt("  one\n\n two\tthree  ", 110); got != "one two three" {
		t.Errorf("excerpt folds white space: %q", got)
	}
	huge := strings.Repeat("paragraph text ", 1<<20)
	if got := excerpt(huge, 110); utf8.RuneCountInString(got) > 110 || !strings.HasSuffix(got, "…") {
		t.Errorf("excerpt of a huge paragraph = %q", got)
	}
}
