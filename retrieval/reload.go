package retrieval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Reload loads the generation another process (a `verbatim index` run)
// committed to the index directory since this Index was opened or last
// synced, and reports whether there was one. Searches keep using the
// loaded generation until the new one is in place. A generation this build
// cannot use (another embedder, chunker or format, or a corrupt one) is
// left alone and reported as an error; the loaded one keeps serving.
func (ix *Index) Reload(ctx context.Context) (bool, error) {
	ix.syncMu.Lock()
	defer ix.syncMu.Unlock()
	old := ix.snap.Load()
	data, err := os.ReadFile(filepath.Join(ix.dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reload index: %w", err)
	}
	var m struct {
		Generation uint64 `json:"generation"`
	}
	if err := json.Unmarshal(data, &m); err == nil && m.Generation == old.gen {
		return false, nil
	}
	snap, _, err := ix.load(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		// The generation we read was replaced while we read it.
		snap, _, err = ix.load(ctx)
	}
	if err != nil {
		return false, fmt.Errorf("reload index: %w", err)
	}
	ix.snap.Store(snap)
	ix.vectors.release(old.vectors, snap.vectors)
	ix.rebuild = ""
	ix.prev = nil
	return true, nil
}
