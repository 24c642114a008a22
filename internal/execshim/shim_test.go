package execshim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary a helper instead of running tests.
const helperEnv = "EXECSHIM_TEST_HELPER"

func TestMain(m *testing.M) {
	Main()
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helpers[mode]())
	}
	os.Exit(m.Run())
}

var helpers = map[string]func() int{
	// start-raise calls Start (it runs as nobody) asking for a hard
	// limit above its own and prints the error.
	"start-raise": func() int {
		var cur syscall.Rlimit
		syscall.Getrlimit(unix.RLIMIT_MSGQUEUE, &cur)
		lower := Rlimit{Resource: unix.RLIMIT_NOFILE, Cur: 64, Max: 128}
		raise := Rlimit{Resource: unix.RLIMIT_MSGQUEUE, Cur: cur.Cur, Max: cur.Max * 2}
		for _, limits := range [][]Rlimit{{lower}, {lower, raise}} {
			pid, err := startReport(SelfPath, Spec{Rlimits: limits, Umask: -1}, os.Stdout)
			if err == nil {
				var ws syscall.WaitStatus
				syscall.Wait4(pid, &ws, 0, nil)
				fmt.Println("started")
				continue
			}
			fmt.Println("error:", err)
		}
		return 0
	},
}

// reportScript is the program the tests start through the shim: a
// shell (no Go runtime of its own, which would raise its soft
// RLIMIT_NOFILE and replace ignored signal dispositions) that prints what
// it was started with, one "key=value" line each, its descriptors (listed
// by a child without a pipe, which would be one more of the shell's),
// then its limits.
const reportScript = `echo pid=$$
echo watchdog=$WATCHDOG_PID
echo cwd=$(pwd)
echo umask=$(umask)
echo uid=$(id -u)
echo gid=$(id -g)
echo groups=$(id -G)
grep '^SigIgn' /proc/$$/status | tr -d ' \t' | tr : =
echo fds-begin
ls -l /proc/$$/fd
echo fds-end
cat /proc/$$/limits`

// observation is what reportScript printed.
type observation struct {
	PID         int
	Limits      map[string][2]string // by /proc/self/limits row name: soft, hard
	WatchdogPID string
	Cwd         string
	Umask       string
	UID, GID    int
	Groups      string
	SigIgn      string
	FDs         []string          // open descriptors, as ls sorts them
	FDTargets   map[string]string // what each one is (/proc/pid/fd's link)
}

func parseReport(out string) observation {
	o := observation{Limits: map[string][2]string{}, FDTargets: map[string]string{}}
	fds := false
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, "=")
		switch {
		case line == "fds-begin" || line == "fds-end":
			fds = line == "fds-begin"
		case fds:
			// ls -l: "lrwx------ 1 root root 64 Dec  7 19:40 3 -> pipe:[123]"
			if link, target, ok := strings.Cut(line, " -> "); ok {
				f := strings.Fields(link)
				o.FDs = append(o.FDs, f[len(f)-1])
				o.FDTargets[f[len(f)-1]] = target
			}
		case !ok:
			if len(line) > 47 && strings.HasPrefix(line, "Max ") {
				f := strings.Fields(line[26:])
				o.Limits[strings.TrimSpace(line[:26])] = [2]string{f[0], f[1]}
			}
		case k == "pid":
			o.PID, _ = strconv.Atoi(v)
		case k == "watchdog":
			o.WatchdogPID = v
		case k == "cwd":
			o.Cwd = v
		case k == "umask":
			o.Umask = v
		case k == "uid":
			o.UID, _ = strconv.Atoi(v)
		case k == "gid":
			o.GID, _ = strconv.Atoi(v)
		case k == "groups":
			o.Groups = v
		case k == "SigIgn":
			o.SigIgn = v
		}
	}
	return o
}

// helperEnviron is this process's environment with the helper mode set
// to mode (replacing this process's own mode: the first of two values
// would win, and a helper would start itself again).
func helperEnviron(mode string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, helperEnv+"=") {
			env = append(env, kv)
		}
	}
	return append(env, helperEnv+"="+mode)
}

// canRaiseHardLimits reports whether this process has CAP_SYS_RESOURCE
// (root in a container may not).
func canRaiseHardLimits(t *testing.T) bool {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return caps&(1<<unix.CAP_SYS_RESOURCE) != 0
		}
	}
	t.Fatal("no CapEff in /proc/self/status")
	return false
}

