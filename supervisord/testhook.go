package supervisord

import (
	"os"
	"path/filepath"
	"time"
)

// socketHoldEnv names a test hook: GOSUPERVISOR_TEST_SOCKET_HOLD=<dir>
// makes the daemon stop right after binding a unix socket, before its
// mode and owner are set: it writes the socket's temporary path to
// <dir>/bound and waits until it has read <dir>/release, a FIFO the test
// writes to and closes. Black-box tests hold the daemon there to prove
// that no other user can connect in that window. Unset, nothing changes.
const socketHoldEnv = "GOSUPERVISOR_TEST_SOCKET_HOLD"

// takeSocketHold returns the hook named by GOSUPERVISOR_TEST_SOCKET_HOLD,
// or nil, in the process that runs the engine; it removes the variable
// so the programs we spawn do not inherit it.
func takeSocketHold(runsEngine bool) func(path string) {
	dir := os.Getenv(socketHoldEnv)
	if dir == "" || !runsEngine {
		return nil
	}
	_ = os.Unsetenv(socketHoldEnv)
	return func(path string) {
		bound := filepath.Join(dir, "bound")
		if os.WriteFile(bound+".tmp", []byte(path), 0o600) != nil || os.Rename(bound+".tmp", bound) != nil {
			return
		}
		_, _ = os.ReadFile(filepath.Join(dir, "release"))
	}
}

// stallEnv names a test hook: GOSUPERVISOR_TEST_STALL_LOOP=<duration>
// (e.g. 3s) makes SIGUSR1 hold the engine loop for that long, as a wedged
// loop would be held. Black-box tests use it to see the keep-alives to a
// service manager stop. Unset, SIGUSR1 keeps its default action.
const stallEnv = "GOSUPERVISOR_TEST_STALL_LOOP"

// takeStallHook returns the hook's duration, or 0, in the process that
// runs the engine; it removes the variable so children do not inherit it.
func takeStallHook(runsEngine bool) time.Duration {
	v := os.Getenv(stallEnv)
	if v == "" || !runsEngine {
		return 0
	}
	_ = os.Unsetenv(stallEnv)
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0
	}
	return d
}
