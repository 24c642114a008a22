package containers

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// startPID1 runs the run's daemon as PID 1 of a new pid namespace (with
// its own /proc), as a container runtime would, and returns the
// daemon's pid as this (the host's) namespace sees it.
func startPID1(t *testing.T, r *run) int {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (unshare --pid)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatalf("unshare (util-linux) is missing: %v", err)
	}
	r.daemon = testenv.Start(t, r.dir, unshare, "--pid", "--fork", "--mount-proc", r.impl.bin(t), "-n", "-c", r.conf)
	t.Cleanup(func() {
		r.daemon.Kill()
		testenv.KillHelpers(r.dir)
	})
	var pid int
	testenv.Eventually(t, 20*time.Second, func() error {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", r.daemon.Cmd.Process.Pid, r.daemon.Cmd.Process.Pid))
		if err != nil {
			return err
		}
		if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return fmt.Errorf("children of unshare: %q", b)
		}
		return nil
	})
	if ns := nsPID(t, pid); ns != 1 {
		t.Fatalf("supervisord is pid %d in its namespace, want 1", ns)
	}
	return pid
}

// nsPID is pid's pid in its innermost namespace (the last NSpid field).
func nsPID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "NSpid:" {
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	t.Fatalf("no NSpid in /proc/%d/status", pid)
	return 0
}

// procStat is the state and parent of pid (ok false once it is gone).
func procStat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	ppid, _ = strconv.Atoi(f[1])
	return f[0][0], ppid, true
}

// findByArg is the pid of the process whose command line has arg.
func findByArg(t *testing.T, arg string) int {
	t.Helper()
	var found int
	testenv.Eventually(t, 20*time.Second, func() error {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			for _, a := range strings.Split(string(b), "\x00") {
				if a == arg {
					found = pid
					return nil
				}
			}
		}
		return fmt.Errorf("no process with argument %q", arg)
	})
	return found
}

// checkOrphanReaped follows the sleeper with marker: it must be a child
// of reaper while it lives, and must not stay a zombie once it has exited.
func checkOrphanReaped(t *testing.T, marker string, reaper int) {
	t.Helper()
	sleeper := findByArg(t, marker+"-sleeper")
	// It is orphaned once its parent, which exits at once, is gone.
	testenv.Eventually(t, 20*time.Second, func() error {
		if _, ppid, ok := procStat(sleeper); !ok || ppid != reaper {
			return fmt.Errorf("the orphan %d has parent %d (alive %v), want supervisord %d", sleeper, ppid, ok, reaper)
		}
		return nil
	})
	testenv.Eventually(t, 20*time.Second, func() error {
		if state, _, ok := procStat(sleeper); ok {
			return fmt.Errorf("orphan %d still there, state %c", sleeper, state)
		}
		return nil
	})
}

// noZombies fails if a child of pid is a zombie for more than a moment.
func noZombies(t *testing.T, pid int) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			p, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if state, ppid, ok := procStat(p); ok && ppid == pid && state == 'Z' {
				return fmt.Errorf("zombie %d, child of %d", p, pid)
			}
		}
		return nil
	})
}

// TestPID1 runs supervisord as PID 1 of a pid namespace: an orphaned
// grandchild comes to it and is reaped by its one wait4 loop (at debug
// level in the log), a stray SIGUSR1 to pid 1 is ignored, logs go to
// /dev/stdout whatever their maxbytes, and SIGTERM shuts down in order
// with status 0.
func TestPID1(t *testing.T) {
	marker := fmt.Sprintf("orphan-%d", time.Now().UnixNano())
	r := newRun(t, ours, "", "")
	// The sleeper lives 15 s: past the wait for every program to run (db
	// takes 3 s), and it must be seen alive, then gone.
	r.writeConfig(t, "logfile=/dev/stdout\nlogfile_maxbytes=1KB\n", program("orphaner", "orphan", marker+" 15", "")+
		program("talker", "bytes", "5000", "stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=1KB\nredirect_stderr=true")+
		program("usr1", "signal1", strconv.Itoa(int(syscall.SIGUSR1)), "")+
		// db's start line comes within its startsecs, before api spawns.
		strings.Replace(program("db", "life", "db {{here}}/events", ""), "startsecs=0", "startsecs=3", 1)+
		program("api", "life", "api {{here}}/events 1", "depends_on=db"))
	pid := startPID1(t, r)
	testenv.Eventually(t, 30*time.Second, func() error {
		var infos []procInfo
		if err := r.call("supervisor.getAllProcessInfo", nil, &infos); err != nil {
			return err
		}
		for _, p := range infos {
			if p.StateName != "RUNNING" {
				return fmt.Errorf("%s is %s", p.Name, p.StateName)
			}
		}
		return nil
	})
	checkOrphanReaped(t, marker, pid)
	noZombies(t, pid)
	testenv.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(r.daemon.Stdout.String(), "DEBG reaped unknown pid ") {
			return fmt.Errorf("no debug line for the orphan in:\n%s", r.daemon.Stdout.String())
		}
		return nil
	})
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := strings.Count(r.daemon.Stdout.String(), "x"); n < 5000 {
			return fmt.Errorf("%d of the talker's 5000 bytes on stdout", n)
		}
		return nil
	})
	waitLines(t, r.path("events"), 2, 30*time.Second) // both have their SIGTERM handlers
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.waitExit(t, 30*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	out := r.daemon.Stdout.String() + r.daemon.Stderr.String()
	if strings.Contains(out, "Illegal seek") || strings.Contains(strings.ToLower(out), "seek") {
		t.Errorf("seek errors in the output:\n%s", out)
	}
	if got := lines(t, r.path("events")); strings.Join(got, " ") != "db_start api_start api_stop db_stop" {
		t.Errorf("events %v", got)
	}
	if !strings.Contains(out, "received SIGTERM indicating exit request") {
		t.Errorf("no SIGTERM line:\n%s", out)
	}
}

