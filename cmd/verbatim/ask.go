package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/retrieval"
)

// askFlags are the output switches shared by ask and chat.
type askFlags struct {
	json, explain, noStream, verbose, extractive bool
	// door is the command (ask, chat), where a refused question is
	// recorded as a coverage gap to have been asked.
	door string
}

func (a *app) registerAskFlags(fs *flag.FlagSet) *askFlags {
	f := &askFlags{}
	fs.BoolVar(&f.json, "json", false, "print the answer as one JSON object")
	fs.BoolVar(&f.explain, "explain", false, "also show the retrieved passages, their scores and which signal (vector, lexical) found them")
	fs.BoolVar(&f.noStream, "no-stream", false, "with an LLM, print the answer only when it is complete")
	fs.BoolVar(&f.verbose, "verbose", false, "report mode, timing and quotes the verifier dropped or repaired on stderr")
	fs.BoolVar(&f.extractive, "extractive", false, "answer with quoted sentences only, even when an LLM is configured")
	return f
}

func cmdAsk(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("ask", `[flags] "question"`, "Answer one question from the corpus, citing verbatim quotes.")
	src := a.sourceFlags(fs)
	f := a.registerAskFlags(fs)
	f.door = "ask"
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	question := strings.TrimSpace(strings.Join(pos, " "))
	if question == "" {
		return usagef("ask needs a question")
	}
	if err := checkQuestion(question, a.cfg.MaxQuestion); err != nil {
		return usageError{err.Error()}
	}
	eng, _, err := a.answeringEngine(ctx, *src, f)
	if err != nil {
		return err
	}
	_, err = a.answerOne(ctx, eng, bot.Question{Text: question}, f)
	return err
}

// answeringEngine opens the index of src and builds the engine ask and
// chat answer with (extractive with --extractive), describing it with
// --verbose.
func (a *app) answeringEngine(ctx context.Context, src source, f *askFlags) (*bot.Engine, *retrieval.Index, error) {
	ix, err := a.openForQuestions(ctx, src)
	if err != nil {
		return nil, nil, err
	}
	eng, err := a.engine(ix, f.extractive)
	if err != nil {
		return nil, nil, err
	}
	a.describe(ctx, f, src, ix.Info().Dir)
	a.gaps = a.gapStore(ix.Info().Dir)
	return eng, ix, nil
}

// answerOne answers q with its own deadline and prints the result as the
// flags ask. The model's unverified text is previewed as it streams only
// when stdout is a terminal: piped and --json output carry the verified
// answer alone. A notice that the answer was made without the model
// (Answer.Fallback) goes to stderr before the answer, like every other
// warning, so that stdout holds the same answer whichever answerer made it;
// --json carries it in the "fallback" field instead.
func (a *app) answerOne(ctx context.Context, eng *bot.Engine, q bot.Question, f *askFlags) (bot.Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.AnswerTimeout)
	defer cancel()
	var streamed strings.Builder
	if !f.json && !f.noStream && isTerminal(a.out) {
		q.OnDelta = func(text string) {
			streamed.WriteString(text)
			fmt.Fprint(a.out, bot.Printable(text))
		}
	}
	ans, err := eng.Answer(ctx, q)
	if err != nil {
		if streamed.Len() > 0 {
			fmt.Fprintln(a.out)
		}
		return ans, err
	}
	ans.Fallback = a.secrets.Scrub(ans.Fallback)
	a.recordGap(ctx, f.door, q.Text, ans)
	if f.verbose {
		fmt.Fprintf(a.err, "mode=%s refused=%t citations=%d dropped=%d repaired=%d%s took=%s\n",
			ans.Mode, ans.Refused, len(ans.Citations), ans.Stats.Dropped, ans.Stats.Repaired,
			firstToken(ans.Timing.FirstToken), ans.Timing.Total.Round(time.Millisecond))
	}
	if f.json {
		return ans, writeJSON(a.out, ans, f.explain)
	}
	showText := true
	if streamed.Len() > 0 {
		fmt.Fprintln(a.out)
		if strings.TrimSpace(streamed.String()) == strings.TrimSpace(ans.Text) && ans.Fallback == "" {
			showText = false
		} else {
			// Verification changed the text (markers renumbered or dropped,
			// or a fallback answer): print the verified version.
			if ans.Fallback != "" {
				fmt.Fprintf(a.err, "verbatim: %s\n", a.errorLine(ans.Fallback))
			}
			fmt.Fprintln(a.out, "\nVerified answer:")
		}
	} else if ans.Fallback != "" {
		fmt.Fprintf(a.err, "verbatim: %s\n", a.errorLine(ans.Fallback))
	}
	writeAnswer(a.out, ans, showText)
	if f.explain {
		writeExplain(a.out, ans)
	}
	return ans, nil
}

// firstToken is " first_token=…" for --verbose, empty when nothing was
// streamed.
func firstToken(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return " first_token=" + d.Round(time.Millisecond).String()
}

// describe reports, with --verbose, the settings in use (secrets redacted),
// with the corpus and index actually opened (from --corpus and --index, or
// the defaults), and the chat model.
func (a *app) describe(ctx context.Context, f *askFlags, src source, indexDir string) {
	if !f.verbose {
		return
	}
	cfg := a.cfg
	cfg.Corpus, cfg.Index = src.corpus, indexDir
	if key, err := corpusKey(src.corpus); err == nil {
		cfg.Corpus = key // absolute, or "bundled"
	}
	fmt.Fprintf(a.err, "settings: %s\n", cfg)
	if a.llm == nil {
		fmt.Fprintln(a.err, "answers: extractive (no LLM configured or --extractive)")
		return
	}
	fmt.Fprintf(a.err, "answers: %s\n", a.llm.Config())
	model, err := a.llm.Model(ctx)
	if err != nil {
		fmt.Fprintf(a.err, "model: unknown (%s)\n", a.errorLine(err))
		return
	}
	fmt.Fprintf(a.err, "model: %s\n", bot.Printable(model))
}
