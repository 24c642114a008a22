// Package containers holds black-box tests of the extension keys of issue
// 15 against the built daemon: depends_on orders (programs append "name
// start" and "name stop" to a file), environment_file, supervisord as PID
// 1 of a pid namespace (unshare) and as a child subreaper, the exit
// policies, logging to /dev/stdout, and the orphans a SIGKILLed daemon
// leaves. The Python reference runs the same configs (it ignores the
// keys) to show one config serves both. The supervised programs are this
// test binary.
package containers

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kolo/xmlrpc"
	"golang.org/x/sys/unix"

	"gosupervisor/internal/testenv"
)

// helperEnv names the child's mode: the test binary doubles as every
// program the daemon supervises.
const helperEnv = "GOSUP_CONTAINERS_HELPER"

func TestMain(m *testing.M) { testenv.HelperMain(m, helperEnv, runHelper) }

// runHelper is a supervised child. Modes (arguments after the binary):
//
//	life NAME FILE [SECS]  append "NAME start" to FILE and run; on SIGTERM
//	                       wait SECS, append "NAME stop" and exit 0
//	survivor NAME FILE     life, but it outlives a SIGKILLed daemon
//	oneshot NAME FILE CODE append "NAME start", exit CODE after 0.2 s
//	env FILE [TRY]         write the environment to FILE (NUL-separated),
//	                       then whether TRY can be opened, then idle
//	orphan MARKER SECS     double-fork "sleeper MARKER-sleeper SECS"
//	                       (through "middle", which exits at once: the
//	                       sleeper is orphaned) and idle
//	middle MARKER SECS     start "sleeper MARKER-sleeper SECS" and exit
//	sleeper MARKER SECS    sleep SECS, exit 0
//	killself SIG           after 0.3 s, die of signal SIG
//	exit CODE              exit CODE after 0.3 s
//	bytes N                write N bytes to stdout (lines of x) and idle
//	signal1 SIG            send SIG to pid 1 and idle
func runHelper(mode string, args []string) int {
	if mode != "survivor" && mode != "sleeper" {
		// Die with the daemon, whatever way it ends.
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
	}
	arg := func(i int) string {
		if i >= len(args) {
			return ""
		}
		return args[i]
	}
	num := func(i int) int {
		n, err := strconv.Atoi(arg(i))
		if err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: argument %d: %v\n", mode, i, err)
			os.Exit(2)
		}
		return n
	}
	switch mode {
	case "life", "survivor":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		appendLine(arg(1), arg(0)+" start")
		<-term
		if arg(2) != "" {
			time.Sleep(time.Duration(num(2)) * time.Second)
		}
		appendLine(arg(1), arg(0)+" stop")
		return 0
	case "oneshot":
		appendLine(arg(1), arg(0)+" start")
		time.Sleep(200 * time.Millisecond)
		return num(2)
	case "env":
		var b bytes.Buffer
		for _, kv := range os.Environ() {
			b.WriteString(kv + "\x00")
		}
		if try := arg(1); try != "" {
			if f, err := os.Open(try); err != nil {
				fmt.Fprintf(&b, "TRY=%v\x00", err)
			} else {
				f.Close()
				b.WriteString("TRY=readable\x00")
			}
		}
		if err := os.WriteFile(arg(0)+".tmp", b.Bytes(), 0o644); err != nil {
			return 3
		}
		if err := os.Rename(arg(0)+".tmp", arg(0)); err != nil {
			return 3
		}
		idle()
	case "orphan", "middle":
		next := map[string]string{"orphan": "middle", "middle": "sleeper"}[mode]
		self, _ := os.Executable()
		marker := arg(0)
		if next == "sleeper" {
			marker += "-sleeper"
		}
		cmd := exec.Command(self, marker, arg(1))
		cmd.Env = append(os.Environ(), helperEnv+"="+next)
		if err := cmd.Start(); err != nil {
			return 3
		}
		if mode == "middle" {
			// Not waited for: the sleeper goes to whoever reaps orphans.
			return 0
		}
		_ = cmd.Wait() // the middle process, which exits at once
		idle()
	case "sleeper":
		time.Sleep(time.Duration(num(1)) * time.Second)
		return 0
	case "killself":
		time.Sleep(300 * time.Millisecond)
		sig := syscall.Signal(num(0))
		signal.Reset(sig)
		_ = syscall.Kill(os.Getpid(), sig)
		time.Sleep(10 * time.Second)
		return 4
	case "exit":
		time.Sleep(300 * time.Millisecond)
		return num(0)
	case "bytes":
		n := num(0)
		line := strings.Repeat("x", 99) + "\n"
		for n > 0 {
			k := min(n, len(line))
			_, _ = os.Stdout.WriteString(line[len(line)-k:])
			n -= k
		}
		idle()
	case "signal1":
		_ = syscall.Kill(1, syscall.Signal(num(0)))
		idle()
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// appendLine appends one line to file (O_APPEND: lines of several
// programs never mix).
func appendLine(file, line string) {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		os.Exit(3)
	}
	_, _ = f.WriteString(line + "\n")
	f.Close()
}

