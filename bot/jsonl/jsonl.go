// Package jsonl keeps the JSON Lines files that several verbatim processes
// append to at once — the Discord votes, the coverage gaps: each record is
// one write(2) of one line, made with O_APPEND under an exclusive lock on
// the file (flock on Unix; elsewhere O_APPEND alone keeps lines whole),
// and a line torn by a writer that died is skipped on reading, never
// allowed to swallow the next record.
package jsonl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Append encodes v as one line at the end of the file at path, creating
// the file and its directory. If the file ends in a torn line, the new
// line starts on a line of its own.
func Append(path string, v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	line = append(line, '\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // closing also drops the lock
	if err := lockFile(f); err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	torn, err := endsMidLine(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if torn {
		line = append([]byte{'\n'}, line...)
	}
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// endsMidLine reports whether f is non-empty and its last byte is not a
// newline.
func endsMidLine(f *os.File) (bool, error) {
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if st.Size() == 0 {
		return false, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], st.Size()-1); err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return last[0] != '\n', nil
}

// Read calls each with the 1-based number and the bytes of every
// non-blank line of the file at path (a last line without its newline
// included). A missing file has no lines; err is for a file that cannot
// be read, or each's error.
func Read(path string, each func(n int, line []byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, rerr := r.ReadBytes('\n')
		if line = bytes.TrimSpace(line); len(line) > 0 {
			if err := each(n, line); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("%s: %w", path, rerr)
		}
	}
}
