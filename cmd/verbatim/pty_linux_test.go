package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
)

// openPTY opens a pseudo-terminal: the program writes to tty (its stdout),
// the test reads what a terminal would show from pty.
func openPTY(t *testing.T) (pty, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here (%v): the terminal preview is tested on Linux with /dev/ptmx", err)
	}
	unlock := 0
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		m.Close()
		t.Fatalf("unlock pty: %v", errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		m.Close()
		t.Fatalf("pty number: %v", errno)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatalf("open tty: %v", err)
	}
	return m, s
}

// verbatimOnTerminal is verbatim with stdout on a terminal; stderr and
// stdin are pipes.
func verbatimOnTerminal(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	pty, tty := openPTY(t)
	defer pty.Close()
	cmd := binCommand(t, dir, env, args...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = tty, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child has it
	var out bytes.Buffer
	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(&out, pty) // ends with EIO once the child is gone
		read <- err
	}()
	err := cmd.Wait()
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal output did not end")
	}
	return result{strings.ReplaceAll(out.String(), "\r\n", "\n"), errb.String(), exitCode(t, err)}
}

// TestAskOnTerminalPreviews: on a terminal the model's answer is shown as
// it streams, then the verified answer under "Verified answer:" when
// verification changed it, and the time to first token with --verbose.
func TestAskOnTerminalPreviews(t *testing.T) {
	srv := fakeModel(t, openaitest.Options{}, llmReply)
	env := []string{"OPENAI_BASE_URL=" + srv.URL, "VERBATIM_CHAT_MODEL=test-model"}
	r := verbatimOnTerminal(t, t.TempDir(), env, "ask", "--verbose", "Which missile system is Tehran interested in buying?")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !lastChat(t, srv).Stream {
		t.Error("ask on a terminal did not stream")
	}
	preview, verified, ok := strings.Cut(r.stdout, "\nVerified answer:\n")
	if !ok || !strings.Contains(preview, "which it already bought last year [2].") || strings.Contains(verified, "[2]") ||
		!strings.Contains(verified, "[1] “Firstly, the Tehran’s interest") {
		t.Errorf("terminal output is not the preview then the verified answer:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, " first_token=") {
		t.Errorf("--verbose lacks the time to first token:\n%s", r.stderr)
	}
}
