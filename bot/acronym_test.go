package bot

import (
	"slices"
	"strings"
	"testing"
)

func TestAcronyms(t *testing.T) {
	for _, tc := range []struct {
		text string
		want map[string][]string // term: acronyms it must have
		none []string            // terms that must have none
	}{
		{"Which country normalised ties with the United Arab Emirates?",
			map[string][]string{"unit": {"UAE"}, "arab": {"UAE"}, "emir": {"UAE"}}, []string{"countri", "normalis", "tie"}},
		{"What is the Joint Comprehensive Plan of Action?",
			map[string][]string{"joint": {"JCPA", "JCPOA"}, "action": {"JCPOA"}}, nil},
		{"Who chairs Iran's Supreme National Security Council?",
			map[string][]string{"suprem": {"SNSC", "ISNSC"}, "council": {"NSC", "SNSC"}}, []string{"chair"}},
		// One capitalised word is no name to abbreviate, and a question's
		// first word counts only when it is no stopword.
		{"What does the UN say about Iran?", nil, []string{"un", "iran", "say"}},
		{"How large is the european union", nil, []string{"european", "union"}},
		// "and" and "in" join names, they are not inside one; all-capital
		// words are no title case.
		{"Who went to Saurus Rock to find Dinah and Dana?", nil, []string{"dinah", "dana"}},
		{"What Is Range in Math", nil, []string{"rang", "math"}},
		{"WHAT IS THE NORTH AMERICAN FREE TRADE AGREEMENT", nil, []string{"north", "american"}},
		{"What is the North American Free Trade Agreement?",
			map[string][]string{"north": {"NAFTA"}, "agreement": {"NAFTA", "FTA"}}, nil},
	} {
		got := acronyms(names(tc.text))
		for term, want := range tc.want {
			for _, a := range want {
				if !slices.Contains(got[term], a) {
					t.Errorf("acronyms(%q)[%q] = %v, want %s among them", tc.text, term, got[term], a)
				}
			}
		}
		for _, term := range tc.none {
			if len(got[term]) > 0 {
				t.Errorf("acronyms(%q)[%q] = %v, want none", tc.text, term, got[term])
			}
		}
	}
}

// TestAbbreviated: a name the corpus knows only by its acronym is asked
// about as the acronym; one it spells out stays as it is.
func TestAbbreviated(t *testing.T) {
	ix := bundledIndex(t)
	terms, used := abbreviated(ix, "Which country normalised ties with the United Arab Emirates?", names("Which country normalised ties with the United Arab Emirates?"))
	if !slices.Contains(terms, "uae") || slices.Contains(terms, "arab") || slices.Contains(terms, "emir") || !slices.Equal(used, []string{"UAE"}) {
		t.Errorf("terms %v, acronyms %v: want uae for united arab emirates", terms, used)
	}
	// The article says "Joint Comprehensive Plan of Action" as well as
	// JCPOA; "Hassan Rouhani" has no acronym in it.
	for _, q := range []string{"What is the Joint Comprehensive Plan of Action?", "What did Hassan Rouhani send?"} {
		if terms, used := abbreviated(ix, q, names(q)); len(used) > 0 {
			t.Errorf("%q: terms %v, acronyms %v: want the name as it is", q, terms, used)
		}
	}
	q := analyze(ix, "Which country normalised ties with the United Arab Emirates?", "")
	if exp := q.expansion(); !slices.Contains(exp, "UAE") {
		t.Errorf("expansion %v: the search must look for UAE", exp)
	}
}

// TestEngineAcronym: a question that spells a name out finds the article's
// acronym of it, and quotes the sentence that has it.
func TestEngineAcronym(t *testing.T) {
	e := NewEngine(bundledIndex(t), EngineOptions{})
	ans, err := e.Answer(t.Context(), Question{Text: "Which country normalised ties with the United Arab Emirates?"})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Refused || len(ans.Citations) == 0 || !strings.Contains(ans.Citations[0].Quote, "UAE") || !strings.Contains(ans.Citations[0].Quote, "Israel") {
		t.Errorf("refused or misquoted: %+v", ans.Citations)
	}
}
