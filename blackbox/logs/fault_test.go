package logs

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/internal/testenv"
)

// tickerProgram runs the ticker helper as program tick, writing a line of
// size bytes every interval ms, with the given log keys.
func tickerProgram(intervalMS, size int, logKeys string) string {
	return program("tick", "ticker", fmt.Sprintf("%d %d {{here}}/count", intervalMS, size), logKeys)
}

// tickCount is how many lines the ticker child has written so far.
func (s *side) tickCount(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(s.path("count"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(string(b))
	return n
}

// waitTicks waits until the ticker child has written more than n lines.
func (s *side) waitTicks(t *testing.T, n int) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		s.checkAlive(t)
		if got := s.tickCount(t); got <= n {
			return fmt.Errorf("%s: the child wrote %d lines, waiting for more than %d", s.impl.name, got, n)
		}
		return nil
	})
}

// lastTick is the highest "tick N" number in the file, -1 if none.
func lastTick(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	last := -1
	for _, m := range tickLine.FindAllSubmatch(b, -1) {
		if n, _ := strconv.Atoi(string(m[1])); n > last {
			last = n
		}
	}
	return last
}

var tickLine = regexp.MustCompile(`(?m)^tick (\d+) `)

// waitLogged waits until path holds a tick line numbered above n.
func (s *side) waitLogged(t *testing.T, path string, n int) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		s.checkAlive(t)
		if got := lastTick(path); got <= n {
			return fmt.Errorf("%s: last tick in %s is %d, waiting for one above %d", s.impl.name, path, got, n)
		}
		return nil
	})
}

// errorRecords are the main log's ERRO records.
func (s *side) errorRecords(t *testing.T) []string {
	t.Helper()
	var errs []string
	for _, r := range s.readMainLog(t) {
		if r.Level == "ERRO" {
			errs = append(errs, r.Msg)
		}
	}
	return errs
}

// checkStillRunning checks the daemon answers and the child kept its pid.
func (s *side) checkStillRunning(t *testing.T, pid int) {
	t.Helper()
	s.checkAlive(t)
	var info procInfo
	if err := s.call("supervisor.getProcessInfo", "tick", &info); err != nil {
		t.Fatal(err)
	}
	if info.StateName != "RUNNING" || info.PID != pid {
		t.Errorf("%s: tick is %s with pid %d, want RUNNING with pid %d", s.impl.name, info.StateName, info.PID, pid)
	}
}

// checkErrors checks the main log's ERRO records match want one to one:
// as many records as entries, each record containing its entry's text.
func (s *side) checkErrors(t *testing.T, want ...string) {
	t.Helper()
	got := s.errorRecords(t)
	unmatched := slices.Clone(got)
	for _, w := range want {
		i := slices.IndexFunc(unmatched, func(g string) bool { return strings.Contains(g, w) })
		if i < 0 {
			t.Errorf("%s: no ERRO record for %q in the main log, want one each for %q:\n%s", s.impl.name, w, want, strings.Join(got, "\n"))
			return
		}
		unmatched = slices.Delete(unmatched, i, i+1)
	}
	if len(unmatched) > 0 {
		t.Errorf("%s: unexpected ERRO records in the main log (want one each for %q):\n%s", s.impl.name, want, strings.Join(unmatched, "\n"))
	}
}

// startTicker starts a side of ours running the ticker and returns the
// child's pid once its output reaches path.
func startTicker(t *testing.T, programs string, prepare func(s *side), path string) (*side, int) {
	t.Helper()
	s := newSide(t, ours, "loglevel=info", programs)
	prepare(s)
	s.start(t)
	var info procInfo
	if err := s.call("supervisor.getProcessInfo", "tick", &info); err != nil {
		t.Fatal(err)
	}
	s.waitLogged(t, s.path(path), 0)
	return s, info.PID
}

