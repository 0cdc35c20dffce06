package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/verbatimbot/verbatim/retrieval"
)

var _ retrieval.Announcer = (*Store)(nil)

// Listen implements retrieval.Announcer: LISTEN on notifyChannel, on a
// connection of its own (taken out of the pool, and closed when Listen
// returns), calling committed for every generation a writer of this
// schema commits.
func (s *Store) Listen(ctx context.Context, ready chan<- struct{}, committed func(gen uint64)) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("listen for commits: %w", err)
	}
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return listenErr(ctx, err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return listenErr(ctx, err)
	}
	if ready != nil {
		close(ready)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return listenErr(ctx, err)
		}
		sch, num, _ := strings.Cut(n.Payload, " ")
		if sch != schema {
			continue // another index in the same database
		}
		gen, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			s.log.Warn("unreadable commit notification", "payload", n.Payload)
			continue
		}
		committed(gen)
	}
}

func listenErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("listen for commits: %w", err)
}
