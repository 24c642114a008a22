package logs

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// outputPrograms write scriptRecords (ANSI colours, invalid UTF-8, a
// record without newline) to a file per channel, to one file through
// redirect_stderr, and to stderr only (stdout_logfile=NONE).
const outputPrograms = `[program:color]
command={{helper}} {{here}}/done-color
environment={{env}}=script
startsecs=0
stdout_logfile={{here}}/logs/color.out
stderr_logfile={{here}}/logs/color.err

[program:redir]
command={{helper}} {{here}}/done-redir
environment={{env}}=script
startsecs=0
redirect_stderr=true
stdout_logfile={{here}}/logs/redir.out

[program:quiet]
command={{helper}} {{here}}/done-quiet
environment={{env}}=script
startsecs=0
stdout_logfile=NONE
stderr_logfile={{here}}/logs/quiet.err
`

// outputRecord matches the main-log copy of a chunk of child output made
// at loglevel debug.
var outputRecord = regexp.MustCompile(`^'(\w+)' (stdout|stderr) output:\n`)

// TestOutputLoggingMatchesReference compares, with and without strip_ansi,
// the child log files (per channel, redirect_stderr, NONE) and the debug
// copies of each output chunk in the main log.
func TestOutputLoggingMatchesReference(t *testing.T) {
	t.Parallel()
	for _, strip := range []bool{false, true} {
		t.Run(fmt.Sprintf("strip_ansi=%v", strip), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			results := map[string]string{}
			t.Run("group", func(t *testing.T) {
				for _, impl := range both {
					t.Run(impl.name, func(t *testing.T) {
						t.Parallel()
						s := newSide(t, impl, fmt.Sprintf("loglevel=debug\nstrip_ansi=%v", strip), outputPrograms)
						s.start(t)
						s.waitStreamsLogged(t, "logs", "color", "redir", "quiet")
						got := s.outputReport(t, strip)
						mu.Lock()
						results[impl.name] = got
						mu.Unlock()
					})
				}
			})
			if t.Failed() {
				return
			}
			if results["ours"] != results["ref"] {
				t.Errorf("output logging differs from the reference\nours:\n%s\n\nref:\n%s", results["ours"], results["ref"])
			}
		})
	}
}

// outputReport checks the log files hold every record (without escape
// sequences when strip) and describes the files and the main log's
// output copies, per process and channel in order, for the comparison.
func (s *side) outputReport(t *testing.T, strip bool) string {
	t.Helper()
	var report []string
	for _, name := range dirNames(t, s.path("logs")) {
		b, err := os.ReadFile(s.path("logs", name))
		if err != nil {
			t.Fatal(err)
		}
		if strip && strings.Contains(string(b), "\x1b") {
			t.Errorf("%s: %s keeps escape sequences with strip_ansi: %q", s.impl.name, name, b)
		}
		if !strip && !strings.Contains(string(b), scriptRecords[0]) && !strings.Contains(string(b), "E:"+scriptRecords[0]) {
			t.Errorf("%s: %s lacks the first record: %q", s.impl.name, name, b)
		}
		report = append(report, fmt.Sprintf("%s: %q", name, b))
	}
	copies := map[string][]string{}
	for _, r := range s.readMainLog(t) {
		if m := outputRecord.FindStringSubmatch(r.Msg); m != nil {
			if r.Level != "DEBG" {
				t.Errorf("%s: output copy at level %s: %q", s.impl.name, r.Level, r.Msg)
			}
			// Per channel: two pumps may log their chunks in either order.
			key := m[1] + " " + m[2]
			copies[key] = append(copies[key], fmt.Sprintf("%q", r.Msg))
		}
	}
	var names []string
	for n := range copies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		report = append(report, "main log copies of "+n+":")
		report = append(report, copies[n]...)
	}
	return strings.Join(report, "\n")
}
