package blackbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/kolo/xmlrpc"

	"gosupervisor/internal/testenv"
)

// ctlPrograms is the config the stock supervisorctl drives.
var ctlPrograms = program("cat", "serve", "startsecs=0") +
	program("manual", "serve", "startsecs=0\nautostart=false") +
	// startsecs=10: the reference notices an exit only on its next loop
	// turn, and when that comes after startsecs (a loaded machine) it
	// calls the program RUNNING first and its start a success.
	program("failer", "exit1", "startretries=0\nautostart=false\nstartsecs=10") +
	program("multi", "serve", "autostart=false\nstartsecs=0\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)02d") +
	"[program:nofile]\ncommand={{here}}/nosuchcmd\nautostart=false\n\n" +
	program("a", "serve", "startsecs=0") +
	program("b", "serve", "startsecs=0") +
	"[group:grp]\nprograms=a,b\n\n"

// ctlProgramsNew is the config reread later: manual gone, grp changed,
// newprog added.
var ctlProgramsNew = strings.Replace(ctlPrograms, program("manual", "serve", "startsecs=0\nautostart=false"), "", 1) +
	"[program:b]\nstartretries=5\n\n" +
	program("newprog", "serve", "startsecs=0")

// ctlStep is one supervisorctl run. Before it, the daemon settles (no
// process starting or stopping, every running helper ready).
type ctlStep struct {
	args string // after -c <conf>; split on spaces
	// before runs first (e.g. rewrite the config).
	before func(t *testing.T, s *side)
	// follow is set for commands that never end by themselves (tail -f,
	// maintail -f, fg): the client runs until its output holds
	// follow.until, then gets follow.input and a Ctrl-C.
	follow *followSpec
	// sortLines marks output whose line order is timing on both daemons
	// (results in completion order): lines are compared sorted.
	sortLines bool
	// lastLines > 0 compares only that many last output lines, and the
	// first line of a -f command (its banner): the lines before are the
	// main log's, whose interleaving of processes is timing.
	lastLines int
}

// followSpec drives a command that streams until Ctrl-C.
type followSpec struct {
	until  string
	input  string // typed after until showed (fg), then until2 awaited
	until2 string
	tty    bool // run on a pseudo-terminal (fg needs one)
	// killAfter ends the client once this shows after the Ctrl-C: the
	// stock fg prints "Exiting foreground" but its reader threads wait
	// for the next log line, whatever the daemon. Its exit status is
	// then not compared (-1).
	killAfter string
}

func writeNewConfig(t *testing.T, s *side) {
	s.writeFile(t, "supervisord.conf", baseConfig+ctlProgramsNew)
}

