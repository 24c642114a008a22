package supervisord_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// TestPitfallWarnings runs, on our daemon and the reference, a shell
// script that backgrounds sleep and exits 0 (a program that daemonizes
// itself) and a program that ignores SIGTERM, stopped with
// stopwaitsecs=1. Ours warns once about each (the survivor's pid, the
// seconds the stop signal was ignored) and the FATAL description names
// the survivor; apart from these lines both main logs tell the same
// story and both end in the same states.
func TestPitfallWarnings(t *testing.T) {
	testenv.RequireReference(t)
	t.Parallel()
	ours := filepath.Join(testenv.Binaries(t), "supervisord")
	const programs = `[program:forker]
command=/bin/sh {{dir}}/forker.sh
startsecs=3
startretries=1

[program:stubborn]
command={{helper}} ignoreterm
environment={{env}}
startsecs=0
stopwaitsecs=1
`
	type result struct {
		raw, norm []string
		forker    procInfo
		sleepers  []int
	}
	results := map[string]result{}
	for _, sd := range []struct{ name, bin string }{{"ours", ours}, {"ref", testenv.PythonSupervisord}} {
		s := newSide(t, sd.name, sd.bin, programs)
		sleepers := filepath.Join(s.dir, "sleepers")
		// The survivor is named by its command at the forker's exit:
		// the forker waits until its child has become sleep (a loaded
		// machine let it exit while the child was still sh).
		script := "#!/bin/sh\nsleep 300 &\n" +
			"until [ \"$(cat /proc/$!/comm 2>/dev/null)\" = sleep ]; do sleep 0.01; done\n" +
			"echo $! >> " + sleepers + "\nexit 0\n"
		if err := os.WriteFile(filepath.Join(s.dir, "forker.sh"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		readSleepers := func() []int {
			b, _ := os.ReadFile(sleepers)
			var pids []int
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
			return pids
		}
		t.Cleanup(func() {
			for _, pid := range readSleepers() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		})
		s.start(t, "")
		s.waitStates(t, 30*time.Second, map[string]string{"forker:forker": "FATAL", "stubborn:stubborn": "RUNNING"})
		if err := s.call(t, "supervisor.stopProcess", []any{"stubborn", true}, new(bool)); err != nil {
			t.Fatalf("%s: stopProcess: %v", sd.name, err)
		}
		infos, err := s.infos(t)
		if err != nil {
			t.Fatal(err)
		}
		var r result
		for _, p := range infos {
			if p.Name == "forker" {
				r.forker = p
			}
		}
		s.stop(t)
		b, err := os.ReadFile(s.log)
		if err != nil {
			t.Fatal(err)
		}
		r.raw = strings.Split(string(b), "\n")
		r.norm = s.logLines(t, "supervisord.log")
		r.sleepers = readSleepers()
		results[sd.name] = r
	}
	o, ref := results["ours"], results["ref"]
	if len(o.sleepers) != 2 {
		t.Fatalf("our forker ran %d times, want 2 (startretries=1)", len(o.sleepers))
	}
	daemonized := fmt.Sprintf("WARN forker exited but left pid %d (sleep) running: it probably daemonizes itself; run it in the foreground", o.sleepers[0])
	ignored := "WARN stubborn ignored its stopsignal SIGTERM for 1 seconds and is killed with SIGKILL: what it had not saved is lost; raise stopwaitsecs if it needs longer to stop, or set stopsignal to the signal it stops on"
	for _, want := range []struct {
		text, count string
	}{{daemonized, "exited but left"}, {ignored, "ignored its stopsignal"}} {
		var hits []string
		for _, l := range o.raw {
			if strings.Contains(l, want.count) {
				hits = append(hits, timestampRE.ReplaceAllString(l, ""))
			}
		}
		if len(hits) != 1 || hits[0] != want.text {
			t.Errorf("our warnings %q, want once %q", hits, want.text)
		}
		for _, l := range ref.raw {
			if strings.Contains(l, want.count) {
				t.Errorf("the reference logs %q", l)
			}
		}
	}
	if want := strings.TrimPrefix(daemonized, "WARN "); o.forker.StateName != "FATAL" || o.forker.Description != want || o.forker.SpawnErr != want {
		t.Errorf("our forker %+v, want FATAL described %q", o.forker, want)
	}
	if ref.forker.StateName != "FATAL" || ref.forker.Description != "Exited too quickly (process log may have details)" {
		t.Errorf("the reference's forker %+v", ref.forker)
	}
	compareLogs(t, o.norm, ref.norm, nil)
}
