package retrieval

import (
	"os"

	"github.com/verbatimbot/verbatim/corpus"
)

// The index remembers which skipped corpus entries it has reported (in
// files.json), so that commands that answer questions name a bad file once
// — when it is new or changed — and only count it afterwards; `verbatim
// index` lists them all every time.

// reportedProblem identifies a reported skipped entry: its Problem text
// and its file's size and modification time then (zero when the file could
// not be stat'ed, e.g. a broken link).
type reportedProblem struct {
	Problem string `json:"problem"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
}

// problemKeys identifies each of ps, in order, with its file as it is now
// in the corpus directory dir.
func problemKeys(dir string, ps []corpus.Problem) []reportedProblem {
	if len(ps) == 0 {
		return nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		root = nil
	} else {
		defer root.Close()
	}
	keys := make([]reportedProblem, len(ps))
	for i, p := range ps {
		keys[i].Problem = p.Error()
		if root == nil {
			continue
		}
		fi, err := root.Stat(p.Path)
		if err != nil {
			fi, err = root.Lstat(p.Path)
		}
		if err == nil {
			keys[i].Size, keys[i].ModTime = fi.Size(), fi.ModTime().UnixNano()
		}
	}
	return keys
}

// unreported returns the problems of ps (identified by keys) that are not
// among those the index has reported.
func (ix *Index) unreported(ps []corpus.Problem, keys []reportedProblem) []corpus.Problem {
	seen := make(map[reportedProblem]bool)
	for _, k := range ix.files().Reported {
		seen[k] = true
	}
	var out []corpus.Problem
	for i, p := range ps {
		if !seen[keys[i]] {
			out = append(out, p)
		}
	}
	return out
}
