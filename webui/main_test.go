package webui

import (
	"os"
	"testing"

	"gosupervisor/internal/testenv"
)

// TestMain fails the package when a goroutine outlives the tests (a tail
// stream, a browser session or a daemon connection that never ended).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		code = testenv.CheckGoroutines(1)
	}
	os.Exit(code)
}
