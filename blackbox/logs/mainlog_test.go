package logs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// mainLogMaxBytes is small so a debug-level daemon copying a ticker's
// output rotates its main log every second or so.
const mainLogMaxBytes = 2048

// TestMainLogMatchesReference rotates the main log (logfile_maxbytes,
// logfile_backups 2 and 0) under both daemons, checks the record format of
// every file, and reads the log back with readLog and with the stock and
// our supervisorctl maintail.
func TestMainLogMatchesReference(t *testing.T) {
	t.Parallel()
	for _, backups := range []int{2, 0} {
		t.Run(fmt.Sprintf("backups=%d", backups), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			results := map[string][]string{}
			t.Run("group", func(t *testing.T) {
				for _, impl := range both {
					t.Run(impl.name, func(t *testing.T) {
						t.Parallel()
						names := runMainLogScenario(t, impl, backups)
						mu.Lock()
						results[impl.name] = names
						mu.Unlock()
					})
				}
			})
			if t.Failed() {
				return
			}
			if !slices.Equal(results["ours"], results["ref"]) {
				t.Errorf("main log files differ: ours %q, ref %q", results["ours"], results["ref"])
			}
		})
	}
}

// runMainLogScenario runs a debug-level daemon copying a ticker's output
// into its main log until the log has rotated a few times, stops the
// ticker, checks the files and reads them back. It returns the names of
// the main log files.
func runMainLogScenario(t *testing.T, impl implementation, backups int) []string {
	t.Helper()
	began := time.Now()
	s := newSide(t, impl, fmt.Sprintf("loglevel=debug\nlogfile_maxbytes=%d\nlogfile_backups=%d", mainLogMaxBytes, backups),
		tickerProgram(20, 30, "stdout_logfile=NONE\nstderr_logfile=NONE"))
	s.start(t)
	testenv.Eventually(t, 30*time.Second, func() error {
		s.checkAlive(t)
		if backups > 0 {
			if _, err := os.Stat(s.path(fmt.Sprintf("main.log.%d", backups))); err != nil {
				return fmt.Errorf("%s: main log not rotated %d times yet: %w", impl.name, backups, err)
			}
			return nil
		}
		b, err := os.ReadFile(s.path("main.log"))
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "supervisord started with pid") {
			return fmt.Errorf("%s: main log not truncated yet", impl.name)
		}
		return nil
	})
	s.waitTicks(t, s.tickCount(t)+50) // one more rotation at least
	var stopped bool
	if err := s.call("supervisor.stopProcess", "tick", &stopped); err != nil {
		t.Fatal(err)
	}
	s.waitQuiet(t, "main.log")
	names := s.checkMainLogFiles(t, began, backups)
	s.checkMainLogReadBack(t)
	return names
}

// checkMainLogFiles checks main.log.N … main.log.1 and main.log: exactly
// those exist; rotated files reached maxbytes and went past it by one
// record at most, the current one is below it; each holds whole records
// in the reference's format, stamped with the local time of this test, in
// order across the files. It returns the names.
func (s *side) checkMainLogFiles(t *testing.T, began time.Time, backups int) []string {
	t.Helper()
	var names []string
	for _, n := range dirNames(t, s.dir) {
		if strings.HasPrefix(n, "main.log") {
			names = append(names, n)
		}
	}
	var want []string
	for i := backups; i >= 1; i-- {
		want = append(want, fmt.Sprintf("main.log.%d", i))
	}
	want = append(want, "main.log")
	if !slices.Equal(names, sortedCopy(want)) {
		t.Errorf("%s: main log files %q, want %q", s.impl.name, names, want)
		return names
	}
	var last time.Time
	for _, n := range want {
		b, err := os.ReadFile(s.path(n))
		if err != nil {
			t.Fatal(err)
		}
		lead, records := parseMainLog(string(b))
		if lead != "" {
			t.Errorf("%s: %s starts inside a record: %q", s.impl.name, n, lead)
		}
		if n == "main.log" {
			if len(b) >= mainLogMaxBytes {
				t.Errorf("%s: main.log holds %d bytes, not rotated at %d", s.impl.name, len(b), mainLogMaxBytes)
			}
		} else if len(records) == 0 {
			t.Errorf("%s: %s holds no record: %q", s.impl.name, n, b)
			continue
		} else {
			lastRecord := records[len(records)-1]
			lastLen := len(lastRecord.Stamp) + len(lastRecord.Level) + len(lastRecord.Msg) + 3
			if len(b) < mainLogMaxBytes || len(b)-lastLen >= mainLogMaxBytes {
				t.Errorf("%s: rotated %s holds %d bytes, its last record %d: not rotated at the record that reached %d",
					s.impl.name, n, len(b), lastLen, mainLogMaxBytes)
			}
		}
		for _, r := range records {
			stamp, err := time.ParseInLocation("2006-01-02 15:04:05,000", r.Stamp, time.Local)
			if err != nil {
				t.Errorf("%s: %s: bad stamp %q: %v", s.impl.name, n, r.Stamp, err)
				continue
			}
			if stamp.Before(began.Add(-time.Second)) || stamp.After(time.Now().Add(time.Second)) {
				t.Errorf("%s: %s: stamp %s is not the local time of this test (began %s)", s.impl.name, n, r.Stamp, began.Format(time.DateTime))
			}
			if stamp.Before(last) {
				t.Errorf("%s: %s: stamp %s comes after %s", s.impl.name, n, r.Stamp, last.Format("15:04:05.000"))
			}
			last = stamp
		}
	}
	return names
}

