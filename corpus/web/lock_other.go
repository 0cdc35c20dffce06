//go:build !unix

package web

import "os"

// lockFile is a no-op where flock is missing: each record is still one
// O_APPEND write, and the feed list is replaced by a rename.
func lockFile(*os.File) error { return nil }
