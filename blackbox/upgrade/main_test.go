package upgrade

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kolo/xmlrpc"

	"gosupervisor/internal/testenv"
)

// helperEnv names the fake child's mode: the test binary doubles as the
// chatty program and the event listener. No helper asks to die with its
// parent (PR_SET_PDEATHSIG): that fires when the thread that forked it
// ends, which an exec of the daemon does; tests kill them by pid.
const helperEnv = "GOSUP_UPGRADE_HELPER"

func TestMain(m *testing.M) {
	testenv.HelperMain(m, helperEnv, func(mode string, _ []string) int { return runHelper(mode) })
}

// runHelper is a supervised child. Modes:
//
//	chatty    write "chatty NNNNNNNN\n" lines, numbered from 1, ten every
//	          millisecond, forever
//	listener  an event listener: append each event's header line to
//	          events.log in the working directory, and acknowledge it
//	recorder  an event listener: append each event's header and payload,
//	          then a line "--", to the file $GOSUP_EVENTS_FILE in the
//	          working directory, and acknowledge it
//	notify    an sd_notify program named $GOSUP_NOTIFY_NAME: write its
//	          NOTIFY_SOCKET to <name>.addr, send READY=1, then WATCHDOG=1
//	          every 200 ms (a new socket each time, as libsystemd does)
//	          until a file stop-<name> appears; then write the last
//	          keep-alive's time (Unix ns) to <name>.stopped and idle
func runHelper(mode string) int {
	switch mode {
	case "notify":
		return notifyHelper(os.Getenv("GOSUP_NOTIFY_NAME"), os.Getenv("NOTIFY_SOCKET"))
	case "recorder":
		return listen(os.Getenv("GOSUP_EVENTS_FILE"), true)
	case "listener":
		return listen("events.log", false)
	case "chatty":
		w := bufio.NewWriter(os.Stdout)
		for n := 1; ; {
			for range 10 {
				fmt.Fprintf(w, "chatty %08d\n", n)
				n++
			}
			if w.Flush() != nil {
				return 3
			}
			time.Sleep(time.Millisecond)
		}
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

func notifyHelper(name, addr string) int {
	if name == "" || addr == "" {
		return 2
	}
	if err := os.WriteFile(name+".addr", []byte(addr), 0o644); err != nil {
		return 3
	}
	send := func(msg string) error {
		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte(msg))
		return err
	}
	if send("READY=1") != nil {
		return 4
	}
	last := time.Now()
	for {
		if _, err := os.Stat("stop-" + name); err == nil {
			os.WriteFile(name+".stopped", []byte(strconv.FormatInt(last.UnixNano(), 10)), 0o644)
			time.Sleep(time.Hour)
			return 0
		}
		time.Sleep(200 * time.Millisecond)
		if err := send("WATCHDOG=1"); err != nil {
			fmt.Fprintf(os.Stderr, "WATCHDOG=1: %v\n", err)
		} else {
			last = time.Now()
		}
	}
}

// listen is an event listener writing each event's header (and with
// payloads, its payload and a line "--") to the file name.
func listen(name string, payloads bool) int {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 3
	}
	in := bufio.NewReader(os.Stdin)
	for {
		os.Stdout.WriteString("READY\n")
		header, err := in.ReadString('\n')
		if err != nil {
			return 0
		}
		m := regexp.MustCompile(`len:(\d+)`).FindStringSubmatch(header)
		if m == nil {
			return 4
		}
		n, _ := strconv.Atoi(m[1])
		body := make([]byte, n)
		if _, err := io.ReadFull(in, body); err != nil {
			return 0
		}
		if payloads {
			header += string(body) + "\n--\n"
		}
		f.WriteString(header)
		os.Stdout.WriteString("RESULT 2\nOK")
	}
}

// builds are two builds of supervisord with different labels, one that
// refuses this source's state version and one that cannot read the
// record of quiet:quiet_1 when it resumes, built once.
type builds struct{ a, b, old, spoiled, ctl string }

var (
	buildOnce sync.Once
	built     builds
	buildErr  error
)

