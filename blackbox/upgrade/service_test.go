package upgrade

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/internal/testenv"
)

// notification is one datagram supervisord sent to its service manager.
type notification struct {
	text string
	pid  int
	at   time.Time
}

// serviceManager plays systemd's side of NOTIFY_SOCKET: a datagram
// socket with SO_PASSCRED recording what arrives and from which pid.
type serviceManager struct {
	mu  sync.Mutex
	got []notification
}

func listenServiceManager(t *testing.T, path string) *serviceManager {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := conn.SyscallConn()
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) }); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	m := &serviceManager{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
		for {
			n, oobn, _, _, err := conn.ReadMsgUnix(b, oob)
			if err != nil {
				return
			}
			pid := 0
			if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
				if c, err := unix.ParseUnixCredentials(&msgs[0]); err == nil {
					pid = int(c.Pid)
				}
			}
			m.mu.Lock()
			m.got = append(m.got, notification{string(b[:n]), pid, time.Now()})
			m.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return m
}

func (m *serviceManager) received() []notification {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]notification(nil), m.got...)
}

// waitFor waits for a datagram after index from holding text and
// returns its index.
func (m *serviceManager) waitFor(t *testing.T, from int, text string) int {
	t.Helper()
	idx := -1
	testenv.Eventually(t, 20*time.Second, func() error {
		for i, n := range m.received() {
			if i >= from && strings.Contains(n.text, text) {
				idx = i
				return nil
			}
		}
		return fmt.Errorf("no %q after datagram %d: %+v", text, from, m.received())
	})
	return idx
}

// TestUpgradeUnderServiceManager upgrades a supervisord that runs as a
// Type=notify unit with a watchdog: before the exec it says RELOADING=1
// with MONOTONIC_USEC, after the resume READY=1, every datagram from the
// same pid, and its keep-alives go on across the upgrade without a gap
// as long as the watchdog limit.
func TestUpgradeUnderServiceManager(t *testing.T) {
	bins := binaries(t)
	sock := filepath.Join(t.TempDir(), "notify")
	m := listenServiceManager(t, sock)
	const limit = 4 * time.Second
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", fmt.Sprint(limit.Microseconds()))
	d := start(t, bins.a, threePrograms)
	before := waitRunning(t, d)
	c := d.client(t)
	pid := d.d.Cmd.Process.Pid
	ready := m.waitFor(t, 0, "READY=1")

	d.upgrade(t, c, bins.b, "build-b")
	reloading := m.waitFor(t, ready+1, "RELOADING=1")
	if !strings.Contains(m.received()[reloading].text, "\nMONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m.received()[reloading].text)
	}
	again := m.waitFor(t, reloading+1, "READY=1")
	// Two keep-alives from the new build.
	m.waitFor(t, m.waitFor(t, again+1, "WATCHDOG=1")+1, "WATCHDOG=1")
	samePIDs(t, before, pids(t, c))

	var last time.Time
	for _, n := range m.received() {
		if n.pid != pid {
			t.Errorf("%q came from pid %d, not supervisord's %d", n.text, n.pid, pid)
		}
		if n.text != "WATCHDOG=1" {
			continue
		}
		if !last.IsZero() && n.at.Sub(last) >= limit {
			t.Errorf("no keep-alive for %v (limit %v)", n.at.Sub(last), limit)
		}
		last = n.at
	}
	got := m.received()
	t.Logf("READY=1 at %v, RELOADING=1 at %v, READY=1 again %v later", got[ready].at.Format(time.StampMilli),
		got[reloading].at.Format(time.StampMilli), got[again].at.Sub(got[reloading].at).Round(time.Millisecond))
}
