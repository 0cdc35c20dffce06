package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/retrieval"
)

// TestDumpEvidence writes every visible example's refusal features, kind
// and best candidate to $VERBATIM_EVAL_DUMP (JSON Lines), for analysing the
// models outside Go. It runs only when that is set.
func TestDumpEvidence(t *testing.T) {
	out := os.Getenv("VERBATIM_EVAL_DUMP")
	if out == "" {
		t.Skip("set VERBATIM_EVAL_DUMP to a file to dump the evidence")
	}
	p := &Protocol{Folds: folds(t), Dir: t.TempDir()}
	w, m, err := p.Fit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, pr := range p.prep {
		nIn := len(pr.fold.InCorpus.Items)
		for i, ex := range pr.examples[w] {
			ex.ev.Rescore(m)
			row := map[string]any{"fold": ex.fold, "id": ex.item.ID, "q": ex.item.Question, "kind": ex.item.Kind.String(),
				"f": ex.ev.Features, "p": ex.ev.Support, "split": i >= nIn}
			if len(ex.ev.Candidates) > 0 {
				c := ex.ev.Candidates[0]
				row["best"] = c.Text
				row["bestf"] = c.Features
				row["hit"] = ex.item.Kind == Answerable && c.ArticleID == *ex.item.Article && c.Paragraph == *ex.item.Paragraph
			}
			enc.Encode(row)
		}
	}
	mj, _ := json.MarshalIndent(m, "", " ")
	t.Logf("w=%.2f models %s", w, mj)
}

// TestDumpSmall prints the off-corpus questions of each small split that
// the committed models answer, with their features (VERBATIM_EVAL_DUMP set).
func TestDumpSmall(t *testing.T) {
	if os.Getenv("VERBATIM_EVAL_DUMP") == "" {
		t.Skip("set VERBATIM_EVAL_DUMP")
	}
	m := bot.DefaultModels()
	for _, f := range folds(t) {
		var exs []example
		for _, sm := range f.Small {
			x, err := collect(t.Context(), index(t, sm), f.Name, sm, retrieval.DefaultVectorWeight)
			if err != nil {
				t.Fatal(err)
			}
			exs = append(exs, x...)
		}
		for _, ex := range exs {
			ex.ev.Rescore(m)
			ok := ex.ev.Supported(m)
			if (ex.item.Kind == OffCorpus) == ok {
				best := ""
				if len(ex.ev.Candidates) > 0 {
					best = ex.ev.Candidates[0].Text
				}
				t.Logf("%s %s p=%.2f decisive=%v cue=%v %q -> %.90q", f.Name, ex.item.Kind, ex.ev.Support, ex.ev.DecisiveMissing, ex.ev.CueMissing, ex.item.Question, best)
			}
		}
	}
}

// TestDumpRules lists the answerable questions each refusal rule refuses,
// and counts the questions to refuse each catches (VERBATIM_EVAL_DUMP set).
func TestDumpRules(t *testing.T) {
	if os.Getenv("VERBATIM_EVAL_DUMP") == "" {
		t.Skip("set VERBATIM_EVAL_DUMP")
	}
	m := bot.DefaultModels()
	p := &Protocol{Folds: folds(t), Dir: t.TempDir()}
	if err := p.prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, pr := range p.prep {
		exs, err := p.examplesAt(t.Context(), pr, retrieval.DefaultVectorWeight)
		if err != nil {
			t.Fatal(err)
		}
		var dAns, dNeg, cAns, cNeg, nAns, nNeg, dNegModel, dAnsModel int
		for _, ex := range exs {
			ex.ev.Rescore(m)
			ans := ex.item.Kind == Answerable
			if ans {
				nAns++
			} else {
				nNeg++
			}
			modelRefuses := ex.ev.Support < m.Refusal.Threshold
			if ex.ev.DecisiveMissing {
				if modelRefuses && ans {
					dAnsModel++
				}
				if modelRefuses && !ans {
					dNegModel++
				}
				if ans {
					dAns++
					t.Logf("%s decisive refuses %q -> %.80q", pr.fold.Name, ex.item.Question, ex.ev.Candidates[0].Text)
				} else {
					dNeg++
				}
			}
			if ex.ev.CueMissing {
				if ans {
					cAns++
					t.Logf("%s cue refuses %q -> %.80q", pr.fold.Name, ex.item.Question, ex.ev.Candidates[0].Text)
				} else {
					cNeg++
				}
			}
		}
		t.Logf("%s: decisive refuses %d/%d answerable (model alone %d), %d/%d to refuse (model alone %d); cue refuses %d/%d answerable, %d/%d to refuse", pr.fold.Name, dAns, nAns, dAnsModel, dNeg, nNeg, dNegModel, cAns, nAns, cNeg, nNeg)
	}
}