// startReport starts reportScript through the shim at shim with stdout
// going to out.
func startReport(shim string, spec Spec, out *os.File) (int, error) {
	spec.Path, spec.Argv = "/bin/sh", []string{"sh", "-c", reportScript}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	attr := &os.ProcAttr{
		Env:   helperEnviron("report"),
		Files: []*os.File{null, out, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	return Start(shim, spec, attr, 0)
}

// runReport starts reportScript through the shim and returns what it
// printed.
func runReport(t *testing.T, spec Spec) (int, observation) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pid, err := startReport(SelfPath, spec, w)
	w.Close()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	out, rerr := io.ReadAll(r)
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatalf("wait4 %d: %v", pid, err)
	}
	if rerr != nil || ws.ExitStatus() != 0 {
		t.Fatalf("report: %v, exit status %v\n%s", rerr, ws, out)
	}
	return pid, parseReport(string(out))
}

func str(v uint64) string {
	if v == Infinity {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// TestLimitsFromFirstInstruction starts a program through the shim as
// root: it has the same pid the shim had, every requested limit (hard
// limits lowered, soft ones raised up to them), WATCHDOG_PID equal to its
// pid, the ignored signals, and no error pipe.
func TestLimitsFromFirstInstruction(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test must run as root (make test runs as root)")
	}
	limits := []struct {
		rl  Rlimit
		row string
	}{
		{Rlimit{unix.RLIMIT_CPU, 100, 200}, "Max cpu time"},
		{Rlimit{unix.RLIMIT_FSIZE, 1 << 30, Infinity}, "Max file size"},
		{Rlimit{unix.RLIMIT_DATA, 1 << 31, 1 << 32}, "Max data size"},
		{Rlimit{unix.RLIMIT_STACK, 4 << 20, 16 << 20}, "Max stack size"},
		{Rlimit{unix.RLIMIT_CORE, Infinity, Infinity}, "Max core file size"},
		{Rlimit{unix.RLIMIT_NPROC, 500, 1000}, "Max processes"},
		{Rlimit{unix.RLIMIT_NOFILE, 4096, 8192}, "Max open files"},
		{Rlimit{unix.RLIMIT_MEMLOCK, 1 << 20, 2 << 20}, "Max locked memory"},
		{Rlimit{unix.RLIMIT_AS, 8 << 30, Infinity}, "Max address space"},
		{Rlimit{unix.RLIMIT_LOCKS, 100, 100}, "Max file locks"},
		{Rlimit{unix.RLIMIT_SIGPENDING, 50, 60}, "Max pending signals"},
		{Rlimit{unix.RLIMIT_MSGQUEUE, 1000, 2000}, "Max msgqueue size"},
		{Rlimit{unix.RLIMIT_NICE, 0, 0}, "Max nice priority"},
		{Rlimit{unix.RLIMIT_RTPRIO, 0, 0}, "Max realtime priority"},
		{Rlimit{unix.RLIMIT_RTTIME, 1000000, 2000000}, "Max realtime timeout"},
	}
	for _, l := range limits {
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(l.rl.Resource, &cur); err != nil {
			t.Fatal(err)
		}
		if l.rl.Max > cur.Max {
			t.Fatalf("%s: this test's value %d is above this machine's hard limit %d; it only lowers hard limits (TestRaiseHardLimit raises)", l.row, l.rl.Max, cur.Max)
		}
	}
	spec := Spec{WatchdogPID: true, Umask: -1, IgnoreSignals: []syscall.Signal{syscall.SIGPIPE, syscall.SIGXFSZ}}
	for _, l := range limits {
		spec.Rlimits = append(spec.Rlimits, l.rl)
	}
	pid, o := runReport(t, spec)
	if o.PID != pid {
		t.Errorf("program pid %d, Start returned %d: the shim must exec in place", o.PID, pid)
	}
	for _, l := range limits {
		want := [2]string{str(l.rl.Cur), str(l.rl.Max)}
		if got := o.Limits[l.row]; got != want {
			t.Errorf("%s (%s): /proc/%d/limits shows %v, want %v", l.row, RlimitName(l.rl.Resource), pid, got, want)
		}
	}
	if o.WatchdogPID != strconv.Itoa(pid) {
		t.Errorf("WATCHDOG_PID=%q, want %d", o.WatchdogPID, pid)
	}
	ign, err := strconv.ParseUint(o.SigIgn, 16, 64)
	if err != nil {
		t.Fatalf("SigIgn %q: %v", o.SigIgn, err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGPIPE, syscall.SIGXFSZ} {
		if ign&(1<<(sig-1)) == 0 {
			t.Errorf("signal %v not ignored in the program (SigIgn %s)", sig, o.SigIgn)
		}
	}
	if ign&(1<<(syscall.SIGTERM-1)) != 0 {
		t.Errorf("SIGTERM ignored in the program (SigIgn %s)", o.SigIgn)
	}
	// Only 0-2 and what this test process holds without close-on-exec
	// (descriptors it inherited, which every child gets): the error pipe
	// (descriptor 3 in the shim) closed at exec. Not "the same as a direct
	// child": Go's fork may put its own error pipe over an inherited
	// descriptor numbered just above the child's files, so which of the
	// inherited ones a child keeps depends on the parent's numbering.
	inherited := inheritableFDs(t)
	for _, fd := range o.FDs {
		if fd != "0" && fd != "1" && fd != "2" && !inherited[fd] {
			t.Errorf("program has fd %s (%s) open, which this process does not pass on (the error pipe must close at exec); its fds: %v",
				fd, o.FDTargets[fd], o.FDTargets)
		}
	}
}

// inheritableFDs are this process's descriptors above 2 without
// close-on-exec.
func inheritableFDs(t *testing.T) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fdinfo")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[string]bool{}
	for _, e := range ents {
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue // closed since the listing (the listing's own)
		}
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
				if err != nil {
					t.Fatalf("fdinfo %s: %q", e.Name(), line)
				}
				if flags&unix.O_CLOEXEC == 0 && e.Name() != "0" && e.Name() != "1" && e.Name() != "2" {
					fds[e.Name()] = true
				}
			}
		}
	}
	return fds
}

