package webui

import (
	"testing"

	"gosupervisor/internal/testenv"
)

// TestMain fails the package when a goroutine outlives the tests (a tail
// stream, a browser session or a daemon connection that never ended).
func TestMain(m *testing.M) { testenv.Main(m) }
