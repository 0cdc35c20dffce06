package corpus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"sync"
	"sync/atomic"
)

// contentHash is a FileStat.Hash: "sha256:" and the hex SHA-256 of data.
func contentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// hashFile is the contentHash of the file at name, streamed through buf,
// with readLimited's limits.
func hashFile(fsys fs.FS, name string, size, max int64, buf []byte) (string, error) {
	if size > max {
		return "", fmt.Errorf("%w: %d bytes, limit %d", errTooLarge, size, max)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return "", pathless("open", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.LimitReader(f, max+1), buf)
	if err != nil {
		return "", pathless("read", err)
	}
	if n > max {
		return "", fmt.Errorf("%w: over %d bytes", errTooLarge, max)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// reusePlan is what load does with one file: take reused articles, or
// parse it (reporting err when verifying could not read it).
type reusePlan struct {
	reused   bool
	verified bool // reused after its content was read and hashed
	articles []Article
	hash     string
	err      error
}

// reuse asks Options.Reuse about every collected file and verifies those
// it vouches for only by content: they are streamed through SHA-256 on
// parallel workers (bounded by GOMAXPROCS, a buffer each, nothing kept),
// so an edit that kept a file's size and modification time is seen
// without parsing the unchanged rest; a changed file is read again and
// parsed by load.
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
			buf := make([]byte, 64<<10)
			for ctx.Err() == nil {
				k := int(next.Add(1)) - 1
				if k >= len(verify) {
					return
				}
				i := verify[k]
				f := l.files[i]
				hash, err := hashFile(l.fsys, f.actual, f.size, l.opts.MaxFileBytes, buf)
				switch {
				case err != nil:
					plans[i] = reusePlan{err: err}
				case plans[i].hash != "" && hash == plans[i].hash:
					plans[i].reused, plans[i].verified = true, true
				default:
					plans[i] = reusePlan{} // changed: read and parse it
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
