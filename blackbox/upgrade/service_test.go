package upgrade

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// TestUpgradeUnderServiceManager upgrades a supervisord that runs as a
// Type=notify unit with a watchdog: before the exec it says RELOADING=1
// with MONOTONIC_USEC, after the resume READY=1, every datagram from the
// same pid, and its keep-alives go on across the upgrade without a gap
// as long as the watchdog limit.
func TestUpgradeUnderServiceManager(t *testing.T) {
	bins := binaries(t)
	sock := filepath.Join(t.TempDir(), "notify")
	m := testenv.ListenServiceManager(t, sock)
	const limit = 4 * time.Second
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", fmt.Sprint(limit.Microseconds()))
	d := start(t, bins.a, threePrograms)
	before := waitRunning(t, d)
	c := d.client(t)
	pid := d.d.Cmd.Process.Pid
	ready := m.WaitFor(t, 0, "READY=1", 20*time.Second)

	d.upgrade(t, c, bins.b, "build-b")
	reloading := m.WaitFor(t, ready+1, "RELOADING=1", 20*time.Second)
	if !strings.Contains(m.Received()[reloading].Text, "\nMONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m.Received()[reloading].Text)
	}
	again := m.WaitFor(t, reloading+1, "READY=1", 20*time.Second)
	// Two keep-alives from the new build.
	m.WaitFor(t, m.WaitFor(t, again+1, "WATCHDOG=1", 20*time.Second)+1, "WATCHDOG=1", 20*time.Second)
	samePIDs(t, before, pids(t, c))

	var last time.Time
	for _, n := range m.Received() {
		if n.PID != pid {
			t.Errorf("%q came from pid %d, not supervisord's %d", n.Text, n.PID, pid)
		}
		if n.Text != "WATCHDOG=1" {
			continue
		}
		if !last.IsZero() && n.At.Sub(last) >= limit {
			t.Errorf("no keep-alive for %v (limit %v)", n.At.Sub(last), limit)
		}
		last = n.At
	}
	got := m.Received()
	t.Logf("READY=1 at %v, RELOADING=1 at %v, READY=1 again %v later", got[ready].At.Format(time.StampMilli),
		got[reloading].At.Format(time.StampMilli), got[again].At.Sub(got[reloading].At).Round(time.Millisecond))
}