// idle blocks forever without tripping the runtime's deadlock detector.
func idle() {
	for {
		time.Sleep(time.Hour)
	}
}

// implementation is one supervisord under test.
type implementation struct {
	name string
	bin  func(t *testing.T) string
}

var (
	reference = implementation{"ref", func(t *testing.T) string { testenv.RequireReference(t); return testenv.PythonSupervisord }}
	ours      = implementation{"ours", func(t *testing.T) string { return filepath.Join(testenv.Binaries(t), "supervisord") }}
)

// run is one daemon's scenario in its own directory.
type run struct {
	impl   implementation
	dir    string
	conf   string
	sock   string
	daemon *testenv.Daemon
}

// baseConfig is every scenario's config but its [supervisord] extras and
// programs. {{here}} is the run's directory.
const baseConfig = `[unix_http_server]
file={{here}}/sock

[supervisord]
logfile={{here}}/main.log
pidfile={{here}}/supervisord.pid
childlogdir={{here}}
loglevel=debug
{{supervisord}}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{{here}}/sock

`

// newRun writes the config into a fresh directory (world-readable, so
// that programs running as nobody reach what is meant for them).
func newRun(t *testing.T, impl implementation, supervisordKeys, programs string) *run {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := &run{impl: impl, dir: dir, conf: filepath.Join(dir, "supervisord.conf"), sock: filepath.Join(dir, "sock")}
	r.writeConfig(t, supervisordKeys, programs)
	return r
}

