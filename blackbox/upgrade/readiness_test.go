package upgrade

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kolo/xmlrpc"

	"gosupervisor/internal/testenv"
)

// readinessPrograms: two sd_notify programs under a watchdog (one will
// stop its keep-alives) and one whose health check always fails.
const readinessPrograms = `
[program:ready]
command={{self}}
environment=GOSUP_UPGRADE_HELPER="notify",GOSUP_NOTIFY_NAME="ready"
notify=true
watchdog_secs=2

[program:starved]
command={{self}}
environment=GOSUP_UPGRADE_HELPER="notify",GOSUP_NOTIFY_NAME="starved"
notify=true
watchdog_secs=6
watchdog_signal=KILL
autorestart=false

[program:sick]
command=sleep 100000
startsecs=0
healthcheck_exec=/bin/false
healthcheck_interval_secs=1
healthcheck_timeout_secs=5
healthcheck_retries=2
healthcheck_action=none
`

// processHealth is gosupervisor.getProcessHealth's answer.
type processHealth struct {
	Ready    bool   `xmlrpc:"ready"`
	Health   string `xmlrpc:"health"`
	Failures int    `xmlrpc:"failures"`
	LastPing int64  `xmlrpc:"last_ping"`
	MainPID  int    `xmlrpc:"mainpid"`
	Status   string `xmlrpc:"status"`
}

func getHealth(t *testing.T, c *xmlrpc.Client, name string) processHealth {
	t.Helper()
	var h processHealth
	if err := c.Call("gosupervisor.getProcessHealth", name, &h); err != nil {
		t.Fatalf("getProcessHealth %s: %v", name, err)
	}
	return h
}

