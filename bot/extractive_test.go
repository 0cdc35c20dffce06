package bot

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

func TestExtractiveDraft(t *testing.T) {
	ix := bundledIndex(t)
	x := NewExtractive(ix, ExtractiveOptions{})
	// draft retrieves passages for q and drafts an extractive answer.
	draft := func(t *testing.T, q string) Draft {
		t.Helper()
		hits, err := ix.Search(t.Context(), q, 8)
		if err != nil {
			t.Fatal(err)
		}
		d, err := x.Draft(t.Context(), DraftRequest{Question: Question{Text: q}, Hits: hits})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		question  string
		wantPara  int
		wantQuote string // substring of the first claim
	}{
		{"How many international competitions do the Army-2020 games include?", 7, "31 international competitions"},
		{"When was Iran disconnected from SWIFT?", 24, "2018"},
		{"Where did Zarif fly to Moscow from?", 10, "Ankara"},
		{"What enrichment level did the nuclear deal require?", 21, "3.67%"},
	}
	for _, tc := range tests {
		t.Run(tc.question, func(t *testing.T) {
			d := draft(t, tc.question)
			if d.Refused || len(d.Claims) == 0 || len(d.Claims) > 3 {
				t.Fatalf("draft %+v", d)
			}
			if c := d.Claims[0]; c.Paragraph != tc.wantPara || !strings.Contains(c.Quote, tc.wantQuote) {
				t.Errorf("first claim ¶%d %q, want ¶%d with %q", c.Paragraph, c.Quote, tc.wantPara, tc.wantQuote)
			}
			seen := map[string]bool{}
			for i, c := range d.Claims {
				art, _ := ix.Article(c.ArticleID)
				p, _ := art.Paragraph(c.Paragraph)
				if !strings.Contains(p, c.Quote) || seen[c.Quote] || c.Marker != i+1 {
					t.Errorf("claim %d %+v: not an exact, unique, numbered sentence", i, c)
				}
				if !strings.Contains(d.Text, c.Quote+" ["+strconv.Itoa(i+1)+"]") {
					t.Errorf("text %q does not quote claim %d", d.Text, i+1)
				}
				seen[c.Quote] = true
			}
			for i := 1; i < len(d.Claims); i++ {
				if d.Claims[i].Score > d.Claims[i-1].Score {
					t.Errorf("claims not best first: %v", d.Claims)
				}
			}
		})
	}
	t.Run("answer among the quotes", func(t *testing.T) {
		// The first sentence of ¶7 matches more of this question's terms
		// ("Army-2020", "games", "countries"); the answer is the second,
		// which the draft must still quote.
		q := "How many countries were invited to the Army-2020 games?"
		d := draft(t, q)
		if !strings.Contains(d.Text, "90 countries") {
			t.Errorf("draft %q does not quote the answer", d.Text)
		}
	})
	t.Run("refuses", func(t *testing.T) {
		q := "How much did Iran pay for the S-400 systems?"
		d := draft(t, q)
		if !d.Refused || len(d.Claims) != 0 {
			t.Errorf("want refusal, got %+v", d)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		hits, _ := ix.Search(t.Context(), "Who is Iran's Defense Minister?", 8)
		if _, err := x.Draft(ctx, DraftRequest{Question: Question{Text: "Who is Iran's Defense Minister?"}, Hits: hits}); err == nil {
			t.Error("want context error")
		}
	})
}

func BenchmarkExtractiveDraft(b *testing.B) {
	ix := bundledIndex(b)
	x := NewExtractive(ix, ExtractiveOptions{})
	q := "Which missile system is Tehran interested in buying?"
	hits, err := ix.Search(b.Context(), q, 8)
	if err != nil {
		b.Fatal(err)
	}
	req := DraftRequest{Question: Question{Text: q}, Hits: hits}
	for b.Loop() {
		if _, err := x.Draft(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
}
