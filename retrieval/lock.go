package retrieval

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// lockName is the file, in the index directory, that writers lock
// (lock_unix.go; other systems have no lock).
const lockName = "lock"

// errLocked is returned (wrapped) when another process is writing the same
// index directory.
var errLocked = ErrLocked

// lockPoll is how often lockDirWait tries the lock again.
const lockPoll = 50 * time.Millisecond

// lockDirWait is lockDir that waits while another process holds the lock,
// trying again every lockPoll, until it gets it or ctx ends.
func lockDirWait(ctx context.Context, dir string) (unlock func(), err error) {
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		unlock, err := lockDir(dir)
		if !errors.Is(err, errLocked) {
			return unlock, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the index lock: %w", ctx.Err())
		case <-t.C:
		}
	}
}
