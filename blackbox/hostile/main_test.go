package hostile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
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
const helperEnv = "GOSUP_HOSTILE_HELPER"

func TestMain(m *testing.M) { testenv.HelperMain(m, helperEnv, runHelper) }

// runHelper is a supervised child. Modes (arguments after the binary):
//
//	deaf                   never read stdin, idle
//	ticker MS              write "tick N" padded to 100 bytes to stdout
//	                       every MS milliseconds
//	plant TARGET NAME...   (run as nobody) take each NAME with a link to
//	                       TARGET whenever it is free, until killed
//	spew BYTES             write BYTES bytes of text to stdout and idle
//	greedy BYTES DONE      an event listener: READY, read one event, answer
//	                       "RESULT 999999999999", then write BYTES more bytes
//	                       of result, create the file DONE and idle
func runHelper(mode string, args []string) int {
	// Die with the daemon, whatever way it ends.
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
	switch mode {
	case "deaf":
		idle()
	case "ticker":
		ms, _ := strconv.Atoi(args[0])
		for n := 1; ; n++ {
			line := fmt.Sprintf("tick %d ", n)
			line += strings.Repeat("x", 99-len(line)) + "\n"
			if _, err := os.Stdout.WriteString(line); err != nil {
				return 3
			}
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
	case "plant":
		// The attacker's tight loop: take each name with a link to
		// args[0] whenever it is free.
		for {
			for _, name := range args[1:] {
				_ = os.Symlink(args[0], name)
			}
		}
	case "spew":
		n, _ := strconv.Atoi(args[0])
		line := strings.Repeat("x", 99) + "\n"
		if _, err := os.Stdout.WriteString(strings.Repeat(line, n/len(line)) + line[:n%len(line)]); err != nil {
			return 3
		}
		idle()
	case "greedy":
		n, _ := strconv.ParseInt(args[0], 10, 64)
		if err := greedyListener(n, args[1]); err != nil {
			fmt.Fprintln(os.Stderr, "greedy:", err)
			return 3
		}
		idle()
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// greedyListener speaks the listener protocol up to a result whose
// announced length it never reaches, then streams n bytes of it.
func greedyListener(n int64, done string) error {
	in := bufio.NewReader(os.Stdin)
	if _, err := os.Stdout.WriteString("READY\n"); err != nil {
		return err
	}
	header, err := in.ReadString('\n')
	if err != nil {
		return err
	}
	var length int
	for _, field := range strings.Fields(header) {
		if v, ok := strings.CutPrefix(field, "len:"); ok {
			length, _ = strconv.Atoi(v)
		}
	}
	if _, err := io.CopyN(io.Discard, in, int64(length)); err != nil {
		return err
	}
	if _, err := os.Stdout.WriteString("RESULT 999999999999\n"); err != nil {
		return err
	}
	block := bytes.Repeat([]byte("z"), 1<<20)
	for n > 0 {
		m := min(n, int64(len(block)))
		if _, err := os.Stdout.Write(block[:m]); err != nil {
			return err
		}
		n -= m
	}
	return os.WriteFile(done, nil, 0o644)
}

// idle blocks forever without tripping the runtime's deadlock detector.
func idle() {
	for {
		time.Sleep(time.Hour)
	}
}

// requireRoot fails the test unless it runs as root: the daemon must run
// as root for the attacks to mean anything.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("these tests run the daemon as root (make test runs as root); euid is %d", os.Geteuid())
	}
}

// nobody is the attacker's identity.
func nobody(t *testing.T) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("no user nobody: %v", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

// asNobody runs a command as nobody (the attacker) and fails the test if
// it fails.
func asNobody(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := nobodyCommand(t, name, args...).CombinedOutput(); err != nil {
		t.Fatalf("as nobody: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// nobodyCommand is a command that will run as nobody.
func nobodyCommand(t *testing.T, name string, args ...string) *exec.Cmd {
	uid, gid := nobody(t)
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	return cmd
}

// startAttacker runs this test binary as nobody in mode with args (a
// copy of it in dir, since nobody cannot reach the build directory) and
// kills it at cleanup.
func startAttacker(t *testing.T, dir, mode string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "attacker")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := nobodyCommand(t, bin, args...)
	cmd.Env = []string{helperEnv + "=" + mode}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// run is one daemon under test in its own directory.
type run struct {
	dir, conf, sock string
	daemon          *testenv.Daemon
}

// baseConfig is every scenario's config apart from its extra
// [supervisord] keys and its programs. {{here}} is the run's directory.
const baseConfig = `[unix_http_server]
file={{here}}/sock

[supervisord]
logfile={{here}}/main.log
pidfile={{here}}/supervisord.pid
childlogdir={{here}}
identifier=hostile
loglevel=info
{{supervisord}}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

`

// newRun writes a config into a fresh directory (readable by nobody, so
// that the attacker can reach the directories the scenario makes inside
// it). supervisordKeys override the [supervisord] keys of baseConfig.
func newRun(t *testing.T, supervisordKeys, programs string) *run {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := &run{dir: dir, conf: filepath.Join(dir, "supervisord.conf"), sock: filepath.Join(dir, "sock")}
	text := strings.Replace(baseConfig, "{{supervisord}}", supervisordKeys, 1) + programs
	if err := os.WriteFile(r.conf, []byte(r.expand(text)), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// expand fills the placeholders of a config fragment for this run.
func (r *run) expand(text string) string {
	helper, _ := os.Executable()
	return strings.NewReplacer("{{here}}", r.dir, "{{helper}}", helper, "{{env}}", helperEnv).Replace(text)
}

// program is a [program:x] section running the helper in mode with args.
func program(name, mode, args, extra string) string {
	return fmt.Sprintf("[program:%s]\ncommand={{helper}} %s\nenvironment={{env}}=%s\nstartsecs=0\nstopwaitsecs=2\n%s\n\n", name, args, mode, extra)
}

// path is a file name inside the run's directory.
func (r *run) path(elem ...string) string { return filepath.Join(append([]string{r.dir}, elem...)...) }

// start runs our daemon in the foreground and waits until it answers.
func (r *run) start(t *testing.T) {
	t.Helper()
	bin := filepath.Join(testenv.Binaries(t), "supervisord")
	r.daemon = testenv.Start(t, r.dir, bin, "-n", "-c", r.conf)
	t.Cleanup(func() {
		r.daemon.Kill()
		testenv.KillHelpers(r.dir)
	})
	testenv.Eventually(t, 20*time.Second, func() error {
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
		t.Fatalf("daemon exited: %v\nstderr:\n%s", r.daemon.ExitErr, r.daemon.Stderr.String())
	default:
	}
}

// waitState waits until the named process is in state.
func (r *run) waitState(t *testing.T, name, state string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		r.checkAlive(t)
		var info struct {
			StateName string `xmlrpc:"statename"`
		}
		if err := r.call("supervisor.getProcessInfo", name, &info); err != nil {
			return err
		}
		if info.StateName != state {
			return fmt.Errorf("%s is %s, want %s", name, info.StateName, state)
		}
		return nil
	})
}

// call makes one XML-RPC call over the run's unix socket.
func (r *run) call(method string, args, reply any) error {
	c, err := xmlrpc.NewClient("http://localhost/RPC2", testenv.UnixClient(r.sock).Transport)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Call(method, args, reply); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return nil
}

// mainLog is the main log's text so far.
func (r *run) mainLog(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(r.path("main.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitMainLog waits until the main log contains text.
func (r *run) waitMainLog(t *testing.T, text string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		r.checkAlive(t)
		if b, _ := os.ReadFile(r.path("main.log")); !bytes.Contains(b, []byte(text)) {
			return fmt.Errorf("main log has no %q yet:\n%s", text, b)
		}
		return nil
	})
}

// memory is a process's resident set and its peak, from /proc.
type memory struct{ rss, hwm int64 } // bytes

// daemonMemory reads the daemon's VmRSS and VmHWM.
func (r *run) daemonMemory(t *testing.T) memory {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.daemon.Cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var m memory
	for _, line := range strings.Split(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("/proc status %q: %v", line, err)
		}
		if key == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.hwm = kb << 10
		}
	}
	if m.rss == 0 || m.hwm == 0 {
		t.Fatalf("no VmRSS/VmHWM in /proc status:\n%s", b)
	}
	return m
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	testenv.Eventually(t, timeout, func() error {
		_, err := os.Stat(path)
		return err
	})
}

// faultRE is how a fault reaches us through kolo/xmlrpc, whose net/rpc
// client turns it into a plain string.
var faultRE = regexp.MustCompile(`Fault\((-?\d+)\): (.*)$`)

// fault is the XML-RPC fault err carries: its code and string.
func fault(err error) (code int, text string, ok bool) {
	if err == nil {
		return 0, "", false
	}
	m := faultRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, "", false
	}
	code, _ = strconv.Atoi(m[1])
	return code, m[2], true
}
