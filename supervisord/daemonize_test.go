package supervisord_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/internal/testenv"
)

// daemonFacts is what a daemonized supervisord looks like from outside.
type daemonFacts struct {
	launch   cliResult // the launching command's exit status and output
	pidfile  string    // pidfile content with the pid replaced by N
	cwd      string    // the daemon's working directory
	umask    string    // from /proc/<pid>/status
	leader   bool      // session leader (setsid)
	stdio    []string  // targets of fds 0, 1, 2
	rpcPID   bool      // getPID equals the pidfile's pid
	cleanup  []string  // files left after SIGTERM (pidfile, socket)
	logLines []string
}

// TestDaemonizeWithPidfile starts both daemons without -n: the launching
// command must exit 0 at once with no output, leaving a session leader in
// directory= with umask=, stdio on /dev/null, the pidfile holding its
// pid, and the main log telling the same story; SIGTERM must remove the
// pidfile and the socket.
func TestDaemonizeWithPidfile(t *testing.T) {
	testenv.RequireReference(t)
	t.Parallel()
	ours := filepath.Join(testenv.Binaries(t), "supervisord")
	facts := map[string]*daemonFacts{}
	var mu sync.Mutex
	t.Run("sides", func(t *testing.T) {
		for _, sd := range []struct{ name, bin string }{{"ours", ours}, {"ref", testenv.PythonSupervisord}} {
			t.Run(sd.name, func(t *testing.T) {
				t.Parallel()
				f := daemonize(t, sd.name, sd.bin)
				mu.Lock()
				facts[sd.name] = f
				mu.Unlock()
			})
		}
	})
	o, r := facts["ours"], facts["ref"]
	if o == nil || r == nil {
		t.Fatal("a side did not finish")
	}
	if fmt.Sprint(*o) != fmt.Sprint(*r) {
		t.Errorf("daemonized supervisord differs\nours: %+v\nref:  %+v", *o, *r)
	}
	if o.launch.code != 0 || !o.rpcPID || !o.leader || o.cwd != "DIR/wd" || o.umask != "0027" || len(o.cleanup) != 0 {
		t.Errorf("ours: %+v", *o)
	}
}

// daemonize runs one side of TestDaemonizeWithPidfile and reports what
// it saw, with the side's directory and pid normalised.
func daemonize(t *testing.T, name, bin string) *daemonFacts {
	s := newSide(t, name, bin, `[program:web]
command={{helper}} run
environment={{env}}
startsecs=1
`)
	if err := os.Mkdir(filepath.Join(s.dir, "wd"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf, _ := os.ReadFile(s.conf)
	conf = []byte(strings.Replace(string(conf), "[supervisord]\n",
		"[supervisord]\ndirectory="+s.dir+"/wd\numask=027\n", 1))
	if err := os.WriteFile(s.conf, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	f := &daemonFacts{}
	f.launch = runCLI(t, s.dir, bin, "-c", s.conf)
	pidfile := filepath.Join(s.dir, "supervisord.pid")
	var pid int
	testenv.Eventually(t, 10*time.Second, func() error {
		b, err := os.ReadFile(pidfile)
		if err != nil {
			return err
		}
		f.pidfile = string(b)
		pid, err = strconv.Atoi(strings.TrimSpace(f.pidfile))
		return err
	})
	t.Cleanup(func() {
		if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cmdline), "supervisord") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	f.pidfile = strings.Replace(f.pidfile, strconv.Itoa(pid), "N", 1)
	testenv.WaitUnixHTTP(t, s.sock, 10*time.Second)
	s.waitStates(t, 10*time.Second, map[string]string{"web:web": "RUNNING"})

	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil {
		f.cwd = strings.Replace(cwd, s.dir, "DIR", 1)
	}
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "Umask:"); ok {
				f.umask = strings.TrimSpace(v)
			}
		}
	}
	if sid, err := unix.Getsid(pid); err == nil {
		f.leader = sid == pid
	}
	for fd := 0; fd <= 2; fd++ {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
		f.stdio = append(f.stdio, target)
	}
	var rpcPID int
	if err := s.call(t, "supervisor.getPID", nil, &rpcPID); err != nil {
		t.Fatalf("%s: getPID: %v", name, err)
	}
	f.rpcPID = rpcPID == pid

	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if alive(pid) {
			return fmt.Errorf("%s: daemon %d still running after SIGTERM", name, pid)
		}
		return nil
	})
	for _, p := range []string{pidfile, s.sock} {
		if _, err := os.Stat(p); err == nil {
			f.cleanup = append(f.cleanup, strings.Replace(p, s.dir, "DIR", 1))
		}
	}
	f.logLines = slices.DeleteFunc(s.logLines(t, "supervisord.log"), func(l string) bool { return timingLine(l, "") })
	return f
}

