package discordtest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// errorsTB records Errorf calls instead of failing the test.
type errorsTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *errorsTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *errorsTB) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

func TestServerRejectsEmptySegmentsAndUnknownRoutes(t *testing.T) {
	rec := &errorsTB{TB: t}
	s := New(rec)
	for _, tc := range []struct {
		method, path string
		status       int
		report       string
	}{
		{"POST", "api/v9/channels//messages", http.StatusBadRequest, "empty segment"},
		{"GET", "api/v9/guilds/1/emojis", http.StatusNotFound, "no such route"},
		{"POST", "api/v9/channels/5/typing", http.StatusNoContent, ""},
	} {
		req, err := http.NewRequest(tc.method, s.URL()+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		if tc.report != "" && !strings.Contains(rec.all(), tc.report) {
			t.Errorf("%s %s not reported; reports: %s", tc.method, tc.path, rec.all())
		}
	}
	http.DefaultClient.CloseIdleConnections()
	if c := s.WaitCall(t, time.Second, "typing", func(c Call) bool { return c.Path == "/channels/5/typing" }); c.Method != "POST" || c.Body != nil {
		t.Errorf("recorded %+v", c)
	}
	s.NoCall(t, 50*time.Millisecond, "a PATCH", func(c Call) bool { return c.Method == "PATCH" })
}
