package rpc

import (
	"testing"

	"gosupervisor/internal/testenv"
)

// TestMain fails the package when a goroutine outlives the tests (a
// stream, a wait or a connection that never ended).
func TestMain(m *testing.M) { testenv.Main(m) }
