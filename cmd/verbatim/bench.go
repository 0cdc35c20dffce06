package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/verbatimbot/verbatim/corpus/synth"
	"github.com/verbatimbot/verbatim/retrieval"
)

// cmdBench measures verbatim on synthetic corpora (see BENCHMARKS.md), or
// with "gen" only writes one.
func cmdBench(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "gen":
			return cmdBenchGen(ctx, a, args[1:])
		case "latency":
			return cmdBenchLatency(ctx, a, args[1:])
		case "bandwidth":
			return cmdBenchBandwidth(ctx, a, args[1:])
		}
	}
	fs := a.newFlagSet("bench", "[flags] | gen [flags]",
		"Measure indexing, latency, cold start and memory on synthetic corpora with the local\nembedder and extractive answers, and print one table (see BENCHMARKS.md).\n'verbatim bench gen' only writes a corpus. Every measurement runs in a child process of\nthis binary (index, ask, and the steps 'bench latency' and 'bench bandwidth'), so that\neach one's peak memory is its own.")
	sizes := fs.String("sizes", "1000,10000,100000", "comma-separated corpus sizes in `passages` (empty: none)")
	articles := fs.String("articles", "", "comma-separated corpus sizes in `articles`, measured after --sizes")
	queries := fs.Int("queries", 300, "questions per latency measurement")
	colds := fs.Int("cold", 5, "cold starts measured per size (after one unmeasured warm-up)")
	seed := fs.Uint64("seed", 1, "generator seed")
	work := fs.String("dir", "", "work `dir`ectory for corpora and indexes (default: a temporary one, removed afterwards)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("bench takes no arguments")
	}
	passageSizes, err := parseSizes(*sizes)
	if err != nil {
		return usagef("--sizes: %v", err)
	}
	articleSizes, err := parseSizes(*articles)
	if err != nil {
		return usagef("--articles: %v", err)
	}
	if len(passageSizes)+len(articleSizes) == 0 {
		return usagef("no sizes to measure")
	}
	if *queries < 1 || *colds < 1 {
		return usagef("--queries and --cold must be at least 1")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: find own binary: %w", err)
	}
	dir := *work
	if dir == "" {
		if dir, err = os.MkdirTemp("", "verbatim-bench-"); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
	}
	b := &bencher{app: a, exe: exe, dir: dir, gen: synth.New(*seed), seed: *seed, queries: *queries, colds: *colds}
	b.perArticle = b.passagesPerArticle()

	m, err := b.measureMachine(ctx)
	if err != nil {
		return err
	}
	m.print(a.out)
	var results []benchResult
	for _, p := range passageSizes {
		n := max(1, int(math.Round(float64(p)/b.perArticle)))
		r, err := b.run(ctx, n)
		if err != nil {
			return err
		}
		r.label = fmt.Sprintf("%s passages", short(p))
		results = append(results, r)
	}
	for _, n := range articleSizes {
		r, err := b.run(ctx, n)
		if err != nil {
			return err
		}
		r.label = fmt.Sprintf("%s articles", short(n))
		results = append(results, r)
	}
	printBenchTable(a.out, m, results)
	return nil
}

func cmdBenchGen(_ context.Context, a *app, args []string) error {
	fs := a.newFlagSet("bench gen", "[flags]", "Write a deterministic synthetic corpus of Markdown articles (~600 words, 8–15\nparagraphs each) with front matter.")
	n := fs.Int("articles", 1000, "number of articles")
	seed := fs.Uint64("seed", 1, "generator seed: the same seed writes the same articles")
	out := fs.String("out", "", "output `dir`ectory (required)")
	edit := fs.Int("edit", 0, "write edit `round` R ≥ 1 of every 100th article instead (1% changed)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *out == "" || *n < 1 || *edit < 0 {
		return usagef("bench gen needs --out DIR and --articles N ≥ 1")
	}
	g := synth.New(*seed)
	if *edit > 0 {
		changed, err := writeEdits(g, *out, *n, *edit)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.out, "Rewrote %d of %s (edit round %d) in %s\n", changed, plural(*n, "article"), *edit, *out)
		return nil
	}
	if err := g.WriteDir(*out, 0, *n, 0, runtime.GOMAXPROCS(0)); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "Wrote %s (seed %d) to %s\n", plural(*n, "article"), *seed, *out)
	return nil
}

// writeEdits rewrites every 100th of n articles (1%, at least one) with
// edit round round, and returns how many it rewrote.
func writeEdits(g *synth.Generator, dir string, n, round int) (int, error) {
	changed := 0
	for i := 0; i < n; i += 100 {
		if err := g.WriteDir(dir, i, i+1, round, 1); err != nil {
			return changed, err
		}
		changed++
	}
	return changed, nil
}

// bencher runs the measurements of one bench invocation.
type bencher struct {
	app        *app
	exe        string // this binary, run as the child processes measured
	dir        string
	gen        *synth.Generator
	seed       uint64
	queries    int
	colds      int
	perArticle float64 // passages per generated article
}

// benchResult is one column of the table.
type benchResult struct {
	label              string
	articles, passages int
	build, incremental childRun
	changed, embedded  int // articles changed and passages re-embedded by the incremental run
	cold               []childRun
	// coldVerify are cold starts right after every corpus file's ctime
	// moved (its times set to what they were, as cp -p or rsync -t do), so
	// that every file is read and checked against its content hash.
	coldVerify []childRun
	serve      childRun // the 'bench latency' process
	latencyReport
	indexBytes int64
}