// ctlSteps covers every command of the stock client in one sequence.
var ctlSteps = []ctlStep{
	{args: "status"}, {args: "status cat"}, {args: "status grp:*"}, {args: "status grp:a manual"},
	{args: "status nosuch"}, {args: "status nosuch:*"}, {args: "status all"},
	{args: "version"}, {args: "avail"}, {args: "pid"}, {args: "pid cat"}, {args: "pid all"}, {args: "pid manual"},
	{args: "pid nosuch"},
	{args: "start manual"}, {args: "start manual"}, {args: "status manual"}, {args: "stop manual"}, {args: "stop manual"},
	{args: "start nosuch"}, {args: "start nosuch:*"}, {args: "start"}, {args: "start failer"}, {args: "start nofile"},
	{args: "stop grp:*", sortLines: true}, {args: "start grp:*"}, {args: "start grp:*"}, {args: "stop grp:a"},
	{args: "start grp:a cat"},
	{args: "restart cat"}, {args: "restart grp:*", sortLines: true}, {args: "restart nosuch"},
	{args: "start all", sortLines: true}, {args: "status"}, {args: "stop all", sortLines: true}, {args: "status"},
	{args: "stop all"}, {args: "restart all", sortLines: true}, {args: "stop multi:*", sortLines: true},
	{args: "stop manual"},
	{args: "signal HUP cat"}, {args: "signal USR1 grp:*", sortLines: true}, {args: "signal HUP all", sortLines: true},
	{args: "signal FOO cat"}, {args: "signal HUP manual"}, {args: "signal HUP nosuch"}, {args: "signal HUP"},
	{args: "signal 1 cat"},
	{args: "tail cat"}, {args: "tail -3 cat"}, {args: "tail cat stderr"}, {args: "tail -2 grp:a stderr"},
	{args: "tail nosuch"}, {args: "tail manual"}, {args: "tail cat foo"},
	{args: "tail -f cat", follow: &followSpec{until: "hello\n"}},
	{args: "tail -f cat stderr", follow: &followSpec{until: "err\n"}},
	{args: "maintail -30"}, {args: "maintail", lastLines: 1},
	{args: "clear cat"}, {args: "tail cat"}, {args: "clear nosuch"}, {args: "clear all", sortLines: true},
	{args: "fg cat", follow: &followSpec{until: "<==\r\n", input: "ping\r", until2: "got: ping\r\n", tty: true, killAfter: "Exiting foreground"}},
	{args: "fg manual", follow: &followSpec{tty: true}},
	{args: "fg nosuch", follow: &followSpec{tty: true}},
	{args: "stop cat"},
	{args: "maintail -f", follow: &followSpec{until: "stopped: cat"}, lastLines: 1},
	{args: "start cat"},
	{args: "reread"},
	{args: "reread", before: writeNewConfig}, {args: "avail"},
	{args: "update"}, {args: "status"}, {args: "update"},
	{args: "add nosuch"}, {args: "add newprog"}, {args: "remove nosuch"}, {args: "remove newprog"},
	{args: "stop newprog"}, {args: "remove newprog"}, {args: "add newprog"}, {args: "update newprog nosuch"},
	{args: "reload"}, {args: "status"},
	// TCP with the {SHA} password, and credentials given on the command line.
	{args: "-s http://127.0.0.1:{{port}} -u {{user}} -p " + inetPassword + " status cat"},
	{args: "-s http://127.0.0.1:{{port}} -u {{user}} -p wrong status"},
	{args: "-s http://127.0.0.1:{{port}} -u {{user}} -p wrong avail"},
	{args: "-s http://127.0.0.1:{{port}} status"},
	{args: "-u {{user}} -p wrong status"},
	{args: "-u {{user}} -p wrong tail -f cat", follow: &followSpec{}},
	{args: "-s http://127.0.0.1:{{port}} -u {{user}} -p " + inetPassword + " tail -f cat stderr", follow: &followSpec{until: "err\n"}},
	{args: "-s http://127.0.0.1:{{port}} -u {{user}} -p " + inetPassword + " maintail -1"},
	{args: "shutdown"}, {args: "status"}, {args: "shutdown"},
}

// outcome is what one supervisorctl run printed and returned.
type outcome struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Code   int    `json:"code"`
}

// rpcClient is an XML-RPC client over the side's unix socket with the
// side's credentials.
func (s *side) rpcClient(t *testing.T) *xmlrpc.Client {
	t.Helper()
	tr := testenv.UnixClient(s.sock).Transport
	c, err := xmlrpc.NewClient("http://localhost/RPC2", authTransport{tr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authTransport adds the test daemons' basic-auth credentials.
type authTransport struct{ http.RoundTripper }

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(rpcUser, unixPassword)
	return a.RoundTripper.RoundTrip(r)
}

// settle waits until no process is starting, backing off or stopping
// and each running helper has set up its signal handling. A daemon that
// is down (after shutdown) is settled.
func (s *side) settle(t *testing.T) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		select {
		case <-s.daemon.Exited:
			return nil
		default:
		}
		c := s.rpcClient(t)
		defer c.Close()
		var infos []struct {
			Name      string `xmlrpc:"name"`
			StateName string `xmlrpc:"statename"`
			PID       int    `xmlrpc:"pid"`
		}
		if err := c.Call("supervisor.getAllProcessInfo", nil, &infos); err != nil {
			return err
		}
		for _, p := range infos {
			switch p.StateName {
			case "STOPPED", "EXITED", "FATAL":
			case "RUNNING":
				if _, err := os.Stat(filepath.Join(s.dir, fmt.Sprintf("ready.%d", p.PID))); err != nil {
					return fmt.Errorf("%s: %s not ready yet", s.impl.name, p.Name)
				}
			default:
				return fmt.Errorf("%s: %s is %s", s.impl.name, p.Name, p.StateName)
			}
		}
		return nil
	})
}

