package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/eval"
)

func cmdEval(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("eval", "[flags] FILE.jsonl", "Run every question of FILE.jsonl against the corpus and report, per mode:\nhit@1/hit@5 (gold article+paragraph among the first 1/5 citations or retrieved passages),\nanswer-in-quote@1, refusal precision/recall on unanswerable questions, and latency p50/p95.")
	src := a.sourceFlags(fs)
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	modes := fs.String("modes", "", "comma-separated modes: retrieval, extractive, llm (default: retrieval,extractive, plus llm when configured)")
	limit := fs.Int("limit", 0, "use only the first N questions (0: all)")
	perQuestion := fs.Bool("records", false, "with --json, include one record per question")
	report := fs.Bool("report", false, "instead of one file: the leave-one-set-out report over every visible set (--sets, --testdata)")
	sets := fs.String("sets", filepath.Join("..", "shared", "eval"), "with --report: the `dir`ectory of the public question sets")
	testdata := fs.String("testdata", "testdata", "with --report: the `dir`ectory holding seed-qa.jsonl and bundled-paraphrase.jsonl")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *report {
		if len(pos) > 0 {
			return usagef("eval --report takes no question file")
		}
		return a.evalReport(ctx, *sets, *testdata, *asJSON)
	}
	if len(pos) != 1 {
		return usagef("eval needs exactly one question file (or --report)")
	}
	items, err := eval.ReadFile(pos[0])
	if err != nil {
		return err
	}
	if *limit > 0 && *limit < len(items) {
		items = items[:*limit]
	}
	want := []string{"retrieval", "extractive"}
	if a.cfg.UseLLM() {
		want = append(want, "llm")
	}
	if *modes != "" {
		want = strings.Split(*modes, ",")
	}
	for _, m := range want {
		if m != "retrieval" && m != "extractive" && m != "llm" {
			return usagef("unknown mode %q (want retrieval, extractive or llm)", m)
		}
		if m == "llm" && !a.cfg.UseLLM() {
			return usagef("mode llm needs OPENAI_API_KEY or OPENAI_BASE_URL")
		}
	}
	ix, err := a.openForQuestions(ctx, *src)
	if err != nil {
		return err
	}
	has := func(id string) bool { _, ok := ix.Article(id); return ok }
	opts := eval.RunOptions{Timeout: a.cfg.AnswerTimeout, Has: has}
	var reports []eval.Report
	for _, m := range want {
		var recs []eval.Record
		switch m {
		case "retrieval":
			recs, err = eval.Retrieval(ctx, ix, items, opts)
		case "extractive", "llm":
			var eng *bot.Engine
			eng, err = a.engine(ix, m == "extractive")
			if err == nil {
				recs, err = eval.Answers(ctx, eng, items, opts)
			}
		}
		if err != nil {
			return err
		}
		var missing []string
		for _, r := range recs {
			if r.Error != "" {
				a.log.Warn("eval question failed", "id", r.ID, "err", r.Error)
			}
			if r.GoldMissing {
				missing = append(missing, r.ID)
			}
		}
		rep := eval.Summarize(m, recs, m != "retrieval", m == "llm")
		if len(missing) > 0 && len(reports) == 0 {
			fmt.Fprintf(a.err, "verbatim eval: warning: %s name a gold article that is not in the corpus (first: %s); they count as misses\n",
				plural(len(missing), "answerable question"), missing[0])
		}
		if rep.Questions > 0 && rep.Errors+rep.Timeouts == rep.Questions {
			return fmt.Errorf("mode %s: every question failed (first: %s)", m, a.errorLine(recs[0].Error))
		}
		if !*perQuestion {
			rep.Records = nil
		}
		reports = append(reports, rep)
	}
	if *asJSON {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	eval.WriteTable(a.out, pos[0], reports)
	return nil
}

// evalReport prints the leave-one-set-out table: every visible set measured
// with the vector weight and models fitted on the others (eval.Protocol).
func (a *app) evalReport(ctx context.Context, sets, testdata string, asJSON bool) error {
	folds, err := eval.VisibleFolds(ctx, testdata, sets)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "verbatim-eval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p := &eval.Protocol{Folds: folds, Dir: dir, Progress: func(msg string) { a.log.Info("eval report", "step", msg) }}
	reps, err := p.LeaveOneSetOut(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(reps)
	}
	fmt.Fprintf(a.out, "Leave-one-set-out: each set measured with the vector weight and models fitted on the other sets.\n\n")
	eval.WriteFoldTable(a.out, reps)
	return nil
}
