package upgrade

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kolo/xmlrpc"

	"gosupervisor/internal/testenv"
)

// fiftyPrograms: 46 quiet, a chatty one with rotation, one backing off
// to FATAL, one ignoring SIGTERM (STOPPING for stopwaitsecs), and an
// event listener.
const fiftyPrograms = `
[program:quiet]
command=sleep 100000
process_name=%(program_name)s_%(process_num)02d
numprocs=46
startsecs=0

[program:chatty]
command={{self}}
environment=GOSUP_UPGRADE_HELPER="chatty"
stdout_logfile={{here}}/chatty.log
stdout_logfile_maxbytes=200KB
stdout_logfile_backups=500
startsecs=0

[program:backoff]
command=/bin/sh -c "exit 1"
startsecs=1
startretries=4

[program:stubborn]
command=/bin/sh -c "trap '' TERM; while true; do sleep 1; done"
stopwaitsecs=6
startsecs=0

[eventlistener:listener]
command={{self}}
environment=GOSUP_UPGRADE_HELPER="listener"
events=PROCESS_STATE
buffer_size=1000
`

// TestUpgradeTenTimes upgrades a daemon with 50 programs ten times in a
// row, alternating between two builds, while four clients call getState
// in a loop and one follows the chatty program's log: every program
// keeps its pid, no chatty line is lost or written twice and rotation
// goes on, no client gets an error (a log stream may end), the BACKOFF
// and STOPPING programs finish their transitions on time, event serials
// go on without a gap or a repeat in the listener's pool, and the
// daemon's descriptor count is the same before and after.
func TestUpgradeTenTimes(t *testing.T) {
	bins := binaries(t)
	d := start(t, bins.a, fiftyPrograms)
	c := d.client(t)
	pid := d.d.Cmd.Process.Pid
	testenv.Eventually(t, 20*time.Second, func() error {
		for name, p := range pids(t, c) {
			if p == 0 && !strings.HasPrefix(name, "backoff") {
				return fmt.Errorf("%s not running", name)
			}
		}
		return nil
	})
	before := pids(t, c)

	// The transitions that must finish on time across the upgrades.
	var ok bool
	stopAt := time.Now()
	if err := c.Call("supervisor.stopProcess", []any{"stubborn", false}, &ok); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	report := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	var calls [4]int
	var worst [4]time.Duration
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := xmlrpc.NewClient("http://localhost/RPC2", testenv.UnixClient(d.sock).Transport)
			if err != nil {
				report(err)
				return
			}
			defer cl.Close()
			for ctx.Err() == nil {
				began := time.Now()
				var st map[string]any
				if err := cl.Call("supervisor.getState", nil, &st); err != nil {
					report(fmt.Errorf("client %d: %w", i, err))
					return
				}
				worst[i] = max(worst[i], time.Since(began))
				calls[i]++
			}
		}()
	}
	var streams int
	wg.Add(1)
	go func() {
		defer wg.Done()
		tailStream(ctx, d.sock, "chatty", report, &streams)
	}()

	backupsBefore := backups(t, d.dir)
	for i := range 10 {
		time.Sleep(600 * time.Millisecond)
		bin, label := bins.b, "build-b"
		if i%2 == 1 {
			bin, label = bins.a, "build-a"
		}
		d.upgrade(t, c, bin, label)
	}
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	t.Logf("getState calls per client %v, slowest %v; %d tail streams", calls, worst, streams)

	if got := d.d.Cmd.Process.Pid; got != pid {
		t.Fatalf("daemon pid %d, want %d", got, pid)
	}
	after := pids(t, c)
	for name, p := range before {
		if name == "stubborn:stubborn" || name == "backoff:backoff" {
			continue
		}
		if after[name] != p {
			t.Errorf("%s: pid %d after the upgrades, %d before", name, after[name], p)
		}
	}
	if n := backups(t, d.dir); n <= backupsBefore {
		t.Errorf("chatty.log rotated %d times before the upgrades and %d after", backupsBefore, n)
	}

	// STOPPING: killed stopwaitsecs after the stop.
	testenv.Eventually(t, 20*time.Second, func() error {
		if p := pids(t, c)["stubborn:stubborn"]; p != 0 {
			return fmt.Errorf("stubborn still has pid %d", p)
		}
		return nil
	})
	mainLog := readFile(t, filepath.Join(d.dir, "main.log"))
	killedAt := logTime(t, mainLog, `killing 'stubborn' \(\d+\) with SIGKILL`)
	if took := killedAt.Sub(stopAt); took < 5900*time.Millisecond || took > 7*time.Second {
		t.Errorf("stubborn killed %v after the stop, want stopwaitsecs=6s", took)
	}
	// BACKOFF: each retry comes its backoff's seconds after the exit.
	testenv.Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(readFile(t, filepath.Join(d.dir, "main.log")), "gave up: backoff entered FATAL state") {
			return fmt.Errorf("backoff not FATAL yet")
		}
		return nil
	})
	mainLog = readFile(t, filepath.Join(d.dir, "main.log"))
	exits := logTimes(mainLog, `exited: backoff \(exit status 1; not expected\)`)
	spawns := logTimes(mainLog, `spawned: 'backoff' with pid`)
	if len(exits) != 5 || len(spawns) != 5 {
		t.Fatalf("backoff: %d exits and %d spawns, want 5 each:\n%s", len(exits), len(spawns), mainLog)
	}
	for k := 1; k < 5; k++ {
		gap := spawns[k].Sub(exits[k-1])
		want := time.Duration(k) * time.Second
		if gap < want-50*time.Millisecond || gap > want+700*time.Millisecond {
			t.Errorf("backoff retry %d came %v after the exit, want %v", k, gap, want)
		}
	}

	// chatty stops first: its log must not rotate while it is read.
	if err := c.Call("supervisor.stopProcess", []any{"chatty", true}, &ok); err != nil {
		t.Fatal(err)
	}
	checkChatty(t, d.dir)
	checkEvents(t, d.dir)

	// Descriptors: every state settled and the clients gone, an upgrade
	// leaves no more open (fewer: the log files of processes that are
	// not running, which the reference opens at the first spawn, are
	// not reopened until the next one), and the next one as many.
	fds := d.settledFDs(t, pid)
	d.upgrade(t, c, bins.b, "build-b")
	fds1 := d.fdsAtMost(t, pid, fds, "after an upgrade")
	d.upgrade(t, c, bins.a, "build-a")
	fds2 := d.fdsAtMost(t, pid, fds1, "after another upgrade")
	t.Logf("descriptors open: %d, after an upgrade %d, after another one %d", len(fds), len(fds1), len(fds2))
	for _, line := range strings.Split(readFile(t, filepath.Join(d.dir, "main.log")), "\n") {
		if strings.Contains(line, "upgrade") {
			t.Log(line)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// logTimes are the times of the main-log lines matching pattern.
func logTimes(log, pattern string) []time.Time {
	re := regexp.MustCompile(pattern)
	var out []time.Time
	for _, line := range strings.Split(log, "\n") {
		if !re.MatchString(line) || len(line) < 23 {
			continue
		}
		if ts, err := time.ParseInLocation("2006-01-02 15:04:05,000", line[:23], time.Local); err == nil {
			out = append(out, ts)
		}
	}
	return out
}

func logTime(t *testing.T, log, pattern string) time.Time {
	t.Helper()
	ts := logTimes(log, pattern)
	if len(ts) != 1 {
		t.Fatalf("%d main-log lines match %q:\n%s", len(ts), pattern, log)
	}
	return ts[0]
}

// backups counts chatty.log's rotated files.
func backups(t *testing.T, dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "chatty.log.*"))
	return len(m)
}

