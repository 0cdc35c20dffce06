package bot

import (
	"testing"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Tehran’s S-400 deal.", "Tehran’s S-400 deal."},
		{"tab and newline kept", "a\tb\nc", "a\tb\nc"},
		{"osc title and clear screen", "x\x1b]0;pwned\x07\x1b[2Jy", "x]0;pwned[2Jy"},
		{"c1 csi", "a\u009b31mb", "a31mb"},
		{"carriage return and del", "a\rb\x7fc", "abc"},
		{"bidi override", "abc\u202edcba", "abcdcba"},
		{"invalid utf8", "a\xffb", "a\ufffdb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Printable(tt.in); got != tt.want {
				t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"abcdefghij", 5, "abcd…"},
		{"one two three four five six", 20, "one two three four…"},
		{"ééééé", 3, "éé…"},
	}
	for _, tt := range tests {
		got := Clip(tt.in, tt.n)
		if got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if utf8.RuneCountInString(got) > max(tt.n, 0) {
			t.Errorf("Clip(%q, %d) = %q is longer than %d runes", tt.in, tt.n, got, tt.n)
		}
	}
}

func FuzzPrintable(f *testing.F) {
	f.Add("x\x1b]0;pwned\x07\x1b[2Jy")
	f.Add("a\u009bb\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		out := Printable(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Printable(%q) = %q is not valid UTF-8", s, out)
		}
		for _, r := range out {
			if unprintable(r) {
				t.Fatalf("Printable(%q) = %q keeps %U", s, out, r)
			}
		}
		if Printable(out) != out {
			t.Fatalf("Printable is not idempotent on %q", s)
		}
	})
}