// TestWriteFolds writes every fold's sets under $VERBATIM_EVAL_WRITE as
// corpus directories with question files (in/, split/, small/; off-corpus
// questions written as unanswerable), so that any build of verbatim —
// an older one, for the README's "before" column — can be measured on the
// same splits with `verbatim eval --corpus DIR/corpus DIR/qa.jsonl`.
func TestWriteFolds(t *testing.T) {
	out := os.Getenv("VERBATIM_EVAL_WRITE")
	if out == "" {
		t.Skip("set VERBATIM_EVAL_WRITE to a directory")
	}
	for _, f := range folds(t) {
		sets := map[string]Set{"in": f.InCorpus, "split": f.Split}
		for j, sm := range f.Small {
			sets[fmt.Sprintf("small-%d", j+1)] = sm
		}
		for kind, s := range sets {
			if len(s.Items) == 0 {
				continue
			}
			dir := filepath.Join(out, f.Name, kind)
			if err := os.MkdirAll(filepath.Join(dir, "corpus"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, a := range s.Articles {
				text := "# " + a.Title + "\n\n" + strings.Join(a.Paragraphs, "\n\n") + "\n"
				if err := os.WriteFile(filepath.Join(dir, "corpus", a.ID+".md"), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var b strings.Builder
			enc := json.NewEncoder(&b)
			for _, it := range s.Items {
				row := it
				if it.Kind != Answerable {
					row.Article, row.Paragraph = nil, nil
				}
				if err := enc.Encode(map[string]any{"id": row.ID, "question": row.Question, "answers": row.Answers,
					"article": row.Article, "paragraph": row.Paragraph, "kind": it.Kind.String()}); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "qa.jsonl"), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// separation rescores exs with m and returns, for the lowest 3, 5 and 10%
// of its answerable questions' support (0 when a rule refuses), the share
// of its off-corpus questions below: how well m orders them, whatever the
// threshold; ok is false when exs has no answerable question.
func separation(exs []example, m *bot.Models) (line string, ok bool) {
	var pos, neg []float64
	for _, ex := range exs {
		ex.ev.Rescore(m)
		pr := ex.ev.Support
		if ex.ev.DecisiveMissing || ex.ev.CueMissing || len(ex.ev.Candidates) == 0 {
			pr = 0
		}
		switch ex.item.Kind {
		case Answerable:
			pos = append(pos, pr)
		case OffCorpus:
			neg = append(neg, pr)
		}
	}
	if len(pos) == 0 {
		return "", false
	}
	slices.Sort(pos)
	for _, rate := range []float64{0.03, 0.05, 0.10} {
		th := pos[int(rate*float64(len(pos)))]
		off := 0
		for _, v := range neg {
			if v < th {
				off++
			}
		}
		line += fmt.Sprintf(" @%.0f%% %.3f", 100*rate, float64(off)/float64(max(1, len(neg))))
	}
	return line + fmt.Sprintf(" (%d/%d)", len(pos), len(neg)), true
}

// TestDumpSeparability fits the models on each fold alone and prints, in
// sample, the share of its off-corpus questions ranked below the lowest
// answerable ones (see separation): how far the features could go at best
// (VERBATIM_EVAL_DUMP set).
func TestDumpSeparability(t *testing.T) {
	if os.Getenv("VERBATIM_EVAL_DUMP") == "" {
		t.Skip("set VERBATIM_EVAL_DUMP")
	}
	p := &Protocol{Folds: folds(t), Dir: t.TempDir()}
	if err := p.prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, pr := range p.prep {
		exs, err := p.examplesAt(t.Context(), pr, retrieval.DefaultVectorWeight)
		if err != nil {
			t.Fatal(err)
		}
		m, err := fitModels(exs, []string{pr.fold.Name})
		if err != nil {
			t.Fatal(err)
		}
		line, _ := separation(exs, m)
		t.Log(pr.fold.Name + line)
	}
}

// TestDumpHeldOutSeparation fits on all folds but one and prints, for the
// held-out fold's off-corpus split and small splits, the share of
// off-corpus questions the fitted model ranks below the lowest of its
// answerable ones (see separation): how well the model orders unseen
// questions, whatever threshold (VERBATIM_EVAL_DUMP set).
func TestDumpHeldOutSeparation(t *testing.T) {
	if os.Getenv("VERBATIM_EVAL_DUMP") == "" {
		t.Skip("set VERBATIM_EVAL_DUMP")
	}
	p := &Protocol{Folds: folds(t), Dir: t.TempDir()}
	if err := p.prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i, held := range p.prep {
		train := slices.Concat(p.prep[:i], p.prep[i+1:])
		w, m, err := p.fit(t.Context(), train, held.fold.Name)
		if err != nil {
			t.Fatal(err)
		}
		exs, err := p.examplesAt(t.Context(), held, w)
		if err != nil {
			t.Fatal(err)
		}
		var small []example
		for j, ix := range held.small {
			sx, err := collect(t.Context(), ix, held.fold.Name, held.fold.Small[j], w)
			if err != nil {
				t.Fatal(err)
			}
			small = append(small, sx...)
		}
		line := fmt.Sprintf("%-17s threshold %.3f", held.fold.Name, m.Refusal.Threshold)
		if s, ok := separation(exs[len(held.fold.InCorpus.Items):], m); ok {
			line += "  split" + s
		}
		if s, ok := separation(small, m); ok {
			line += "  small" + s
		}
		t.Log(line)
	}
}

// TestDumpSentenceLOSO fits the sentence model on all folds but one and
// prints, for the held-out fold's answerable in-corpus questions, how
// often the best-ranked candidate is in the gold paragraph and holds a
// gold answer (or is the labelled sentence), refusals aside: a quick
// measure of a sentence feature (VERBATIM_EVAL_DUMP set; features listed
// in VERBATIM_EVAL_MASK are left out, VERBATIM_EVAL_MISSES=<set> prints
// that set's misses, and VERBATIM_EVAL_WEIGHTS=1 each fit's weights).
func TestDumpSentenceLOSO(t *testing.T) {
	if os.Getenv("VERBATIM_EVAL_DUMP") == "" {
		t.Skip("set VERBATIM_EVAL_DUMP")
	}
	p := &Protocol{Folds: folds(t), Dir: t.TempDir()}
	if err := p.prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	w := retrieval.DefaultVectorWeight
	all := map[string][]example{}
	for _, pr := range p.prep {
		exs, err := p.examplesAt(t.Context(), pr, w)
		if err != nil {
			t.Fatal(err)
		}
		all[pr.fold.Name] = exs[:len(pr.fold.InCorpus.Items)]
	}
	// VERBATIM_EVAL_MASK: features to leave out (their values zeroed).
	if mask := os.Getenv("VERBATIM_EVAL_MASK"); mask != "" {
		for _, name := range strings.Split(mask, ",") {
			j := slices.Index(bot.SentenceFeatureNames, name)
			if j < 0 {
				t.Fatalf("no sentence feature %q", name)
			}
			for _, exs := range all {
				for _, ex := range exs {
					for c := range ex.ev.Candidates {
						f := slices.Clone(ex.ev.Candidates[c].Features)
						f[j] = 0
						ex.ev.Candidates[c].Features = f
					}
				}
			}
		}
	}
	score := func(exs []example, m bot.Model) (inQuote, hit float64) {
		n := 0
		for _, ex := range exs {
			if ex.item.Kind != Answerable || len(ex.ev.Candidates) == 0 {
				continue
			}
			n++
			best, bs := -1, math.Inf(-1)
			for i, c := range ex.ev.Candidates {
				if s := m.Logit(c.Features); s > bs {
					best, bs = i, s
				}
			}
			c := ex.ev.Candidates[best]
			if c.ArticleID == *ex.item.Article && c.Paragraph == *ex.item.Paragraph {
				hit++
				if ContainsAnswer(c.Text, ex.item.Answers) || ex.item.AnswerSentence != "" && containsFold(foldForMatch(c.Text), foldForMatch(ex.item.AnswerSentence)) {
					inQuote++
				} else if os.Getenv("VERBATIM_EVAL_MISSES") == ex.fold {
					t.Logf("MISS %s\n  picked %.150s\n  gold   %.150s", ex.item.Question, c.Text, ex.item.Answers)
				}
			}
		}
		return inQuote / float64(max(n, 1)), hit / float64(max(n, 1))
	}
	for _, held := range p.prep {
		var train []example
		for _, pr := range p.prep {
			if pr != held {
				for _, e := range all[pr.fold.Name] {
					if e.item.From != held.fold.Name {
						train = append(train, e)
					}
				}
			}
		}
		point, err := fitLogistic(bot.SentenceFeatureNames, sentenceSamples(train))
		if err != nil {
			t.Fatal(err)
		}
		q, h := score(all[held.fold.Name], point)
		if os.Getenv("VERBATIM_EVAL_WEIGHTS") != "" {
			t.Logf("weights %v", point.Weights)
		}
		t.Logf("%-17s best sentence holds the answer %.3f, in the gold paragraph %.3f", held.fold.Name, q, h)
	}
}
