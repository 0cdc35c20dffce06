package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/verbatimbot/verbatim/bot"
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
	ix, err := retrieval.Open(ctx, retrieval.Options{Dir: *indexDir, Embedder: retrieval.NewLocalEmbedder(), Store: store})
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

// machine describes where the figures were measured.
type machine struct {
	cpus      int
	cpuModel  string
	memory    string
	goVersion string
	// read bandwidth in bytes/s: one goroutine and GOMAXPROCS goroutines
	// summing a buffer much larger than the caches.
	bw1, bwAll float64
}

// measureMachine describes this machine; the bandwidth is measured by a
// child ('bench bandwidth'), so that its buffer does not count in the peak
// memory of later children.
func (b *bencher) measureMachine(ctx context.Context) (machine, error) {
	m := machine{cpus: runtime.NumCPU(), goVersion: runtime.Version(), cpuModel: "unknown", memory: "unknown"}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.cpuModel = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		if kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64); err == nil {
			m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	_, out, err := b.child(ctx, "bench", "bandwidth")
	if err != nil {
		return m, err
	}
	var bw bandwidthReport
	if err := json.Unmarshal([]byte(out), &bw); err != nil {
		return m, fmt.Errorf("bench: read bandwidth: %w", err)
	}
	m.bw1, m.bwAll = bw.One, bw.All
	return m, nil
}

// bandwidthReport is what 'bench bandwidth' prints, in bytes/s.
type bandwidthReport struct {
	One float64 `json:"one"` // one goroutine
	All float64 `json:"all"` // GOMAXPROCS goroutines
}

func cmdBenchBandwidth(_ context.Context, a *app, args []string) error {
	fs := a.newFlagSet("bench bandwidth", "", "Measure memory read bandwidth and print it as JSON (a step of 'verbatim bench').")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	one, all := memoryBandwidth()
	return json.NewEncoder(a.out).Encode(bandwidthReport{one, all})
}

// procField returns the value of the first "name: value" line of a /proc
// file, or "".
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// memoryBandwidth measures sequential read bandwidth by summing 256 MiB of
// float32s, best of three passes, on one goroutine and on all.
func memoryBandwidth() (one, all float64) {
	buf := make([]float32, 64<<20)
	for i := range buf {
		buf[i] = float32(i & 1023)
	}
	measure := func(workers int) float64 {
		best := time.Duration(math.MaxInt64)
		for range 3 {
			start := time.Now()
			var wg sync.WaitGroup
			per := len(buf) / workers
			sums := make([]float32, workers)
			for w := range workers {
				wg.Go(func() { sums[w] = sumFloats(buf[w*per : (w+1)*per]) })
			}
			wg.Wait()
			best = min(best, time.Since(start))
			runtime.KeepAlive(sums) // the sums are the point of the loop
		}
		return float64(len(buf)*4) / best.Seconds()
	}
	return measure(1), measure(runtime.GOMAXPROCS(0))
}

// sumFloats adds x with four accumulators (the shape of the vector scan).
func sumFloats(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return s0 + s1 + s2 + s3
}

func (m machine) print(w io.Writer) {
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s memory, %s, %s/%s\n", m.cpus, m.cpuModel, m.memory, m.goVersion, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "memory read bandwidth: %.1f GB/s on 1 goroutine, %.1f GB/s on %d\n\n", m.bw1/1e9, m.bwAll/1e9, runtime.GOMAXPROCS(0))
}

// printBenchTable prints the results as one Markdown table, one column per
// corpus size.
func printBenchTable(w io.Writer, m machine, rs []benchResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	row := func(name string, cell func(r benchResult) string) {
		fmt.Fprintf(tw, "| %s\t", name)
		for _, r := range rs {
			fmt.Fprintf(tw, " %s\t", cell(r))
		}
		fmt.Fprintln(tw)
	}
	row("", func(r benchResult) string { return r.label })
	fmt.Fprintf(tw, "|---\t")
	for range rs {
		fmt.Fprintf(tw, "---:\t")
	}
	fmt.Fprintln(tw)
	row("articles / passages", func(r benchResult) string { return fmt.Sprintf("%d / %d", r.articles, r.passages) })
	row("full build (index command)", func(r benchResult) string { return dur(r.build.wall) })
	row("  articles/s · passages/s", func(r benchResult) string {
		s := r.build.wall.Seconds()
		return fmt.Sprintf("%.0f · %.0f", float64(r.articles)/s, float64(r.passages)/s)
	})
	row("incremental, 1% changed", func(r benchResult) string {
		return fmt.Sprintf("%s (%d articles)", dur(r.incremental.wall), r.changed)
	})
	row("  changed articles/s · passages/s", func(r benchResult) string {
		s := r.incremental.wall.Seconds()
		return fmt.Sprintf("%.0f · %.0f", float64(r.changed)/s, float64(r.embedded)/s)
	})
	row("retrieval p50 / p95 / p99", func(r benchResult) string { return pcts(r.Retrieval) })
	row("extractive answer p50 / p95 / p99", func(r benchResult) string { return pcts(r.Answer) })
	row("  refused", func(r benchResult) string { return fmt.Sprintf("%d of %d", r.Refused, len(r.Answer)) })
	row("cold start to first answer (median, max)", func(r benchResult) string { return medianMax(r.cold) })
	row("  every file checked by content (median, max)", func(r benchResult) string { return medianMax(r.coldVerify) })
	row("peak RSS: build / incremental / ask / latency run", func(r benchResult) string {
		var ask int64
		for _, c := range r.cold {
			ask = max(ask, c.maxRSS)
		}
		return fmt.Sprintf("%s / %s / %s / %s", mib(r.build.maxRSS), mib(r.incremental.maxRSS), mib(ask), mib(r.serve.maxRSS))
	})
	row("index on disk", func(r benchResult) string { return mib(r.indexBytes) })
	row("bytes read per query: vectors + postings", func(r benchResult) string {
		return fmt.Sprintf("%.1f + %.1f MB", r.VectorBytes/1e6, r.LexicalBytes/1e6)
	})
	row("  ÷ retrieval p50, vs 1-core bandwidth", func(r benchResult) string {
		p50 := percentile(r.Retrieval, 0.5).Seconds()
		gbs := (r.VectorBytes + r.LexicalBytes) / p50
		return fmt.Sprintf("%.1f GB/s = %.0f%%", gbs/1e9, 100*gbs/m.bw1)
	})
	tw.Flush()
}

// medianMax formats the median and the largest wall time of runs.
func medianMax(runs []childRun) string {
	if len(runs) == 0 {
		return "–"
	}
	ws := make([]time.Duration, len(runs))
	for i, c := range runs {
		ws[i] = c.wall
	}
	return fmt.Sprintf("%s, %s", dur(percentile(ws, 0.5)), dur(slices.Max(ws)))
}

// percentile is the nearest-rank percentile q (0–1] of ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func pcts(ds []time.Duration) string {
	return fmt.Sprintf("%s / %s / %s", dur(percentile(ds, 0.5)), dur(percentile(ds, 0.95)), dur(percentile(ds, 0.99)))
}

// dur formats a duration with three significant digits in ms or s.
func dur(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// short formats a size as 1k, 10k, 47k or 100k when it is a round number.
func short(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		mult := 1
		if strings.HasSuffix(f, "k") {
			f, mult = strings.TrimSuffix(f, "k"), 1000
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n*mult)
	}
	return out, nil
}
