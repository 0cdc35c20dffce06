package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/retrieval"
)

// evalItem is one question of an eval file (see shared/eval/README.md).
type evalItem struct {
	ID        string   `json:"id"`
	Question  string   `json:"question"`
	Answers   []string `json:"answers"`
	Article   *string  `json:"article"`
	Paragraph *int     `json:"paragraph"`
}

func (it evalItem) answerable() bool { return it.Article != nil && it.Paragraph != nil }

// evalReport is one mode's figures; `eval --json` prints a list of them.
type evalReport struct {
	Mode            string  `json:"mode"`
	Questions       int     `json:"questions"`
	Answerable      int     `json:"answerable"`
	Unanswerable    int     `json:"unanswerable"`
	HitAt1          float64 `json:"hit_at_1"`
	HitAt5          float64 `json:"hit_at_5"`
	MRRAt10         float64 `json:"mrr_at_10"`
	AnswerInQuote1  float64 `json:"answer_in_quote_at_1"`
	RefusedAnswer   int     `json:"refused_answerable"`
	RefusalPrec     float64 `json:"refusal_precision"`
	RefusalRecall   float64 `json:"refusal_recall"`
	LatencyP50ms    float64 `json:"latency_p50_ms"`
	LatencyP95ms    float64 `json:"latency_p95_ms"`
	Dropped         int     `json:"quotes_dropped"`
	Repaired        int     `json:"quotes_repaired"`
	DroppedPerAns   float64 `json:"quotes_dropped_per_answer"`
	RepairedPerAns  float64 `json:"quotes_repaired_per_answer"`
	Errors          int     `json:"errors"`
	answerModeStats bool
}

func cmdEval(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("eval", "[flags] FILE.jsonl", "Run every question of FILE.jsonl against the corpus and report, per mode:\nhit@1/hit@5 (gold article+paragraph among the first 1/5 citations or retrieved passages),\nanswer-in-quote@1, refusal precision/recall on unanswerable questions, and latency p50/p95.")
	src := a.sourceFlags(fs)
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	modes := fs.String("modes", "", "comma-separated modes: retrieval, extractive, llm (default: retrieval,extractive, plus llm when configured)")
	limit := fs.Int("limit", 0, "use only the first N questions (0: all)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("eval needs exactly one question file")
	}
	items, err := readEvalFile(pos[0])
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
	}
	ix, err := a.openForQuestions(ctx, *src)
	if err != nil {
		return err
	}
	var reports []evalReport
	for _, m := range want {
		var r evalReport
		switch m {
		case "retrieval":
			r, err = evalRetrieval(ctx, ix, items)
		case "extractive", "llm":
			var eng *bot.Engine
			if m == "llm" && !a.cfg.UseLLM() {
				return usagef("mode llm needs OPENAI_API_KEY or OPENAI_BASE_URL")
			}
			eng, err = a.engine(ix, m == "extractive")
			if err == nil {
				r, err = a.evalAnswers(ctx, eng, m, items)
			}
		}
		if err != nil {
			return err
		}
		reports = append(reports, r)
	}
	if *asJSON {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	writeEvalTable(a.out, pos[0], reports)
	return nil
}

func readEvalFile(path string) ([]evalItem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("eval file: %v", err)
	}
	defer f.Close()
	var items []evalItem
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var it evalItem
		if err := json.Unmarshal([]byte(line), &it); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if strings.TrimSpace(it.Question) == "" {
			return nil, fmt.Errorf("%s:%d: no question", path, n)
		}
		items = append(items, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: no questions", path)
	}
	return items, nil
}

// evalRetrieval scores the fused passage ranking alone.
func evalRetrieval(ctx context.Context, ix *retrieval.Index, items []evalItem) (evalReport, error) {
	r := evalReport{Mode: "retrieval"}
	var lat []time.Duration
	var hit1, hit5 int
	var mrr float64
	for _, it := range items {
		r.Questions++
		if !it.answerable() {
			r.Unanswerable++
			continue
		}
		r.Answerable++
		start := time.Now()
		hits, err := ix.Search(ctx, it.Question, 10)
		lat = append(lat, time.Since(start))
		if err != nil {
			return r, fmt.Errorf("search %q: %w", it.ID, err)
		}
		for i, h := range hits {
			if h.ArticleID == *it.Article && h.First <= *it.Paragraph && *it.Paragraph <= h.Last {
				if i == 0 {
					hit1++
				}
				if i < 5 {
					hit5++
				}
				mrr += 1 / float64(i+1)
				break
			}
		}
	}
	r.HitAt1, r.HitAt5, r.MRRAt10 = ratio(hit1, r.Answerable), ratio(hit5, r.Answerable), mrr/float64(max(r.Answerable, 1))
	r.LatencyP50ms, r.LatencyP95ms = percentileMS(lat, 50), percentileMS(lat, 95)
	return r, nil
}

