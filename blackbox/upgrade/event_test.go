package upgrade

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// upgradeListeners: one listener names SUPERVISOR_UPGRADE (the root of
// the upgrade events), one subscribes to EVENT (everything Supervisor
// has), as a stock listener does.
const upgradeListeners = threePrograms + `
[eventlistener:upgrades]
command={{self}}
environment=GOSUP_UPGRADE_HELPER="recorder",GOSUP_EVENTS_FILE="upgrades.log"
events=SUPERVISOR_UPGRADE

[eventlistener:everything]
command={{self}}
environment=GOSUP_UPGRADE_HELPER="recorder",GOSUP_EVENTS_FILE="everything.log"
events=EVENT
`

// TestUpgradeEvents: a listener that names SUPERVISOR_UPGRADE gets
// SUPERVISOR_UPGRADE_FAILED for a refused upgrade and for an exec that
// failed, and SUPERVISOR_UPGRADE_SUCCEEDED from the new build, each with
// the builds, the serial, the path and the reason; a listener subscribed
// to EVENT gets none of them.
func TestUpgradeEvents(t *testing.T) {
	bins := binaries(t)
	d := start(t, bins.a, upgradeListeners)
	before := waitRunning(t, d)
	c := d.client(t)
	pid := d.d.Cmd.Process.Pid
	upgrades := filepath.Join(d.dir, "upgrades.log")
	// waitEvents waits for the n-th event in the upgrade listener's file
	// and returns them all.
	waitEvents := func(n int) []string {
		t.Helper()
		var evs []string
		testenv.Eventually(t, 20*time.Second, func() error {
			b, _ := os.ReadFile(upgrades)
			evs = strings.SplitAfter(string(b), "\n--\n")
			evs = evs[:len(evs)-1] // what follows the last separator
			if len(evs) < n {
				return fmt.Errorf("%d upgrade events, want %d:\n%s", len(evs), n, b)
			}
			return nil
		})
		if len(evs) != n {
			t.Fatalf("%d upgrade events, want %d:\n%s", len(evs), n, strings.Join(evs, ""))
		}
		return evs
	}
	match := func(ev, pattern string) {
		t.Helper()
		if !regexp.MustCompile(`^ver:3.0 server:supervisor serial:\d+ pool:upgrades poolserial:\d+ ` + pattern + `\n--\n$`).MatchString(ev) {
			t.Errorf("event\n%s\ndoes not match\n%s", ev, pattern)
		}
	}
	build := func(label string) string { return `gosupervisor 4\.2\.5 ` + label + ` \(.*\)` }
	q := regexp.QuoteMeta

	// Refused: the check of /bin/true says nothing.
	var res map[string]any
	if err := c.Call("gosupervisor.upgrade", "/bin/true", &res); err == nil {
		t.Fatal("upgrade to /bin/true succeeded")
	}
	evs := waitEvents(1)
	match(evs[0], fmt.Sprintf(`eventname:SUPERVISOR_UPGRADE_FAILED len:\d+\nserial:0 pid:%d\nfrom:%s\nto:\npath:/bin/true\nreason:it is not a gosupervisor that can take over \(its check ended with exit status 0 and said nothing\)`,
		pid, build("build-a")))

	// The exec fails: the old build resumes and says so.
	vanishing := filepath.Join(d.dir, "vanishing")
	script := fmt.Sprintf("#!/bin/sh\nif [ -n \"$GOSUPERVISOR_UPGRADE_CHECK\" ]; then rm -f \"$0\"; exec %s; fi\nexec %s \"$@\"\n", bins.b, bins.b)
	if err := os.WriteFile(vanishing, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.Call("gosupervisor.upgrade", vanishing, &res); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	evs = waitEvents(2)
	match(evs[1], fmt.Sprintf(`eventname:SUPERVISOR_UPGRADE_FAILED len:\d+\nserial:1 pid:%d\nfrom:%s\nto:%s\npath:%s\nreason:exec: no such file or directory`,
		pid, build("build-a"), build("build-b"), q(vanishing)))

	// It works: the new build announces it.
	d.upgrade(t, c, bins.b, "build-b")
	evs = waitEvents(3)
	match(evs[2], fmt.Sprintf(`eventname:SUPERVISOR_UPGRADE_SUCCEEDED len:\d+\nserial:2 pid:%d\nfrom:%s\nto:%s\npath:%s\nreason:`,
		pid, build("build-a"), build("build-b"), q(bins.b)))
	samePIDs(t, before, pids(t, c))

	// The EVENT listener: an event sent after the last upgrade reaches
	// it, so the upgrade events would have come before; none did.
	var ok bool
	if err := c.Call("supervisor.sendRemoteCommEvent", []any{"probe", "after the upgrades"}, &ok); err != nil {
		t.Fatal(err)
	}
	var everything string
	testenv.Eventually(t, 20*time.Second, func() error {
		b, _ := os.ReadFile(filepath.Join(d.dir, "everything.log"))
		everything = string(b)
		if !strings.Contains(everything, "after the upgrades") {
			return fmt.Errorf("the EVENT listener has not had the probe yet")
		}
		return nil
	})
	if strings.Contains(everything, "SUPERVISOR_UPGRADE") {
		t.Errorf("the EVENT listener got an upgrade event:\n%s", everything)
	}
}
