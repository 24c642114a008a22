package ctl

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/internal/testenv"
)

// helperEnv names the fake child mode: the test binary doubles as the
// programs the daemons supervise.
const helperEnv = "GOSUP_CTL_HELPER"

func TestMain(m *testing.M) {
	testenv.HelperMain(m, helperEnv, func(mode string, _ []string) int { return runHelper(mode) })
}

// runHelper is a supervised child. Modes:
//
//	serve  ignore SIGHUP/SIGUSR1/SIGUSR2, print "hello" on stdout and
//	       "err" on stderr, then echo each stdin line as "got: <line>"
//	brief  exit 0 after a second (long enough to be "started")
//	chatter  print "line 00000", "line 00001", ... every 5 ms
//	exit1  exit 1 at once
func runHelper(mode string) int {
	// Die with the daemon, whatever way it ends.
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
	switch mode {
	case "serve":
		// Survive the signals the tests send, so that they cause no restart.
		signal.Ignore(syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
		fmt.Println("hello")
		fmt.Fprintln(os.Stderr, "err")
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Println("got: " + sc.Text())
		}
		select {}
	case "chatter":
		for i := 0; ; i++ {
			fmt.Printf("line %05d\n", i)
			time.Sleep(5 * time.Millisecond)
		}
	case "brief":
		time.Sleep(time.Second)
		return 0
	case "exit1":
		return 1
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// daemonKind is a supervisord the golden tests run against.
type daemonKind struct {
	name string
	// bin returns the daemon binary to run.
	bin func(t *testing.T) string
}

// daemons lists the supervisord implementations every test here runs
// against: the golden set must hold against the reference and against ours.
var daemons = []daemonKind{
	{"python", func(t *testing.T) string { testenv.RequireReference(t); return testenv.PythonSupervisord }},
	{"gosupervisor", ourSupervisord},
}

// ourSupervisord is our daemon built from ./cmd/supervisord.
func ourSupervisord(t *testing.T) string {
	return filepath.Join(testenv.Binaries(t), "supervisord")
}

// daemon is a running supervisord with its config in a temp dir.
type daemon struct {
	dir, conf, sock string
	user, password  string // "" = the socket needs no auth
	// transient are processes that exit on their own: settled only once
	// they are no longer RUNNING.
	transient map[string]bool
	d         *testenv.Daemon
}

// program is one [program:x] of a test config.
type program struct {
	name, mode string
	extra      string // more config lines
}

// standardPrograms are the processes of the golden tests' daemon.
var standardPrograms = []program{
	{"sleeper", "serve", "startsecs=0"},
	{"manual", "serve", "autostart=false\nstartsecs=0"},
	// startsecs=10: the exit always counts as too quick. With the default
	// 1 s, a loaded machine can take longer than that to start the test
	// binary, and the program then counts as started (and is restarted).
	{"failer", "exit1", "startretries=0\nstartsecs=10"},
	{"manual2", "serve", "autostart=false\nstartsecs=0"},
	{"quick", "brief", "autostart=false\nstartsecs=0\nautorestart=false"},
	{"multi", "serve", "numprocs=2\nprocess_name=%(program_name)s_%(process_num)02d\nstartsecs=0"},
}

// writeConfig writes supervisord.conf into dir.
func writeConfig(t *testing.T, dir string, progs []program, extra string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `[supervisord]
logfile=%%(here)s/main.log
pidfile=%%(here)s/supervisord.pid
childlogdir=%%(here)s
[unix_http_server]
file=%%(here)s/sock
%s
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://%%(here)s/sock
`, extra)
	hasGrp := false
	for _, p := range progs {
		fmt.Fprintf(&b, "[program:%s]\ncommand=%s\nenvironment=%s=%s\nstopwaitsecs=2\n%s\n", p.name, self, helperEnv, p.mode, p.extra)
		hasGrp = hasGrp || p.name == "manual2"
	}
	if hasGrp {
		b.WriteString("[group:grp]\nprograms=manual2,quick\n")
	}
	conf := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// startDaemon runs kind with the given programs and waits until every
// autostarted process has settled (RUNNING or FATAL). A non-empty user
// protects the socket with user and password.
func startDaemon(t *testing.T, kind daemonKind, progs []program, user, password string) *daemon {
	t.Helper()
	dir := t.TempDir()
	extra := ""
	if user != "" {
		extra = "username=" + user + "\npassword=" + password
	}
	conf := writeConfig(t, dir, progs, extra)
	d := &daemon{dir: dir, conf: conf, sock: filepath.Join(dir, "sock"), user: user, password: password, transient: map[string]bool{}}
	for _, p := range progs {
		if p.mode == "exit1" || p.mode == "brief" {
			d.transient[p.name] = true
		}
	}
	d.d = testenv.Start(t, dir, kind.bin(t), "-n", "-c", conf)
	// Stop cleanly first, so that supervisord stops its children.
	t.Cleanup(func() { d.d.Stop(t, 15*time.Second) })
	d.waitSettled(t)
	return d
}

// waitSettled waits until the daemon answers and no process is starting.
func (d *daemon) waitSettled(t *testing.T) {
	t.Helper()
	testenv.WaitUnixHTTP(t, d.sock, 15*time.Second)
	cl, err := newRPCClient("unix://"+d.sock, d.user, d.password)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.close()
	testenv.Eventually(t, 15*time.Second, func() error {
		var infos []processInfo
		if err := cl.call(context.Background(), "supervisor.getAllProcessInfo", &infos); err != nil {
			return err
		}
		for _, info := range infos {
			if info.StateName == "STARTING" || info.StateName == "BACKOFF" || info.StateName == "STOPPING" ||
				(d.transient[info.Name] && info.StateName == "RUNNING") {
				return fmt.Errorf("%s is %s", info.Name, info.StateName)
			}
		}
		return nil
	})
}

// outcome is what one supervisorctl run produced.
type outcome struct {
	stdout, stderr string
	code           int
}

// runPython runs the stock supervisorctl in dir.
func runPython(t *testing.T, dir, stdin string, args ...string) outcome {
	t.Helper()
	cmd := exec.Command(testenv.PythonSupervisorctl, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return outcome{stdout.String(), stderr.String(), code}
}

// noInterrupts never reports Ctrl-C.
func noInterrupts() (<-chan struct{}, func()) { return nil, func() {} }

// runOurs runs our supervisorctl in-process in dir, named like the stock
// one so that usage lines match.
func runOurs(t *testing.T, dir, stdin string, args ...string) outcome {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := environment{cwd: dir, getenv: os.LookupEnv, environ: os.Environ(), notifyInterrupt: noInterrupts}
	code := run(append([]string{testenv.PythonSupervisorctl}, args...), strings.NewReader(stdin), &stdout, &stderr, env)
	return outcome{stdout.String(), stderr.String(), code}
}

var (
	pidUptimeRE = regexp.MustCompile(`pid \d+, uptime \d+:\d\d:\d\d`)
	dateRE      = regexp.MustCompile(`[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M`)
)

// normalize blanks what legitimately differs between two runs against
// the same daemon: pids and uptimes of processes (restarted by the setup
// between the runs, and uptimes tick) and the minute in "stopped at"
// dates (a run may cross a minute boundary). Nothing else.
func normalize(s string) string {
	s = pidUptimeRE.ReplaceAllString(s, "pid N, uptime U")
	return dateRE.ReplaceAllString(s, "DATE")
}

// compareOutcomes compares the stock client's outcome (want) with ours.
// Help texts are compared by shape (see helpShapes), everything else
// exactly.
func compareOutcomes(t *testing.T, want, got outcome) {
	t.Helper()
	want.stdout = normalize(referenceHelp(t).replace(want.stdout))
	got.stdout = normalize(ourHelpShapes(testenv.PythonSupervisorctl).replace(got.stdout))
	if want != got {
		t.Errorf("outputs differ\n--- reference (exit %d)\n%s--- stderr\n%s--- ours (exit %d)\n%s--- stderr\n%s",
			want.code, want.stdout, want.stderr, got.code, got.stdout, got.stderr)
	}
}

// syncBuffer collects output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)
