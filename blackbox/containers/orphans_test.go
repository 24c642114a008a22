package containers

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// survivorPrograms are n programs that outlive a SIGKILLed daemon (each
// leads its own process group, so the kill of the daemon's group spares
// them).
func survivorPrograms(n int) string {
	var b strings.Builder
	for i := range n {
		name := fmt.Sprintf("p%02d", i)
		b.WriteString(program(name, "survivor", name+" {{here}}/events", "stopwaitsecs=5"))
	}
	return b.String()
}

// allRunning waits until every process is RUNNING and returns their pids.
func allRunning(t *testing.T, r *run, n int) map[string]int {
	t.Helper()
	pids := map[string]int{}
	testenv.Eventually(t, 60*time.Second, func() error {
		r.checkAlive(t)
		var infos []procInfo
		if err := r.call("supervisor.getAllProcessInfo", nil, &infos); err != nil {
			return err
		}
		if len(infos) != n {
			return fmt.Errorf("%d processes", len(infos))
		}
		for _, p := range infos {
			if p.StateName != "RUNNING" {
				return fmt.Errorf("%s is %s", p.Name, p.StateName)
			}
			pids[p.Name] = p.PID
		}
		return nil
	})
	return pids
}

func alive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != 'Z'
}

// instances counts the live helper processes per program name.
func instances(t *testing.T, names map[string]int) map[string]int {
	t.Helper()
	exe := mustExecutable(t)
	out := map[string]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || !alive(pid) {
			continue
		}
		if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); link != exe {
			continue
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(string(b), "\x00")
		if len(args) > 1 {
			if _, ok := names[args[1]]; ok {
				out[args[1]]++
			}
		}
	}
	return out
}

// crash runs a daemon with 20 programs and SIGKILLs it: its children
// survive. It returns the survivors' pids by program.
func crash(t *testing.T, r *run) map[string]int {
	t.Helper()
	r.start(t)
	old := allRunning(t, r, 20)
	// RUNNING (startsecs=0) is only spawned: each program must have its
	// SIGTERM handler, which it sets before its start line, or the stop
	// that comes later would kill it without its stop line.
	waitLines(t, r.path("events"), 20, 60*time.Second)
	r.daemon.Kill()
	if _, err := os.Stat(r.path("supervisord.pid.children")); err != nil {
		t.Fatalf("no state file beside the pidfile: %v", err)
	}
	for name, pid := range old {
		if !alive(pid) {
			t.Fatalf("%s (pid %d) died with the daemon", name, pid)
		}
	}
	return old
}

func TestOrphansStop(t *testing.T) {
	r := newRun(t, ours, "orphans=stop", survivorPrograms(20))
	old := crash(t, r)
	r.start(t)
	fresh := allRunning(t, r, 20)
	for name, pid := range old {
		if alive(pid) {
			t.Errorf("survivor %s (pid %d) still runs", name, pid)
		}
		if fresh[name] == pid {
			t.Errorf("%s: the new daemon adopted pid %d", name, pid)
		}
	}
	for name, n := range instances(t, old) {
		if n != 1 {
			t.Errorf("%s runs %d times", name, n)
		}
	}
	log := r.mainLog()
	// 20 starts, 20 stops, 20 starts: the new instances write theirs
	// once they run, which RUNNING (startsecs=0) does not wait for.
	events := waitLines(t, r.path("events"), 60, 60*time.Second)
	for name, pid := range old {
		if want := fmt.Sprintf("INFO orphan %s (pid %d) stopped", name, pid); !strings.Contains(log, want) {
			t.Errorf("main log lacks %q", want)
		}
		// The survivor stopped before the new instance started.
		var seq []string
		for _, e := range events {
			if strings.HasPrefix(e, name+"_") {
				seq = append(seq, e)
			}
		}
		if strings.Join(seq, " ") != name+"_start "+name+"_stop "+name+"_start" {
			t.Errorf("%s: %v", name, seq)
		}
	}
	// A clean shutdown leaves no state file behind.
	if err := r.daemon.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r.waitExit(t, 60*time.Second)
	if _, err := os.Stat(r.path("supervisord.pid.children")); !os.IsNotExist(err) {
		t.Errorf("state file after a clean shutdown: %v", err)
	}
}

func TestOrphansReport(t *testing.T) {
	r := newRun(t, ours, "", survivorPrograms(20)) // orphans=report is the default
	old := crash(t, r)
	r.start(t)
	allRunning(t, r, 20)
	log := r.mainLog()
	for name, pid := range old {
		if want := fmt.Sprintf("WARN orphan of a previous supervisord still running: %s (pid %d)", name, pid); !strings.Contains(log, want) {
			t.Errorf("main log lacks %q", want)
		}
		if !alive(pid) {
			t.Errorf("report stopped %s (pid %d)", name, pid)
		}
	}
}
