package notify

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

// listeners are two event listeners: "ours" subscribes to gosupervisor's
// new types (by root and by name) and to EXITED; "stock" to EVENT, as a
// listener written for Supervisor 4.2.5 may be, and must never see them.
const listeners = `[eventlistener:ours]
command={{python}} {{listener}} {{dir}}/ours.events
events=PROCESS_NOTIFY,PROCESS_HEALTH_UNHEALTHY,PROCESS_HEALTH_HEALTHY,PROCESS_STATE_EXITED

[eventlistener:stock]
command={{python}} {{listener}} {{dir}}/stock.events
events=EVENT
`

// events is what a listener has written so far.
func (d *daemon) events(name string) string {
	b, _ := os.ReadFile(filepath.Join(d.dir, name+".events"))
	return string(b)
}

// waitEvent polls until a listener has written a line matching re.
func (d *daemon) waitEvent(listener, re string, timeout time.Duration) {
	d.t.Helper()
	rx := regexp.MustCompile(re)
	testenv.Eventually(d.t, timeout, func() error {
		if !rx.MatchString(d.events(listener)) {
			return fmt.Errorf("listener %s has no event matching %s:\n%s", listener, re, d.events(listener))
		}
		return nil
	})
}

// TestWatchdog: a program that stops its keep-alives is sent SIGABRT,
// exits as unexpected and is restarted; WATCHDOG=trigger does the same at
// once. Log lines and events say so; a stock EVENT listener sees none of
// the new events.
func TestWatchdog(t *testing.T) {
	t.Parallel()
	d := newDaemon(t, "", `[program:dog]
command={{python}} {{sender}} connect READY=1 ping:0.2:10
notify=true
watchdog_secs=1
stopwaitsecs=2

[program:trig]
command={{python}} {{sender}} sendto READY=1 sleep:1 WATCHDOG=trigger
notify=true
watchdog_signal=TERM
startretries=0

`+listeners)
	d.start()
	first := d.waitState("dog", "RUNNING", "", 30*time.Second)
	d.waitLog("watchdog: dog missed its keep-alive (limit 1s), sending SIGABRT", 1, 30*time.Second)
	second := d.wait("dog", 30*time.Second, "a new instance", func(i info) bool { return i.PID != first.PID && i.PID != 0 })
	log := d.mainLog()
	if !regexp.MustCompile(`WARN exited: dog \(terminated by SIGABRT( \(core dumped\))?; not expected\)`).MatchString(log) {
		t.Errorf("main log lacks dog's unexpected exit:\n%s", log)
	}
	d.waitEvent("ours", fmt.Sprintf(`(?m)^PROCESS_NOTIFY_WATCHDOG processname:dog groupname:dog pid:%d reason:timeout$`, first.PID), 10*time.Second)
	d.waitEvent("ours", fmt.Sprintf(`(?m)^PROCESS_STATE_EXITED processname:dog groupname:dog from_state:RUNNING expected:0 pid:%d$`, first.PID), 10*time.Second)
	t.Logf("dog: pid %d missed its keep-alive, restarted as %d", first.PID, second.PID)

	d.waitLog("watchdog: trig sent WATCHDOG=trigger, sending SIGTERM", 1, 30*time.Second)
	d.waitEvent("ours", `(?m)^PROCESS_NOTIFY_WATCHDOG processname:trig groupname:trig pid:\d+ reason:trigger$`, 10*time.Second)
	d.waitEvent("ours", `(?m)^PROCESS_STATE_EXITED processname:trig groupname:trig from_state:RUNNING expected:0 pid:\d+$`, 10*time.Second)
	if h := d.health("trig"); h.LastExitReason != "watchdog" {
		// Restarted already? Then the reason went with the new spawn.
		if i := d.info("trig"); i.State == "EXITED" {
			t.Errorf("trig's exit reason %q, want watchdog", h.LastExitReason)
		}
	}

	// The stock listener got the state changes, never the new types.
	d.waitEvent("stock", `(?m)^PROCESS_STATE_EXITED processname:dog `, 10*time.Second)
	if s := d.events("stock"); strings.Contains(s, "PROCESS_NOTIFY") || strings.Contains(s, "PROCESS_HEALTH") {
		t.Errorf("a listener of EVENT received gosupervisor's events:\n%s", s)
	}
}
