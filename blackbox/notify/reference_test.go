package notify

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// TestReferenceIgnoresKeys: one config with every key of issue 14 runs
// under the Python reference (which ignores the keys: its programs reach
// RUNNING after startsecs) and under ours (which acts on them).
func TestReferenceIgnoresKeys(t *testing.T) {
	t.Parallel()
	testenv.RequireReference(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }))
	// Cleanups, not defers: the parallel subtests run after this returns.
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	programs := fmt.Sprintf(`[program:reporter]
command={{python}} {{sender}} connect 'READY=1|STATUS=up' ping:1:-1
notify=true
notify_access=all
ready_timeout_secs=30
watchdog_secs=30
watchdog_signal=ABRT

[program:checked_exec]
command={{helper}} idle
environment={{env}}idle
healthcheck_exec=/bin/true
healthcheck_interval_secs=1
healthcheck_timeout_secs=5
healthcheck_retries=3
healthcheck_start_period_secs=0
healthcheck_action=none

[program:checked_http]
command={{helper}} idle
environment={{env}}idle
healthcheck_http=%s/
healthcheck_interval_secs=1

[program:checked_tcp]
command={{helper}} idle
environment={{env}}idle
healthcheck_tcp=%s
healthcheck_interval_secs=1
healthcheck_action=restart

[eventlistener:plain]
command={{python}} {{listener}} {{dir}}/plain.events
events=PROCESS_STATE
`, srv.URL, ln.Addr())
	names := []string{"reporter", "checked_exec", "checked_http", "checked_tcp"}
	for _, side := range []string{"ref", "ours"} {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			d := newDaemon(t, "notify_dir={{dir}}/notify", programs)
			if side == "ref" {
				d.startWith(testenv.PythonSupervisord, nil, "-n", "-c", d.conf)
			} else {
				d.start()
			}
			for _, name := range names {
				d.waitState(name, "RUNNING", "", 30*time.Second)
				if side == "ref" {
					continue
				}
				want := " [healthy]"
				if name == "reporter" {
					want = ": up"
				}
				d.wait(name, 30*time.Second, want, func(i info) bool { return strings.HasSuffix(i.Description, want) })
			}
			if log := d.mainLog(); strings.Contains(log, "Traceback") || strings.Contains(log, "unhealthy") {
				t.Errorf("the reference complained:\n%s", log)
			}
		})
	}
}
