package notify

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

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
	m := testenv.ListenServiceManager(t, addr)
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

	ready := m.WaitFor(t, 0, "READY=1", 30*time.Second)
	got := m.Received()
	if !strings.HasPrefix(got[0].Text, "WATCHDOG=1") && !strings.HasPrefix(got[0].Text, "EXTEND_TIMEOUT_USEC=") {
		t.Errorf("first datagram %q", got[0].Text)
	}
	if got[ready].Text != "READY=1\nSTATUS=RUNNING 1" {
		t.Errorf("ready datagram %q, want READY=1 with the program RUNNING", got[ready].Text)
	}
	if i := d.info("app"); i.State != "RUNNING" {
		t.Errorf("READY=1 sent while app is %s", i.State)
	}
	// Keep-alives at half of WATCHDOG_USEC.
	m.WaitFor(t, ready+1, "WATCHDOG=1", 10*time.Second)
	pings := func() []time.Time {
		var at []time.Time
		for _, dg := range m.Received() {
			if dg.Text == "WATCHDOG=1" {
				at = append(at, dg.At)
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
	n := len(m.Received())
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	reloading := m.WaitFor(t, n, "RELOADING=1", 20*time.Second)
	if !strings.HasPrefix(m.Received()[reloading].Text, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Errorf("reload datagram %q", m.Received()[reloading].Text)
	}
	m.WaitFor(t, reloading+1, "READY=1", 30*time.Second)

	// SIGTERM: STOPPING=1.
	n = len(m.Received())
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	m.WaitFor(t, n, "STOPPING=1", 20*time.Second)
	select {
	case <-d.d.Exited:
	case <-time.After(30 * time.Second):
		t.Fatal("supervisord did not exit after SIGTERM")
	}
	for _, dg := range m.Received() {
		if dg.PID != pid {
			t.Errorf("datagram %q from pid %d, want supervisord's %d", dg.Text, dg.PID, pid)
		}
	}
	if log := d.mainLog(); strings.Contains(log, "daemonizing the supervisord process") ||
		(args == nil && !strings.Contains(log, "INFO not daemonizing: a service manager waits for supervisord's READY=1")) {
		t.Errorf("main log:\n%s", log)
	}
}
