package notify

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kolo/xmlrpc"
	"golang.org/x/sys/unix"

	"gosupervisor/internal/testenv"
)

// helperEnv names the child's mode: the test binary doubles as the
// programs that need no Python.
const helperEnv = "GOSUP_NOTIFY_HELPER"

func TestMain(m *testing.M) { testenv.HelperMain(m, helperEnv, runHelper) }

// runHelper is a supervised child. Modes:
//
//	idle        wait to be killed
//	env FILE    write NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID
//	            (or <unset>) to FILE, then wait to be killed
func runHelper(mode string, args []string) int {
	// Die with the daemon, whatever way it ends.
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
	switch mode {
	case "idle":
		for {
			time.Sleep(time.Hour)
		}
	case "env":
		var b strings.Builder
		for _, k := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
			v, ok := os.LookupEnv(k)
			if !ok {
				v = "<unset>"
			}
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
		if err := os.WriteFile(args[0]+".tmp", []byte(b.String()), 0o644); err != nil {
			return 3
		}
		if err := os.Rename(args[0]+".tmp", args[0]); err != nil {
			return 3
		}
		for {
			time.Sleep(time.Hour)
		}
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

// daemon is one supervisord under test.
type daemon struct {
	t    *testing.T
	dir  string // its config, socket, logs
	open string // a directory nobody can write to (results of programs run as nobody)
	conf string
	sock string
	log  string
	d    *testenv.Daemon
}

const baseConfig = `[unix_http_server]
file={{dir}}/supervisor.sock

[supervisord]
logfile={{dir}}/supervisord.log
pidfile={{dir}}/supervisord.pid
childlogdir={{dir}}
loglevel=info
{{supervisord}}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{{dir}}/supervisor.sock

`

// newDaemon writes a config with programs (and extra [supervisord]
// lines) into a fresh directory. Placeholders: {{dir}}, {{open}},
// {{python}}, {{sender}}, {{listener}}, {{helper}} (this binary) and
// {{env}} (the environment= value that makes it a helper).
func newDaemon(t *testing.T, supervisordLines, programs string) *daemon {
	t.Helper()
	requireSenders(t)
	dir := t.TempDir()
	// Programs run as nobody must reach the sender script and write
	// their results: a world-writable directory outside the 0700 temp
	// dir of the test.
	open, err := os.MkdirTemp("", "gosup-notify-open-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(open) })
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	// The scripts too: the clone may sit where nobody cannot read.
	for _, name := range []string{"sender.py", "listener.py"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err == nil {
			err = os.WriteFile(filepath.Join(open, name), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	d := &daemon{t: t, dir: dir, open: open, conf: filepath.Join(dir, "supervisord.conf"),
		sock: filepath.Join(dir, "supervisor.sock"), log: filepath.Join(dir, "supervisord.log")}
	text := d.expand(strings.Replace(baseConfig, "{{supervisord}}", supervisordLines, 1) + programs)
	if err := os.WriteFile(d.conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

var (
	sendersOnce sync.Once
	sendersErr  error
)

// requireSenders fails the test, naming what is missing, when a sender
// the programs use is absent: Python, /usr/bin/systemd-notify, or a
// libsystemd.so.0 that ctypes can load (scripts/deps.sh installs them;
// without this a missing tool would read as a program that never
// became RUNNING). The reference is checked too: the tests run the
// stock supervisorctl.
func requireSenders(t *testing.T) {
	t.Helper()
	testenv.RequireReference(t)
	sendersOnce.Do(func() {
		if _, err := os.Stat("/usr/bin/systemd-notify"); err != nil {
			sendersErr = fmt.Errorf("/usr/bin/systemd-notify missing (run `make deps` as root): %w", err)
			return
		}
		out, err := exec.Command(testenv.Python3, "-c", `import ctypes; ctypes.CDLL("libsystemd.so.0")`).CombinedOutput()
		if err != nil {
			sendersErr = fmt.Errorf("libsystemd.so.0 cannot be loaded through ctypes (run `make deps` as root): %v\n%s", err, out)
		}
	})
	if sendersErr != nil {
		t.Fatal(sendersErr)
	}
}

func (d *daemon) expand(s string) string {
	helper, _ := os.Executable()
	return strings.NewReplacer(
		"{{dir}}", d.dir, "{{open}}", d.open, "{{python}}", testenv.Python3,
		"{{sender}}", filepath.Join(d.open, "sender.py"),
		"{{listener}}", filepath.Join(d.open, "listener.py"),
		"{{helper}}", helper, "{{env}}", helperEnv+"=",
	).Replace(s)
}

// start runs our supervisord in the foreground and waits for its socket.
func (d *daemon) start() {
	d.startWith(filepath.Join(testenv.Binaries(d.t), "supervisord"), nil, "-n", "-c", d.conf)
}

// startWith runs bin with args and extra environment variables.
func (d *daemon) startWith(bin string, env []string, args ...string) {
	t := d.t
	t.Helper()
	if env == nil {
		d.d = testenv.Start(t, d.dir, bin, args...)
	} else {
		d.d = testenv.Start(t, d.dir, "/usr/bin/env", append(append(env, bin), args...)...)
	}
	t.Cleanup(func() { d.stop() })
	testenv.Eventually(t, 30*time.Second, func() error {
		select {
		case <-d.d.Exited:
			t.Fatalf("daemon exited: %v\nstderr:\n%s", d.d.ExitErr, d.d.Stderr.String())
		default:
		}
		c := testenv.UnixClient(d.sock)
		resp, err := c.Get("http://localhost/ok.html")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
}

// stop ends the daemon with SIGTERM (its programs with it).
func (d *daemon) stop() {
	select {
	case <-d.d.Exited:
		return
	default:
	}
	d.d.Stop(d.t, 60*time.Second)
}

// call makes one XML-RPC call.
func (d *daemon) call(method string, args any, out any) error {
	c, err := xmlrpc.NewClient("http://localhost/RPC2", testenv.UnixClient(d.sock).Transport)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(method, args, out)
}

// info is the part of getProcessInfo the tests look at.
type info struct {
	Name        string `xmlrpc:"name"`
	Group       string `xmlrpc:"group"`
	State       string `xmlrpc:"statename"`
	Description string `xmlrpc:"description"`
	SpawnErr    string `xmlrpc:"spawnerr"`
	ExitStatus  int    `xmlrpc:"exitstatus"`
	PID         int    `xmlrpc:"pid"`
}

func (d *daemon) info(name string) info { return rpcStruct[info](d, "supervisor.getProcessInfo", name) }

// rpcStruct calls a method that takes a process name and answers a struct.
func rpcStruct[T any](d *daemon, method, name string) T {
	d.t.Helper()
	var v T
	if err := d.call(method, name, &v); err != nil {
		d.t.Fatalf("%s(%s): %v", method, name, err)
	}
	return v
}

// healthInfo is gosupervisor.getProcessHealth's struct.
type healthInfo struct {
	Name           string `xmlrpc:"name"`
	Ready          bool   `xmlrpc:"ready"`
	Health         string `xmlrpc:"health"`
	Failures       int    `xmlrpc:"failures"`
	LastCheck      int    `xmlrpc:"last_check"`
	LastResult     string `xmlrpc:"last_result"`
	LastOutput     string `xmlrpc:"last_output"`
	Status         string `xmlrpc:"status"`
	Errno          int    `xmlrpc:"errno"`
	WatchdogUSec   int    `xmlrpc:"watchdog_usec"`
	LastPing       int    `xmlrpc:"last_ping"`
	MainPID        int    `xmlrpc:"mainpid"`
	LastExitReason string `xmlrpc:"last_exit_reason"`
}

func (d *daemon) health(name string) healthInfo {
	return rpcStruct[healthInfo](d, "gosupervisor.getProcessHealth", name)
}

// wait polls until cond accepts name's info.
func (d *daemon) wait(name string, timeout time.Duration, what string, cond func(info) bool) info {
	d.t.Helper()
	var last info
	testenv.Eventually(d.t, timeout, func() error {
		last = d.info(name)
		if !cond(last) {
			return fmt.Errorf("%s: want %s, have %+v", name, what, last)
		}
		return nil
	})
	return last
}

// waitState polls until name is in state; desc, when not "", must then
// be its description.
func (d *daemon) waitState(name, state, desc string, timeout time.Duration) info {
	d.t.Helper()
	return d.wait(name, timeout, state+" "+desc, func(i info) bool {
		return i.State == state && (desc == "" || i.Description == desc)
	})
}

// mainLog is the main log's text.
func (d *daemon) mainLog() string {
	b, _ := os.ReadFile(d.log)
	return string(b)
}

// waitLog polls until the main log holds text at least n times.
func (d *daemon) waitLog(text string, n int, timeout time.Duration) {
	d.t.Helper()
	testenv.Eventually(d.t, timeout, func() error {
		if c := strings.Count(d.mainLog(), text); c < n {
			return fmt.Errorf("%q appears %d times in the main log, want %d:\n%s", text, c, n, d.mainLog())
		}
		return nil
	})
}

// ctl runs a supervisorctl (stock or ours) against the daemon.
func (d *daemon) ctl(bin string, args ...string) string {
	d.t.Helper()
	out, _ := exec.Command(bin, append([]string{"-c", d.conf}, args...)...).CombinedOutput()
	return string(out)
}

// pid is the daemon's pid.
func (d *daemon) pid() int { return d.d.Cmd.Process.Pid }

// openFDs maps the daemon's open descriptors to their targets, leaving
// out stream sockets: the HTTP server's connections come and go with its
// clients (the test's own calls), while a leaked notification socket (a
// datagram socket), pipe or file would count.
func (d *daemon) openFDs() map[string]string {
	d.t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", d.pid())
	ents, err := os.ReadDir(dir)
	if err != nil {
		d.t.Fatal(err)
	}
	streams := streamSocketInodes()
	fds := map[string]string{}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed since the listing
		}
		if ino, ok := strings.CutPrefix(target, "socket:["); ok && streams[strings.TrimSuffix(ino, "]")] {
			continue
		}
		fds[e.Name()] = target
	}
	return fds
}

// streamSocketInodes lists the inodes of unix stream sockets
// (/proc/net/unix, type 0001).
func streamSocketInodes() map[string]bool {
	out := map[string]bool{}
	b, _ := os.ReadFile("/proc/net/unix")
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 7 && f[4] == "0001" {
			out[f[6]] = true
		}
	}
	return out
}

// zombies lists the daemon's children that are zombies.
func (d *daemon) zombies() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[0] == "Z" && f[1] == strconv.Itoa(d.pid()) {
			out = append(out, pid)
		}
	}
	return out
}

// processesMatching lists live processes whose command line contains s.
func processesMatching(s string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		if strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), s) {
			out = append(out, pid)
		}
	}
	return out
}

var (
	readyExitOnce sync.Once
	readyExitBin  string
	readyExitErr  error
)

// readyExit builds testdata/readyexit once, without the race detector.
func readyExit(t *testing.T) string {
	t.Helper()
	readyExitOnce.Do(func() {
		dir, err := testenv.BuildDir("gosup-readyexit")
		if err != nil {
			readyExitErr = err
			return
		}
		readyExitBin = filepath.Join(dir, "readyexit")
		readyExitErr = testenv.GoBuild("-o", readyExitBin, "./blackbox/notify/testdata/readyexit")
	})
	if readyExitErr != nil {
		t.Fatal(readyExitErr)
	}
	return readyExitBin
}
