package corpus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// record is one line of a .jsonl corpus file. Other fields are ignored.
type record struct {
	// ID, a string or a number, names the article within its file; without
	// it the line number does.
	ID     json.RawMessage `json:"id"`
	Title  string          `json:"title"`
	URL    string          `json:"url"`
	Author string          `json:"author"`
	Date   string          `json:"date"`
	// Text is the article body, paragraphs separated by blank lines.
	Text string `json:"text"`
}

// parseJSONL reads a JSON Lines file, one article per line. The article ID
// is the file's ID, "#" and the record's id (or its 1-based line number).
// Blank lines are skipped; a line that is not valid UTF-8, not a JSON object
// of the right shape, or has no text is reported with its line number, and
// the other lines still load.
func parseJSONL(id string, data []byte) parsed {
	if bytes.IndexByte(data, 0) >= 0 {
		return failed(errBinary)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	var out parsed
	skip := func(line int, err error) {
		out.skipped = append(out.skipped, Problem{Line: line, Err: err})
	}
	records := 0
	for i, l := range lines(string(data)) {
		n := i + 1
		if isBlank(l) {
			continue
		}
		records++
		if !utf8.ValidString(l) {
			skip(n, fmt.Errorf("%w (first bad byte at column %d)", errNotUTF8, invalidAt([]byte(l))+1))
			continue
		}
		var r record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			skip(n, jsonError{"json: ", err})
			continue
		}
		key, err := recordKey(r.ID, n)
		if err != nil {
			skip(n, err)
			continue
		}
		a := Article{
			ID:         id + "#" + key,
			Title:      foldSpace(r.Title),
			URL:        r.URL,
			Author:     foldSpace(r.Author),
			Paragraphs: blocks(lines(r.Text)),
		}
		if len(a.Paragraphs) == 0 {
			skip(n, fmt.Errorf("%w: no text", errEmpty))
			continue
		}
		if a.Title == "" {
			a.Title = a.ID
		}
		if a.Published, err = parseDate(r.Date); err != nil {
			out.warnings = append(out.warnings, Problem{Line: n, Err: err})
		}
		out.entries = append(out.entries, entry{article: a, line: n})
	}
	if records == 0 {
		return failed(fmt.Errorf("%w: no records", errEmpty))
	}
	return out
}

// recordKey returns the part of a record's article ID after "#": its id
// field if that is a non-empty string or a number, else the line number.
func recordKey(raw json.RawMessage, line int) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return strconv.Itoa(line), nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", jsonError{"json: id: ", err}
		}
		if s = foldSpace(s); s == "" {
			return strconv.Itoa(line), nil
		}
		return s, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw), nil
	}
	return "", fmt.Errorf("json: id must be a string or a number, not %s", raw)
}

// jsonError is a JSON decoding error behind prefix, worded once:
// encoding/json starts some messages with "json: " and not others.
type jsonError struct {
	prefix string
	err    error
}

func (e jsonError) Error() string { return e.prefix + strings.TrimPrefix(e.err.Error(), "json: ") }

func (e jsonError) Unwrap() error { return e.err }
