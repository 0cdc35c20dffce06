package eval

import (
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Record is what one question measured.
type Record struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Kind     Kind   `json:"-"`
	KindName string `json:"kind"`
	// Rank is the 1-based position of the gold paragraph among the
	// answer's citations (or the retrieved passages, in retrieval mode);
	// 0 when absent or refused.
	Rank int `json:"rank"`
	// Refused: the bot said the articles don't say.
	Refused bool `json:"refused"`
	// AnswerInQuote: the first citation's quote contains a gold answer.
	AnswerInQuote bool `json:"answer_in_quote"`
	// Fallback: the configured model's answer was not shown (Answer.Fallback).
	Fallback bool `json:"fallback,omitempty"`
	// Error and Timeout: the answer failed (Timeout: by its deadline).
	Error   string `json:"error,omitempty"`
	Timeout bool   `json:"timeout,omitempty"`
	// GoldMissing: the gold article is not in the corpus, so no answer
	// could hit it (a broken question set or the wrong corpus).
	GoldMissing bool `json:"gold_missing,omitempty"`
	// Cited is the first citation ("article ¶n") or the first passage.
	Cited   string        `json:"cited,omitempty"`
	Quote   string        `json:"quote,omitempty"`
	Latency time.Duration `json:"latency_ns"`
	// Dropped and Repaired count what the verifier did to the quotes.
	Dropped  int `json:"dropped"`
	Repaired int `json:"repaired"`
}

// failed reports whether the question got no usable answer from the mode
// being measured: an error, a timeout, or (LLM mode) a fallback. Such a
// question is a miss in every rate.
func (r Record) failed(countFallbacks bool) bool {
	return r.Error != "" || r.Timeout || (countFallbacks && r.Fallback)
}

// Report is one mode's figures over a question set; `eval --json` prints
// a list of them.
type Report struct {
	Set          string `json:"set,omitempty"`
	Mode         string `json:"mode"`
	Questions    int    `json:"questions"`
	Answerable   int    `json:"answerable"`
	Unanswerable int    `json:"unanswerable"`
	OffCorpus    int    `json:"off_corpus"`

	HitAt1  float64 `json:"hit_at_1"`
	HitAt5  float64 `json:"hit_at_5"`
	MRRAt10 float64 `json:"mrr_at_10"`
	// AnswerInQuote1 is over answerable questions (a refusal is a miss).
	AnswerInQuote1 float64 `json:"answer_in_quote_at_1"`
	// RefusedAnswerable counts answerable questions refused; its rate is
	// over the answerable ones.
	RefusedAnswerable     int     `json:"refused_answerable"`
	RefusedAnswerableRate float64 `json:"refused_answerable_rate"`
	// RefusalPrecision: of the refusals, how many were right; recall: of
	// the questions to refuse (unanswerable and off-corpus), how many were.
	RefusalPrecision float64 `json:"refusal_precision"`
	RefusalRecall    float64 `json:"refusal_recall"`
	// UnanswerableRefused and OffCorpusRefused split the recall by kind.
	UnanswerableRefused float64 `json:"unanswerable_refused"`
	OffCorpusRefused    float64 `json:"off_corpus_refused"`

	Fallbacks   int `json:"fallbacks"`
	Errors      int `json:"errors"`
	Timeouts    int `json:"timeouts"`
	GoldMissing int `json:"gold_missing"`

	LatencyP50ms float64 `json:"latency_p50_ms"`
	LatencyP95ms float64 `json:"latency_p95_ms"`
	DroppedPer   float64 `json:"quotes_dropped_per_answer"`
	RepairedPer  float64 `json:"quotes_repaired_per_answer"`

	// Answers is false for the retrieval mode, which has no refusals or
	// quotes.
	Answers bool `json:"-"`
	// Records are the per-question measurements.
	Records []Record `json:"records,omitempty"`
}

// Summarize computes a report from per-question records. answers says
// whether the records are of answers (refusals and quotes count) rather
// than of retrieval alone; countFallbacks (the LLM mode) makes a fallback
// to the extractive answer a miss.
func Summarize(mode string, recs []Record, answers, countFallbacks bool) Report {
	r := Report{Mode: mode, Answers: answers, Records: recs}
	var hit1, hit5, inQuote, refusedOK, refused, toRefuse, unansRefused, offRefused, answered int
	var mrr float64
	var lat []time.Duration
	for _, rec := range recs {
		r.Questions++
		lat = append(lat, rec.Latency)
		switch {
		case rec.Timeout:
			r.Timeouts++
		case rec.Error != "":
			r.Errors++
		}
		if rec.Fallback {
			r.Fallbacks++
		}
		if rec.GoldMissing {
			r.GoldMissing++
		}
		failed := rec.failed(countFallbacks)
		if rec.Error == "" && !rec.Timeout {
			answered++
			r.DroppedPer += float64(rec.Dropped)
			r.RepairedPer += float64(rec.Repaired)
		}
		if rec.Refused && !failed {
			refused++
		}
		switch rec.Kind {
		case Answerable:
			r.Answerable++
			if failed {
				continue
			}
			if rec.Refused {
				r.RefusedAnswerable++
				continue
			}
			if rec.Rank == 1 {
				hit1++
			}
			if rec.Rank >= 1 && rec.Rank <= 5 {
				hit5++
			}
			if rec.Rank >= 1 && rec.Rank <= 10 {
				mrr += 1 / float64(rec.Rank)
			}
			if rec.AnswerInQuote {
				inQuote++
			}
		case Unanswerable, OffCorpus:
			toRefuse++
			if rec.Kind == Unanswerable {
				r.Unanswerable++
			} else {
				r.OffCorpus++
			}
			if rec.Refused && !failed {
				refusedOK++
				if rec.Kind == Unanswerable {
					unansRefused++
				} else {
					offRefused++
				}
			}
		}
	}
	r.HitAt1 = ratio(hit1, r.Answerable)
	r.HitAt5 = ratio(hit5, r.Answerable)
	r.MRRAt10 = mrr / float64(max(r.Answerable, 1))
	r.AnswerInQuote1 = ratio(inQuote, r.Answerable)
	r.RefusedAnswerableRate = ratio(r.RefusedAnswerable, r.Answerable)
	r.RefusalPrecision = ratio(refusedOK, refused)
	r.RefusalRecall = ratio(refusedOK, toRefuse)
	r.UnanswerableRefused = ratio(unansRefused, r.Unanswerable)
	r.OffCorpusRefused = ratio(offRefused, r.OffCorpus)
	r.LatencyP50ms, r.LatencyP95ms = percentileMS(lat, 50), percentileMS(lat, 95)
	r.DroppedPer /= float64(max(answered, 1))
	r.RepairedPer /= float64(max(answered, 1))
	return r
}

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

// ContainsAnswer reports whether quote contains one of the gold answers,
// compared after Unicode NFKC normalisation, case folding and white-space
// folding (a gold "S-400" is in “…and S-400 missile system.”).
func ContainsAnswer(quote string, answers []string) bool {
	q := foldForMatch(quote)
	for _, a := range answers {
		if a = foldForMatch(a); a != "" && strings.Contains(q, a) {
			return true
		}
	}
	return false
}

func foldForMatch(s string) string {
	s = norm.NFKC.String(s)
	s = strings.Map(func(r rune) rune {
		switch r {
		case '‘', '’', 'ʼ', '′':
			return '\''
		case '“', '”', '″':
			return '"'
		case '‐', '‑', '‒', '–', '—':
			return '-'
		}
		return unicode.ToLower(r)
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
