package discord

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: the
// bots' gateway, heartbeat, handler, streaming and typing goroutines, the
// HTTP transport's connections and the fake's servers must all be gone.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
