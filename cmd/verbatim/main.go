// Command verbatim answers questions over a corpus of articles, backing every
// answer with quotes that appear word for word in a numbered paragraph.
//
// Run `verbatim help` for the commands; settings come from flags, the
// environment and a .env file (see .env.example).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}, os.LookupEnv)
	stop()
	os.Exit(code)
}
