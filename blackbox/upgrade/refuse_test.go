package upgrade

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kolo/xmlrpc"

	"gosupervisor/internal/testenv"
)

const threePrograms = `
[program:quiet]
command=sleep 100000
process_name=%(program_name)s_%(process_num)d
numprocs=3
startsecs=0
`

// waitRunning waits until every process runs and returns their pids.
func waitRunning(t *testing.T, d *daemon) map[string]int {
	t.Helper()
	c := d.client(t)
	var out map[string]int
	testenv.Eventually(t, 20*time.Second, func() error {
		out = pids(t, c)
		for name, p := range out {
			if p == 0 {
				return fmt.Errorf("%s not running", name)
			}
		}
		return nil
	})
	return out
}

func samePIDs(t *testing.T, before, after map[string]int) {
	t.Helper()
	if len(after) != len(before) {
		t.Fatalf("processes %v, before %v", after, before)
	}
	for name, p := range before {
		if after[name] != p {
			t.Errorf("%s: pid %d, %d before", name, after[name], p)
		}
	}
}

// TestUpgradeRefused: a binary that is missing, not executable, exits at
// once, or refuses the state version changes nothing, and the fault says
// why; the configuration can change again afterwards.
func TestUpgradeRefused(t *testing.T) {
	bins := binaries(t)
	d := start(t, bins.a, threePrograms)
	before := waitRunning(t, d)
	c := d.client(t)
	noexec := filepath.Join(d.dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	quitter := filepath.Join(d.dir, "quitter")
	if err := os.WriteFile(quitter, []byte("#!/bin/sh\necho I am not supervisord >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(d.dir, "missing"), "no such file or directory"},
		{noexec, "not executable"},
		{d.dir, "not a regular file"},
		{"/bin/true", "its check ended with exit status 0 and said nothing"},
		{quitter, `its check ended with exit status 3: "I am not supervisord"`},
		{bins.old, "state version 1 is not supported (this binary reads versions 99 to 99)"},
	} {
		var res map[string]any
		err := c.Call("gosupervisor.upgrade", tc.path, &res)
		if err == nil || !strings.Contains(err.Error(), "FAILED: upgrade: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("upgrade to %s: %v, want a FAILED fault naming %q", tc.path, err, tc.want)
		}
	}
	samePIDs(t, before, pids(t, c))
	if info := upgradeInfo(t, c); info["serial"].(int64) != 0 {
		t.Errorf("upgrade info after refusals: %v", info)
	}
	if got := d.d.Cmd.Process.Pid; fdExe(t, got) != bins.a {
		t.Errorf("the daemon runs %s", fdExe(t, got))
	}
	// The configuration is no longer frozen.
	var res any
	if err := c.Call("supervisor.reloadConfig", nil, &res); err != nil {
		t.Errorf("reloadConfig after the refusals: %v", err)
	}
	main := readFile(t, filepath.Join(d.dir, "main.log"))
	if !strings.Contains(main, "ERRO upgrade to "+bins.old+" refused: state refused: state version 1 is not supported") {
		t.Errorf("main log lacks the refusal:\n%s", main)
	}
}

func fdExe(t *testing.T, pid int) string {
	t.Helper()
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// TestUpgradeDaemonized upgrades a daemonized supervisord: first with
// supervisord --upgrade after a new build replaced the binary at the
// daemon's path (as a package upgrade does), then with supervisorctl's
// upgrade to another path. The pid and the pidfile stay the same, the
// programs keep their pids, no descriptor is added, and the shutdown
// still removes the pidfile.
func TestUpgradeDaemonized(t *testing.T) {
	bins := binaries(t)
	dir := t.TempDir()
	installed := filepath.Join(dir, "supervisord")
	copyFile(t, bins.a, installed)
	d := start(t, installed, threePrograms, "-e", "info")
	pidfile := filepath.Join(d.dir, "supervisord.pid")
	pid, ino := readPid(t, pidfile)
	before := waitRunning(t, d)
	fds := d.settledFDs(t, pid)

	// A new build lands at the same path; the daemon upgrades to it.
	copyFile(t, bins.b, installed+".new")
	if err := os.Rename(installed+".new", installed); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(installed, "--upgrade", "-c", d.conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Upgraded: supervisord now runs gosupervisor 4.2.5 build-b") {
		t.Fatalf("supervisord --upgrade: %v\n%s", err, out)
	}
	check := func(label string) {
		t.Helper()
		if p, i := readPid(t, pidfile); p != pid || i != ino {
			t.Errorf("%s: pidfile says %d (inode %d), was %d (inode %d)", label, p, i, pid, ino)
		}
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("%s: daemon pid %d: %v", label, pid, err)
		}
		samePIDs(t, before, pids(t, d.client(t)))
		d.fdsAtMost(t, pid, fds, label)
	}
	check("supervisord --upgrade")

	out, err = exec.Command(bins.ctl, "-c", d.conf, "upgrade", bins.a).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Upgrading supervisord from gosupervisor 4.2.5 build-b") ||
		!strings.Contains(string(out), "Upgraded: supervisord now runs gosupervisor 4.2.5 build-a") {
		t.Fatalf("supervisorctl upgrade: %v\n%s", err, out)
	}
	check("supervisorctl upgrade")
	if exe := fdExe(t, pid); exe != bins.a {
		t.Errorf("the daemon runs %s, want %s", exe, bins.a)
	}
	out, err = exec.Command(bins.ctl, "-c", d.conf, "upgrade", "/bin/true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ERROR: FAILED: upgrade: /bin/true: it is not a gosupervisor that can take over") {
		t.Errorf("supervisorctl upgrade /bin/true: %v\n%s", err, out)
	}

	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if _, err := os.Stat(pidfile); err == nil {
			return fmt.Errorf("pidfile still there")
		}
		return nil
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// readPid reads a pidfile and its identity.
func readPid(t *testing.T, path string) (int, uint64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return pid, st.Ino
}

// TestUpgradePID1 upgrades a supervisord running as PID 1 of its own pid
// namespace (unshare --pid), as in a container: it stays PID 1 and its
// programs keep their pids.
func TestUpgradePID1(t *testing.T) {
	bins := binaries(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatalf("unshare is needed (util-linux): %v", err)
	}
	d := startWith(t, unshare, threePrograms, "--pid", "--fork", "--mount-proc", bins.a, "-n")
	before := waitRunning(t, d)
	c := d.client(t)
	for i, b := range []struct{ bin, label string }{{bins.b, "build-b"}, {bins.a, "build-a"}} {
		d.upgrade(t, c, b.bin, b.label)
		var pid int
		if err := c.Call("supervisor.getPID", nil, &pid); err != nil || pid != 1 {
			t.Fatalf("upgrade %d: getPID %d, %v; want 1", i, pid, err)
		}
		samePIDs(t, before, pids(t, c))
	}
}

// TestUpgradeExecFails: a binary that passes the check but is gone when
// the exec comes (a script that removes itself during the check). The
// old binary resumes from its own state in-process: same pid, programs
// untouched, no descriptor added, the failure reported, and the next
// upgrade works.
func TestUpgradeExecFails(t *testing.T) {
	bins := binaries(t)
	d := start(t, bins.a, threePrograms)
	before := waitRunning(t, d)
	c := d.client(t)
	pid := d.d.Cmd.Process.Pid
	fds := d.settledFDs(t, pid)
	vanishing := filepath.Join(d.dir, "vanishing")
	script := fmt.Sprintf("#!/bin/sh\nif [ -n \"$GOSUPERVISOR_UPGRADE_CHECK\" ]; then rm -f \"$0\"; exec %s; fi\nexec %s \"$@\"\n", bins.b, bins.b)
	if err := os.WriteFile(vanishing, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := c.Call("gosupervisor.upgrade", vanishing, &res); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		info := map[string]any{}
		if err := c.Call("gosupervisor.getUpgradeInfo", nil, &info); err != nil {
			return err
		}
		if info["serial"].(int64) != 1 {
			return fmt.Errorf("upgrade info %v", info)
		}
		if e, _ := info["last_error"].(string); !strings.Contains(e, "exec: no such file or directory") {
			t.Fatalf("upgrade info %v, want the exec's failure", info)
		}
		if b := fmt.Sprint(info["build"]); !strings.Contains(b, "build-a") {
			t.Fatalf("running %s after a failed exec", b)
		}
		return nil
	})
	samePIDs(t, before, pids(t, c))
	if exe := fdExe(t, pid); exe != bins.a {
		t.Errorf("the daemon runs %s", exe)
	}
	d.fdsAtMost(t, pid, fds, "after the failed exec")
	if main := readFile(t, filepath.Join(d.dir, "main.log")); !strings.Contains(main, "CRIT upgrade to "+vanishing+" failed: exec: no such file or directory; this supervisord runs on") {
		t.Errorf("main log lacks the failure:\n%s", main)
	}
	d.upgrade(t, c, bins.b, "build-b")
	samePIDs(t, before, pids(t, c))
}

// TestUpgradeWaitingCall: a call that waits for a process (startProcess
// with wait) when an upgrade comes gets its answer or a clear fault, and
// the start goes on under the new binary.
func TestUpgradeWaitingCall(t *testing.T) {
	bins := binaries(t)
	d := start(t, bins.a, threePrograms+`
[program:slow]
command=sleep 100000
startsecs=3
autostart=false
`)
	c := d.client(t)
	testenv.Eventually(t, 20*time.Second, func() error {
		if p := pids(t, c)["quiet:quiet_2"]; p == 0 {
			return fmt.Errorf("quiet_2 not running")
		}
		return nil
	})
	answer := make(chan error, 1)
	go func() {
		cl, err := xmlrpc.NewClient("http://localhost/RPC2", testenv.UnixClient(d.sock).Transport)
		if err != nil {
			answer <- err
			return
		}
		defer cl.Close()
		var ok bool
		answer <- cl.Call("supervisor.startProcess", []any{"slow", true}, &ok)
	}()
	testenv.Eventually(t, 10*time.Second, func() error {
		var info map[string]any
		if err := c.Call("supervisor.getProcessInfo", "slow", &info); err != nil {
			return err
		}
		if info["statename"] != "STARTING" {
			return fmt.Errorf("slow is %v", info["statename"])
		}
		return nil
	})
	d.upgrade(t, c, bins.b, "build-b")
	select {
	case err := <-answer:
		if err != nil && !strings.Contains(err.Error(), "FAILED: the wait was cut short; the operation goes on") {
			t.Errorf("the waiting call got %v, want its answer or the upgrade's fault", err)
		}
		t.Logf("the waiting call got %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the waiting call got no answer")
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		var info map[string]any
		if err := c.Call("supervisor.getProcessInfo", "slow", &info); err != nil {
			return err
		}
		if info["statename"] != "RUNNING" {
			return fmt.Errorf("slow is %v", info["statename"])
		}
		return nil
	})
}

// TestUpgradeResumeCannotTakeOver: a build that passes the check but
// cannot read one process's record when it resumes (a test build that
// stands for one with a bug) takes over the rest, logs the one it could
// not take at CRIT, and never signals it: it runs on, unsupervised, and
// is reaped when it exits; the program can then be started again.
func TestUpgradeResumeCannotTakeOver(t *testing.T) {
	bins := binaries(t)
	d := start(t, bins.a, threePrograms)
	before := waitRunning(t, d)
	c := d.client(t)
	d.upgrade(t, c, bins.spoiled, "build-spoiled")
	after := pids(t, c)
	stray := before["quiet:quiet_1"]
	for _, name := range []string{"quiet:quiet_0", "quiet:quiet_2"} {
		if after[name] != before[name] {
			t.Errorf("%s: pid %d, %d before", name, after[name], before[name])
		}
	}
	if after["quiet:quiet_1"] != 0 {
		t.Errorf("quiet_1 has pid %d after a resume that could not read its record", after["quiet:quiet_1"])
	}
	main := readFile(t, filepath.Join(d.dir, "main.log"))
	for _, want := range []string{
		fmt.Sprintf(`CRIT upgrade: quiet:quiet_1 (pid %d) could not be taken over (unknown state "SPOILED_BY_TEST_BUILD"): it runs on unsupervised, never signalled`, stray),
		"CRIT upgrade: 1 things could not be taken over (see above)",
	} {
		if !strings.Contains(main, want) {
			t.Errorf("main log lacks %q:\n%s", want, main)
		}
	}
	// Alive and running (not a zombie) a while later.
	time.Sleep(time.Second)
	if st := procState(t, stray); st == "" || st == "Z" {
		t.Fatalf("the stray pid %d is in state %q", stray, st)
	}
	// Its end is reaped and logged.
	if err := syscall.Kill(stray, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitMainLog(t, d, fmt.Sprintf("WARN unsupervised quiet:quiet_1 (pid %d) exited (terminated by SIGTERM)", stray))
	testenv.Eventually(t, 10*time.Second, func() error {
		if st := procState(t, stray); st != "" {
			return fmt.Errorf("pid %d is still there, state %s", stray, st)
		}
		return nil
	})
	var ok bool
	if err := c.Call("supervisor.startProcess", []any{"quiet:quiet_1", true}, &ok); err != nil {
		t.Fatalf("startProcess quiet_1: %v", err)
	}
}

// procState is pid's state letter from /proc ("" when it is gone).
func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	return s[i+2 : i+3]
}
