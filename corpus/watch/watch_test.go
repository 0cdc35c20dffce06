package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// running starts a watcher of dir that counts the bursts it reports.
func running(t *testing.T, dir string, quiet time.Duration) (*Watcher, *atomic.Int32) {
	t.Helper()
	w, err := New(dir, Options{Quiet: quiet, MaxDelay: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(context.Context) { calls.Add(1) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return w, &calls
}

// waitFor polls until calls reaches n or the deadline passes.
func waitFor(t *testing.T, calls *atomic.Int32, n int32, deadline time.Duration) {
	t.Helper()
	end := time.Now().Add(deadline)
	for calls.Load() < n {
		if time.Now().After(end) {
			t.Fatalf("%d calls after %v, want %d", calls.Load(), deadline, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBurstIsOneChange: a thousand articles written at once — some into
// a directory created during the burst — are one reported change.
func TestBurstIsOneChange(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "old", "a.md"), "# A\n\ntext")
	quiet := 500 * time.Millisecond
	_, calls := running(t, dir, quiet)
	for i := range 1000 {
		sub := "old"
		if i%2 == 1 {
			sub = filepath.Join("new", fmt.Sprint(i%10))
		}
		write(t, filepath.Join(dir, sub, fmt.Sprintf("article-%04d.md", i)), fmt.Sprintf("# Article %d\n\nSome text.", i))
	}
	waitFor(t, calls, 1, 10*time.Second)
	time.Sleep(3 * quiet) // a second call would come within Quiet of the first
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d changes reported for one burst, want 1", n)
	}
	// The directories made during the burst are watched now.
	write(t, filepath.Join(dir, "new", "3", "later.md"), "# Later\n\ntext")
	waitFor(t, calls, 2, 10*time.Second)
}

func TestIgnoresWhatTheLoaderIgnores(t *testing.T) {
	dir := t.TempDir()
	w, calls := running(t, dir, 100*time.Millisecond)
	write(t, filepath.Join(dir, ".article.md.swp"), "x")
	write(t, filepath.Join(dir, "picture.png"), "x")
	write(t, filepath.Join(dir, ".git", "HEAD"), "x")
	time.Sleep(500 * time.Millisecond)
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d changes reported for files the corpus does not read", n)
	}
	if w.Dirs() != 1 {
		t.Errorf("watching %d directories, want 1 (not .git)", w.Dirs())
	}
	// A removed article is a change; so is a removed directory.
	write(t, filepath.Join(dir, "sub", "x.txt"), "X\n\ntext")
	waitFor(t, calls, 1, 5*time.Second)
	if err := os.RemoveAll(filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, calls, 2, 5*time.Second)
}

func TestNewFailsOnAMissingDirectory(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Fatal("watching a missing directory worked")
	}
}