// TestUpgradeReadiness upgrades with sd_notify programs and a health
// check running. The READY program stays RUNNING with its pid and its
// keep-alives, sent to the same NOTIFY_SOCKET path as before, keep it
// alive for several watchdog limits after the upgrade; a program that
// stopped its keep-alives four seconds before the upgrade is killed by
// the watchdog on its original schedule (six seconds after its last
// keep-alive, not six after the upgrade); the failing health check
// keeps counting its failures. Nothing is left of the sockets after the
// shutdown.
func TestUpgradeReadiness(t *testing.T) {
	bins := binaries(t)
	d := start(t, bins.a, readinessPrograms)
	before := waitRunning(t, d)
	c := d.client(t)
	for _, name := range []string{"ready", "starved"} {
		testenv.Eventually(t, 20*time.Second, func() error {
			if h := getHealth(t, c, name); !h.Ready || h.LastPing == 0 {
				return fmt.Errorf("%s: %+v", name, h)
			}
			return nil
		})
	}
	// Written before READY=1.
	addr := strings.TrimSpace(readFile(t, filepath.Join(d.dir, "ready.addr")))
	if !strings.HasPrefix(addr, "/") {
		t.Fatalf("ready's NOTIFY_SOCKET is %q, want a path", addr)
	}
	pid := d.d.Cmd.Process.Pid
	if n := socketFDs(t, pid, addr); n != 1 {
		t.Fatalf("the daemon holds %d descriptors of ready's socket before the upgrade", n)
	}
	var failures int
	testenv.Eventually(t, 30*time.Second, func() error {
		h := getHealth(t, c, "sick")
		if failures = h.Failures; h.Health != "unhealthy" || failures < 3 {
			return fmt.Errorf("sick: %+v", h)
		}
		return nil
	})

	// starved stops its keep-alives; four seconds later, the upgrade.
	// The watchdog must fire 6 s to 7.5 s after the last keep-alive
	// (the socket may read it 250 ms late, and checks come on whole
	// seconds), not 6 s after the upgrade.
	if err := os.WriteFile(filepath.Join(d.dir, "stop-starved"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var lastPing time.Time
	testenv.Eventually(t, 10*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(d.dir, "starved.stopped"))
		if err != nil {
			return err
		}
		ns, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return err
		}
		lastPing = time.Unix(0, ns)
		return nil
	})
	time.Sleep(time.Until(lastPing.Add(4 * time.Second)))
	upgradedAt := time.Now()
	d.upgrade(t, c, bins.b, "build-b")
	t.Logf("upgraded %v after starved's last keep-alive, in %v", upgradedAt.Sub(lastPing).Round(time.Millisecond), time.Since(upgradedAt).Round(time.Millisecond))

	if h := getHealth(t, c, "sick"); h.Failures < failures || h.Health != "unhealthy" {
		t.Errorf("sick after the upgrade: %+v, had %d failures before", h, failures)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if h := getHealth(t, c, "sick"); h.Failures < failures+2 {
			return fmt.Errorf("sick: %d failures, %d before the upgrade", h.Failures, failures)
		}
		return nil
	})

	// The watchdog fires on the predecessor's schedule.
	const missed = "watchdog: starved missed its keep-alive (limit 6s), sending SIGKILL"
	fired := logTime(t, waitMainLog(t, d, missed), regexp.QuoteMeta(missed))
	if early, late := lastPing.Add(6*time.Second-100*time.Millisecond), lastPing.Add(9*time.Second); fired.Before(early) || fired.After(late) {
		t.Errorf("the watchdog fired %v after starved's last keep-alive, want 6s to 7.5s (upgraded after %v)",
			fired.Sub(lastPing).Round(time.Millisecond), upgradedAt.Sub(lastPing).Round(time.Millisecond))
	}

	// ready lives on: more than two limits since the upgrade, still the
	// same pid, RUNNING, READY, its keep-alives seen after the upgrade.
	time.Sleep(time.Until(upgradedAt.Add(5 * time.Second)))
	after := pids(t, c)
	for _, name := range []string{"ready:ready", "sick:sick"} {
		if after[name] != before[name] {
			t.Errorf("%s: pid %d, %d before the upgrade", name, after[name], before[name])
		}
	}
	h := getHealth(t, c, "ready")
	if !h.Ready || h.MainPID != before["ready:ready"] || time.Unix(h.LastPing, 0).Before(upgradedAt.Add(3*time.Second).Truncate(time.Second)) {
		t.Errorf("ready after the upgrade: %+v (upgraded at %v)", h, upgradedAt)
	}
	if st, err := os.Stat(addr); err != nil || st.Mode()&os.ModeSocket == 0 {
		t.Errorf("ready's socket %s: %v, %v", addr, st, err)
	}
	if n := socketFDs(t, pid, addr); n != 1 {
		t.Errorf("the daemon holds %d descriptors of ready's socket after the upgrade, want 1", n)
	}
	if main := readFile(t, filepath.Join(d.dir, "main.log")); strings.Contains(main, "watchdog: ready") {
		t.Errorf("ready's watchdog fired:\n%s", main)
	}

	// The shutdown removes the sockets (and their private directory).
	d.d.Stop(t, 20*time.Second)
	if _, err := os.Stat(filepath.Dir(addr)); err == nil {
		t.Errorf("the notification sockets' directory %s is still there", filepath.Dir(addr))
	}
}

// socketFDs counts pid's descriptors of the unix sockets bound at path
// (/proc/net/unix names each socket's inode and path).
func socketFDs(t *testing.T, pid int, path string) int {
	t.Helper()
	inodes := map[string]bool{}
	for _, line := range strings.Split(readFile(t, "/proc/net/unix"), "\n") {
		if f := strings.Fields(line); len(f) == 8 && f[7] == path {
			inodes["socket:["+f[6]+"]"] = true
		}
	}
	n := 0
	for _, fd := range fdList(t, pid) {
		if _, target, _ := strings.Cut(fd, "="); inodes[target] {
			n++
		}
	}
	return n
}

// waitMainLog waits for a main log line holding text and returns the
// log.
func waitMainLog(t *testing.T, d *daemon, text string) string {
	t.Helper()
	var log string
	testenv.Eventually(t, 20*time.Second, func() error {
		if log = readFile(t, filepath.Join(d.dir, "main.log")); !strings.Contains(log, text) {
			return fmt.Errorf("no main log line with %q", text)
		}
		return nil
	})
	return log
}
