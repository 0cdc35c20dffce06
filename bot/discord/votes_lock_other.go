//go:build !unix

package discord

import "os"

// lockFile is a no-op where flock is missing: each vote is still a single
// O_APPEND write of one line.
func lockFile(*os.File) error { return nil }
