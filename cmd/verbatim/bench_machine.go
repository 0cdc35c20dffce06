package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

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
	_, out, err := b.child(ctx, nil, "bench", "bandwidth")
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