// childRun is one measured run of the verbatim binary.
type childRun struct {
	wall   time.Duration
	maxRSS int64 // bytes
}

// passagesPerArticle chunks a sample of generated articles as the index
// would.
func (b *bencher) passagesPerArticle() float64 {
	const sample = 500
	total := 0
	for i := range sample {
		total += len(retrieval.Chunk(b.gen.Article(i), retrieval.ChunkOptions{}))
	}
	return float64(total) / sample
}

func (b *bencher) logf(format string, args ...any) {
	fmt.Fprintf(b.app.err, "bench: "+format+"\n", args...)
}

// run measures one corpus of n articles.
func (b *bencher) run(ctx context.Context, n int) (benchResult, error) {
	res := benchResult{articles: n}
	base := filepath.Join(b.dir, strconv.Itoa(n))
	corpusDir, indexDir := filepath.Join(base, "corpus"), filepath.Join(base, "index")
	defer os.RemoveAll(base)
	if err := os.RemoveAll(base); err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	b.logf("writing %d articles to %s", n, corpusDir)
	if err := b.gen.WriteDir(corpusDir, 0, n, 0, runtime.GOMAXPROCS(0)); err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}

	b.logf("%d articles: full build", n)
	var err error
	var out string
	if res.build, out, err = b.child(ctx, "index", "--json", "--corpus", corpusDir, "--index", indexDir); err != nil {
		return res, err
	}
	if res.passages, _, err = indexSummary(out); err != nil {
		return res, err
	}
	if res.indexBytes, err = dirSize(indexDir); err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}

	qs := b.gen.Questions(n, max(b.queries, b.colds+1))
	b.logf("%d articles: %d cold starts", n, b.colds)
	for i := range b.colds + 1 {
		r, _, err := b.child(ctx, "ask", "--extractive", "--corpus", corpusDir, "--index", indexDir, qs[i].Text)
		if err != nil {
			return res, err
		}
		if i > 0 { // the first run warms the page cache and is not counted
			res.cold = append(res.cold, r)
		}
	}

	b.logf("%d articles: %d questions", n, b.queries)
	var lat latencyReport
	res.serve, out, err = b.child(ctx, "bench", "latency", "--index", indexDir,
		"--seed", strconv.FormatUint(b.seed, 10), "--articles", strconv.Itoa(n), "--queries", strconv.Itoa(b.queries))
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal([]byte(out), &lat); err != nil {
		return res, fmt.Errorf("bench: read latency report: %w", err)
	}
	res.latencyReport = lat

	res.changed, err = writeEdits(b.gen, corpusDir, n, 1)
	if err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	b.logf("%d articles: incremental re-index of %d changed", n, res.changed)
	if res.incremental, out, err = b.child(ctx, "index", "--json", "--corpus", corpusDir, "--index", indexDir); err != nil {
		return res, err
	}
	if _, updated, err := indexSummary(out); err != nil {
		return res, err
	} else if updated != res.changed {
		return res, fmt.Errorf("bench: incremental index updated %d articles, %d changed", updated, res.changed)
	}
	res.embedded = int(math.Round(float64(res.changed) * b.perArticle))

	// Last, as it leaves every file to be checked once more by the next
	// run.
	b.logf("%d articles: %d cold starts after every file's ctime moved", n, b.colds)
	for i := range b.colds {
		if err := touchAll(corpusDir); err != nil {
			return res, fmt.Errorf("bench: %w", err)
		}
		r, _, err := b.child(ctx, "ask", "--extractive", "--corpus", corpusDir, "--index", indexDir, qs[i].Text)
		if err != nil {
			return res, err
		}
		res.coldVerify = append(res.coldVerify, r)
	}
	return res, nil
}

// touchAll sets every file's access and modification times under dir to
// what they are: the content and times stay, the ctime moves.
func touchAll(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chtimes(p, fi.ModTime(), fi.ModTime())
	})
}

// child runs this binary with args in a clean setting (local embedder,
// extractive answers, no .env) and reports its wall time, from start to
// exit, and peak resident memory.
func (b *bencher) child(ctx context.Context, args ...string) (childRun, string, error) {
	cmd := exec.CommandContext(ctx, b.exe, args...)
	cmd.Dir = b.dir // no .env there
	env := []string{"VERBATIM_EMBED_MODEL=local", "VERBATIM_LOG_LEVEL=warn"}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "VERBATIM_") || strings.HasPrefix(name, "OPENAI_") || strings.HasPrefix(name, "DISCORD_") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return childRun{}, "", fmt.Errorf("bench: verbatim %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return childRun{wall: wall, maxRSS: peakRSS(cmd.ProcessState)}, stdout.String(), nil
}

// indexSummary reads passages and updated articles from `index --json`.
func indexSummary(out string) (passages, updated int, err error) {
	var s struct {
		Passages int      `json:"passages"`
		Updated  []string `json:"updated"`
	}
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&s); err != nil {
		return 0, 0, fmt.Errorf("bench: read index summary: %w", err)
	}
	return s.Passages, len(s.Updated), nil
}

func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		total += fi.Size()
		return nil
	})
	return total, err
}
