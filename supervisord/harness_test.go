package supervisord_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kolo/xmlrpc"

	"gosupervisor/internal/testenv"
)

// side is one daemon (ours or the reference) running a scenario in its own
// directory, with its own socket, logs and child logs.
type side struct {
	name   string // "ours" or "ref"
	bin    string
	dir    string
	conf   string
	sock   string
	log    string
	daemon *testenv.Daemon
	// lastPIDs are the child pids seen over RPC, killed at cleanup if a
	// failed test left them running.
	lastPIDs []int
}

// commonConfig is the part of every scenario's config that is not about
// programs. {{dir}} is the side's directory.
const commonConfig = `[unix_http_server]
file={{dir}}/supervisor.sock

[supervisord]
logfile={{dir}}/supervisord.log
pidfile={{dir}}/supervisord.pid
childlogdir={{dir}}
loglevel=info

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{{dir}}/supervisor.sock
`

// newSide prepares a side's directory and config (commonConfig + programs)
// without starting it. {{helper}} in programs is this test binary and
// {{env}} the environment= value that makes it a helper.
func newSide(t *testing.T, name, bin, programs string) *side {
	t.Helper()
	dir := t.TempDir()
	s := &side{
		name: name,
		bin:  bin,
		dir:  dir,
		conf: filepath.Join(dir, "supervisord.conf"),
		sock: filepath.Join(dir, "supervisor.sock"),
		log:  filepath.Join(dir, "supervisord.log"),
	}
	s.writeConfig(t, programs)
	return s
}

// expand fills the placeholders of a config fragment for this side.
func (s *side) expand(text string) string {
	helper, _ := os.Executable()
	return strings.NewReplacer(
		"{{dir}}", s.dir,
		"{{helper}}", helper,
		"{{env}}", helperEnv+"=1",
	).Replace(text)
}

