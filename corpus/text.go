package corpus

import "fmt"

// parseText reads a plain-text article: the first non-blank line is the
// title (and not a paragraph); the rest is paragraphs separated by one or
// more blank lines.
func parseText(id string, data []byte) parsed {
	text, err := decodeText(data)
	if err != nil {
		return failed(err)
	}
	ls := lines(text)
	for i, l := range ls {
		if isBlank(l) {
			continue
		}
		paras := blocks(ls[i+1:])
		if len(paras) == 0 {
			return failed(fmt.Errorf("%w: only a title line", errEmpty))
		}
		return parsed{entries: []entry{{article: Article{
			ID:         id,
			Title:      foldSpace(l),
			Paragraphs: paras,
		}}}}
	}
	return failed(fmt.Errorf("%w: empty file", errEmpty))
}
