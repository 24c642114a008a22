package logs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// autoPrograms log to AUTO files: both channels, stdout only
// (redirect_stderr) and stderr only (stdout_logfile=NONE).
var autoPrograms = program("auto", "stream", "11 5 {{here}}/done-auto", "") +
	program("redir", "stream", "12 5 {{here}}/done-redir", "redirect_stderr=true") +
	program("none", "stream", "13 5 {{here}}/done-none", "stdout_logfile=NONE")

// seededChildLogs are in childlogdir before the daemon starts: the
// reference removes the ones matching `.+?---<identifier>-\S+\.log\.?\d{0,4}`
// (a prefix match) unless nocleanup, and fails to remove a directory.
var seededChildLogs = []string{
	"stale-stdout---logstest-AAAAAAAA.log",
	"stale-stdout---logstest-AAAAAAAA.log.1",
	"odd---logstest-x.log.bak",
	"keep-stdout---other-BBBBBBBB.log",
	"---logstest-CCCCCCCC.log",
	"notes.txt",
}

// seededChildLogDir is a directory whose name matches the cleanup pattern.
const seededChildLogDir = "sub---logstest-d.log"

// autoName matches the random part of an AUTO log name (mkstemp's eight
// characters).
var autoName = regexp.MustCompile(`^((?:auto|redir|none)-std(?:out|err)---logstest-)[a-z0-9_]{8}(\.log)$`)

// autoListing describes childlogdir with AUTO names normalised: name,
// kind and mode of each entry, with the content of AUTO logs.
type autoListing struct {
	entries  []string
	contents map[string]string
	random   map[string]bool // the real AUTO names
}

func (s *side) listChildLogs(t *testing.T) autoListing {
	t.Helper()
	l := autoListing{contents: map[string]string{}, random: map[string]bool{}}
	for _, name := range dirNames(t, s.path("childlogs")) {
		st, err := os.Stat(s.path("childlogs", name))
		if err != nil {
			t.Fatal(err)
		}
		norm := name
		if m := autoName.FindStringSubmatch(name); m != nil {
			norm = m[1] + "XXXXXXXX" + m[2]
			l.random[name] = true
			b, err := os.ReadFile(s.path("childlogs", name))
			if err != nil {
				t.Fatal(err)
			}
			l.contents[norm] += string(b)
		}
		l.entries = append(l.entries, fmt.Sprintf("%s %v", norm, st.Mode()))
	}
	sort.Strings(l.entries)
	return l
}

// TestAutoLogsMatchReference compares AUTO child logs: names, modes and
// contents, the cleanup of old ones at start and restart (SIGHUP), kept
// with nocleanup, and the warning for what cannot be removed.
func TestAutoLogsMatchReference(t *testing.T) {
	t.Parallel()
	for _, nocleanup := range []bool{false, true} {
		t.Run(fmt.Sprintf("nocleanup=%v", nocleanup), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			results := map[string][]string{}
			t.Run("group", func(t *testing.T) {
				for _, impl := range both {
					t.Run(impl.name, func(t *testing.T) {
						t.Parallel()
						got := runAutoScenario(t, impl, nocleanup)
						mu.Lock()
						results[impl.name] = got
						mu.Unlock()
					})
				}
			})
			if t.Failed() {
				return
			}
			ours, ref := strings.Join(results["ours"], "\n"), strings.Join(results["ref"], "\n")
			if ours != ref {
				t.Errorf("AUTO logs differ from the reference\nours:\n%s\n\nref:\n%s", ours, ref)
			}
		})
	}
}

