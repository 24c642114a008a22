package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kolo/xmlrpc"
	"golang.org/x/sys/unix"

	"gosupervisor/internal/testenv"
)

// helperEnv names the fake child's mode: the test binary doubles as every
// program the daemons supervise.
const helperEnv = "GOSUP_LOGS_HELPER"

func TestMain(m *testing.M) { testenv.HelperMain(m, helperEnv, runHelper) }

// runHelper is a supervised child. Modes (arguments after the binary):
//
//	stream SEED N DONE  write Stream(SEED, N) to stdout and Stream(SEED+1000, N)
//	                    to stderr, record by record, create the file DONE,
//	                    then idle
//	ticker MS SIZE FILE every MS milliseconds write "tick N" padded to SIZE
//	                    bytes to stdout and "etick N" to stderr, and write
//	                    N to FILE (the count shows the child is not blocked)
//	script DONE         write scriptRecords to stdout and stderr, each once
//	                    the previous one was read, so each lands in a read
//	                    chunk of its own, create the file DONE, then idle
func runHelper(mode string, args []string) int {
	// Die with the daemon, whatever way it ends.
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
	atoi := func(i int) int {
		n, err := strconv.Atoi(args[i])
		if err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: argument %d: %v\n", mode, i, err)
			os.Exit(2)
		}
		return n
	}
	switch mode {
	case "stream":
		seed, n := atoi(0), atoi(1)
		for i := range n {
			if _, err := os.Stdout.Write(Record(seed, i)); err != nil {
				return 3
			}
			if _, err := os.Stderr.Write(Record(seed+1000, i)); err != nil {
				return 3
			}
		}
		if err := os.WriteFile(args[2], nil, 0o644); err != nil {
			return 3
		}
		idle()
	case "ticker":
		interval, size, file := time.Duration(atoi(0))*time.Millisecond, atoi(1), args[2]
		for n := 1; ; n++ {
			line := fmt.Sprintf("tick %d ", n)
			line += strings.Repeat("x", max(size-len(line)-1, 0)) + "\n"
			_, _ = os.Stdout.WriteString(line)
			_, _ = fmt.Fprintf(os.Stderr, "etick %d\n", n)
			_ = os.WriteFile(file+".tmp", []byte(strconv.Itoa(n)), 0o644)
			_ = os.Rename(file+".tmp", file)
			time.Sleep(interval)
		}
	case "script":
		for _, r := range scriptRecords {
			writeConsumed(os.Stdout, r)
			writeConsumed(os.Stderr, "E:"+r)
		}
		if err := os.WriteFile(args[0], nil, 0o644); err != nil {
			return 3
		}
		idle()
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// writeConsumed writes s to f, then waits until the daemon has read it
// all out of the pipe, so the next write makes a read chunk of its own
// however loaded the machine is.
func writeConsumed(f *os.File, s string) {
	_, _ = f.WriteString(s)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if n, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCINQ); err != nil || n == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// scriptRecords are written one read chunk each by the script helper:
// ANSI colour sequences (one split across two records), invalid UTF-8,
// quotes, a record without newline.
var scriptRecords = []string{
	"\x1b[31mred\x1b[0m plain\n",
	"\x1b[1;32mbold green\x1b[0m and \x1b[2Kcleared\n",
	"bytes \xff\xfe not utf-8\n",
	"it's \"quoted\"\ttab\n",
	"no newline",
	"split \x1b[3", // a sequence cut in two by the reads
	"1mred\x1b[0m tail\n",
	"\x1b[0;33mlast\x1b[0m\n",
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
	// both runs a differential scenario under the reference first.
	both = []implementation{reference, ours}
)

// side is one daemon running a scenario in its own directory.
type side struct {
	impl   implementation
	dir    string
	conf   string
	sock   string
	daemon *testenv.Daemon
}

// baseConfig is every scenario's config apart from its extra
// [supervisord] keys and its programs. {{here}} is the side's directory.
const baseConfig = `[unix_http_server]
file={{here}}/sock

[supervisord]
logfile={{here}}/main.log
pidfile={{here}}/supervisord.pid
childlogdir={{here}}/childlogs
identifier=logstest
{{supervisord}}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{{here}}/sock

`

// newSide prepares a side's directory (with childlogs/ and logs/) and
// config without starting it. supervisordKeys are extra lines of the
// [supervisord] section, which must set loglevel.
func newSide(t *testing.T, impl implementation, supervisordKeys, programs string) *side {
	t.Helper()
	dir := t.TempDir()
	s := &side{impl: impl, dir: dir, conf: filepath.Join(dir, "supervisord.conf"), sock: filepath.Join(dir, "sock")}
	for _, d := range []string{"childlogs", "logs"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	text := strings.Replace(baseConfig, "{{supervisord}}", supervisordKeys, 1) + programs
	if err := os.WriteFile(s.conf, []byte(s.expand(text)), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// expand fills the placeholders of a config fragment for this side.
func (s *side) expand(text string) string {
	helper, _ := os.Executable()
	return strings.NewReplacer("{{here}}", s.dir, "{{helper}}", helper, "{{env}}", helperEnv).Replace(text)
}

// program is a [program:x] section running the helper in mode with args.
func program(name, mode, args, extra string) string {
	return fmt.Sprintf("[program:%s]\ncommand={{helper}} %s\nenvironment={{env}}=%s\nstartsecs=0\nstopwaitsecs=2\n%s\n\n", name, args, mode, extra)
}

// path is a file name inside the side's directory.
func (s *side) path(elem ...string) string { return filepath.Join(append([]string{s.dir}, elem...)...) }

// start runs the daemon in the foreground, waits until it answers on the
// unix socket and until every program is RUNNING.
func (s *side) start(t *testing.T) {
	t.Helper()
	s.daemon = testenv.Start(t, s.dir, s.impl.bin(t), "-n", "-c", s.conf)
	t.Cleanup(func() {
		s.daemon.Kill()
		testenv.KillHelpers(s.dir)
	})
	s.waitRunning(t)
}

// waitRunning waits until the daemon answers and every program is RUNNING.
func (s *side) waitRunning(t *testing.T) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		s.checkAlive(t)
		var infos []procInfo
		if err := s.call("supervisor.getAllProcessInfo", nil, &infos); err != nil {
			return err
		}
		for _, p := range infos {
			if p.StateName != "RUNNING" {
				return fmt.Errorf("%s: %s is %s", s.impl.name, p.Name, p.StateName)
			}
		}
		return nil
	})
}

// checkAlive fails the test at once when the daemon has exited.
func (s *side) checkAlive(t *testing.T) {
	t.Helper()
	select {
	case <-s.daemon.Exited:
		t.Fatalf("%s: daemon exited: %v\nstderr:\n%s", s.impl.name, s.daemon.ExitErr, s.daemon.Stderr.String())
	default:
	}
}

// procInfo is the part of getProcessInfo the tests read.
type procInfo struct {
	Name      string `xmlrpc:"name"`
	StateName string `xmlrpc:"statename"`
	PID       int    `xmlrpc:"pid"`
}

// call makes one XML-RPC call over the side's unix socket.
func (s *side) call(method string, args, reply any) error {
	c, err := xmlrpc.NewClient("http://localhost/RPC2", testenv.UnixClient(s.sock).Transport)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Call(method, args, reply); err != nil {
		return fmt.Errorf("%s: %s: %w", s.impl.name, method, err)
	}
	return nil
}

// signal sends sig to the daemon.
func (s *side) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := s.daemon.Cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: signal %v: %v", s.impl.name, sig, err)
	}
}

