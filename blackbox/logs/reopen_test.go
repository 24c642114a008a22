package logs

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestSIGUSR2ReopenMatchesReference moves the child logs and the main log
// away, as logrotate does, and sends SIGUSR2: new files must be created
// and take the later output, the moved ones none of it, no line lost or
// doubled in between; the main-log records of the reopen must land where
// the reference puts them.
func TestSIGUSR2ReopenMatchesReference(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	results := map[string]string{}
	t.Run("group", func(t *testing.T) {
		for _, impl := range both {
			t.Run(impl.name, func(t *testing.T) {
				t.Parallel()
				s := newSide(t, impl, "loglevel=info",
					tickerProgram(20, 30, "stdout_logfile={{here}}/logs/tick.out\nstderr_logfile={{here}}/logs/tick.err"))
				s.start(t)
				out, err := s.path("logs", "tick.out"), s.path("logs", "tick.err")
				s.waitLogged(t, out, 0)
				for _, p := range []string{out, err, s.path("main.log")} {
					if e := os.Rename(p, p+".moved"); e != nil {
						t.Fatal(e)
					}
				}
				s.signal(t, syscall.SIGUSR2)
				s.waitLogged(t, out, 0)
				frozen := lastTick(out + ".moved")
				s.waitTicks(t, s.tickCount(t)+20)
				s.waitLogged(t, out, s.tickCount(t)-2)
				if got := lastTick(out + ".moved"); got != frozen {
					t.Errorf("%s: the moved stdout log still grows after SIGUSR2: tick %d, then %d", impl.name, frozen, got)
				}
				checkContiguous(t, impl.name, "tick", out+".moved", out)
				checkContiguous(t, impl.name, "etick", err+".moved", err)
				var report []string
				for _, name := range []string{"main.log.moved", "main.log"} {
					b, e := os.ReadFile(s.path(name))
					if e != nil {
						t.Fatal(e)
					}
					_, records := parseMainLog(string(b))
					for _, r := range records {
						if strings.Contains(r.Msg, "SIGUSR2") || strings.Contains(r.Msg, "reopen") {
							report = append(report, fmt.Sprintf("%s: %s %s", name, r.Level, r.Msg))
						}
					}
				}
				mu.Lock()
				results[impl.name] = strings.Join(report, "\n")
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	if results["ours"] != results["ref"] {
		t.Errorf("reopen records in the main log differ\nours:\n%s\n\nref:\n%s", results["ours"], results["ref"])
	}
	if !strings.Contains(results["ref"], "received SIGUSR2 indicating log reopen request") {
		t.Errorf("the reference logged no reopen request:\n%s", results["ref"])
	}
}

// checkContiguous checks that the numbered lines "<word> N" of the files,
// read in order, run 1, 2, 3 … with none lost or repeated.
func checkContiguous(t *testing.T, who, word string, paths ...string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + word + ` (\d+)`)
	next := 1
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			n, _ := strconv.Atoi(string(m[1]))
			if n != next {
				t.Errorf("%s: %s: %s %d follows %d", who, p, word, n, next-1)
				return
			}
			next++
		}
	}
	if next < 20 {
		t.Errorf("%s: only %d %s lines in %q", who, next-1, word, paths)
	}
}