// writeConfig (re)writes the run's config file.
func (r *run) writeConfig(t *testing.T, supervisordKeys, programs string) {
	t.Helper()
	text := strings.Replace(baseConfig, "{{supervisord}}", supervisordKeys, 1) + programs
	if err := os.WriteFile(r.conf, []byte(r.expand(text)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// expand fills a config fragment's placeholders: {{here}}, {{helper}}
// (this binary) and {{env}} (the helper's mode variable).
func (r *run) expand(text string) string {
	helper, _ := os.Executable()
	return strings.NewReplacer("{{here}}", r.dir, "{{helper}}", helper, "{{env}}", helperEnv).Replace(text)
}

// program is a [program:x] section running the helper in mode with args.
func program(name, mode, args, extra string) string {
	return fmt.Sprintf("[program:%s]\ncommand={{helper}} %s\nenvironment={{env}}=%s\nstartsecs=0\nstopwaitsecs=5\nautorestart=false\n%s\n\n", name, args, mode, extra)
}

// path is a file name inside the run's directory.
func (r *run) path(elem ...string) string { return filepath.Join(append([]string{r.dir}, elem...)...) }

// start runs the daemon in the foreground and waits until it answers.
func (r *run) start(t *testing.T) {
	t.Helper()
	r.daemon = testenv.Start(t, r.dir, r.impl.bin(t), "-n", "-c", r.conf)
	t.Cleanup(func() {
		r.daemon.Kill()
		testenv.KillHelpers(r.dir)
	})
	testenv.Eventually(t, 30*time.Second, func() error {
		r.checkAlive(t)
		var state map[string]any
		return r.call("supervisor.getState", nil, &state)
	})
}

// checkAlive fails the test at once when the daemon has exited.
func (r *run) checkAlive(t *testing.T) {
	t.Helper()
	select {
	case <-r.daemon.Exited:
		t.Fatalf("%s: daemon exited: %v\nstderr:\n%s\nmain log:\n%s", r.impl.name, r.daemon.ExitErr, r.daemon.Stderr.String(), r.mainLog())
	default:
	}
}

// mainLog is the main log's text ("" when there is none yet).
func (r *run) mainLog() string {
	b, _ := os.ReadFile(r.path("main.log"))
	return string(b)
}

// procInfo is the part of getProcessInfo the tests read.
type procInfo struct {
	Name        string `xmlrpc:"name"`
	Group       string `xmlrpc:"group"`
	StateName   string `xmlrpc:"statename"`
	PID         int    `xmlrpc:"pid"`
	Description string `xmlrpc:"description"`
	SpawnErr    string `xmlrpc:"spawnerr"`
}

// call makes one XML-RPC call over the run's unix socket.
func (r *run) call(method string, args, reply any) error {
	c, err := xmlrpc.NewClient("http://localhost/RPC2", testenv.UnixClient(r.sock).Transport)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Call(method, args, reply); err != nil {
		return fmt.Errorf("%s: %s: %w", r.impl.name, method, err)
	}
	return nil
}

// info is getProcessInfo(name).
func (r *run) info(t *testing.T, name string) procInfo {
	t.Helper()
	var p procInfo
	if err := r.call("supervisor.getProcessInfo", name, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitState waits until name is in state.
func (r *run) waitState(t *testing.T, name, state string, timeout time.Duration) procInfo {
	t.Helper()
	var p procInfo
	testenv.Eventually(t, timeout, func() error {
		r.checkAlive(t)
		// An error is retried: a daemon just started may not listen yet.
		if err := r.call("supervisor.getProcessInfo", name, &p); err != nil {
			return err
		}
		if p.StateName != state {
			return fmt.Errorf("%s is %s (%s), want %s", name, p.StateName, p.Description, state)
		}
		return nil
	})
	return p
}

// ctl runs the stock Python supervisorctl against the run's daemon.
func (r *run) ctl(t *testing.T, args ...string) (string, int) {
	t.Helper()
	testenv.RequireReference(t)
	cmd := exec.Command(testenv.PythonSupervisorctl, append([]string{"-c", r.conf}, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("supervisorctl %v: %v", args, err)
	}
	return string(out), code
}

// lines reads the events file the programs append to.
func lines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(b)), " ", "_"))
}

// waitLines waits until the events file holds n lines and returns them.
func waitLines(t *testing.T, file string, n int, timeout time.Duration) []string {
	t.Helper()
	var got []string
	testenv.Eventually(t, timeout, func() error {
		got = lines(t, file)
		if len(got) < n {
			return fmt.Errorf("%d of %d lines: %v", len(got), n, got)
		}
		return nil
	})
	return got
}

// waitExit waits for the daemon to exit and returns its status.
func (r *run) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-r.daemon.Exited:
	case <-time.After(timeout):
		t.Fatalf("%s: daemon still running after %v; main log:\n%s", r.impl.name, timeout, r.mainLog())
	}
	if ee, ok := r.daemon.ExitErr.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if r.daemon.ExitErr != nil {
		t.Fatalf("%s: %v", r.impl.name, r.daemon.ExitErr)
	}
	return 0
}