// TestPID1ExitStatus: the namespace's (the container's) exit status is
// what the exit policies decide.
func TestPID1ExitStatus(t *testing.T) {
	tests := []struct {
		name, supervisord, programs string
		want                        int
	}{
		// bad exits 300 ms after its start, which a loaded machine may
		// stretch past a second (the helper is a -race test binary):
		// startsecs=30 keeps that exit a failed start (BACKOFF, then
		// FATAL), never an EXITED that would not end the container.
		{"exit_on_fatal", "",
			program("bad", "exit", "1", "startsecs=30\nstartretries=0\nexit_on_fatal=true") + program("db", "life", "db {{here}}/events", ""), 1},
		{"exit_on_end 3", "",
			program("job", "exit", "3", "exit_on_end=true") + program("db", "life", "db {{here}}/events", ""), 3},
		{"exit_on_end SIGTERM", "",
			program("job", "killself", strconv.Itoa(int(syscall.SIGTERM)), "exit_on_end=unexpected") + program("db", "life", "db {{here}}/events", ""), 143},
		{"exit_when_all_ended", "exit_when_all_ended=true",
			program("a", "exit", "0", "") + program("b", "oneshot", "b {{here}}/events 0", ""), 0},
		{"exit_when_all_ended unexpected", "exit_when_all_ended=true",
			program("a", "exit", "0", "") + program("b", "oneshot", "b {{here}}/events 5", ""), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun(t, ours, tt.supervisord, tt.programs)
			startPID1(t, r)
			if code := r.waitExit(t, 60*time.Second); code != tt.want {
				t.Errorf("unshare exited %d, want %d; main log:\n%s", code, tt.want, r.mainLog())
			}
			// Whatever else ran was stopped in order first.
			if got := lines(t, r.path("events")); len(got) > 0 && got[0] == "db_start" && (len(got) != 2 || got[1] != "db_stop") {
				t.Errorf("events %v, want db stopped before the exit", got)
			}
		})
	}
}

// TestPID1Abort documents what a SIGABRT sent to pid 1 does: Go's
// runtime handles every catchable signal, so it reaches supervisord (a
// PID 1 without a handler would never see it) and crashes it with a
// goroutine dump and status 2.
func TestPID1Abort(t *testing.T) {
	r := newRun(t, ours, "", program("db", "life", "db {{here}}/events", ""))
	pid := startPID1(t, r)
	r.waitState(t, "db", "RUNNING", 20*time.Second)
	if err := syscall.Kill(pid, syscall.SIGABRT); err != nil {
		t.Fatal(err)
	}
	if code := r.waitExit(t, 30*time.Second); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	if !strings.Contains(r.daemon.Stderr.String(), "SIGABRT: abort") {
		t.Errorf("stderr:\n%s", r.daemon.Stderr.String())
	}
}

// TestSubreaper: outside a pid namespace, subreaper=true makes orphaned
// grandchildren supervisord's; without it they go elsewhere.
func TestSubreaper(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("subreaper=%v", on), func(t *testing.T) {
			marker := fmt.Sprintf("orphan-%d", time.Now().UnixNano())
			r := newRun(t, ours, fmt.Sprintf("subreaper=%v", on), program("orphaner", "orphan", marker+" 10", ""))
			r.start(t)
			pid := r.daemon.Cmd.Process.Pid
			if !on {
				sleeper := findByArg(t, marker+"-sleeper")
				if _, ppid, _ := procStat(sleeper); ppid == pid {
					t.Errorf("without subreaper the orphan's parent is supervisord")
				}
				return
			}
			checkOrphanReaped(t, marker, pid)
			noZombies(t, pid)
			waitLog(t, r, "DEBG reaped unknown pid ")
		})
	}
}
