package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// errQuestionTooLong is the reason a question over
// VERBATIM_MAX_QUESTION_CHARS is refused; chat goes on with the next one.
var errQuestionTooLong = errors.New("question too long")

// checkQuestion refuses a question longer than max characters, as the
// Discord bot does.
func checkQuestion(q string, max int) error {
	if n := utf8.RuneCountInString(q); n > max {
		return fmt.Errorf("%w: %d characters, the limit is %d (VERBATIM_MAX_QUESTION_CHARS)", errQuestionTooLong, n, max)
	}
	return nil
}

// lineReader reads lines of any length, keeping at most the bytes of a
// question of maxChars characters, so that a line of a gigabyte costs no
// more memory than a question may take.
type lineReader struct {
	r        *bufio.Reader
	max      int // bytes
	maxChars int
}

func newLineReader(r io.Reader, maxChars int) *lineReader {
	return &lineReader{r: bufio.NewReader(r), max: maxChars * utf8.UTFMax, maxChars: maxChars}
}

// next returns the next line without its line ending ("\n" or "\r\n"), or
// errQuestionTooLong if it is longer than a question can be (the line is then
// consumed, and the next call reads the line after it), or io.EOF after
// the last line.
func (lr *lineReader) next() (string, error) {
	var kept []byte
	n := 0 // bytes of the line read, its ending included
	for {
		chunk, err := lr.r.ReadSlice('\n')
		n += len(chunk)
		if room := lr.max + 2 - len(kept); room > 0 {
			kept = append(kept, chunk[:min(room, len(chunk))]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (!errors.Is(err, io.EOF) || n == 0) {
			return "", err
		}
		break
	}
	line := strings.TrimSuffix(strings.TrimSuffix(string(kept), "\n"), "\r")
	if n > len(kept) || len(line) > lr.max {
		return "", fmt.Errorf("%w: over %d bytes, the limit is %d characters (VERBATIM_MAX_QUESTION_CHARS)", errQuestionTooLong, lr.max, lr.maxChars)
	}
	return line, nil
}
