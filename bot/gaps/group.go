package gaps

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/verbatimbot/verbatim/retrieval"
)

// Group is the gaps whose questions share their content terms: the same
// question, however it was typed ("Who built the lighthouse?", "who
// BUILT the lighthouses").
type Group struct {
	// Terms are the content terms (retrieval.Terms: folded, stemmed, stop
	// words dropped), sorted; empty when the questions had none.
	Terms []string `json:"terms"`
	// Question is the latest wording; Wordings counts the different ones.
	Question string `json:"question"`
	Wordings int    `json:"wordings"`
	// Count is how many times it was a gap: Refused + Downvoted.
	Count     int `json:"count"`
	Refused   int `json:"refused"`
	Downvoted int `json:"downvoted"`
	// First and Last are when it was first and last asked.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Doors are where it was asked, sorted.
	Doors []string `json:"doors"`
	// BestSupport is the highest refusal-model score it got (nil when none
	// was known): how close the articles came to answering it.
	BestSupport *float64 `json:"best_support,omitempty"`
	// Users counts the different users who asked, when user IDs were kept.
	Users int `json:"users,omitempty"`
}

// key groups questions by their sorted set of content terms; a question
// with none (all stop words) by its folded text.
func key(question string) (string, []string) {
	terms := retrieval.Terms(question)
	slices.Sort(terms)
	terms = slices.Compact(terms)
	if len(terms) == 0 {
		return "\x00" + wording(question), []string{}
	}
	return strings.Join(terms, " "), terms
}

// wording is a question's words, lower-cased, without punctuation.
func wording(question string) string {
	words := strings.FieldsFunc(strings.ToLower(question), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	return strings.Join(words, " ")
}

// Groups groups gaps by their questions' content terms, most frequent
// first (then most recently asked).
func Groups(gaps []Gap) []Group {
	type acc struct {
		Group
		wordings map[string]bool
		doors    map[string]bool
		users    map[string]bool
	}
	by := map[string]*acc{}
	for _, g := range gaps {
		k, terms := key(g.Question)
		a := by[k]
		if a == nil {
			a = &acc{Group: Group{Terms: terms, First: g.Time}, wordings: map[string]bool{}, doors: map[string]bool{}, users: map[string]bool{}}
			by[k] = a
		}
		a.Count++
		if g.Reason == Downvoted {
			a.Downvoted++
		} else {
			a.Refused++
		}
		if !g.Time.Before(a.Last) {
			a.Last, a.Question = g.Time, g.Question
		}
		if g.Time.Before(a.First) {
			a.First = g.Time
		}
		a.wordings[wording(g.Question)] = true
		if g.Door != "" {
			a.doors[g.Door] = true
		}
		if g.UserID != "" {
			a.users[g.UserID] = true
		}
		if g.Support != nil && (a.BestSupport == nil || *g.Support > *a.BestSupport) {
			a.BestSupport = Score(*g.Support)
		}
	}
	out := make([]Group, 0, len(by))
	for _, a := range by {
		g := a.Group
		g.Wordings, g.Users = len(a.wordings), len(a.users)
		for d := range a.doors {
			g.Doors = append(g.Doors, d)
		}
		slices.Sort(g.Doors)
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Group) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), b.Last.Compare(a.Last), strings.Compare(a.Question, b.Question))
	})
	return out
}

// Recurring returns the groups asked at least min times.
func Recurring(groups []Group, min int) []Group {
	var out []Group
	for _, g := range groups {
		if g.Count >= min {
			out = append(out, g)
		}
	}
	return out
}
