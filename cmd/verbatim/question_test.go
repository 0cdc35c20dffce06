package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	const maxChars = 10 // 40 bytes
	huge := strings.Repeat("y", 3<<20)
	in := "first\n" + huge + "\nsecond\r\n" + strings.Repeat("é", 10) + "\n" + strings.Repeat("z", 41) + "\n\nlast"
	lr := newLineReader(strings.NewReader(in), maxChars)
	type line struct {
		text string
		long bool
	}
	want := []line{{"first", false}, {"", true}, {"second", false}, {strings.Repeat("é", 10), false}, {"", true}, {"", false}, {"last", false}}
	for i, w := range want {
		got, err := lr.next()
		if w.long != errors.Is(err, errQuestionTooLong) || (!w.long && err != nil) || got != w.text {
			t.Fatalf("line %d: %.40q, %v; want %.40q, too long %t", i+1, got, err, w.text, w.long)
		}
	}
	if _, err := lr.next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last line: %v, want io.EOF", err)
	}
}

func TestCheckQuestion(t *testing.T) {
	if err := checkQuestion(strings.Repeat("é", 500), 500); err != nil {
		t.Errorf("500 characters refused: %v", err)
	}
	err := checkQuestion(strings.Repeat("é", 501), 500)
	if !errors.Is(err, errQuestionTooLong) || !strings.Contains(err.Error(), "501 characters, the limit is 500") {
		t.Errorf("501 characters: %v", err)
	}
}
