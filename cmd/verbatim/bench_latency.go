package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/verbatimbot/verbatim/bot"
	"github.com/verbatimbot/verbatim/corpus/synth"
	"github.com/verbatimbot/verbatim/retrieval"
)

// latencyReport is what 'bench latency' prints.
type latencyReport struct {
	Retrieval    []time.Duration `json:"retrieval"`
	Answer       []time.Duration `json:"answer"`
	Refused      int             `json:"refused"`
	VectorBytes  float64         `json:"vector_bytes"`  // mean per query
	LexicalBytes float64         `json:"lexical_bytes"` // mean per query
}

// cmdBenchLatency measures retrieval and extractive answers over a
// persisted index, after a short warm-up, and prints a latencyReport.
func cmdBenchLatency(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("bench latency", "[flags]", "Time searches and extractive answers for generated questions over a persisted index\n(the database's with VERBATIM_DATABASE_URL) built from 'bench gen' articles, and print the\ntimes as JSON (a step of 'verbatim bench').")
	indexDir := fs.String("index", "", "index `dir`ectory (required)")
	seed := fs.Uint64("seed", 1, "seed the corpus was generated with")
	n := fs.Int("articles", 0, "articles in the corpus (questions are about them)")
	queries := fs.Int("queries", 300, "questions")
	askers := fs.Int("askers", 1, "questions asked at once")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed questions to `file` (go tool pprof)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *indexDir == "" || *n < 1 || *queries < 1 || *askers < 1 {
		return usagef("bench latency needs --index DIR, --articles N and --queries N")
	}
	qs := synth.New(*seed).Questions(*n, *queries)
	// With VERBATIM_DATABASE_URL the index is the database's.
	db, err := a.store(ctx)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var store retrieval.Store
	if db != nil {
		store = db
	}
	// A bot process against a database only answers: its text on demand,
	// as ask, chat and discord open it.
	ix, err := retrieval.Open(ctx, retrieval.Options{Dir: *indexDir, Embedder: retrieval.NewLocalEmbedder(), Store: store, TextOnDemand: db != nil})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer ix.Close()
	k := a.cfg.TopK
	eng := bot.NewEngine(ix, bot.EngineOptions{TopK: k})
	for _, q := range qs[:min(len(qs), 20)] { // warm-up
		if _, err := eng.Answer(ctx, bot.Question{Text: q.Text}); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var rep latencyReport
	var vb, lb int64
	var mu sync.Mutex
	// Each of --askers goroutines takes the next question; every question
	// is timed alone, so with more askers the times include waiting for
	// the cores (and the database) the others use.
	timed := func(each func(q synth.Question) error) error {
		next := make(chan synth.Question)
		errs := make(chan error, *askers)
		var wg sync.WaitGroup
		for range *askers {
			wg.Go(func() {
				for q := range next {
					if err := each(q); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		for _, q := range qs {
			next <- q
		}
		close(next)
		wg.Wait()
		close(errs)
		return <-errs
	}
	err = timed(func(q synth.Question) error {
		start := time.Now()
		if _, err := ix.Search(ctx, q.Text, k); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		took := time.Since(start)
		v, l, err := ix.ScanBytes(ctx, q.Text)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		mu.Lock()
		defer mu.Unlock()
		rep.Retrieval = append(rep.Retrieval, took)
		vb += v
		lb += l
		return nil
	})
	if err != nil {
		return err
	}
	err = timed(func(q synth.Question) error {
		start := time.Now()
		ans, err := eng.Answer(ctx, bot.Question{Text: q.Text})
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		took := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		rep.Answer = append(rep.Answer, took)
		if ans.Refused {
			rep.Refused++
		}
		return nil
	})
	if err != nil {
		return err
	}
	rep.VectorBytes = float64(vb) / float64(len(qs))
	rep.LexicalBytes = float64(lb) / float64(len(qs))
	return json.NewEncoder(a.out).Encode(rep)
}
