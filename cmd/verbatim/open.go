package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus"
	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/postgres"
)

// source is where a command's articles and index live: --corpus and --index.
type source struct{ corpus, index string }

// sourceFlags registers --corpus and --index on a command's flags.
func (a *app) sourceFlags(fs *flag.FlagSet) *source {
	s := &source{}
	fs.StringVar(&s.corpus, "corpus", a.cfg.Corpus, "corpus `dir`ectory (default: $VERBATIM_CORPUS, else the bundled articles)")
	fs.StringVar(&s.index, "index", a.cfg.Index, "index `dir`ectory (default: $VERBATIM_INDEX, else under the user cache directory)")
	return s
}

// corpusKey is the absolute corpus directory, or corpus.BundledName.
func corpusKey(dir string) (string, error) {
	if dir == "" {
		return corpus.BundledName, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("corpus %s: %w", dir, err)
	}
	return abs, nil
}

// embedder builds the configured embedder: the local one unless
// VERBATIM_EMBED_MODEL names a remote model.
// The embedder is remembered in a.emb (index --verbose describes it).
func (a *app) embedder() (retrieval.Embedder, error) {
	if a.cfg.EmbedModel == "local" {
		a.emb = retrieval.NewLocalEmbedder()
		return a.emb, nil
	}
	emb, err := retrieval.NewOpenAIEmbedder(retrieval.OpenAIEmbedConfig{
		BaseURL:    a.cfg.EmbedBaseURL,
		APIKey:     a.cfg.EmbedAPIKey,
		Model:      a.cfg.EmbedModel,
		Retries:    retries(a.cfg.LLMRetries),
		HTTPClient: &http.Client{Timeout: a.cfg.LLMTimeout},
		Logger:     a.log,
	})
	a.emb = emb
	return emb, err
}

// openOptions say how a command uses the index it opens.
type openOptions struct {
	// progress draws indexing progress (nil: none).
	progress func(done, total int)
	// write: the command's job is to update the index (index): it waits
	// for another process writing it rather than answer from the last
	// committed generation.
	write bool
	// toLog sends the notes about the corpus and the index to the log
	// instead of stderr: for the long-running discord command.
	toLog bool
	// quiet leaves the notes to the caller (index prints its own summary).
	quiet bool
	// require makes a corpus without a single article an error rather
	// than a string of refusals.
	require bool
	// full re-reads every corpus file (index --full).
	full bool
}

