package jsonl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestAppendAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dir", "log.jsonl")
	if err := Append(path, map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"n": 2, "torn`) // a writer died mid-line
	f.Close()
	if err := Append(path, map[string]int{"n": 3}); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := Read(path, func(n int, line []byte) error { got = append(got, fmt.Sprintf("%d:%s", n, line)); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != `1:{"n":1} 2:{"n": 2, "torn 3:{"n":3}` {
		t.Errorf("lines %q", got)
	}
	if err := Read(filepath.Join(t.TempDir(), "missing"), func(int, []byte) error { t.Error("a line in a missing file"); return nil }); err != nil {
		t.Errorf("missing file: %v", err)
	}
}

// TestConcurrentAppendsStayWhole: writers that share nothing but the file
// (as processes do) never interleave their lines.
func TestConcurrentAppendsStayWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				if err := Append(path, map[string]string{"w": fmt.Sprint(w), "pad": strings.Repeat("x", 5000+i)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	n := 0
	err := Read(path, func(_ int, line []byte) error {
		if !strings.HasPrefix(string(line), `{"pad":"x`) || !strings.HasSuffix(string(line), `"}`) {
			return fmt.Errorf("mixed line: %.60s…", line)
		}
		n++
		return nil
	})
	if err != nil || n != 200 {
		t.Errorf("%d whole lines, %v", n, err)
	}
}
