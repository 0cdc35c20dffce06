// Package eval measures verbatim's answers against question sets, honestly.
//
// It owns the question-set format (one JSON object per line, see Item and
// shared/eval/README.md), the scoring (hit@k, MRR@10, answer-in-quote@1,
// refusal precision and recall, answerable questions refused, and, for the
// LLM mode, fallbacks, errors and timeouts counted as misses), per-question
// Records, and the protocol that keeps figures believable on data nobody
// tuned for:
//
//   - off-corpus splits (Split): index half of a set's articles; the
//     other half's questions must then be refused, since the corpus no
//     longer covers their topic; and small corpora cut from a set
//     (Smalls: up to four disjoint groups of 36 articles, each split so),
//     the size of a community's first corpus;
//   - leave-one-set-out (Protocol): whatever is fitted (the sentence and
//     refusal models — monotone boosted trees, one with and one without the
//     vector signal — and the fusion weight) is fitted on the other sets
//     and reported on the one left out.
//
// `verbatim eval` and every quality test call this package; none keeps its
// own copy of the scoring.
package eval