// directReport runs reportScript without the shim.
func directReport(t *testing.T) observation {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", reportScript)
	cmd.Stdin, cmd.Stderr = nil, os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("direct report: %v", err)
	}
	return parseReport(string(out))
}

// TestNoLimitsKeepsInherited: without rlimits the program gets the
// limits and signal dispositions a direct child would, including the
// soft RLIMIT_NOFILE that the shim's Go runtime raised for itself and
// must restore.
func TestNoLimitsKeepsInherited(t *testing.T) {
	want := directReport(t)
	_, o := runReport(t, Spec{Umask: -1})
	if fmt.Sprint(o.Limits) != fmt.Sprint(want.Limits) {
		t.Errorf("limits through the shim:\n%v\na direct child's:\n%v", o.Limits, want.Limits)
	}
	if o.WatchdogPID != "" || o.SigIgn != want.SigIgn {
		t.Errorf("WATCHDOG_PID=%q SigIgn %s, want none and %s", o.WatchdogPID, o.SigIgn, want.SigIgn)
	}
}

// TestRaiseHardLimit: root raises a hard limit above the daemon's own
// when it has CAP_SYS_RESOURCE; without it (root in a container, as on
// this project's test machine) the raise is a spawn error naming the
// limit, and nothing runs.
func TestRaiseHardLimit(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test must run as root (make test runs as root)")
	}
	var msgq syscall.Rlimit
	if err := syscall.Getrlimit(unix.RLIMIT_MSGQUEUE, &msgq); err != nil {
		t.Fatal(err)
	}
	if msgq.Max == Infinity {
		t.Fatal("RLIMIT_MSGQUEUE's hard limit is unlimited here: nothing to raise")
	}
	raise := Rlimit{unix.RLIMIT_MSGQUEUE, msgq.Cur, msgq.Max * 2}
	if canRaiseHardLimits(t) {
		t.Log("CAP_SYS_RESOURCE: the raise must succeed")
		_, o := runReport(t, Spec{Rlimits: []Rlimit{raise}, Umask: -1})
		if got := o.Limits["Max msgqueue size"][1]; got != str(raise.Max) {
			t.Errorf("raised hard limit shows %s, want %d", got, raise.Max)
		}
		return
	}
	t.Log("no CAP_SYS_RESOURCE: the raise must be a spawn error")
	_, err := startReport(SelfPath, Spec{Rlimits: []Rlimit{raise}, Umask: -1}, os.Stdout)
	if want := "can't set RLIMIT_MSGQUEUE: operation not permitted"; err == nil || err.Error() != want {
		t.Errorf("raise without CAP_SYS_RESOURCE: %v, want %q", err, want)
	}
	reapShims(t, 0)
}