// checkChatty reads chatty.log and its backups oldest first: the lines
// must be numbered 1, 2, 3... without a gap or a repeat. The daemon
// still drains a stopped program's pipe for a while, so a rotation may
// come while the files are read: they are opened together (chattyLogs)
// and read through those descriptors, which a rename does not move.
func checkChatty(t *testing.T, dir string) {
	t.Helper()
	files := chattyLogs(t, dir)
	next := 1
	for i, f := range files {
		b, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		// The current file's last line may be half written.
		if i == len(files)-1 {
			lines = lines[:len(lines)-1]
		} else if lines[len(lines)-1] != "" {
			t.Fatalf("%s ends in the middle of a line", f.Name())
		} else {
			lines = lines[:len(lines)-1]
		}
		for _, line := range lines {
			if line != fmt.Sprintf("chatty %08d", next) {
				t.Fatalf("%s: line %q where line %d was due (the files: %s)", filepath.Base(f.Name()), line, next, describeLogs(files))
			}
			next++
		}
	}
	t.Logf("chatty: %d lines in %d files, none lost or repeated", next-1, len(files))
}

// chattyLogs opens chatty.log's backups, oldest first, and chatty.log
// itself, all as they were at one moment: the names are listed and
// opened again until no rotation renamed any of them in between.
func chattyLogs(t *testing.T, dir string) []*os.File {
	t.Helper()
	list := func() []string {
		names, _ := filepath.Glob(filepath.Join(dir, "chatty.log.*"))
		sort.Slice(names, func(i, j int) bool {
			a, _ := strconv.Atoi(filepath.Ext(names[i])[1:])
			b, _ := strconv.Atoi(filepath.Ext(names[j])[1:])
			return a > b
		})
		return append(names, filepath.Join(dir, "chatty.log"))
	}
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
		files = nil
	}
	t.Cleanup(closeAll)
	testenv.Eventually(t, 10*time.Second, func() error {
		closeAll()
		names := list()
		for _, name := range names {
			f, err := os.Open(name)
			if err != nil {
				return err // renamed away between the listing and the open
			}
			files = append(files, f)
		}
		if again := list(); !slices.Equal(again, names) {
			return fmt.Errorf("rotated while opened: %v, then %v", names, again)
		}
		for _, f := range files {
			opened, err1 := f.Stat()
			now, err2 := os.Stat(f.Name())
			if err1 != nil || err2 != nil || !os.SameFile(opened, now) {
				return fmt.Errorf("%s rotated while opened", f.Name())
			}
		}
		return nil
	})
	return files
}