// mainLogRecord is one record of the main log: a stamped line and the
// lines that follow it up to the next stamp (multi-line messages).
type mainLogRecord struct {
	Stamp, Level, Msg string
}

// mainLogLine is the reference's record format: local time with
// milliseconds and a four-letter level.
var mainLogLine = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (CRIT|ERRO|WARN|INFO|DEBG|TRAC|BLAT) `)

// parseMainLog splits main-log text into records. Text before the first
// stamp (a file that starts inside a record) is returned as lead.
func parseMainLog(text string) (lead string, records []mainLogRecord) {
	lines := strings.SplitAfter(text, "\n")
	for _, line := range lines {
		if m := mainLogLine.FindStringSubmatch(line); m != nil {
			records = append(records, mainLogRecord{m[1], m[2], line[len(m[0]):]})
			continue
		}
		if len(records) == 0 {
			lead += line
			continue
		}
		records[len(records)-1].Msg += line
	}
	for i := range records {
		records[i].Msg = strings.TrimSuffix(records[i].Msg, "\n")
	}
	return lead, records
}

// readMainLog parses the side's current main log.
func (s *side) readMainLog(t *testing.T) []mainLogRecord {
	t.Helper()
	b, err := os.ReadFile(s.path("main.log"))
	if err != nil {
		t.Fatal(err)
	}
	_, records := parseMainLog(string(b))
	return records
}

// dirNames lists a directory's file names, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}
