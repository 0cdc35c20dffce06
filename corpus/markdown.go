package corpus

import (
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
)

// frontMatter is the YAML block that may open a Markdown article. Other keys
// are ignored.
type frontMatter struct {
	Title  string `yaml:"title"`
	URL    string `yaml:"url"`
	Author names  `yaml:"author"`
	Date   string `yaml:"date"`
}

// names is a YAML string or list of strings; a list is joined with ", ".
type names string

func (n *names) UnmarshalYAML(v *yaml.Node) error {
	switch v.Kind {
	case yaml.ScalarNode:
		*n = names(v.Value)
		return nil
	case yaml.SequenceNode:
		var list []string
		if err := v.Decode(&list); err != nil {
			return err
		}
		*n = names(strings.Join(list, ", "))
		return nil
	}
	return fmt.Errorf("line %d: want a name or a list of names", v.Line)
}

// parseMarkdown reads a Markdown article. It may open with YAML front matter
// between "---" lines (closed by "---" or "..."), giving title, url, author
// and date. Without a front-matter title, a first line "# Heading" is the
// title and not a paragraph; failing that, the title is the file name.
//
// Paragraphs are blocks separated by blank lines, Markdown syntax kept as
// written: a heading, list or fenced code block is a paragraph of its own
// when blank lines set it apart, and a code block with blank lines inside
// is split at them.
func parseMarkdown(id string, data []byte) parsed {
	text, err := decodeText(data)
	if err != nil {
		return failed(err)
	}
	ls := lines(text)
	var fm frontMatter
	var out parsed
	if len(ls) > 0 && strings.TrimRight(ls[0], " \t") == "---" {
		end := -1
		for i := 1; i < len(ls); i++ {
			if t := strings.TrimRight(ls[i], " \t"); t == "---" || t == "..." {
				end = i
				break
			}
		}
		if end < 0 {
			return failed(fmt.Errorf("front matter: no closing ---"))
		}
		if err := yaml.Unmarshal([]byte(strings.Join(ls[1:end], "\n")), &fm); err != nil {
			return failed(fmt.Errorf("front matter: %w", err))
		}
		ls = ls[end+1:]
	}
	a := Article{
		ID:     id,
		Title:  foldSpace(fm.Title),
		URL:    strings.TrimSpace(fm.URL),
		Author: foldSpace(string(fm.Author)),
	}
	if a.Published, err = parseDate(fm.Date); err != nil {
		out.warnings = append(out.warnings, Problem{Err: fmt.Errorf("front matter: %w", err)})
	}
	if a.Title == "" {
		for i, l := range ls {
			if isBlank(l) {
				continue
			}
			if h, ok := atxHeading1(l); ok {
				a.Title = h
				ls = ls[i+1:]
			}
			break
		}
	}
	if a.Title == "" {
		a.Title = humanize(path.Base(id))
	}
	a.Paragraphs = blocks(ls)
	if len(a.Paragraphs) == 0 {
		return failed(fmt.Errorf("%w: no text after the title", errEmpty))
	}
	out.entries = []entry{{article: a}}
	return out
}

// atxHeading1 returns the text of a level-1 ATX heading ("# Title", with an
// optional closing run of '#') and whether line is one with some text.
func atxHeading1(line string) (string, bool) {
	s := strings.TrimLeft(line, " ")
	if len(line)-len(s) > 3 || !strings.HasPrefix(s, "#") {
		return "", false
	}
	s = s[1:]
	if s != "" && s[0] != ' ' && s[0] != '\t' {
		return "", false // "#hashtag" or "## level 2"
	}
	s = strings.TrimSpace(s)
	if t := strings.TrimRight(s, "#"); t != s && (t == "" || strings.HasSuffix(t, " ") || strings.HasSuffix(t, "\t")) {
		s = strings.TrimSpace(t)
	}
	s = foldSpace(s)
	return s, s != ""
}
