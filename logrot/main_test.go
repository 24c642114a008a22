package logrot

import (
	"testing"

	"gosupervisor/internal/testenv"
)

// TestMain fails the run if goroutines outlive the tests: Pump and Follow
// must return, and the package starts none of its own.
func TestMain(m *testing.M) { testenv.Main(m) }
