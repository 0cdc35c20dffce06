package bot

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/neurosnap/sentences/english"
)

// TestSplitterComparison measures SplitSentences against
// github.com/neurosnap/sentences (Punkt trained on English) on the tricky
// table and, where present, on the shared corpus. Run with -v to see the
// figures; it fails if ours stops getting the whole table right.
func TestSplitterComparison(t *testing.T) {
	punkt, err := english.NewSentenceTokenizer(nil)
	if err != nil {
		t.Fatalf("load punkt: %v", err)
	}
	punktSplit := func(text string) []string {
		var out []string
		for _, s := range punkt.Tokenize(text) {
			if s := strings.TrimSpace(s.Text); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	oursOK, punktOK := 0, 0
	for _, tc := range splitCases {
		if reflect.DeepEqual(texts(tc.text, SplitSentences(tc.text)), tc.want) {
			oursOK++
		} else {
			t.Errorf("ours wrong on %q", tc.name)
		}
		if got := punktSplit(tc.text); reflect.DeepEqual(got, tc.want) || len(got) == 0 && len(tc.want) == 0 {
			punktOK++
		} else {
			t.Logf("punkt wrong on %q: %q", tc.name, got)
		}
	}
	t.Logf("tricky table: ours %d/%d, punkt %d/%d", oursOK, len(splitCases), punktOK, len(splitCases))

	files, _ := filepath.Glob("../../shared/corpus/*.txt")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var paras []string
		for _, p := range strings.Split(string(b), "\n\n") {
			if p = strings.TrimSpace(p); p != "" {
				paras = append(paras, strings.Join(strings.Fields(p), " "))
			}
		}
		var nOurs, nPunkt, differ int
		var dOurs, dPunkt time.Duration
		for _, p := range paras {
			t0 := time.Now()
			ours := texts(p, SplitSentences(p))
			dOurs += time.Since(t0)
			t0 = time.Now()
			theirs := punktSplit(p)
			dPunkt += time.Since(t0)
			nOurs += len(ours)
			nPunkt += len(theirs)
			if !reflect.DeepEqual(ours, theirs) {
				differ++
				t.Logf("%s: paragraph splits differ:\n ours  %q\n punkt %q", filepath.Base(f), ours, theirs)
			}
		}
		t.Logf("%s: %d paragraphs; sentences ours %d, punkt %d; %d paragraphs differ; time ours %v, punkt %v",
			filepath.Base(f), len(paras), nOurs, nPunkt, differ, dOurs, dPunkt)
	}
}
