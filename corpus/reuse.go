package corpus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// contentHash is a FileStat.Hash: "sha256:" and the hex SHA-256 of data.
func contentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// reusePlan is what load does with one file: take reused articles, or
// parse it (from data when verifying it already read it, or reporting err
// when that read failed).
type reusePlan struct {
	reused   bool
	verified bool // reused after its content was read and hashed
	articles []Article
	hash     string
	data     []byte
	err      error
}

// reuse asks Options.Reuse about every collected file and verifies those
// it vouches for only by content: they are read and hashed on parallel
// workers (bounded by GOMAXPROCS), so an edit that kept a file's size and
// modification time is seen without parsing the unchanged rest.
func (l *loader) reuse(ctx context.Context) ([]reusePlan, error) {
	plans := make([]reusePlan, len(l.files))
	if l.opts.Reuse == nil {
		return plans, nil
	}
	var verify []int
	for i, f := range l.files {
		r, ok := l.opts.Reuse(f.stat())
		if !ok {
			continue
		}
		plans[i] = reusePlan{reused: !r.Verify, articles: r.Articles, hash: r.Hash}
		if r.Verify {
			verify = append(verify, i)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(verify)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				k := int(next.Add(1)) - 1
				if k >= len(verify) {
					return
				}
				i := verify[k]
				f := l.files[i]
				data, err := readLimited(l.fsys, f.actual, f.size, l.opts.MaxFileBytes)
				switch {
				case err != nil:
					plans[i] = reusePlan{err: err}
				case plans[i].hash != "" && contentHash(data) == plans[i].hash:
					plans[i].reused, plans[i].verified = true, true
				default:
					plans[i] = reusePlan{data: data} // changed: parse what was read
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load corpus: %w", err)
	}
	return plans, nil
}