func binaries(t *testing.T) builds {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := testenv.BuildDir("gosupervisor-upgrade")
		if err != nil {
			buildErr = err
			return
		}
		for _, b := range []struct {
			out, flags string
		}{
			{"supervisord-a", "-X main.label=build-a"},
			{"supervisord-b", "-X main.label=build-b"},
			{"supervisord-old", "-X main.label=build-old -X main.stateVersions=99"},
			{"supervisord-spoiled", "-X main.label=build-spoiled -X main.resumeFault=quiet:quiet_1"},
		} {
			if buildErr = testenv.GoBuild("-ldflags", b.flags, "-o", filepath.Join(dir, b.out), "./cmd/supervisord"); buildErr != nil {
				return
			}
		}
		if buildErr = testenv.GoBuild("-o", filepath.Join(dir, "supervisorctl"), "./cmd/supervisorctl"); buildErr != nil {
			return
		}
		built = builds{filepath.Join(dir, "supervisord-a"), filepath.Join(dir, "supervisord-b"), filepath.Join(dir, "supervisord-old"),
			filepath.Join(dir, "supervisord-spoiled"), filepath.Join(dir, "supervisorctl")}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// daemon is a supervisord under test in its own directory.
type daemon struct {
	dir, conf, sock string
	d               *testenv.Daemon
	transports      []*http.Transport // of the clients, see closeIdle
}

const baseConfig = `[unix_http_server]
file={{here}}/sock

[supervisord]
logfile={{here}}/main.log
pidfile={{here}}/supervisord.pid
childlogdir={{here}}
loglevel=info

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{{here}}/sock
`

// start writes the config (baseConfig and programs, {{here}} and
// {{self}} expanded) and starts bin with args in the foreground unless
// args say otherwise.
func start(t *testing.T, bin, programs string, args ...string) *daemon {
	t.Helper()
	if len(args) == 0 {
		args = []string{"-n"}
	}
	return startWith(t, bin, programs, args...)
}

// startWith runs bin with args and "-c <config>" (bin may be a wrapper
// whose args end with supervisord's binary and options).
func startWith(t *testing.T, bin, programs string, args ...string) *daemon {
	t.Helper()
	dir := t.TempDir()
	self, _ := os.Executable()
	text := strings.NewReplacer("{{here}}", dir, "{{self}}", self).Replace(baseConfig + programs)
	conf := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &daemon{dir: dir, conf: conf, sock: filepath.Join(dir, "sock")}
	d.d = testenv.Start(t, dir, bin, append(args, "-c", conf)...)
	t.Cleanup(func() { killChildren(dir) })
	testenv.WaitUnixHTTP(t, d.sock, 20*time.Second)
	return d
}

// killChildren kills by pid every process whose working directory is
// dir (the daemon's children inherit it).
func killChildren(dir string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd == dir {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func (d *daemon) client(t *testing.T) *xmlrpc.Client {
	t.Helper()
	tr := testenv.UnixClient(d.sock).Transport
	c, err := xmlrpc.NewClient("http://localhost/RPC2", tr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if ht, ok := tr.(*http.Transport); ok {
		d.transports = append(d.transports, ht)
	}
	return c
}

// settledFDs closes the test's idle client connections and returns the
// daemon's descriptors once their count has stayed the same for a
// while: the daemon closes its side of a connection only after it reads
// the client's end.
func (d *daemon) settledFDs(t *testing.T, pid int) []string {
	t.Helper()
	d.closeIdle()
	fds := fdList(t, pid)
	same := 0
	testenv.Eventually(t, 20*time.Second, func() error {
		now := fdList(t, pid)
		if len(now) != len(fds) {
			fds, same = now, 0
		} else {
			same++
		}
		if same < 10 {
			return fmt.Errorf("descriptors still changing: %d", len(now))
		}
		return nil
	})
	return fds
}

// fdsAtMost waits until the daemon holds no more descriptors than
// before did and returns them; it fails the test with both lists if
// that never happens. The test's own idle connections are closed first:
// an upgrade hands idle client connections over to the new build, so
// a connection a check opened would count as the daemon's.
func (d *daemon) fdsAtMost(t *testing.T, pid int, before []string, label string) []string {
	t.Helper()
	var now []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		d.closeIdle()
		now = fdList(t, pid)
		if len(now) <= len(before) {
			return now
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %d descriptors open, %d before:\n%v\n%v", label, len(now), len(before), now, before)
			return now
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *daemon) closeIdle() {
	for _, tr := range d.transports {
		tr.CloseIdleConnections()
	}
}

// pids maps each process's name to its pid (0: not running).
func pids(t *testing.T, c *xmlrpc.Client) map[string]int {
	t.Helper()
	var infos []map[string]any
	if err := c.Call("supervisor.getAllProcessInfo", nil, &infos); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, in := range infos {
		out[in["group"].(string)+":"+in["name"].(string)] = int(in["pid"].(int64))
	}
	return out
}

func upgradeInfo(t *testing.T, c *xmlrpc.Client) map[string]any {
	t.Helper()
	var info map[string]any
	if err := c.Call("gosupervisor.getUpgradeInfo", nil, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// upgrade upgrades to bin and waits until the new build answers.
func (d *daemon) upgrade(t *testing.T, c *xmlrpc.Client, bin string, label string) {
	t.Helper()
	before := upgradeInfo(t, c)["serial"].(int64)
	var res map[string]any
	if err := c.Call("gosupervisor.upgrade", bin, &res); err != nil {
		t.Fatalf("upgrade to %s: %v", bin, err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		info := map[string]any{}
		if err := c.Call("gosupervisor.getUpgradeInfo", nil, &info); err != nil {
			return err
		}
		if info["serial"].(int64) != before+1 || !strings.Contains(fmt.Sprint(info["build"]), label) {
			return fmt.Errorf("upgrade info %v", info)
		}
		if e, _ := info["last_error"].(string); e != "" {
			t.Fatalf("upgrade failed: %s", e)
		}
		return nil
	})
}

// fdList lists the descriptors pid has open and what they are.
func fdList(t *testing.T, pid int) []string {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		out = append(out, e.Name()+"="+target)
	}
	return out
}

// tailStream follows /logtail/<name> until ctx ends, reconnecting each
// time a stream ends; it reports every error but a stream's end.
func tailStream(ctx context.Context, sock, name string, errs func(error), streams *int) {
	hc := testenv.UnixClient(sock)
	hc.Timeout = 0
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://localhost/logtail/"+name, nil)
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				errs(fmt.Errorf("tail: %w", err))
			}
			return
		}
		*streams++
		buf := make([]byte, 32<<10)
		for {
			if _, err := resp.Body.Read(buf); err != nil {
				if !errors.Is(err, io.EOF) && ctx.Err() == nil {
					errs(fmt.Errorf("tail stream: %w", err))
				}
				break
			}
		}
		resp.Body.Close()
	}
}