// ctlRunner is one Python interpreter running the stock supervisorctl's
// main once per request (testdata/ctlrunner.py).
type ctlRunner struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startCtlRunner(t *testing.T, dir string) *ctlRunner {
	t.Helper()
	cmd := exec.Command(testenv.Python3, filepath.Join(testenv.RepoRoot(), "blackbox", "testdata", "ctlrunner.py"))
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return &ctlRunner{cmd: cmd, in: in, out: bufio.NewReader(out)}
}

// run runs supervisorctl with args and returns what it printed.
func (r *ctlRunner) run(t *testing.T, args []string) outcome {
	t.Helper()
	req, _ := json.Marshal(args)
	if _, err := r.in.Write(append(req, '\n')); err != nil {
		t.Fatalf("ctl runner: %v", err)
	}
	line, err := r.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("ctl runner: %v", err)
	}
	var o outcome
	if err := json.Unmarshal(line, &o); err != nil {
		t.Fatalf("ctl runner: %v: %s", err, line)
	}
	return o
}

// ctl runs the stock supervisorctl for one step.
func (s *side) ctl(t *testing.T, r *ctlRunner, st ctlStep) outcome {
	t.Helper()
	args := append([]string{"-c", s.conf}, strings.Fields(s.expand(st.args))...)
	if st.follow != nil {
		return s.follow(t, args, st.follow)
	}
	return r.run(t, args)
}

func exitCode(t *testing.T, err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("supervisorctl: %v", err)
	}
	return 0
}

// follow runs a streaming command until its output shows the markers,
// types the input, then presses Ctrl-C (SIGINT without a terminal).
// Without markers it waits for the client to end by itself.
func (s *side) follow(t *testing.T, args []string, f *followSpec) outcome {
	t.Helper()
	cmd := exec.Command(testenv.PythonSupervisorctl, args...)
	cmd.Dir = s.dir
	var out syncBuffer
	var tty *os.File
	copied := make(chan struct{})
	if f.tty {
		var err error
		cmd.Env = append(os.Environ(), "TERM=dumb")
		if tty, err = pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
			t.Fatal(err)
		}
		go func() { defer close(copied); _, _ = io.Copy(&out, tty) }()
	} else {
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		close(copied)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-copied
	})
	waitOutput := func(want string) {
		testenv.Eventually(t, 15*time.Second, func() error {
			if !strings.Contains(out.String(), want) {
				return fmt.Errorf("%s: %v shows %q, want %q", s.impl.name, args, out.String(), want)
			}
			return nil
		})
	}
	if f.until != "" {
		waitOutput(f.until)
		if f.input != "" {
			if _, err := io.WriteString(tty, f.input); err != nil {
				t.Fatal(err)
			}
			waitOutput(f.until2)
		}
		if tty != nil {
			_, _ = io.WriteString(tty, "\x03")
		} else {
			waitBlockedInSelect(t, cmd.Process.Pid)
			_ = cmd.Process.Signal(syscall.SIGINT)
		}
		if f.killAfter != "" {
			waitOutput(f.killAfter)
			_ = cmd.Process.Kill()
			<-exited
			if tty != nil {
				tty.Close()
			}
			<-copied
			return outcome{Stdout: out.String(), Code: -1}
		}
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: %v did not end:\n%s", s.impl.name, args, out.String())
	}
	if tty != nil {
		tty.Close()
	}
	<-copied
	return outcome{Stdout: out.String(), Code: exitCode(t, err)}
}

// waitBlockedInSelect waits until the stock client waits for data in
// select(2). A Ctrl-C that lands while its asyncore loop handles a read
// is reported as "Cannot connect, error: <class 'KeyboardInterrupt'>"
// instead of ending quietly: client timing, whatever the daemon.
func waitBlockedInSelect(t *testing.T, pid int) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, func() error {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
		if err != nil {
			return err
		}
		// x86_64 select, poll, pselect6; arm64 pselect6, ppoll.
		switch nr, _, _ := strings.Cut(string(b), " "); nr {
		case "23", "7", "270", "72", "73":
			return nil
		}
		return fmt.Errorf("supervisorctl pid %d is in syscall %q, not waiting in select", pid, b)
	})
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

var ctlPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`pid \d+, uptime \d+:\d\d:\d\d`), "pid N, uptime U"},
	{regexp.MustCompile(`[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M`), "DATE"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}`), "TIMESTAMP"},
	{regexp.MustCompile(`(?m)^[1-9]\d*(\r?)$`), "PID$1"},
	{regexp.MustCompile(`(pid |\()\d+`), "${1}N"},
}

// normalizeOutput blanks what differs between any two runs: the side's
// directory, pids, uptimes, stop dates and log timestamps.
func normalizeOutput(s *side, text string) string {
	text = strings.ReplaceAll(text, s.dir, "DIR")
	for _, p := range ctlPatterns {
		text = p.re.ReplaceAllString(text, p.repl)
	}
	return text
}

// waitingLine is a main-log line the daemons print while a stop waits.
var waitingLine = regexp.MustCompile(`^TIMESTAMP INFO waiting for .* to (stop|die)$`)

// compareRule narrows a comparison where the step says the order of
// lines, or the lines before the last, are timing.
func compareRule(st ctlStep, text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	switch {
	case st.sortLines:
		slices.Sort(lines)
	case st.lastLines > 0:
		// "waiting for X to stop/die" lines come from a timer on both
		// daemons: whether one falls between two steps is timing.
		lines = slices.DeleteFunc(lines, waitingLine.MatchString)
		if len(lines) <= st.lastLines {
			break
		}
		last := lines[len(lines)-st.lastLines:]
		if st.follow != nil {
			lines = append([]string{lines[0], "..."}, last...)
		} else {
			lines = append([]string{"..."}, last...)
		}
	}
	return strings.Join(lines, "\n")
}

// runCtlSteps starts impl on the ctl config and runs every step.
func runCtlSteps(t *testing.T, impl implementation) []outcome {
	s := newSide(t, impl, ctlPrograms)
	s.start(t)
	runner := startCtlRunner(t, s.dir)
	var out []outcome
	for _, st := range ctlSteps {
		s.settle(t)
		if st.before != nil {
			st.before(t, s)
		}
		o := s.ctl(t, runner, st)
		o.Stdout = compareRule(st, normalizeOutput(s, o.Stdout))
		o.Stderr = compareRule(st, normalizeOutput(s, o.Stderr))
		out = append(out, o)
		if st.args == "reload" {
			waitAnswering(t, s)
		}
	}
	select {
	case <-s.daemon.Exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: daemon still running after shutdown", impl.name)
	}
	return out
}

// waitAnswering waits until a restarting daemon answers again.
func waitAnswering(t *testing.T, s *side) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		c := s.rpcClient(t)
		defer c.Close()
		var state struct {
			Name string `xmlrpc:"statename"`
		}
		if err := c.Call("supervisor.getState", nil, &state); err != nil {
			return err
		}
		if state.Name != "RUNNING" {
			return fmt.Errorf("%s: daemon is %s", s.impl.name, state.Name)
		}
		return nil
	})
}

// TestStockSupervisorctl runs every command of the stock supervisorctl
// against both daemons and compares output and exit status step by step.
func TestStockSupervisorctl(t *testing.T) {
	t.Parallel()
	results := runBoth(t, runCtlSteps)
	if t.Failed() {
		return
	}
	ref, ours := results[0], results[1]
	for i, st := range ctlSteps {
		t.Logf("step %d `supervisorctl %s`: exit %d\n%s%s", i, st.args, ref[i].Code, ref[i].Stdout, ref[i].Stderr)
		if ref[i] != ours[i] {
			t.Errorf("step %d `supervisorctl %s` differs\n--- reference (exit %d)\n%s\n--- stderr\n%s\n--- ours (exit %d)\n%s\n--- stderr\n%s",
				i, st.args, ref[i].Code, ref[i].Stdout, ref[i].Stderr, ours[i].Code, ours[i].Stdout, ours[i].Stderr)
		}
	}
}
