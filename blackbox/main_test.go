package blackbox

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/internal/testenv"
)

// helperEnv names the fake child mode: the test binary doubles as every
// program the daemons supervise.
const helperEnv = "GOSUP_BLACKBOX_HELPER"

func TestMain(m *testing.M) {
	testenv.HelperMain(m, helperEnv, func(mode string, _ []string) int { return runHelper(mode) })
}

// runHelper is a supervised child. Modes:
//
//	serve     ignore SIGHUP/SIGUSR1/SIGUSR2, create ready.<pid> in the
//	          working directory (the daemon's), print "hello" on stdout
//	          and "err" on stderr, then echo each stdin line as
//	          "got: <line>"
//	stubborn  like serve, and ignore SIGTERM too (stops end in SIGKILL)
//	exit1     exit 1 at once
//	env       print SUPERVISOR_SERVER_URL=<value> (or "... unset"), then
//	          wait to be killed
func runHelper(mode string) int {
	// Die with the daemon, whatever way it ends.
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
	switch mode {
	case "serve", "stubborn":
		signal.Ignore(syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
		if mode == "stubborn" {
			signal.Ignore(syscall.SIGTERM)
		}
		// Tell the test this instance now survives those signals.
		if err := os.WriteFile(fmt.Sprintf("ready.%d", os.Getpid()), nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Println("hello")
		fmt.Fprintln(os.Stderr, "err")
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Println("got: " + sc.Text())
		}
		select {}
	case "exit1":
		return 1
	case "env":
		if url, ok := os.LookupEnv("SUPERVISOR_SERVER_URL"); ok {
			fmt.Println("SUPERVISOR_SERVER_URL=" + url)
		} else {
			fmt.Println("SUPERVISOR_SERVER_URL unset")
		}
		select {}
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// Credentials of the test daemons: the unix socket takes a plain
// password, the TCP server the {SHA} form of another one.
const (
	rpcUser      = "user"
	unixPassword = "plainpass"
	inetPassword = "thepassword"
)

// shaPassword is the {SHA} config form of a password.
func shaPassword(p string) string {
	sum := sha1.Sum([]byte(p))
	return "{SHA}" + hex.EncodeToString(sum[:])
}

// implementation is one supervisord under test.
type implementation struct {
	name string
	bin  func(t *testing.T) string
}

// implementations are the two daemons every scenario compares: the
// reference first.
var implementations = []implementation{
	{"ref", func(t *testing.T) string { testenv.RequireReference(t); return testenv.PythonSupervisord }},
	{"ours", func(t *testing.T) string { return filepath.Join(testenv.Binaries(t), "supervisord") }},
}

// side is one daemon running a scenario in its own directory.
type side struct {
	impl     implementation
	dir      string
	conf     string
	sock     string
	port     int
	daemon   *testenv.Daemon
	programs string
}

// freePort returns a TCP port on 127.0.0.1 nobody listened on a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// baseConfig is every scenario's config apart from its programs.
// {{here}} is the side's directory, {{port}} its TCP port.
const baseConfig = `[unix_http_server]
file={{here}}/sock
username={{user}}
password={{unixpw}}

[inet_http_server]
port=127.0.0.1:{{port}}
username={{user}}
password={{inetpw}}

[supervisord]
logfile={{here}}/main.log
pidfile={{here}}/supervisord.pid
childlogdir={{here}}
identifier=blackbox
loglevel=info

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{{here}}/sock
username={{user}}
password={{unixpw}}
`

// newSide prepares a side's directory and config without starting it.
func newSide(t *testing.T, impl implementation, programs string) *side {
	t.Helper()
	dir := t.TempDir()
	s := &side{impl: impl, dir: dir, conf: filepath.Join(dir, "supervisord.conf"),
		sock: filepath.Join(dir, "sock"), port: freePort(t), programs: programs}
	s.writeFile(t, "supervisord.conf", baseConfig+programs)
	return s
}

// expand fills the placeholders of a config fragment for this side.
func (s *side) expand(text string) string {
	helper, _ := os.Executable()
	return strings.NewReplacer(
		"{{here}}", s.dir,
		"{{port}}", fmt.Sprint(s.port),
		"{{user}}", rpcUser,
		"{{unixpw}}", unixPassword,
		"{{inetpw}}", shaPassword(inetPassword),
		"{{helper}}", helper,
		"{{env}}", helperEnv,
	).Replace(text)
}

// writeFile writes an expanded text into the side's directory.
func (s *side) writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, name), []byte(s.expand(text)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// start runs the daemon in the foreground and waits until it answers on
// the unix socket. The TCP port was free when newSide picked it, but
// anything on the machine binding port 0 may have been handed it since:
// a daemon that finds it taken is started again on another one.
func (s *side) start(t *testing.T) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s.daemon = testenv.Start(t, s.dir, s.impl.bin(t), "-n", "-c", s.conf)
		// The daemon goes first: it would restart the helpers killed
		// before it, and they would write into the directory being
		// removed.
		d := s.daemon
		t.Cleanup(func() { d.Kill(); testenv.KillHelpers(s.dir) })
		if s.answers(t) {
			return
		}
		stderr := s.daemon.Stderr.String()
		if attempt == 3 || !strings.Contains(stderr, "Another program is already listening on a port") {
			t.Fatalf("%s: daemon exited: %v\nstderr:\n%s", s.impl.name, s.daemon.ExitErr, stderr)
		}
		old := s.port
		s.port = freePort(t)
		conf, err := os.ReadFile(s.conf)
		if err != nil {
			t.Fatal(err)
		}
		moved := strings.Replace(string(conf), fmt.Sprintf("port=127.0.0.1:%d\n", old), fmt.Sprintf("port=127.0.0.1:%d\n", s.port), 1)
		if err := os.WriteFile(s.conf, []byte(moved), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: port %d was taken before the daemon bound it; again on port %d", s.impl.name, old, s.port)
	}
}

// answers waits until the daemon answers on its unix socket (true) or
// exits (false).
func (s *side) answers(t *testing.T) bool {
	t.Helper()
	exited := false
	testenv.Eventually(t, 20*time.Second, func() error {
		select {
		case <-s.daemon.Exited:
			exited = true
			return nil
		default:
		}
		c := testenv.UnixClient(s.sock)
		resp, err := c.Get("http://localhost/ok.html")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return !exited
}

// program is one [program:x] section running the helper in mode.
func program(name, mode, extra string) string {
	return fmt.Sprintf("[program:%s]\ncommand={{helper}}\nenvironment={{env}}=%s\nstopwaitsecs=2\n%s\n\n", name, mode, extra)
}
