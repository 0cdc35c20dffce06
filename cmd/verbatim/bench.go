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
	"github.com/verbatimbot/verbatim/retrieval/postgres"
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
		case "database":
			return cmdBenchDatabase(ctx, a, args[1:])
		}
	}
	fs := a.newFlagSet("bench", "[flags] | gen [flags]",
		"Measure indexing, latency, cold start and memory on synthetic corpora with the local\nembedder and extractive answers, and print one table (see BENCHMARKS.md).\n'verbatim bench gen' only writes a corpus. Every measurement runs in a child process of\nthis binary (index, ask, and the steps 'bench latency', 'bench bandwidth' and 'bench\ndatabase'), so that each one's peak memory is its own. --store postgres measures the\nPostgreSQL store of VERBATIM_DATABASE_URL beside the index directory, on the same corpus in\nthe same run, each size in a schema of its own that is dropped afterwards.")
	sizes := fs.String("sizes", "1000,10000,100000", "comma-separated corpus sizes in `passages` (empty: none)")
	articles := fs.String("articles", "", "comma-separated corpus sizes in `articles`, measured after --sizes")
	queries := fs.Int("queries", 300, "questions per latency measurement")
	colds := fs.Int("cold", 5, "cold starts measured per size (after one unmeasured warm-up)")
	seed := fs.Uint64("seed", 1, "generator seed")
	work := fs.String("dir", "", "work `dir`ectory for corpora and indexes (default: a temporary one, removed afterwards)")
	store := fs.String("store", "dir", "dir (the index directory) or postgres (PostgreSQL beside it, side by side)")
	askers := fs.Int("askers", 4, "questions asked at once in a second latency measurement (1: only the first, one at a time)")
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
	if *queries < 1 || *colds < 1 || *askers < 1 {
		return usagef("--queries, --cold and --askers must be at least 1")
	}
	var dbURL string
	switch *store {
	case "dir":
	case "postgres":
		if dbURL = a.cfg.DatabaseURL; dbURL == "" {
			return usagef("--store postgres: set VERBATIM_DATABASE_URL to the database to measure (each size gets a schema of its own there)")
		}
	default:
		return usagef("--store %q: want dir or postgres", *store)
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
	b := &bencher{app: a, exe: exe, dir: dir, gen: synth.New(*seed), seed: *seed, queries: *queries, colds: *colds, askers: *askers, dbURL: dbURL}
	b.perArticle = b.passagesPerArticle()

	m, err := b.measureMachine(ctx)
	if err != nil {
		return err
	}
	m.print(a.out)
	var results []benchResult
	measure := func(n int, label string) error {
		rs, err := b.run(ctx, n)
		for i := range rs {
			rs[i].label = label
			if len(rs) > 1 {
				rs[i].label += ", " + rs[i].store
			}
		}
		results = append(results, rs...)
		return err
	}
	for _, p := range passageSizes {
		if err := measure(max(1, int(math.Round(float64(p)/b.perArticle))), short(p)+" passages"); err != nil {
			return err
		}
	}
	for _, n := range articleSizes {
		if err := measure(n, short(n)+" articles"); err != nil {
			return err
		}
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
	askers     int     // at once, in the second latency measurement (1: none)
	dbURL      string  // the database of --store postgres; "": the index directory only
	perArticle float64 // passages per generated article
}

// benchResult is one column of the table: one store at one size.
type benchResult struct {
	label              string
	store              string // "index dir" or "PostgreSQL"
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
	// The latency measured again with askers questions at once (askers 1:
	// not measured).
	askers    int
	serveN    childRun
	latencyN  latencyReport
	diskBytes int64 // the index directory, or the database's tables
	// recall of the HNSW index against exact search (PostgreSQL only).
	recall []postgres.Recall
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

// benchStore is a store one size is measured in.
type benchStore struct {
	name  string   // "index dir" or "PostgreSQL"
	index string   // its --index directory (with a database, where files.json lives)
	env   []string // added to its children's environment
	db    bool
}

// run measures one corpus of n articles in the index directory and, with
// a database, in PostgreSQL, step by step side by side: each step runs for
// every store before the next, so both see the corpus in the same state.
func (b *bencher) run(ctx context.Context, n int) ([]benchResult, error) {
	base := filepath.Join(b.dir, strconv.Itoa(n))
	corpusDir := filepath.Join(base, "corpus")
	defer os.RemoveAll(base)
	if err := os.RemoveAll(base); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	b.logf("writing %d articles to %s", n, corpusDir)
	if err := b.gen.WriteDir(corpusDir, 0, n, 0, runtime.GOMAXPROCS(0)); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	stores := []benchStore{{name: "index dir", index: filepath.Join(base, "index")}}
	if b.dbURL != "" {
		st, drop, err := b.databaseStore(ctx, n, filepath.Join(base, "pg-index"))
		if err != nil {
			return nil, err
		}
		defer drop()
		stores = append(stores, st)
	}
	res := make([]benchResult, len(stores))
	for i, st := range stores {
		res[i] = benchResult{articles: n, store: st.name, askers: b.askers}
	}
	// each runs step for every store, in order.
	each := func(what string, step func(st benchStore, r *benchResult) error) error {
		for i, st := range stores {
			b.logf("%d articles, %s: %s", n, st.name, what)
			if err := step(st, &res[i]); err != nil {
				return err
			}
		}
		return nil
	}

	err := each("full build", func(st benchStore, r *benchResult) error {
		var out string
		var err error
		if r.build, out, err = b.child(ctx, st.env, "index", "--json", "--corpus", corpusDir, "--index", st.index); err != nil {
			return err
		}
		r.passages, _, err = indexSummary(out)
		return err
	})
	if err != nil {
		return res, err
	}
	err = each("size and recall", func(st benchStore, r *benchResult) error {
		if !st.db {
			var err error
			r.diskBytes, err = dirSize(st.index)
			return err
		}
		return b.measureDatabase(ctx, st, r)
	})
	if err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}

	qs := b.gen.Questions(n, max(b.queries, b.colds+1))
	err = each(fmt.Sprintf("%d cold starts", b.colds), func(st benchStore, r *benchResult) error {
		for i := range b.colds + 1 {
			args := []string{"ask", "--extractive", "--index", st.index}
			if !st.db {
				args = append(args, "--corpus", corpusDir) // with a database: the committed index, as on a machine without the corpus
			}
			c, _, err := b.child(ctx, st.env, append(args, qs[i].Text)...)
			if err != nil {
				return err
			}
			if i > 0 { // the first run warms the page cache and is not counted
				r.cold = append(r.cold, c)
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}

	err = each(fmt.Sprintf("%d questions", b.queries), func(st benchStore, r *benchResult) error {
		var err error
		if r.serve, r.latencyReport, err = b.latency(ctx, st, n, 1); err != nil || b.askers == 1 {
			return err
		}
		b.logf("%d articles, %s: %d questions, %d at once", n, st.name, b.queries, b.askers)
		r.serveN, r.latencyN, err = b.latency(ctx, st, n, b.askers)
		return err
	})
	if err != nil {
		return res, err
	}

	changed, err := writeEdits(b.gen, corpusDir, n, 1)
	if err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	err = each(fmt.Sprintf("incremental re-index of %d changed", changed), func(st benchStore, r *benchResult) error {
		var out string
		var err error
		r.changed = changed
		if r.incremental, out, err = b.child(ctx, st.env, "index", "--json", "--corpus", corpusDir, "--index", st.index); err != nil {
			return err
		}
		if _, updated, err := indexSummary(out); err != nil {
			return err
		} else if updated != changed {
			return fmt.Errorf("bench: %s: incremental index updated %d articles, %d changed", st.name, updated, changed)
		}
		r.embedded = int(math.Round(float64(changed) * b.perArticle))
		return nil
	})
	if err != nil {
		return res, err
	}

	// Last, as it leaves every file to be checked once more by the next
	// run; only the index directory reads the corpus when it starts.
	dirRes := &res[0]
	b.logf("%d articles, %s: %d cold starts after every file's ctime moved", n, stores[0].name, b.colds)
	for i := range b.colds {
		if err := touchAll(corpusDir); err != nil {
			return res, fmt.Errorf("bench: %w", err)
		}
		c, _, err := b.child(ctx, nil, "ask", "--extractive", "--corpus", corpusDir, "--index", stores[0].index, qs[i].Text)
		if err != nil {
			return res, err
		}
		dirRes.coldVerify = append(dirRes.coldVerify, c)
	}
	return res, nil
}

// latency runs 'bench latency' over st with askers questions at once.
func (b *bencher) latency(ctx context.Context, st benchStore, n, askers int) (childRun, latencyReport, error) {
	var lat latencyReport
	run, out, err := b.child(ctx, st.env, "bench", "latency", "--index", st.index, "--seed", strconv.FormatUint(b.seed, 10),
		"--articles", strconv.Itoa(n), "--queries", strconv.Itoa(b.queries), "--askers", strconv.Itoa(askers))
	if err != nil {
		return run, lat, err
	}
	if err := json.Unmarshal([]byte(out), &lat); err != nil {
		return run, lat, fmt.Errorf("bench: read latency report: %w", err)
	}
	return run, lat, nil
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
// extractive answers, no .env; extra added to the environment) and
// reports its wall time, from start to exit, and peak resident memory.
func (b *bencher) child(ctx context.Context, extra []string, args ...string) (childRun, string, error) {
	cmd := exec.CommandContext(ctx, b.exe, args...)
	cmd.Dir = b.dir // no .env there
	env := append([]string{"VERBATIM_EMBED_MODEL=local", "VERBATIM_LOG_LEVEL=warn"}, extra...)
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
