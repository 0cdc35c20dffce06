package corpus

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
)

// BundledName names the bundled corpus where a directory name would go, in
// messages and index metadata.
const BundledName = "bundled"

// bundledFiles holds the default articles, built into the binary so that
// verbatim answers with no corpus configured.
//
//go:embed bundled/*.txt
var bundledFiles embed.FS

// BundledFS returns the bundled articles as a file system, rooted so that
// article IDs are the file names without extension.
func BundledFS() fs.FS {
	sub, err := fs.Sub(bundledFiles, "bundled")
	if err != nil {
		panic(err) // "bundled" is a valid path; cannot happen
	}
	return sub
}

// Bundled loads the bundled default corpus. Its articles are checked by the
// tests, so any Problem is a build defect and is returned as an error.
func Bundled(ctx context.Context) (Set, error) {
	set, err := LoadFS(ctx, BundledFS(), Options{})
	if err != nil {
		return Set{}, err
	}
	if len(set.Skipped) > 0 {
		return Set{}, fmt.Errorf("bundled article %w", set.Skipped[0])
	}
	return set, nil
}
