package logrot

import (
	"os"
	"testing"

	"gosupervisor/internal/testenv"
)

// TestMain fails the run if goroutines outlive the tests: Pump and Follow
// must return, and the package starts none of its own.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		code = testenv.CheckGoroutines(1)
	}
	os.Exit(code)
}