// TestLogFaultsOurs breaks the log files of a running child in ways the
// reference handles badly (it drops every later chunk with a traceback):
// our daemon must keep running, log each problem once, never block the
// child, and write later output once the file is usable again.
func TestLogFaultsOurs(t *testing.T) {
	t.Parallel()
	t.Run("directory removed", func(t *testing.T) {
		t.Parallel()
		s, pid := startTicker(t, tickerProgram(20, 40, "stdout_logfile={{here}}/logs/sub/tick.out\nstderr_logfile={{here}}/logs/sub/tick.err"),
			func(s *side) { mustMkdir(t, s.path("logs", "sub")) }, "logs/sub/tick.out")
		removedAt := s.tickCount(t)
		if err := os.RemoveAll(s.path("logs", "sub")); err != nil {
			t.Fatal(err)
		}
		s.waitLogged(t, s.path("logs", "sub", "tick.out"), removedAt)
		s.waitTicks(t, s.tickCount(t)+50) // would repeat a per-chunk error
		s.checkStillRunning(t, pid)
		// One record per file; the first writer to reopen finds the
		// directory gone.
		s.checkErrors(t, s.path("logs", "sub"), s.path("logs", "sub"))
		if !slices.ContainsFunc(s.errorRecords(t), func(r string) bool { return strings.Contains(r, "vanished") }) {
			t.Errorf("no record says the directory vanished: %q", s.errorRecords(t))
		}
		if b, err := os.ReadFile(s.path("logs", "sub", "tick.err")); err != nil || !strings.Contains(string(b), "etick") {
			t.Errorf("stderr log not recreated with later output: %q, %v", b, err)
		}
	})
	// The reference dies of a FileNotFoundError traceback here.
	t.Run("directory removed then SIGUSR2", func(t *testing.T) {
		t.Parallel()
		s, pid := startTicker(t, tickerProgram(20, 40, "stdout_logfile={{here}}/logs/sub/tick.out\nstderr_logfile=NONE"),
			func(s *side) { mustMkdir(t, s.path("logs", "sub")) }, "logs/sub/tick.out")
		removedAt := s.tickCount(t)
		if err := os.RemoveAll(s.path("logs", "sub")); err != nil {
			t.Fatal(err)
		}
		s.signal(t, syscall.SIGUSR2)
		s.waitLogged(t, s.path("logs", "sub", "tick.out"), removedAt)
		s.waitTicks(t, s.tickCount(t)+20)
		s.checkStillRunning(t, pid)
		s.checkErrors(t, s.path("logs", "sub"))
	})
	t.Run("file replaced by a directory", func(t *testing.T) {
		t.Parallel()
		s, pid := startTicker(t, tickerProgram(20, 40, "stdout_logfile={{here}}/logs/tick.out\nstderr_logfile=NONE"),
			func(*side) {}, "logs/tick.out")
		out := s.path("logs", "tick.out")
		if err := os.Remove(out); err != nil {
			t.Fatal(err)
		}
		mustMkdir(t, out)
		testenv.Eventually(t, 20*time.Second, func() error {
			if len(s.errorRecords(t)) == 0 {
				return fmt.Errorf("no error logged yet for %s", out)
			}
			return nil
		})
		s.waitTicks(t, s.tickCount(t)+100) // the child is not blocked
		s.checkStillRunning(t, pid)
		s.checkErrors(t, out)
		if err := os.Remove(out); err != nil {
			t.Fatal(err)
		}
		s.waitLogged(t, out, s.tickCount(t))
		s.checkStillRunning(t, pid)
		s.checkErrors(t, out)
	})
	t.Run("disk full", func(t *testing.T) {
		t.Parallel()
		s, pid := startTicker(t, tickerProgram(2, 1000, "stdout_logfile={{here}}/full/tick.out\nstderr_logfile=NONE"),
			func(s *side) { mountTinyTmpfs(t, s.path("full")) }, "full/tick.out")
		// 64 KB hold about 65 lines: the child writes many times that.
		s.waitTicks(t, 200)
		testenv.Eventually(t, 20*time.Second, func() error {
			if len(s.errorRecords(t)) == 0 {
				return fmt.Errorf("no error logged for the full disk")
			}
			return nil
		})
		s.waitTicks(t, s.tickCount(t)+200) // the child is not blocked
		s.checkStillRunning(t, pid)
		s.checkErrors(t, "no space left on device")
		out := s.path("full", "tick.out")
		if err := os.Truncate(out, 0); err != nil {
			t.Fatal(err)
		}
		s.waitLogged(t, out, s.tickCount(t))
		s.checkStillRunning(t, pid)
	})
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// mountTinyTmpfs mounts a 64 KiB tmpfs on a new directory dir, unmounted
// at cleanup (after the daemon, registered later, is gone).
func mountTinyTmpfs(t *testing.T, dir string) {
	t.Helper()
	mustMkdir(t, dir)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount a 64k tmpfs on %s (needs root, euid %d): %v", dir, os.Geteuid(), err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}