// describeLogs names each file with its size and first line, to tell a
// lost backup from a misread one when checkChatty fails.
func describeLogs(files []*os.File) string {
	var out []string
	for _, f := range files {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		first, _, _ := strings.Cut(string(b[:n]), "\n")
		size := int64(-1)
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		out = append(out, fmt.Sprintf("%s %d bytes from %q", filepath.Base(f.Name()), size, first))
	}
	return strings.Join(out, "; ")
}

// checkEvents reads the listener's headers: pool serials go on one by
// one and global serials rise, across every upgrade.
func checkEvents(t *testing.T, dir string) {
	t.Helper()
	re := regexp.MustCompile(`serial:(\d+) pool:listener poolserial:(\d+)`)
	var lastSerial, lastPool int64 = -1, -1
	n := 0
	for _, line := range strings.Split(readFile(t, filepath.Join(dir, "events.log")), "\n") {
		if line == "" {
			continue
		}
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("event header %q", line)
		}
		serial, _ := strconv.ParseInt(m[1], 10, 64)
		pool, _ := strconv.ParseInt(m[2], 10, 64)
		if serial <= lastSerial || (lastPool >= 0 && pool != lastPool+1) {
			t.Fatalf("event serial %d pool serial %d after %d/%d", serial, pool, lastSerial, lastPool)
		}
		lastSerial, lastPool = serial, pool
		n++
	}
	if n < 60 {
		t.Fatalf("only %d events reached the listener", n)
	}
	t.Logf("events: %d, serials rising to %d, pool serials one by one", n, lastSerial)
}
