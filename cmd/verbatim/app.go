package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/joho/godotenv"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/bot/gaps"
	"github.com/verbatimbot/verbatim/bot/llm"
	"github.com/verbatimbot/verbatim/openaicompat"
	"github.com/verbatimbot/verbatim/retrieval"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// stdio is the process's standard streams, injected for tests.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// app is what every command gets: settings, logger and streams.
type app struct {
	cfg Config
	log *slog.Logger
	// secrets are scrubbed from every error line and log record (see
	// errorLine and newLogger): servers echo API keys in error bodies.
	secrets *openaicompat.Secrets
	stdio
	// llm is the chat-model answerer once engine has built one.
	llm *llm.Answerer
	// emb is the embedder once openIndex has built it.
	emb retrieval.Embedder
	// gaps records refused questions (nil: not recorded).
	gaps *gaps.File
}

// command is one subcommand of verbatim.
type command struct {
	name    string
	args    string // argument synopsis for usage
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

// commands lists every subcommand in help order.
func commands() []command {
	return []command{
		{"ask", `[flags] "question"`, "answer one question with verbatim quotes", cmdAsk},
		{"chat", "[flags]", "ask questions interactively (one per line when stdin is not a terminal)", cmdChat},
		{"index", "[flags]", "build or update the index of a corpus (--watch: and keep it up to date)", cmdIndex},
		{"add", "[flags] URL...", "fetch web pages and add them to the corpus directory", cmdAdd},
		{"feeds", "add URL | list | remove URL | sync", "follow RSS and Atom feeds into the corpus directory", cmdFeeds},
		{"sources", "[flags]", "list the indexed articles with their paragraph counts", cmdSources},
		{"gaps", "[flags]", "show the questions the articles did not answer, most asked first", cmdGaps},
		{"eval", "[flags] FILE.jsonl", "measure retrieval and answers against a question set", cmdEval},
		{"discord", "[flags]", "run the Discord bot: slash commands, DMs and @mentions (needs DISCORD_TOKEN)", cmdDiscord},
		{"bench", "[flags] | gen [flags]", "measure indexing, latency, cold start and memory on a synthetic corpus", cmdBench},
		{"votes", "[--json]", "list the 👍/👎 votes given to Discord answers", cmdVotes},
		{"version", "", "print the version", cmdVersion},
	}
}

// usageError is a mistake in how verbatim was called: exit code 1.
//
// The rule, for every command (README, "Exit codes"): a usage error is
// one found before any work starts, from the command line and the
// settings alone — an unknown command or flag, a missing or extra
// argument, a question over VERBATIM_MAX_QUESTION_CHARS, a malformed
// setting or .env, a setting the command requires left unset. Anything
// that goes wrong while doing the work — a file, directory, index or
// server missing, unreadable or failing, an interrupt — is a failure: exit
// code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Exit codes; see usageError for which is which.
const (
	exitOK      = 0
	exitUsage   = 1
	exitFailure = 2
)

// run is the whole program: it returns the exit code.
func run(ctx context.Context, args []string, io stdio, lookupEnv func(string) (string, bool)) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			c, ok := findCommand(args[1])
			if !ok {
				fmt.Fprintf(io.err, "verbatim: unknown command %q (run 'verbatim help')\n", args[1])
				return exitUsage
			}
			return runCommand(ctx, c, []string{"--help"}, io, lookupEnv)
		}
		printUsage(io.out)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := findCommand(args[0])
	if !ok {
		fmt.Fprintf(io.err, "verbatim: unknown command %q (run 'verbatim help')\n", args[0])
		return exitUsage
	}
	return runCommand(ctx, c, args[1:], io, lookupEnv)
}

func runCommand(ctx context.Context, c command, args []string, io stdio, lookupEnv func(string) (string, bool)) int {
	lookup, err := envLookup(lookupEnv)
	if err != nil {
		fmt.Fprintf(io.err, "verbatim %s: %v\n", c.name, err)
		return exitUsage
	}
	cfg, err := loadConfig(lookup)
	if err != nil {
		fmt.Fprintf(io.err, "verbatim %s: %v\n", c.name, err)
		return exitUsage
	}
	if c.name == "discord" && !cfg.LogLevelSet {
		cfg.LogLevel = "info"
	}
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
	secrets := cfg.Secrets()
	a := &app{cfg: cfg, log: newLogger(cfg, secrets, io.err), secrets: secrets, stdio: io}
	err = c.run(ctx, a, args)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, new(usageError)):
		fmt.Fprintf(io.err, "verbatim %s: %s (run 'verbatim %s --help')\n", c.name, a.errorLine(err), c.name)
		return exitUsage
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		fmt.Fprintf(io.err, "verbatim %s: interrupted\n", c.name)
		return exitFailure
	default:
		fmt.Fprintf(io.err, "verbatim %s: %s\n", c.name, a.errorLine(err))
		return exitFailure
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "verbatim answers questions over articles with quotes that appear word for word in them.\n\nUsage:\n  verbatim <command> [flags] [arguments]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'verbatim <command> --help' for a command's flags. Settings are read from the\nenvironment and a .env file in the current directory; see .env.example.\n")
}

// envLookup layers the process environment over a .env file in the working
// directory (the environment wins, as with godotenv.Load).
func envLookup(lookupEnv func(string) (string, bool)) (func(string) (string, bool), error) {
	dotenv := map[string]string{}
	if _, err := os.Stat(".env"); err == nil {
		m, err := godotenv.Read(".env")
		if err != nil {
			return nil, fmt.Errorf("read .env: %w", err)
		}
		dotenv = m
	}
	return func(name string) (string, bool) {
		if v, ok := lookupEnv(name); ok {
			return v, true
		}
		v, ok := dotenv[name]
		return v, ok
	}, nil
}

// newLogger is the one logger of the process (the Discord bot and the
// engine log through it too), secrets scrubbed from every record.
func newLogger(cfg Config, secrets *openaicompat.Secrets, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by loadConfig
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(secrets.Handler(h))
}

// errorLine is text (an error, a notice) as one line for stderr, made safe
// to print (bot.Printable) with the configured secrets scrubbed: every line
// verbatim prints about a failure goes through it.
func (a *app) errorLine(text any) string {
	return bot.Printable(a.secrets.Scrub(openaicompat.OneLine(fmt.Sprint(text), 0)))
}

// newFlagSet returns a flag set that prints its usage to stdout on --help
// and reports errors as usage errors.
func (a *app) newFlagSet(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(a.out, "%s\n\nUsage:\n  verbatim %s %s\n\nFlags:\n", summary, name, args)
		fs.SetOutput(a.out)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses flags placed anywhere among the arguments ("ask 'q'
// --json" and "ask --json 'q'" both work) and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp // fs.Parse printed the usage
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func cmdVersion(_ context.Context, a *app, args []string) error {
	fs := a.newFlagSet("version", "", "Print the version.")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "verbatim %s\n", buildVersion())
	return nil
}

// buildVersion is the -ldflags version, else the module version or VCS
// revision the binary was built from.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return version
	}
	return version + " (" + rev + dirty + ", " + info.GoVersion + ")"
}