// TestDaemonizedReloadWithRelativeConfig: started as `supervisord -c
// supervisord.conf` with directory= set, the daemon chdirs away; the
// reference then fails to re-read its relative config on SIGHUP and exits
// (Supervisor issue #602). Ours re-reads the file it was started with.
func TestDaemonizedReloadWithRelativeConfig(t *testing.T) {
	testenv.RequireReference(t)
	t.Parallel()
	ours := filepath.Join(testenv.Binaries(t), "supervisord")
	for _, sd := range []struct{ name, bin string }{{"ours", ours}, {"ref", testenv.PythonSupervisord}} {
		t.Run(sd.name, func(t *testing.T) {
			t.Parallel()
			s := newSide(t, sd.name, sd.bin, "[supervisord]\ndirectory=/\n")
			if got := runCLI(t, s.dir, s.bin, "-c", "supervisord.conf"); got.code != 0 {
				t.Fatalf("launch: %+v", got)
			}
			pidfile := filepath.Join(s.dir, "supervisord.pid")
			var pid int
			testenv.Eventually(t, 10*time.Second, func() error {
				b, err := os.ReadFile(pidfile)
				if err != nil {
					return err
				}
				pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
				return err
			})
			t.Cleanup(func() {
				if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cmdline), "supervisord") {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			testenv.WaitUnixHTTP(t, s.sock, 10*time.Second)
			if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			if sd.name == "ref" {
				testenv.Eventually(t, 20*time.Second, func() error {
					if alive(pid) {
						return fmt.Errorf("reference %d still running after SIGHUP", pid)
					}
					return nil
				})
				return
			}
			s.waitLog(t, 15*time.Second, "supervisord started with pid", 2)
			testenv.WaitUnixHTTP(t, s.sock, 10*time.Second)
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, 20*time.Second, func() error {
				if alive(pid) {
					return fmt.Errorf("daemon %d still running after SIGTERM", pid)
				}
				return nil
			})
		})
	}
}

// TestForkingUnitFindsPidfile starts supervisord as a Type=forking
// systemd unit with PIDFile= does (no -n) and reads the pidfile the
// moment the launching command exits, as systemd does: it must already
// hold the pid of the running daemon. The daemon half used to release
// its parent before writing the pidfile.
func TestForkingUnitFindsPidfile(t *testing.T) {
	t.Parallel()
	ours := filepath.Join(testenv.Binaries(t), "supervisord")
	for i := range 5 {
		s := newSide(t, fmt.Sprintf("forking%d", i), ours, "[program:web]\ncommand={{helper}} run\nenvironment={{env}}\n")
		launch := runCLI(t, s.dir, ours, "-c", s.conf)
		pidfile := filepath.Join(s.dir, "supervisord.pid")
		b, err := os.ReadFile(pidfile)
		pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || perr != nil {
			// Written late: find the daemon to kill it, then fail.
			testenv.Eventually(t, 10*time.Second, func() error {
				late, err := os.ReadFile(pidfile)
				if err == nil {
					pid, err = strconv.Atoi(strings.TrimSpace(string(late)))
				}
				return err
			})
		}
		t.Cleanup(func() {
			if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cmdline), "supervisord") {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		})
		if launch.code != 0 || err != nil || perr != nil {
			t.Fatalf("run %d: launch %+v; pidfile at its exit: %q, %v", i, launch, b, err)
		}
		if !alive(pid) {
			t.Fatalf("run %d: pidfile names %d, which is not running", i, pid)
		}
		testenv.WaitUnixHTTP(t, s.sock, 10*time.Second)
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 20*time.Second, func() error {
			if alive(pid) {
				return fmt.Errorf("daemon %d still running after SIGTERM", pid)
			}
			return nil
		})
	}
}
