package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/retrieval"
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

// embedder builds the configured embedder: the local one unless
// VERBATIM_EMBED_MODEL names a remote model.
func (a *app) embedder() (retrieval.Embedder, error) {
	if a.cfg.EmbedModel == "local" {
		return retrieval.NewLocalEmbedder(), nil
	}
	return retrieval.NewOpenAIEmbedder(retrieval.OpenAIEmbedConfig{
		BaseURL:    a.cfg.EmbedBaseURL,
		APIKey:     a.cfg.EmbedAPIKey,
		Model:      a.cfg.EmbedModel,
		MaxRetries: retries(a.cfg.LLMRetries),
		HTTPClient: &http.Client{Timeout: a.cfg.LLMTimeout},
		Logger:     a.log,
	})
}

// openOptions say how a command uses the index it opens.
type openOptions struct {
	// progress draws indexing progress (nil: none).
	progress func(done, total int)
	// toLog sends the notes about the corpus (skipped files) to the log
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
// `verbatim index`, and notes what a user should know about the corpus.
func (a *app) openIndex(ctx context.Context, src source, o openOptions) (*retrieval.Index, retrieval.CorpusReport, error) {
	emb, err := a.embedder()
	if err != nil {
		return nil, retrieval.CorpusReport{}, err
	}
	ix, rep, err := retrieval.OpenCorpus(ctx, retrieval.CorpusOptions{
		Index:        retrieval.Options{Dir: src.index, Embedder: emb, Logger: a.log},
		Corpus:       src.corpus,
		MaxFileBytes: a.cfg.MaxFileBytes,
		Full:         o.full,
		Progress:     o.progress,
	})
	if err != nil {
		return nil, rep, err
	}
	if !o.quiet {
		if r := rep.Sync; r.Rebuilt && r.RebuildReason != "" {
			// A rebuild re-embeds everything: say why it took a while.
			if o.toLog {
				a.log.Warn("index rebuilt", "dir", ix.Info().Dir, "reason", r.RebuildReason)
			} else {
				fmt.Fprintf(a.err, "verbatim: rebuilt the index: %s\n", r.RebuildReason)
			}
		}
		for _, p := range rep.Skipped {
			if o.toLog {
				a.log.Warn("skipped corpus file", "path", p.Path, "line", p.Line, "reason", p.Err)
			} else {
				fmt.Fprintf(a.err, "verbatim: skipped %s\n", p.Error())
			}
		}
	}
	if o.require {
		if err := requireArticles(src, rep); err != nil {
			return nil, rep, err
		}
	}
	return ix, rep, nil
}

// engine builds the answering engine over an index: LLM answers when a
// server is configured (unless extractiveOnly), extractive otherwise.
func (a *app) engine(ix *retrieval.Index, extractiveOnly bool) (*bot.Engine, error) {
	opts := bot.EngineOptions{TopK: a.cfg.TopK, Logger: a.log}
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

// retries maps VERBATIM_LLM_RETRIES to the embedder's convention, where 0
// means its default and a negative number means none.
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
		return fmt.Errorf("no articles could be loaded from %s (%d files skipped)", src.corpus, len(rep.Skipped))
	}
	return fmt.Errorf("no articles in %s (looked for .md, .txt, .html, .htm and .jsonl files)", src.corpus)
}
