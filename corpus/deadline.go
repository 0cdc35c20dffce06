package corpus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// DefaultParseTimeout is the default Options.ParseTimeout. The largest page
// the default size limit lets through, 16 MiB of ordinary HTML, parses in a
// few seconds; see BENCHMARKS.md.
const DefaultParseTimeout = 30 * time.Second

// errParseTimeout is the reason for a file whose parse ran past
// Options.ParseTimeout.
var errParseTimeout = errors.New("took too long to parse")

// linear adapts a parser whose work is linear in the size of its input,
// which needs no deadline, to a parseFunc.
func linear(parse func(id string, data []byte) parsed) parseFunc {
	return func(_ context.Context, id string, data []byte) parsed { return parse(id, data) }
}

// parse runs the parser for the file name over data within
// Options.ParseTimeout. A file that runs out of time is skipped with a
// Problem; the error is ctx's, when ctx itself ended meanwhile.
func (l *loader) parse(ctx context.Context, name, id string, data []byte) (parsed, error) {
	limit := l.opts.ParseTimeout
	if limit <= 0 {
		limit = DefaultParseTimeout
	}
	fileCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	p := parserFor(name)(fileCtx, id, data)
	if err := ctx.Err(); err != nil {
		return parsed{}, fmt.Errorf("load corpus: %w", err)
	}
	for i, pr := range p.skipped {
		if errors.Is(pr.Err, context.DeadlineExceeded) {
			p.skipped[i].Err = fmt.Errorf("%w: gave up after %s (the parse timeout)", errParseTimeout, limit)
		}
	}
	return p, nil
}

// ctxReader is an io.Reader that fails with ctx's error once ctx ends, and
// hands out at most readChunk bytes a call, so that a parser reading from it
// notices soon.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

// readChunk is the most a ctxReader returns from one Read: html.Parse
// asks for a few KiB at a time, and a pathological page makes even that
// much work at most a fraction of a second.
const readChunk = 4 << 10

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) > readChunk {
		p = p[:readChunk]
	}
	return c.r.Read(p)
}
