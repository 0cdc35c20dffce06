package bot

import (
	"slices"
	"testing"
)

func questions(turns []Turn) []string {
	var qs []string
	for _, t := range turns {
		qs = append(qs, t.Question)
	}
	return qs
}

func TestConversationKeepsTheLatestTurns(t *testing.T) {
	tests := []struct {
		name string
		max  int
		add  []string
		want []string
	}{
		{"under the limit", 3, []string{"a", "b"}, []string{"a", "b"}},
		{"at the limit", 2, []string{"a", "b"}, []string{"a", "b"}},
		{"over the limit drops the oldest", 2, []string{"a", "b", "c", "d"}, []string{"c", "d"}},
		{"zero keeps nothing", 0, []string{"a", "b"}, nil},
		{"negative keeps nothing", -1, []string{"a"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewConversation(tt.max)
			for _, q := range tt.add {
				c.Add(Turn{Question: q})
			}
			if got := questions(c.Turns()); !slices.Equal(got, tt.want) {
				t.Errorf("turns = %v, want %v", got, tt.want)
			}
			if c.Len() != len(tt.want) || c.Len() > max(c.Max(), 0) {
				t.Errorf("Len = %d, Max = %d", c.Len(), c.Max())
			}
		})
	}
}

func TestConversationTurnsIsACopy(t *testing.T) {
	c := NewConversation(2)
	c.Add(Turn{Question: "a"})
	got := c.Turns()
	got[0].Question = "changed"
	if c.Turns()[0].Question != "a" {
		t.Errorf("Turns shares the conversation's storage")
	}
}

func TestConversationRecord(t *testing.T) {
	c := NewConversation(4)
	c.Record("and when?", Answer{Text: "In 1648 [1].", Standalone: "when was westphalia signed"})
	want := Turn{Question: "and when?", Standalone: "when was westphalia signed", Answer: "In 1648 [1]."}
	if got := c.Turns(); len(got) != 1 || got[0] != want {
		t.Errorf("turns = %+v, want [%+v]", got, want)
	}
}

func TestRecent(t *testing.T) {
	turns := []Turn{{Question: "a"}, {Question: "b"}, {Question: "c"}}
	for _, tt := range []struct {
		n    int
		want []string
	}{{0, []string{"a", "b", "c"}}, {2, []string{"b", "c"}}, {5, []string{"a", "b", "c"}}, {-1, []string{"a", "b", "c"}}} {
		if got := questions(Recent(turns, tt.n)); !slices.Equal(got, tt.want) {
			t.Errorf("Recent(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}
