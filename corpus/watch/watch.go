// Package watch notices changes to a corpus directory — article files
// written, renamed or removed anywhere in its tree — and reports them in
// bursts: one call after the tree has been still for a moment, however
// many files changed, so that copying a thousand articles in costs one
// re-index.
//
// It uses fsnotify (inotify, kqueue, ReadDirectoryChangesW), which watches
// single directories: every directory of the tree is watched, and
// directories created later are added as they appear. As the corpus
// loader does, it ignores names starting with a dot (editors' swap files,
// the temporary files articles are written through) and files that are
// not articles; unlike the loader it does not follow symbolic links to
// directories. A watch the system cannot keep (the inotify limit reached,
// events lost to an overflow) is logged, and an overflow counts as a
// change.
package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/verbatimbot/verbatim/corpus"
)

// Options configure a Watcher. Zero fields take the defaults.
type Options struct {
	// Quiet is how long the tree must stay still after a change before
	// the change is reported.
	Quiet time.Duration
	// MaxDelay bounds how long a change waits for the tree to be still:
	// a directory written to without pause is still reported this often.
	MaxDelay time.Duration
	Logger   *slog.Logger
}

// Defaults for zero Options fields.
const (
	DefaultQuiet    = 2 * time.Second
	DefaultMaxDelay = 30 * time.Second
)

// Watcher watches one directory tree. Create it with New, then call Run
// once.
type Watcher struct {
	root string
	opts Options
	log  *slog.Logger
	fsw  *fsnotify.Watcher

	mu   sync.Mutex
	dirs map[string]bool // watched directories
}

// New starts watching every directory under root. It fails when root
// cannot be watched; a subdirectory that cannot be is logged and skipped.
func New(root string, opts Options) (*Watcher, error) {
	if opts.Quiet <= 0 {
		opts.Quiet = DefaultQuiet
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	if opts.MaxDelay < opts.Quiet {
		opts.MaxDelay = opts.Quiet
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	fsw, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", abs, err)
	}
	w := &Watcher{root: abs, opts: opts, log: opts.Logger, fsw: fsw, dirs: map[string]bool{}}
	if err := fsw.Add(abs); err != nil {
		fsw.Close()
		return nil, fmt.Errorf("watch %s: %w", abs, err)
	}
	w.dirs[abs] = true
	w.addTree(abs)
	return w, nil
}

// Dirs is how many directories are watched.
func (w *Watcher) Dirs() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.dirs)
}

// addTree watches the directories below dir (not dir itself).
func (w *Watcher) addTree(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir {
				w.log.Warn("corpus watch: cannot read a directory; changes in it go unnoticed", "dir", p, "err", err)
			}
			return nil
		}
		if !d.IsDir() || p == dir {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		w.add(p)
		return nil
	})
}

func (w *Watcher) add(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dirs[dir] {
		return
	}
	if err := w.fsw.Add(dir); err != nil {
		w.log.Warn("corpus watch: cannot watch a directory; changes in it go unnoticed until the next re-index", "dir", dir, "err", err)
		return
	}
	w.dirs[dir] = true
}

// relevant reports whether ev may change what the corpus loads, watching a
// directory it creates.
func (w *Watcher) relevant(ev fsnotify.Event) bool {
	name := filepath.Base(ev.Name)
	if strings.HasPrefix(name, ".") {
		return false
	}
	if ev.Has(fsnotify.Create) {
		if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
			// Files may have landed in it before the watch did: the
			// re-index reads the whole tree anyway.
			w.add(ev.Name)
			w.addTree(ev.Name)
			return true
		}
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		w.mu.Lock()
		dir := w.dirs[ev.Name]
		if dir {
			for d := range w.dirs {
				if d == ev.Name || strings.HasPrefix(d, ev.Name+string(filepath.Separator)) {
					delete(w.dirs, d) // the kernel dropped their watches
				}
			}
		}
		w.mu.Unlock()
		if dir {
			return true
		}
	}
	if ev.Op == fsnotify.Chmod {
		return false // a touch or chmod: the loader trusts content, not times
	}
	return corpus.IsArticleFile(name)
}

// Run calls onChange after each burst of changes (see the package
// comment), never two at once: changes made while onChange runs are
// reported by one more call after it returns. Run returns nil when ctx
// ends, and closes the watch.
func (w *Watcher) Run(ctx context.Context, onChange func(ctx context.Context)) error {
	defer w.fsw.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		pending bool
		first   time.Time // of the pending burst
		running bool
		done    = make(chan struct{}, 1)
	)
	schedule := func() {
		now := time.Now()
		if !pending {
			pending, first = true, now
		}
		if running {
			return // scheduled when the running call returns
		}
		wait := min(w.opts.Quiet, w.opts.MaxDelay-now.Sub(first))
		timer.Reset(max(wait, 0))
	}
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			if running {
				<-done
			}
			return nil
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return errors.New("corpus watch closed")
			}
			if w.relevant(ev) {
				schedule()
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return errors.New("corpus watch closed")
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Warn("corpus watch: the system dropped change events; re-indexing to be sure")
				schedule()
				continue
			}
			w.log.Warn("corpus watch", "err", err)
		case <-timer.C:
			pending, running = false, true
			go func() {
				onChange(ctx)
				done <- struct{}{}
			}()
		case <-done:
			running = false
			if pending {
				pending = false
				schedule() // a fresh burst: wait Quiet from now
			}
		}
	}
}