// evalAnswers scores full answers: citations, quotes and refusals.
func (a *app) evalAnswers(ctx context.Context, eng *bot.Engine, mode string, items []evalItem) (evalReport, error) {
	r := evalReport{Mode: mode, answerModeStats: true}
	var lat []time.Duration
	var hit1, hit5, inQuote, refusedUnanswerable, refused, answered int
	var mrr float64
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		r.Questions++
		qctx, cancel := context.WithTimeout(ctx, a.cfg.AnswerTimeout)
		start := time.Now()
		ans, err := eng.Answer(qctx, bot.Question{Text: it.Question})
		cancel()
		lat = append(lat, time.Since(start))
		if err != nil {
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			r.Errors++
			a.log.Warn("eval question failed", "id", it.ID, "err", err)
			continue
		}
		answered++
		r.Dropped += ans.Stats.Dropped
		r.Repaired += ans.Stats.Repaired
		if ans.Refused {
			refused++
		}
		if !it.answerable() {
			r.Unanswerable++
			if ans.Refused {
				refusedUnanswerable++
			}
			continue
		}
		r.Answerable++
		if ans.Refused {
			r.RefusedAnswer++
			continue
		}
		for i, c := range ans.Citations {
			if c.Article.ID == *it.Article && c.Paragraph == *it.Paragraph {
				if i == 0 {
					hit1++
				}
				if i < 5 {
					hit5++
				}
				if i < 10 {
					mrr += 1 / float64(i+1)
				}
				break
			}
		}
		if len(ans.Citations) > 0 {
			q := strings.ToLower(ans.Citations[0].Quote)
			for _, g := range it.Answers {
				if g != "" && strings.Contains(q, strings.ToLower(foldSpace(g))) {
					inQuote++
					break
				}
			}
		}
	}
	r.HitAt1, r.HitAt5, r.MRRAt10 = ratio(hit1, r.Answerable), ratio(hit5, r.Answerable), mrr/float64(max(r.Answerable, 1))
	r.AnswerInQuote1 = ratio(inQuote, r.Answerable)
	r.RefusalPrec = ratio(refusedUnanswerable, refused)
	r.RefusalRecall = ratio(refusedUnanswerable, r.Unanswerable)
	r.LatencyP50ms, r.LatencyP95ms = percentileMS(lat, 50), percentileMS(lat, 95)
	r.DroppedPerAns = float64(r.Dropped) / float64(max(answered, 1))
	r.RepairedPerAns = float64(r.Repaired) / float64(max(answered, 1))
	return r, nil
}

func foldSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

func percentileMS(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}

func writeEvalTable(w io.Writer, file string, reports []evalReport) {
	fmt.Fprintf(w, "%s: %d questions (%d answerable, %d unanswerable)\n\n", file, reports[0].Questions, reports[0].Answerable, reports[0].Unanswerable)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\thit@1\thit@5\tMRR@10\tans-in-quote@1\trefusal P\trefusal R\trefused answerable\tp50 ms\tp95 ms\tdropped/ans\trepaired/ans\terrors\t")
	dash := "–"
	for _, r := range reports {
		aq, rp, rr, ra, dr, rep := dash, dash, dash, dash, dash, dash
		if r.answerModeStats {
			aq = fmt.Sprintf("%.3f", r.AnswerInQuote1)
			ra = fmt.Sprint(r.RefusedAnswer)
			dr = fmt.Sprintf("%.2f", r.DroppedPerAns)
			rep = fmt.Sprintf("%.2f", r.RepairedPerAns)
			if r.Unanswerable > 0 {
				rp, rr = fmt.Sprintf("%.3f", r.RefusalPrec), fmt.Sprintf("%.3f", r.RefusalRecall)
			}
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%s\t%s\t%d\t\n",
			r.Mode, r.HitAt1, r.HitAt5, r.MRRAt10, aq, rp, rr, ra, r.LatencyP50ms, r.LatencyP95ms, dr, rep, r.Errors)
	}
	tw.Flush()
}