// checkMainLogReadBack compares the main log file with readLog slices and
// with what both supervisorctls print for maintail. waitQuiet only makes
// it likely that the daemon is done writing: should the file change while
// it is read back, the comparison is made again.
func (s *side) checkMainLogReadBack(t *testing.T) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		file, err := os.ReadFile(s.path("main.log"))
		if err != nil {
			t.Fatal(err)
		}
		errs := s.mainLogReadBackErrors(t, file)
		again, err := os.ReadFile(s.path("main.log"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(again, file) || attempt == 5 {
			for _, e := range errs {
				t.Error(e)
			}
			return
		}
		t.Logf("%s: main.log changed while it was read back; comparing again", s.impl.name)
	}
}

// mainLogReadBackErrors is what differs between file (the main log as
// read) and readLog slices and both supervisorctls' maintail.
func (s *side) mainLogReadBackErrors(t *testing.T, file []byte) []string {
	t.Helper()
	var errs []string
	tail := func(n int) string { return string(file[max(len(file)-n, 0):]) }
	slice := func(from, to int) string { return string(file[min(from, len(file)):min(to, len(file))]) }
	for _, c := range []struct {
		offset, length int
		want           string
	}{
		{0, 0, string(file)},
		{-100, 0, tail(100)},
		{10, 50, slice(10, 60)},
		{max(len(file)-5, 0), 0, tail(5)},
	} {
		var got string
		if err := s.call("supervisor.readLog", []any{c.offset, c.length}, &got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			errs = append(errs, fmt.Sprintf("%s: readLog(%d, %d) = %q, want %q", s.impl.name, c.offset, c.length, got, c.want))
		}
	}
	ctls := []string{testenv.PythonSupervisorctl, filepath.Join(testenv.Binaries(t), "supervisorctl")}
	for _, ctl := range ctls {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"maintail"}, tail(1600) + "\n"},
			{[]string{"maintail", "-300"}, tail(300) + "\n"},
		} {
			cmd := exec.Command(ctl, append([]string{"-c", s.conf}, c.args...)...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %s %q: %v\n%s", s.impl.name, ctl, c.args, err, out))
				continue
			}
			if string(out) != c.want {
				errs = append(errs, fmt.Sprintf("%s: %s %q printed %q, want %q", s.impl.name, ctl, c.args, out, c.want))
			}
		}
	}
	return errs
}

// waitQuiet waits until the file has not changed size for 300 ms: output
// the child wrote just before it stopped may still be arriving.
func (s *side) waitQuiet(t *testing.T, name string) {
	t.Helper()
	size, since := int64(-1), time.Now()
	testenv.Eventually(t, 10*time.Second, func() error {
		st, err := os.Stat(s.path(name))
		if err != nil {
			return err
		}
		if st.Size() != size {
			size, since = st.Size(), time.Now()
		}
		if quiet := time.Since(since); quiet < 300*time.Millisecond {
			return fmt.Errorf("%s: %s changed %v ago", s.impl.name, name, quiet)
		}
		return nil
	})
}
