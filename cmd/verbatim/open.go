package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus"
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

// loadCorpus reads the corpus directory, or the bundled articles when dir is
// empty. reuse, if not nil, vouches for unchanged files (Index.Reuse).
func (a *app) loadCorpus(ctx context.Context, dir string, reuse func(corpus.FileStat) ([]corpus.Article, bool)) (corpus.Set, error) {
	if dir == "" {
		set, err := corpus.Bundled(ctx)
		if err != nil {
			return corpus.Set{}, fmt.Errorf("load bundled corpus: %w", err)
		}
		return set, nil
	}
	set, err := corpus.LoadDir(ctx, dir, corpus.Options{MaxFileBytes: a.cfg.MaxFileBytes, ParseTimeout: a.cfg.ParseTimeout, Reuse: reuse})
	if err != nil {
		return corpus.Set{}, fmt.Errorf("load corpus %s: %w", dir, err)
	}
	return set, nil
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

// openIndex loads the corpus and brings its index up to date, so every
// command works without a prior `verbatim index`.
func (a *app) openIndex(ctx context.Context, src source, progress func(done, total int)) (*retrieval.Index, corpus.Set, retrieval.SyncReport, error) {
	key, err := corpusKey(src.corpus)
	if err != nil {
		return nil, corpus.Set{}, retrieval.SyncReport{}, err
	}
	indexDir := src.index
	if indexDir == "" {
		indexDir, err = retrieval.DefaultDir(key)
		if err != nil {
			return nil, corpus.Set{}, retrieval.SyncReport{}, fmt.Errorf("index directory: %w", err)
		}
	}
	emb, err := a.embedder()
	if err != nil {
		return nil, corpus.Set{}, retrieval.SyncReport{}, err
	}
	ix, err := retrieval.Open(ctx, retrieval.Options{Dir: indexDir, Embedder: emb, Logger: a.log})
	if err != nil {
		return nil, corpus.Set{}, retrieval.SyncReport{}, fmt.Errorf("open index: %w", err)
	}
	// Files unchanged since the index last saw them are taken from the
	// index instead of being read and parsed again: with thousands of
	// articles, parsing was most of a cold start.
	var reuse func(corpus.FileStat) ([]corpus.Article, bool)
	dir := ""
	if src.corpus != "" {
		dir, reuse = key, ix.Reuse
	}
	loaded := time.Now()
	set, err := a.loadCorpus(ctx, dir, reuse)
	if err != nil {
		return nil, set, retrieval.SyncReport{}, err
	}
	rep, err := ix.Sync(ctx, set.Articles, progress)
	if err != nil {
		return nil, set, rep, fmt.Errorf("index corpus: %w", err)
	}
	if rep.Rebuilt && rep.RebuildReason != "" {
		a.log.Info("index rebuilt", "reason", rep.RebuildReason)
	}
	if src.corpus != "" {
		if err := ix.RememberFiles(ctx, set, loaded); err != nil {
			// Only a later start gets slower.
			a.log.Warn("remember corpus files", "err", err)
		}
	}
	return ix, set, rep, nil
}

// engine builds the answering engine over an index: LLM answers when a
// server is configured (unless extractiveOnly), extractive otherwise.
func (a *app) engine(ix *retrieval.Index, extractiveOnly bool) (*bot.Engine, error) {
	opts := bot.EngineOptions{TopK: a.cfg.TopK, Logger: a.log, StrictModel: a.cfg.LLM == "on"}
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

// open is openIndex without progress plus the configured engine, for the
// long-running discord command: skipped files go to the log.
func (a *app) open(ctx context.Context, src source) (*bot.Engine, *retrieval.Index, error) {
	ix, set, _, err := a.openIndex(ctx, src, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range set.Skipped {
		a.log.Warn("skipped corpus file", "path", p.Path, "line", p.Line, "reason", p.Err)
	}
	if err := requireArticles(src, set); err != nil {
		return nil, nil, err
	}
	e, err := a.engine(ix, false)
	if err != nil {
		return nil, nil, err
	}
	return e, ix, nil
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

// openForQuestions is openIndex for the commands that answer (ask, chat,
// eval): indexing shows a progress bar on a terminal (a first run over a
// large corpus takes a while), skipped files are noted on stderr, and a
// corpus without a single article is an error rather than a string of
// refusals.
func (a *app) openForQuestions(ctx context.Context, src source) (*retrieval.Index, error) {
	ix, set, _, err := a.openIndex(ctx, src, a.progressBar())
	if err != nil {
		return nil, err
	}
	for _, p := range set.Skipped {
		fmt.Fprintf(a.err, "verbatim: skipped %s: %s\n", problemPlace(p), a.errorLine(p.Err))
	}
	if err := requireArticles(src, set); err != nil {
		return nil, err
	}
	return ix, nil
}

func requireArticles(src source, set corpus.Set) error {
	if len(set.Articles) > 0 {
		return nil
	}
	if len(set.Skipped) > 0 {
		return fmt.Errorf("no articles could be loaded from %s (%s skipped)", src.corpus, plural(len(set.Skipped), "file"))
	}
	return fmt.Errorf("no articles in %s (looked for .md, .txt, .html, .htm and .jsonl files)", src.corpus)
}