func (s *side) writeConfig(t *testing.T, programs string) {
	t.Helper()
	if err := os.WriteFile(s.conf, []byte(s.expand(commonConfig+"\n"+programs)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// start runs the daemon in the foreground and waits for its socket. A
// non-empty shell runs first in a /bin/sh that then execs the daemon.
func (s *side) start(t *testing.T, shell string) {
	t.Helper()
	if shell == "" {
		s.daemon = testenv.Start(t, s.dir, s.bin, "-n", "-c", s.conf)
	} else {
		s.daemon = testenv.Start(t, s.dir, "/bin/sh", "-c", shell+` && exec "$0" "$@"`, s.bin, "-n", "-c", s.conf)
	}
	t.Cleanup(func() { killChildren(s) })
	testenv.Eventually(t, 15*time.Second, func() error {
		select {
		case <-s.daemon.Exited:
			t.Fatalf("%s: daemon exited: %v\nstderr:\n%s", s.name, s.daemon.ExitErr, s.daemon.Stderr.String())
		default:
		}
		return ok(s.sock)
	})
}

// stop sends SIGTERM and waits for a clean exit with status 0.
func (s *side) stop(t *testing.T) {
	t.Helper()
	s.daemon.Stop(t, 20*time.Second)
	if s.daemon.ExitErr != nil {
		t.Errorf("%s: daemon exit: %v\nstderr:\n%s", s.name, s.daemon.ExitErr, s.daemon.Stderr.String())
	}
}

// killChildren kills, by pid, any child the daemon left behind (a test
// that failed half-way); children lead their own process groups.
func killChildren(s *side) {
	for _, p := range s.lastPIDs {
		if p > 0 {
			_ = killGroup(p)
		}
	}
}

// sleepMarker is the duration of the one non-helper child the scenarios
// run (as another user, who cannot run this test binary), so that
// cleanup can recognise it.
const sleepMarker = "599.25"

// killGroup kills the process group a child of ours leads, after checking
// the pid still runs this test binary or our marked sleep (pids are
// reused).
func killGroup(pid int) error {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return err
	}
	helper, _ := os.Executable()
	if !strings.Contains(string(cmdline), helper) && !strings.Contains(string(cmdline), sleepMarker) {
		return fmt.Errorf("pid %d no longer runs our helper", pid)
	}
	return syscall.Kill(-pid, syscall.SIGKILL)
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// client is an XML-RPC client over the side's unix socket.
func (s *side) client(t *testing.T) *xmlrpc.Client {
	t.Helper()
	c, err := xmlrpc.NewClient("http://localhost/RPC2", testenv.UnixClient(s.sock).Transport)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// procInfo is the part of getProcessInfo the comparisons look at.
type procInfo struct {
	Name        string `xmlrpc:"name"`
	Group       string `xmlrpc:"group"`
	StateName   string `xmlrpc:"statename"`
	ExitStatus  int    `xmlrpc:"exitstatus"`
	SpawnErr    string `xmlrpc:"spawnerr"`
	Description string `xmlrpc:"description"`
	PID         int    `xmlrpc:"pid"`
}

// infos returns getAllProcessInfo.
func (s *side) infos(t *testing.T) ([]procInfo, error) {
	t.Helper()
	c := s.client(t)
	defer c.Close()
	var out []procInfo
	err := c.Call("supervisor.getAllProcessInfo", nil, &out)
	for _, p := range out {
		if p.PID > 0 && !slices.Contains(s.lastPIDs, p.PID) {
			s.lastPIDs = append(s.lastPIDs, p.PID)
		}
	}
	return out, err
}

// call makes one XML-RPC call.
func (s *side) call(t *testing.T, method string, args any, out any) error {
	t.Helper()
	c := s.client(t)
	defer c.Close()
	return c.Call(method, args, out)
}

// waitStates polls until every named process ("group:name") is in the
// given state.
func (s *side) waitStates(t *testing.T, timeout time.Duration, want map[string]string) {
	t.Helper()
	testenv.Eventually(t, timeout, func() error {
		infos, err := s.infos(t)
		if err != nil {
			return err
		}
		got := map[string]string{}
		for _, p := range infos {
			got[p.Group+":"+p.Name] = p.StateName
		}
		for name, state := range want {
			if got[name] != state {
				return fmt.Errorf("%s: %s is %q, want %s (all: %v)", s.name, name, got[name], state, got)
			}
		}
		return nil
	})
}

// waitLog polls until the main log holds a line containing text n times.
func (s *side) waitLog(t *testing.T, timeout time.Duration, text string, n int) {
	t.Helper()
	testenv.Eventually(t, timeout, func() error {
		b, _ := os.ReadFile(s.log)
		if c := strings.Count(string(b), text); c < n {
			return fmt.Errorf("%s: %q appears %d times in the main log, want %d:\n%s", s.name, text, c, n, b)
		}
		return nil
	})
}

var (
	timestampRE = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} `)
	pidRE       = regexp.MustCompile(`(pid |\()\d+`)
)

// waitExit waits for a daemon that exits by itself and checks status 0.
func (s *side) waitExit(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-s.daemon.Exited:
	case <-time.After(timeout):
		t.Fatalf("%s: daemon did not exit within %v", s.name, timeout)
	}
	if s.daemon.ExitErr != nil {
		t.Errorf("%s: daemon exit: %v\nstderr:\n%s", s.name, s.daemon.ExitErr, s.daemon.Stderr.String())
	}
}

// logLines returns a log file of the side's directory (the main log or a
// moved copy) with timestamps removed and the side's directory and pids
// replaced by placeholders.
func (s *side) logLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		line = timestampRE.ReplaceAllString(line, "")
		line = strings.ReplaceAll(line, s.dir, "DIR")
		line = pidRE.ReplaceAllString(line, "${1}N")
		lines = append(lines, line)
	}
	return lines
}

// processLineRE extracts the process a main-log line is about.
var processLineRE = regexp.MustCompile(`^\S+ (?:spawned: '([^']+)'|success: (\S+) |exited: (\S+) |gave up: (\S+) |stopped: (\S+) |killing '([^']+)'|spawnerr: )`)

// lineKey is the process a log line is about, "" for daemon lines.
func lineKey(line string) string {
	m := processLineRE.FindStringSubmatch(line)
	for _, g := range m[min(1, len(m)):] {
		if g != "" {
			return g
		}
	}
	return ""
}

// timingLine reports lines whose count depends on how long a stop takes
// on a loaded machine: "waiting for x to stop/die" repeats every 2-3 s of
// waiting, and "killing 'x' (pid) with SIGKILL" repeats when the killed
// process is not reaped within stopwaitsecs (the reference re-arms the
// deadline). Only the first "killing" line of a run is kept.
func timingLine(line, previous string) bool {
	return strings.Contains(line, "INFO waiting for ") ||
		(strings.Contains(line, "with SIGKILL") && line == previous)
}

// pitfallLine reports our pitfall warnings, which the reference does not
// log: a stop that ended in SIGKILL, a program that left processes of its
// group running (TestPitfallWarnings pins them).
func pitfallLine(line string) bool {
	return pitfallRE.MatchString(line)
}

var pitfallRE = regexp.MustCompile(`^WARN \S+ (ignored its stopsignal|exited but left pids?) `)

// compareLogs compares two normalised main logs process by process: the
// sequence of lines about each process, and the sequence of daemon lines,
// must be equal. Interleaving across processes is timing (the reference
// acts on a 1 s tick) and is compared only where a scenario asks.
func compareLogs(t *testing.T, ours, ref []string, ignore func(string) bool) {
	t.Helper()
	group := func(lines []string) map[string][]string {
		m := map[string][]string{}
		for _, l := range lines {
			key := lineKey(l)
			var previous string
			if n := len(m[key]); n > 0 {
				previous = m[key][n-1]
			}
			if timingLine(l, previous) || pitfallLine(l) || (ignore != nil && ignore(l)) {
				continue
			}
			m[key] = append(m[key], l)
		}
		return m
	}
	o, r := group(ours), group(ref)
	keys := map[string]bool{}
	for k := range o {
		keys[k] = true
	}
	for k := range r {
		keys[k] = true
	}
	for k := range keys {
		if !slices.Equal(o[k], r[k]) {
			t.Errorf("main-log lines about %q differ\nours:\n  %s\nref:\n  %s\n\nfull ours:\n  %s\nfull ref:\n  %s",
				k, strings.Join(o[k], "\n  "), strings.Join(r[k], "\n  "),
				strings.Join(ours, "\n  "), strings.Join(ref, "\n  "))
		}
	}
}

// matching returns the lines for which keep is true, in order.
func matching(lines []string, keep func(string) bool) []string {
	var out []string
	for _, l := range lines {
		if keep(l) {
			out = append(out, l)
		}
	}
	return out
}

// ok is an http.Client check used by daemonize tests: the daemon answers.
func ok(sock string) error {
	resp, err := testenv.UnixClient(sock).Get("http://localhost/ok.html")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ok.html: %s", resp.Status)
	}
	return nil
}
