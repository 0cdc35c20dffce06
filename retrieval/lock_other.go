//go:build !unix

package retrieval

// lockDir does not lock on this system: the caller must make sure only one
// process writes an index directory at a time (see Index).
func lockDir(string) (unlock func(), err error) { return func() {}, nil }
