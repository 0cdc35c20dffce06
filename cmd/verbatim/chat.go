package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chzyer/readline"

	"github.com/verbatimbot/verbatim/bot"
)

func cmdChat(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("chat", "[flags]", "Ask questions interactively; follow-ups use the conversation so far.\nWith stdin not a terminal, answers one question per input line. Ctrl-D or EOF quits.")
	src := a.sourceFlags(fs)
	f := a.registerAskFlags(fs)
	f.door = "chat"
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("chat takes no arguments; use 'verbatim ask' for a single question")
	}
	eng, ix, err := a.answeringEngine(ctx, *src, f)
	if err != nil {
		return err
	}
	// Pick up what `verbatim index` commits while the chat goes on.
	follow, stopFollowing := context.WithCancel(ctx)
	var following sync.WaitGroup
	following.Go(func() { ix.ReloadEvery(follow, a.cfg.ReloadInterval) })
	defer following.Wait()
	defer stopFollowing()
	next, closeInput, err := a.chatInput()
	if err != nil {
		return err
	}
	defer closeInput()

	conv := bot.NewConversation(a.cfg.HistoryTurns)
	asked, answered := 0, 0
	for {
		line, err := next()
		if errors.Is(err, io.EOF) {
			switch {
			case asked == 1 && answered == 0:
				return errors.New("the question could not be answered")
			case asked > 1 && answered == 0:
				return fmt.Errorf("none of the %d questions could be answered", asked)
			}
			return nil
		}
		q := strings.TrimSpace(line)
		if err == nil && q != "" {
			err = checkQuestion(q, a.cfg.MaxQuestion)
		}
		if errors.Is(err, errQuestionTooLong) {
			asked++
			fmt.Fprintf(a.err, "verbatim chat: %s; skipped\n", a.errorLine(err))
			continue
		}
		if err != nil {
			return err
		}
		if q == "" {
			continue
		}
		asked++
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ans, err := a.answerOne(ctx, eng, bot.Question{Text: q, History: conv.Turns()}, f)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// One failed question does not end the conversation.
			fmt.Fprintf(a.err, "verbatim chat: %s\n", a.errorLine(err))
			continue
		}
		answered++
		if !f.json {
			fmt.Fprintln(a.out)
		}
		conv.Record(q, ans)
	}
}

// chatInput returns a line reader: readline with editing and history on a
// terminal, plain lines otherwise.
func (a *app) chatInput() (next func() (string, error), closeFn func(), err error) {
	if isTerminal(a.in) {
		cfg := &readline.Config{Prompt: "? ", InterruptPrompt: "^C", EOFPrompt: "bye"}
		if dir, err := os.UserCacheDir(); err == nil {
			cfg.HistoryFile = filepath.Join(dir, "verbatim", "chat_history")
			_ = os.MkdirAll(filepath.Dir(cfg.HistoryFile), 0o700) // history is a convenience
		}
		rl, err := readline.NewEx(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("start line editor: %w", err)
		}
		fmt.Fprintln(a.out, "Ask a question about the articles. Ctrl-D quits.")
		return func() (string, error) {
			for {
				line, err := rl.Readline()
				if errors.Is(err, readline.ErrInterrupt) {
					if line == "" {
						return "", io.EOF
					}
					continue // Ctrl-C clears the line
				}
				return line, err
			}
		}, func() { rl.Close() }, nil
	}
	lr := newLineReader(a.in, a.cfg.MaxQuestion)
	return func() (string, error) {
		line, err := lr.next()
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, errQuestionTooLong) {
			return "", fmt.Errorf("read question: %w", err)
		}
		return line, err
	}, func() {}, nil
}
