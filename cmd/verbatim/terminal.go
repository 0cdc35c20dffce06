package main

import (
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether stream (stdin, stdout or stderr) is a
// terminal: progress bars, line editing and the streamed preview of an LLM
// answer are for people only.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
