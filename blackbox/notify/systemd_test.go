package notify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/internal/testenv"
)

// datagram is one notification supervisord sent to the test.
type datagram struct {
	text string
	pid  int
	at   time.Time
}

// manager plays systemd's side: a datagram socket with SO_PASSCRED that
// records what arrives, with the sender's pid.
type manager struct {
	conn *net.UnixConn
	mu   sync.Mutex
	got  []datagram
	done chan struct{}
}

func newManager(t *testing.T, addr string) *manager {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := conn.SyscallConn()
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) }); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	m := &manager{conn: conn, done: make(chan struct{})}
	go m.read()
	t.Cleanup(func() { conn.Close(); <-m.done })
	return m
}

func (m *manager) read() {
	defer close(m.done)
	b := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, _, _, err := m.conn.ReadMsgUnix(b, oob)
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
		m.got = append(m.got, datagram{string(b[:n]), pid, time.Now()})
		m.mu.Unlock()
	}
}

func (m *manager) received() []datagram {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]datagram(nil), m.got...)
}

// waitFor polls until a datagram after index from holds text; it returns
// its index.
func (m *manager) waitFor(t *testing.T, from int, text string, timeout time.Duration) int {
	t.Helper()
	idx := -1
	testenv.Eventually(t, timeout, func() error {
		for i, d := range m.received() {
			if i >= from && strings.Contains(d.text, text) {
				idx = i
				return nil
			}
		}
		return fmt.Errorf("no %q after datagram %d; got %+v", text, from, m.received())
	})
	return idx
}

// TestUnderSystemd runs supervisord as a Type=notify unit with
// WatchdogSec=2s would: NOTIFY_SOCKET (a path, then an abstract name),
// WATCHDOG_USEC and WATCHDOG_PID set to its pid by a shell that then
// execs it. Every datagram must come from that pid; READY=1 once the
// program is RUNNING; keep-alives every second, which stop while a test
// hook holds the loop; SIGHUP gives RELOADING=1 then READY=1; SIGTERM
// STOPPING=1. The program does not inherit the variables.
func TestUnderSystemd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, addr string
		args       []string
	}{
		{"path", filepath.Join(t.TempDir(), "notify"), []string{"-n"}},
		// Without -n and nodaemon=false: it must not daemonize.
		{"abstract", fmt.Sprintf("@gosup-test-notify/%d/%d", os.Getpid(), time.Now().UnixNano()), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			underSystemd(t, tc.addr, tc.args)
		})
	}
}

func underSystemd(t *testing.T, addr string, args []string) {
	m := newManager(t, addr)
	d := newDaemon(t, "", `[program:app]
command={{helper}} env {{dir}}/env
environment={{env}}env
startsecs=1
`)
	bin := filepath.Join(testenv.Binaries(t), "supervisord")
	shell := `export WATCHDOG_PID=$$ WATCHDOG_USEC=2000000; exec "$0" "$@"`
	d.startWith("/bin/sh", []string{"NOTIFY_SOCKET=" + addr, "GOSUPERVISOR_TEST_STALL_LOOP=3s"},
		append([]string{"-c", shell, bin}, append(args, "-c", d.conf)...)...)
	pid := d.pid()

	ready := m.waitFor(t, 0, "READY=1", 30*time.Second)
	got := m.received()
	if !strings.HasPrefix(got[0].text, "WATCHDOG=1") && !strings.HasPrefix(got[0].text, "EXTEND_TIMEOUT_USEC=") {
		t.Errorf("first datagram %q", got[0].text)
	}
	if got[ready].text != "READY=1\nSTATUS=RUNNING 1" {
		t.Errorf("ready datagram %q, want READY=1 with the program RUNNING", got[ready].text)
	}
	if i := d.info("app"); i.State != "RUNNING" {
		t.Errorf("READY=1 sent while app is %s", i.State)
	}
	// Keep-alives at half of WATCHDOG_USEC.
	m.waitFor(t, ready+1, "WATCHDOG=1", 10*time.Second)
	pings := func() []time.Time {
		var at []time.Time
		for _, dg := range m.received() {
			if dg.text == "WATCHDOG=1" {
				at = append(at, dg.at)
			}
		}
		return at
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(pings()); n < 4 {
			return fmt.Errorf("%d keep-alives", n)
		}
		return nil
	})
	// Every gap short of WATCHDOG_USEC, which is what systemd enforces;
	// the typical one about half of it. A loaded machine may delay one
	// keep-alive, not most of them.
	at := pings()
	var gaps []time.Duration
	for i := 1; i < len(at); i++ {
		gap := at[i].Sub(at[i-1])
		if gap >= 2*time.Second {
			t.Errorf("keep-alive gap %v, want under WATCHDOG_USEC (2s)", gap)
		}
		gaps = append(gaps, gap)
	}
	slices.Sort(gaps)
	if median := gaps[len(gaps)/2]; median < 800*time.Millisecond || median > 1200*time.Millisecond {
		t.Errorf("keep-alive gaps %v, want about 1s (half of WATCHDOG_USEC)", gaps)
	}
	// The program's environment lacks supervisord's variables.
	b, err := os.ReadFile(filepath.Join(d.dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "NOTIFY_SOCKET=<unset>\nWATCHDOG_USEC=<unset>\nWATCHDOG_PID=<unset>\n" {
		t.Errorf("the program inherited:\n%s", b)
	}

	// The test hook holds the loop for 3 s: the keep-alives stop.
	before := len(pings())
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	d.waitLog("test hook: holding the engine loop for 3s", 1, 10*time.Second)
	testenv.Eventually(t, 15*time.Second, func() error {
		if len(pings()) < before+2 {
			return fmt.Errorf("no keep-alive yet after the hold")
		}
		return nil
	})
	at = pings()
	longest := time.Duration(0)
	for i := 1; i < len(at); i++ {
		longest = max(longest, at[i].Sub(at[i-1]))
	}
	if longest < 2500*time.Millisecond {
		t.Errorf("longest keep-alive gap %v while the loop was held 3 s, want the pings to stop", longest)
	}
	t.Logf("keep-alive gap while the loop was held: %v", longest)

	// SIGHUP: RELOADING=1 with MONOTONIC_USEC=, then READY=1.
	n := len(m.received())
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	reloading := m.waitFor(t, n, "RELOADING=1", 20*time.Second)
	if !strings.HasPrefix(m.received()[reloading].text, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Errorf("reload datagram %q", m.received()[reloading].text)
	}
	m.waitFor(t, reloading+1, "READY=1", 30*time.Second)

	// SIGTERM: STOPPING=1.
	n = len(m.received())
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, n, "STOPPING=1", 20*time.Second)
	select {
	case <-d.d.Exited:
	case <-time.After(30 * time.Second):
		t.Fatal("supervisord did not exit after SIGTERM")
	}
	for _, dg := range m.received() {
		if dg.pid != pid {
			t.Errorf("datagram %q from pid %d, want supervisord's %d", dg.text, dg.pid, pid)
		}
	}
	if log := d.mainLog(); strings.Contains(log, "daemonizing the supervisord process") ||
		(args == nil && !strings.Contains(log, "INFO not daemonizing: a service manager waits for supervisord's READY=1")) {
		t.Errorf("main log:\n%s", log)
	}
}