// runAutoScenario starts a side with AUTO logs over a seeded childlogdir,
// restarts it with SIGHUP, and returns what the comparison looks at.
func runAutoScenario(t *testing.T, impl implementation, nocleanup bool) []string {
	keys := "loglevel=info"
	if nocleanup {
		keys += "\nnocleanup=true"
	}
	s := newSide(t, impl, keys, autoPrograms)
	for _, name := range seededChildLogs {
		if err := os.WriteFile(s.path("childlogs", name), []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(s.path("childlogs", seededChildLogDir), 0o755); err != nil {
		t.Fatal(err)
	}
	s.start(t)
	var report []string
	first := s.checkAutoRun(t, "start")
	report = append(report, first...)
	before := s.listChildLogs(t)

	pids := map[string]int{}
	for _, name := range []string{"auto", "redir", "none"} {
		var info procInfo
		if err := s.call("supervisor.getProcessInfo", name, &info); err != nil {
			t.Fatal(err)
		}
		pids[name] = info.PID
		if err := os.Remove(s.path("done-" + name)); err != nil {
			t.Fatal(err)
		}
	}
	s.signal(t, syscall.SIGHUP)
	testenv.Eventually(t, 20*time.Second, func() error {
		s.checkAlive(t)
		for name, old := range pids {
			var info procInfo
			if err := s.call("supervisor.getProcessInfo", name, &info); err != nil {
				return err
			}
			if info.StateName != "RUNNING" || info.PID == old {
				return fmt.Errorf("%s: %s is %s pid %d after SIGHUP", impl.name, name, info.StateName, info.PID)
			}
		}
		return nil
	})
	report = append(report, s.checkAutoRun(t, "restart")...)
	after := s.listChildLogs(t)
	for name := range before.random {
		_, err := os.Stat(s.path("childlogs", name))
		if kept := err == nil; kept != nocleanup {
			t.Errorf("%s: AUTO log %s of the first run kept=%v after restart, want %v", impl.name, name, kept, nocleanup)
		}
	}
	fresh := 0
	for name := range after.random {
		if !before.random[name] {
			fresh++
		}
	}
	if fresh != 4 {
		t.Errorf("%s: %d new AUTO logs after restart, want 4: %v", impl.name, fresh, after.entries)
	}
	return report
}

// checkAutoRun waits until every program's stream is logged, checks the
// AUTO files (mode 0600, named in getProcessInfo) and returns the
// normalised listing, contents and cleanup warnings for the comparison.
func (s *side) checkAutoRun(t *testing.T, phase string) []string {
	t.Helper()
	s.waitStreamsLogged(t, "childlogs", "auto", "redir", "none")
	l := s.listChildLogs(t)
	want := wantAutoContents()
	for name := range l.random {
		st, err := os.Stat(s.path("childlogs", name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: AUTO log %s has mode %v, want 0600", s.impl.name, name, st.Mode())
		}
		b, err := os.ReadFile(s.path("childlogs", name))
		if err != nil {
			t.Fatal(err)
		}
		key, _, _ := strings.Cut(name, "---")
		if !bytes.Equal(b, want[key]) {
			t.Errorf("%s: AUTO log %s holds %q, want %q", s.impl.name, name, b, want[key])
		}
	}
	report := []string{"== " + phase}
	report = append(report, l.entries...)
	var norms []string
	for norm := range l.contents {
		norms = append(norms, norm)
	}
	sort.Strings(norms)
	for _, norm := range norms {
		report = append(report, fmt.Sprintf("%s: %q", norm, l.contents[norm]))
	}
	for _, name := range []string{"auto", "redir", "none"} {
		var info struct {
			Stdout string `xmlrpc:"stdout_logfile"`
			Stderr string `xmlrpc:"stderr_logfile"`
		}
		if err := s.call("supervisor.getProcessInfo", name, &info); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{info.Stdout, info.Stderr} {
			if p == "" {
				continue
			}
			if filepath.Dir(p) != s.path("childlogs") || !l.random[filepath.Base(p)] {
				t.Errorf("%s: getProcessInfo(%s) names log %q, not a current AUTO log", s.impl.name, name, p)
			}
		}
		report = append(report, fmt.Sprintf("%s: stdout_logfile set=%v stderr_logfile set=%v", name, info.Stdout != "", info.Stderr != ""))
	}
	for _, r := range s.readMainLog(t) {
		if strings.Contains(r.Msg, "clean") || strings.Contains(r.Msg, "childlog") {
			report = append(report, r.Level+" "+strings.ReplaceAll(r.Msg, s.dir, "{{here}}"))
		}
	}
	return report
}

// wantAutoContents are the AUTO logs' contents, built from the streams.
func wantAutoContents() map[string][]byte {
	var redir []byte
	for i := range 5 {
		redir = append(redir, Record(12, i)...)
		redir = append(redir, Record(1012, i)...)
	}
	return map[string][]byte{
		"auto-stdout": Stream(11, 5), "auto-stderr": Stream(1011, 5),
		"redir-stdout": redir, "none-stderr": Stream(1013, 5),
	}
}

// TestAutoLogRotationKeepsMode rotates an AUTO log: every file, the
// rotated ones and the fresh current one, stays 0600. (The reference
// reopens the current file with the umask's mode, 0644 here, after its
// first rotation: child output becomes world-readable.)
func TestAutoLogRotationKeepsMode(t *testing.T) {
	t.Parallel()
	s := newSide(t, ours, "loglevel=info",
		tickerProgram(10, 200, "stdout_logfile_maxbytes=1KB\nstdout_logfile_backups=2\nstderr_logfile=NONE"))
	s.start(t)
	testenv.Eventually(t, 20*time.Second, func() error {
		s.checkAlive(t)
		for _, name := range dirNames(t, s.path("childlogs")) {
			if strings.HasSuffix(name, ".log.2") {
				return nil
			}
		}
		return fmt.Errorf("AUTO log not rotated twice yet")
	})
	var stopped bool // so that no rotation runs while the files are listed
	if err := s.call("supervisor.stopProcess", "tick", &stopped); err != nil {
		t.Fatal(err)
	}
	s.waitStreamsLogged(t, "childlogs") // the last output is written
	var names []string
	for _, name := range dirNames(t, s.path("childlogs")) {
		st, err := os.Stat(s.path("childlogs", name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, st.Mode())
		}
		names = append(names, regexp.MustCompile(`[a-z0-9_]{8}\.log`).ReplaceAllString(name, "XXXXXXXX.log"))
	}
	want := []string{"tick-stdout---logstest-XXXXXXXX.log", "tick-stdout---logstest-XXXXXXXX.log.1", "tick-stdout---logstest-XXXXXXXX.log.2"}
	if !slices.Equal(names, want) {
		t.Errorf("AUTO logs %q, want %q", names, want)
	}
}
