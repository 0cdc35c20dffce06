package gaps

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFileRecordsAndLists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index", "gaps.jsonl")
	f := NewFile(path, FileOptions{})
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := f.Record(t.Context(), Gap{Time: t0, Question: "Who built the lighthouse?", Door: "ask", Reason: Refused, Support: Score(0.12), UserID: "42"}); err != nil {
		t.Fatal(err)
	}
	// A torn line (a writer died mid-line) does not take the next gap with it.
	fh, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString(`{"time":"2024-01-0`)
	fh.Close()
	if err := f.Record(t.Context(), Gap{Time: t0.Add(time.Hour), Question: "who BUILT the lighthouses", Door: "discord /ask", Reason: Downvoted}); err != nil {
		t.Fatal(err)
	}
	gaps, skipped, err := f.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != 2 || len(skipped) != 1 || skipped[0].Line != 2 {
		t.Fatalf("gaps %+v, skipped %+v", gaps, skipped)
	}
	if gaps[0].UserID != "" {
		t.Error("a user ID was stored without FileOptions.Users")
	}
	if *gaps[0].Support != 0.12 || gaps[1].Support != nil {
		t.Errorf("supports %v %v", gaps[0].Support, gaps[1].Support)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), "42") {
		t.Errorf("the user ID is in the file:\n%s", raw)
	}

	withUsers := NewFile(path, FileOptions{Users: true})
	if err := withUsers.Record(t.Context(), Gap{Question: "When was it built?", Door: "chat", Reason: Refused, UserID: "43"}); err != nil {
		t.Fatal(err)
	}
	gaps, _, _ = f.List(t.Context())
	if gaps[2].UserID != "43" || gaps[2].Time.IsZero() {
		t.Errorf("with users: %+v", gaps[2])
	}
	missing := NewFile(filepath.Join(t.TempDir(), "none.jsonl"), FileOptions{})
	if g, s, err := missing.List(t.Context()); len(g) != 0 || len(s) != 0 || err != nil {
		t.Errorf("missing file: %v %v %v", g, s, err)
	}
}

func TestConcurrentRecordsStayWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gaps.jsonl")
	var wg sync.WaitGroup
	for w := range 4 {
		f := NewFile(path, FileOptions{}) // one File per "process"
		wg.Go(func() {
			for i := range 50 {
				if err := f.Record(t.Context(), Gap{Question: strings.Repeat("why ", 100) + string(rune('a'+w)), Door: "ask", Reason: Refused, Support: Score(float64(i) / 100)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	gaps, skipped, err := NewFile(path, FileOptions{}).List(t.Context())
	if err != nil || len(gaps) != 200 || len(skipped) != 0 {
		t.Errorf("%d gaps, %d skipped, %v", len(gaps), len(skipped), err)
	}
}

func TestGroups(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	gaps := []Gap{
		{Time: t0, Question: "Who built the lighthouse?", Door: "ask", Reason: Refused, Support: Score(0.1), UserID: "1"},
		{Time: t0.Add(2 * time.Hour), Question: "who BUILT the lighthouses", Door: "discord /ask", Reason: Refused, Support: Score(0.3), UserID: "2"},
		{Time: t0.Add(time.Hour), Question: "Who built the lighthouse?", Door: "discord DM", Reason: Downvoted},
		{Time: t0.Add(3 * time.Hour), Question: "What is the ferry fare?", Door: "ask", Reason: Refused, Support: Score(0.2)},
	}
	groups := Groups(gaps)
	if len(groups) != 2 {
		t.Fatalf("groups %+v", groups)
	}
	g := groups[0]
	if g.Count != 3 || g.Refused != 2 || g.Downvoted != 1 || g.Question != "who BUILT the lighthouses" || g.Wordings != 2 ||
		!g.Last.Equal(t0.Add(2*time.Hour)) || !g.First.Equal(t0) || *g.BestSupport != 0.3 || g.Users != 2 ||
		strings.Join(g.Doors, ",") != "ask,discord /ask,discord DM" || strings.Join(g.Terms, " ") != "built lighthous" {
		t.Errorf("first group %+v (terms %q)", g, g.Terms)
	}
	if len(Recurring(groups, 2)) != 1 {
		t.Errorf("recurring: %+v", Recurring(groups, 2))
	}
	// Questions of stop words alone group by their text.
	if gs := Groups([]Gap{{Question: "What is it?", Reason: Refused}, {Question: "what is IT", Reason: Refused}, {Question: "Why not?", Reason: Refused}}); len(gs) != 2 || gs[0].Count != 2 {
		t.Errorf("stop-word questions: %+v", gs)
	}
}