// openIndex opens the index of src and brings it up to date with the
// corpus (retrieval.OpenCorpus), so every command works without a prior
// `verbatim index`, and notes what a user should know: why the index was
// rebuilt, which files were skipped, and that corpus changes another
// process is indexing are not in the answers yet.
func (a *app) openIndex(ctx context.Context, src source, o openOptions) (*retrieval.Index, retrieval.CorpusReport, error) {
	say := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if o.toLog {
			a.log.Warn(msg)
		} else {
			fmt.Fprintf(a.err, "verbatim: %s\n", msg)
		}
	}
	emb, err := a.embedder()
	if err != nil {
		return nil, retrieval.CorpusReport{}, err
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, retrieval.CorpusReport{}, err
	}
	opts := a.corpusOptions(src, emb)
	if db != nil {
		opts.Index.Store = db
	}
	// With a database and no corpus of its own, a command that answers
	// serves what `verbatim index` committed there: it may run on a
	// machine without the corpus, and must not index the bundled articles
	// over everybody's index.
	committed := db != nil && src.corpus == "" && !o.write
	opts.Committed = committed
	// Such a process only answers: the database keeps the articles' text
	// and the index reads the articles a search returns, so it holds the
	// corpus's layout, not the corpus (BENCHMARKS.md, issue 12).
	opts.Index.TextOnDemand = committed
	opts.Full, opts.Progress, opts.Write = o.full, o.progress, o.write
	opts.Waiting = func() { say("waiting for another process to finish writing the index…") }
	ix, rep, err := retrieval.OpenCorpus(ctx, opts)
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, rep, err
	}
	if committed && rep.Loaded == 0 && o.require {
		ix.Close()
		return nil, rep, errors.New("the database holds no index yet: run 'verbatim index' (with VERBATIM_CORPUS set) to write it")
	}
	if !o.quiet {
		if r := rep.Sync; r.Rebuilt && r.RebuildReason != "" {
			// A rebuild re-embeds everything: say why it took a while.
			say("rebuilt the index: %s", r.RebuildReason)
		}
		if p := rep.Pending; p.Changed() {
			what := "answering from"
			if o.toLog {
				what = "serving"
			}
			say("the corpus has changes (%d added, %d updated, %d removed) that another process is indexing; %s the index built %s",
				len(p.Added), len(p.Updated), len(p.Removed), what, ix.Info().BuiltAt.Local().Format("2006-01-02 15:04:05"))
		}
		// Each bad file is named once (index lists them all); after that
		// it is only counted.
		for _, p := range rep.Unreported {
			if o.toLog {
				a.log.Warn("skipped corpus file", "path", p.Path, "line", p.Line, "reason", p.Err)
			} else {
				say("skipped %s: %s", problemPlace(p), a.errorLine(p.Err))
			}
		}
		if n := len(rep.Skipped) - len(rep.Unreported); n > 0 {
			more := ""
			if len(rep.Unreported) > 0 {
				more = " more"
			}
			entries := "entries were"
			if n == 1 {
				entries = "entry was"
			}
			say("%d%s corpus %s skipped, as reported before ('verbatim index' lists them)", n, more, entries)
		}
	}
	if o.require {
		if err := requireArticles(src, rep); err != nil {
			return nil, rep, err
		}
	}
	return ix, rep, nil
}

// store opens the database named by VERBATIM_DATABASE_URL, or returns nil
// (the index directory) when none is configured.
func (a *app) store(ctx context.Context) (*postgres.Store, error) {
	if a.cfg.DatabaseURL == "" {
		return nil, nil
	}
	return postgres.Open(ctx, a.cfg.DatabaseURL, postgres.Options{EfSearch: a.cfg.EfSearch, Logger: a.log})
}

// engine builds the answering engine over an index: LLM answers when a
// server is configured (unless extractiveOnly), extractive otherwise.
func (a *app) engine(ix *retrieval.Index, extractiveOnly bool) (*bot.Engine, error) {
	// The refusal model's vector feature means something only for the
	// embedder it was fitted with; another one gets the lexical model.
	opts := bot.EngineOptions{TopK: a.cfg.TopK, Logger: a.log, StrictModel: a.cfg.LLM == "on", Models: bot.DefaultModels().For(ix.Info().Embedder)}
	if a.cfg.UseLLM() && !extractiveOnly {
		llm, err := a.newLLM()
		if err != nil {
			return nil, err
		}
		opts.Answerer = llm
		opts.Rewriter = llm
		a.llm = llm
	}
	return bot.NewEngine(ix, opts), nil
}

// retries maps VERBATIM_LLM_RETRIES, where 0 means none, to the retry
// convention of openaicompat.Retry (chat and embeddings alike), where 0
// means the default and a negative number none.
func retries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// openForQuestions is openIndex for the commands that answer on a
// terminal (ask, chat, eval): indexing shows a progress bar on a terminal
// (a first run over a large corpus takes a while), notes go to stderr, and
// the corpus must hold an article.
func (a *app) openForQuestions(ctx context.Context, src source) (*retrieval.Index, error) {
	ix, _, err := a.openIndex(ctx, src, openOptions{progress: a.progressBar(), require: true})
	return ix, err
}

func requireArticles(src source, rep retrieval.CorpusReport) error {
	if rep.Loaded > 0 {
		return nil
	}
	if len(rep.Skipped) > 0 {
		return fmt.Errorf("no articles could be loaded from %s (%s skipped)", src.corpus, plural(len(rep.Skipped), "file"))
	}
	return fmt.Errorf("no articles in %s (looked for .md, .txt, .html, .htm and .jsonl files)", src.corpus)
}
