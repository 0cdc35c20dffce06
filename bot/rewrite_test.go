package bot

import (
	"testing"
)

func TestKeywordRewriter(t *testing.T) {
	idf := fakeIDF{"iran": 0.3, "defens": 2, "minist": 1.5, "arriv": 2.5, "moscow": 1, "zarif": 2.2, "agreement": 1.8, "sign": 2.6, "2001": 3}
	k := NewKeywordRewriter(idf)
	hist := []Turn{{Question: "Who is Iran's Defense Minister?", Answer: "Amir Khatami [1]"}}
	tests := []struct {
		name string
		q    Question
		want string
	}{
		{"no history", Question{Text: "When did he arrive?"}, "When did he arrive?"},
		{"pronoun", Question{Text: "When did he arrive in Moscow?", History: hist}, "When did he arrive in Moscow? Iran's Defense Minister"},
		{"continuation", Question{Text: "and when?", History: hist}, "and when? Iran's Defense Minister"},
		{"standalone question unchanged", Question{Text: "When was the agreement with Russia signed in 2001?", History: hist}, "When was the agreement with Russia signed in 2001?"},
		{"carries the rarest words only", Question{Text: "Was it signed?", History: []Turn{{Question: "Did Iran and Zarif sign the 2001 agreement in Moscow?"}}},
			"Was it signed? Zarif 2001 agreement Moscow"},
		{"a named subject is not a follow-up", Question{Text: "Who is Zarif?", History: hist}, "Who is Zarif?"},
		{"the most recent turn comes first", Question{Text: "When did he arrive?", History: []Turn{
			{Question: "When was the 2001 agreement signed?"}, {Question: "Who is Zarif?"}}},
			"When did he arrive? Zarif 2001 agreement signed"},
		{"a chain of follow-ups keeps its topic", Question{Text: "And when was that?", History: []Turn{
			{Question: "How many times has he visited Moscow?", Standalone: "How many times has he visited Moscow? Zarif"}}},
			"And when was that? many times visited Zarif"},
		{"looks back two turns", Question{Text: "Why?", History: []Turn{{Question: "Who is Iran's Defense Minister?"}, {Question: "Did he?"}}},
			"Why? Iran's Defense Minister"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := k.Rewrite(t.Context(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Rewrite = %q, want %q", got, tc.want)
			}
		})
	}
}