// TestCredentialDirUmask: the shim sets limits as root, then becomes
// nobody (program user=nobody), changes directory and umask; the limits
// survive the switch of user.
func TestCredentialDirUmask(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test switches to nobody and must run as root")
	}
	dir := worldDir(t)
	spec := Spec{
		Credential: &Credential{UID: 65534, GID: 65534, Groups: []int{65534}},
		Dir:        dir, Umask: 0o027,
		Rlimits: []Rlimit{{unix.RLIMIT_NOFILE, 300, 400}},
	}
	_, o := runReport(t, spec)
	if o.UID != 65534 || o.GID != 65534 || o.Groups != "65534" {
		t.Errorf("uid %d gid %d groups %v, want nobody's", o.UID, o.GID, o.Groups)
	}
	if o.Cwd != dir || o.Umask != "0027" {
		t.Errorf("cwd %q umask %s, want %q 0027", o.Cwd, o.Umask, dir)
	}
	if got := o.Limits["Max open files"]; got != [2]string{"300", "400"} {
		t.Errorf("open files %v as nobody, want [300 400]", got)
	}
}

// worldDir is a temporary directory every user may enter.
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "execshim-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyExecutable copies the test binary where nobody may run it.
func copyExecutable(t *testing.T) string {
	t.Helper()
	dir := worldDir(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	exe := filepath.Join(dir, "shimtest")
	dst, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return exe
}

// TestRaiseAsNobodyIsSpawnError: a daemon running as nobody may lower
// its children's limits but not raise a hard limit: Start fails with the
// limit's name and the reason, and nothing runs.
func TestRaiseAsNobodyIsSpawnError(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test starts a helper as nobody and must run as root")
	}
	exe := copyExecutable(t)
	cmd := exec.Command(exe)
	cmd.Env = helperEnviron("start-raise")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper as nobody: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	// The first start only lowers limits: it reports, then "started".
	last := lines[len(lines)-1]
	if want := "error: can't set RLIMIT_MSGQUEUE: operation not permitted"; last != want {
		t.Errorf("raising as nobody: %q, want %q (all output:\n%s)", last, want, out)
	}
	if !strings.Contains(string(out), "started") {
		t.Errorf("lowering limits as nobody failed:\n%s", out)
	}
}

// TestFailuresAreErrors: each stage's failure comes back from Start as an
// *Error naming it; exec failures unwrap to their errno.
func TestFailuresAreErrors(t *testing.T) {
	exe, _ := os.Executable()
	tests := []struct {
		name      string
		spec      Spec
		wantStage Stage
		wantErrno syscall.Errno
		wantText  string
	}{
		{"no such program", Spec{Path: "/nonexistent/prog", Argv: []string{"prog"}, Umask: -1}, StageExec, syscall.ENOENT, "can't exec /nonexistent/prog: no such file or directory"},
		{"no such directory", Spec{Path: exe, Argv: []string{exe}, Dir: "/nonexistent", Umask: -1}, StageChdir, syscall.ENOENT, "can't chdir to /nonexistent: no such file or directory"},
		{"no such cgroup", Spec{Path: exe, Argv: []string{exe}, CgroupProcs: []string{"/nonexistent/cgroup.procs"}, Umask: -1}, StageCgroup, syscall.ENOENT, "can't join cgroup /nonexistent/cgroup.procs: no such file or directory"},
		{"soft above hard", Spec{Path: exe, Argv: []string{exe}, Rlimits: []Rlimit{{unix.RLIMIT_NOFILE, 100, 50}}, Umask: -1}, StageLimit, syscall.EINVAL, "can't set RLIMIT_NOFILE: invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attr := &os.ProcAttr{Env: helperEnviron("report"), Files: []*os.File{nil, nil, os.Stderr}}
			start := time.Now()
			_, err := Start(SelfPath, tt.spec, attr, 0)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Start: %v (%T), want *Error", err, err)
			}
			if se.Stage != tt.wantStage || !errors.Is(err, tt.wantErrno) || err.Error() != tt.wantText {
				t.Errorf("Start: stage %s, %q; want %s, %q (errno %v)", se.Stage, err, tt.wantStage, tt.wantText, tt.wantErrno)
			}
			if se.Setup() != (tt.wantStage == StageCgroup || tt.wantStage == StageLimit) {
				t.Errorf("Setup() = %v for stage %s", se.Setup(), se.Stage)
			}
			reapShims(t, time.Since(start))
		})
	}
}

// reapShims waits for the failed shim (this test process's only child).
func reapShims(t *testing.T, _ time.Duration) {
	t.Helper()
	var ws syscall.WaitStatus
	pid, err := syscall.Wait4(-1, &ws, 0, nil)
	if err != nil {
		t.Fatalf("wait4: %v", err)
	}
	if ws.ExitStatus() != 127 {
		t.Errorf("failed shim %d exited with %v, want status 127", pid, ws)
	}
}
