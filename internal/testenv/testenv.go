// Package testenv starts daemons for black-box tests: our built binaries
// and the Python reference (Debian's supervisor 4.2.5) side by side.
// Every process it starts is killed by pid in t.Cleanup.
package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Reference binaries and interpreter. Tests that need them fail loudly
// (never skip) when they are missing: `make deps` installs them.
const (
	PythonSupervisord   = "/usr/bin/supervisord"
	PythonSupervisorctl = "/usr/bin/supervisorctl"
	Python3             = "/usr/bin/python3"
	// PythonEchoConf prints the reference's sample configuration.
	PythonEchoConf = "/usr/bin/echo_supervisord_conf"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// RepoRoot is the module root, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binaries builds ./cmd/... once per test binary and returns the directory
// holding supervisord, supervisorctl and echo_supervisord_conf.
func Binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := BuildDir("gosupervisor-bin")
		if err != nil {
			buildErr = err
			return
		}
		if buildErr = GoBuild("-o", dir+"/", "./cmd/supervisord", "./cmd/supervisorctl", "./cmd/echo_supervisord_conf"); buildErr == nil {
			buildDir = dir
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// GoBuild runs `go build args...` in the repository's root (package
// paths are relative to it); the error carries the compiler's output.
func GoBuild(args ...string) error {
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// BuildDir makes a temporary directory for binaries built once per test
// process, named after the process; no test owns it, so nothing removes
// it when the process ends. Each call first removes the ones of the same
// prefix whose process has ended, so that runs do not pile up copies.
func BuildDir(prefix string) (string, error) {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"-*-*"))
	for _, d := range old {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d)[len(prefix)+1:], "%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, fs.ErrNotExist) {
			_ = os.RemoveAll(d)
		}
	}
	return os.MkdirTemp("", fmt.Sprintf("%s-%d-", prefix, os.Getpid()))
}

// RequireReference fails the test when the Python reference is missing.
func RequireReference(t testing.TB) {
	t.Helper()
	for _, p := range []string{PythonSupervisord, PythonSupervisorctl, Python3, PythonEchoConf} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("reference missing: %s (run `make deps` as root)", p)
		}
	}
}

// Daemon is a running supervisord (ours or the reference).
type Daemon struct {
	Cmd    *exec.Cmd
	Stdout *SyncBuffer
	Stderr *SyncBuffer
	// Exited is closed once the process has exited; ExitErr is then set.
	Exited  chan struct{}
	ExitErr error
}

// Start runs bin with args (typically "-n", "-c", conf) in dir, and
// registers a cleanup that kills its whole process group.
func Start(t testing.TB, dir, bin string, args ...string) *Daemon {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	d := &Daemon{Cmd: cmd, Stdout: &SyncBuffer{}, Stderr: &SyncBuffer{}, Exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d.Stdout, d.Stderr
	// Pdeathsig: a test binary killed by its timeout runs no cleanup, and
	// a daemon left behind would keep its programs running for good; told
	// by SIGTERM, it stops them and exits. (The signal follows the thread
	// that forked; the runtime ends a thread only after a LockOSThread
	// goroutine exits, which no test here does.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { d.ExitErr = cmd.Wait(); close(d.Exited) }()
	t.Cleanup(func() { d.Kill() })
	return d
}

// Kill sends SIGKILL to the daemon's process group (its children lead
// their own groups, so they are killed through the daemon's shutdown or
// by the caller) and waits for it.
func (d *Daemon) Kill() {
	select {
	case <-d.Exited:
		return
	default:
	}
	_ = syscall.Kill(-d.Cmd.Process.Pid, syscall.SIGKILL)
	<-d.Exited
}

// Stop sends SIGTERM and waits up to timeout for a clean exit.
func (d *Daemon) Stop(t testing.TB, timeout time.Duration) {
	t.Helper()
	_ = d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.Exited:
	case <-time.After(timeout):
		t.Errorf("daemon pid %d did not exit within %v after SIGTERM", d.Cmd.Process.Pid, timeout)
		d.Kill()
	}
}

// WaitUnixHTTP polls until an HTTP server answers on the unix socket path.
func WaitUnixHTTP(t testing.TB, sock string, timeout time.Duration) {
	t.Helper()
	c := UnixClient(sock)
	Eventually(t, timeout, func() error {
		resp, err := c.Get("http://localhost/ok.html")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
}

// UnixClient is an HTTP client that dials the unix socket path.
func UnixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}, Timeout: 30 * time.Second}
}

// Eventually calls f until it returns nil or timeout passes, then fails
// with f's last error.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Main is the TestMain of a package with nothing else to set up: it runs
// the tests, then fails the run if a goroutine outlives them
// (CheckGoroutines(1)).
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		code = CheckGoroutines(1)
	}
	os.Exit(code)
}

// HelperMain is the TestMain of a package whose test binary doubles as
// the programs its daemons supervise: started with env set, the binary
// is that program (run gets env's value and the arguments after the
// binary's name) and exits with run's status; otherwise it is Main.
func HelperMain(m *testing.M, env string, run func(mode string, args []string) int) {
	if mode := os.Getenv(env); mode != "" {
		os.Exit(run(mode, os.Args[1:]))
	}
	Main(m)
}

// CheckGoroutines is for TestMain after m.Run: it waits up to 10 s for
// the goroutines to fall to allowed (1: TestMain's own) and returns 1,
// after printing every stack, when they do not. os/signal's watcher is
// not counted: signal.Notify (and the fuzzing engine) start it and it
// never ends. A goroutine that outlives the tests is a leaked pump,
// stream, waiter or connection.
func CheckGoroutines(allowed int) int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		stacks := goroutineStacks()
		if len(stacks) <= allowed {
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "%d goroutines leaked (%d allowed):\n%s\n", len(stacks)-allowed, allowed, strings.Join(stacks, "\n\n"))
			return 1
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// goroutineStacks returns the stack of every goroutine but os/signal's
// watcher, the caller's first.
func goroutineStacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var stacks []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "os/signal.loop") {
			stacks = append(stacks, g)
		}
	}
	return stacks
}

// KillHelpers kills, by pid, every process still running this test binary
// (the supervised helper children) with dir as its working directory: the
// helpers inherit the daemon's, so a test that failed half-way and left
// its daemon's children behind gets rid of them.
func KillHelpers(dir string) {
	entries, _ := os.ReadDir("/proc")
	self, _ := os.Executable()
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == os.Getpid() {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != self {
			continue
		}
		if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd == dir {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// WriteTree writes files (name relative to a new temporary directory →
// text, where "{dir}" stands for that directory) and returns the
// directory. Names ending in .sh are executable.
func WriteTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, "{dir}", dir)), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
