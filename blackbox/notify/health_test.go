package notify

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// TestHealthHTTP checks a program against a loopback server the test
// turns 200, 503 and hanging: healthy, then unhealthy and restarted,
// then timed out; the counts show in the description and the events.
func TestHealthHTTP(t *testing.T) {
	t.Parallel()
	var mode atomic.Value
	mode.Store("200")
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load().(string) {
		case "200":
			fmt.Fprintln(w, "ok")
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "overloaded")
		case "hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	d := newDaemon(t, "", fmt.Sprintf(`[program:web]
command={{helper}} idle
environment={{env}}idle
healthcheck_http=%s/healthz
healthcheck_interval_secs=1
healthcheck_timeout_secs=1
healthcheck_retries=2

`, srv.URL)+listeners)
	d.start()
	first := d.wait("web", 30*time.Second, "healthy", func(i info) bool { return strings.HasSuffix(i.Description, " [healthy]") })
	d.waitEvent("ours", fmt.Sprintf(`(?m)^PROCESS_HEALTH_HEALTHY processname:web groupname:web pid:%d failures:0\|HTTP 200$`, first.PID), 10*time.Second)
	if h := d.health("web"); h.Health != "healthy" || h.LastResult != "HTTP 200" || h.LastOutput != "ok\n" || h.LastCheck == 0 {
		t.Errorf("health %+v", h)
	}

	mode.Store("503")
	d.waitLog("health: web is unhealthy (HTTP 503, 2/2), sending SIGTERM", 1, 30*time.Second)
	d.waitEvent("ours", fmt.Sprintf(`(?m)^PROCESS_HEALTH_UNHEALTHY processname:web groupname:web pid:%d failures:2\|HTTP 503$`, first.PID), 10*time.Second)
	d.waitEvent("ours", fmt.Sprintf(`(?m)^PROCESS_STATE_EXITED processname:web groupname:web from_state:RUNNING expected:0 pid:%d$`, first.PID), 10*time.Second)
	second := d.wait("web", 30*time.Second, "restarted", func(i info) bool { return i.State == "RUNNING" && i.PID != first.PID })

	mode.Store("hang")
	d.wait("web", 30*time.Second, "unhealthy by timeouts", func(i info) bool {
		return i.PID != second.PID || strings.Contains(i.Description, "[unhealthy: timed out after 1s (2/2)]")
	})
	d.waitLog("health: web is unhealthy (timed out after 1s, 2/2), sending SIGTERM", 1, 30*time.Second)
	if s := d.events("stock"); strings.Contains(s, "PROCESS_HEALTH") {
		t.Errorf("a listener of EVENT received health events:\n%s", s)
	}
}

// TestHealthTCP: a port that closes makes the program unhealthy; with
// healthcheck_action=none it only says so.
func TestHealthTCP(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	d := newDaemon(t, "", fmt.Sprintf(`[program:db]
command={{helper}} idle
environment={{env}}idle
healthcheck_tcp=%s
healthcheck_interval_secs=1
healthcheck_retries=1
healthcheck_action=none
`, ln.Addr()))
	d.start()
	first := d.wait("db", 30*time.Second, "healthy", func(i info) bool { return strings.HasSuffix(i.Description, " [healthy]") })
	ln.Close()
	i := d.wait("db", 30*time.Second, "unhealthy", func(i info) bool {
		return strings.HasSuffix(i.Description, " [unhealthy: connection refused (1/1)]")
	})
	if i.PID != first.PID || i.State != "RUNNING" {
		t.Errorf("action=none changed the program: %+v then %+v", first, i)
	}
	d.waitLog("WARN health: db is unhealthy (connection refused, 1/1)", 1, 10*time.Second)
	// Our supervisorctl shows the verdict where the stock one shows the
	// description: in status.
	out := d.ctl(filepath.Join(testenv.Binaries(t), "supervisorctl"), "status", "db")
	if !strings.Contains(out, "[unhealthy: connection refused (") {
		t.Errorf("our supervisorctl status:\n%s", out)
	}
}

// TestHealthExec: an exec check exiting 0, then 1, then sleeping past its
// timeout. Its output is kept; the timed-out check and the process it
// left in its group are killed; no zombie stays behind.
func TestHealthExec(t *testing.T) {
	t.Parallel()
	d := newDaemon(t, "", `[program:job]
command={{helper}} idle
environment={{env}}idle
healthcheck_exec=/bin/sh {{dir}}/check.sh
healthcheck_interval_secs=1
healthcheck_timeout_secs=1
healthcheck_retries=2
healthcheck_action=none
`)
	// The check's mode comes from a file the test rewrites. "bad" leaves a
	// process behind in the check's group; "hang" outlives the timeout.
	script := `read mode < ` + d.dir + `/mode
case $mode in
ok) echo fine; exit 0 ;;
bad) (exec /bin/sleep 271.828 &) ; echo broken; exit 1 ;;
hang) exec /bin/sleep 314.159 ;;
esac
`
	setMode := func(m string) {
		if err := os.WriteFile(filepath.Join(d.dir, "mode.tmp"), []byte(m+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(d.dir, "mode.tmp"), filepath.Join(d.dir, "mode")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(d.dir, "check.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	setMode("ok")
	d.start()
	d.wait("job", 30*time.Second, "healthy", func(i info) bool { return strings.HasSuffix(i.Description, " [healthy]") })
	testenv.Eventually(t, 10*time.Second, func() error {
		if h := d.health("job"); h.LastOutput != "fine\n" || h.LastResult != "exit status 0" {
			return fmt.Errorf("health %+v", h)
		}
		return nil
	})

	setMode("bad")
	d.wait("job", 30*time.Second, "unhealthy", func(i info) bool {
		return strings.HasSuffix(i.Description, " [unhealthy: exit status 1 (2/2)]")
	})
	testenv.Eventually(t, 10*time.Second, func() error {
		if h := d.health("job"); h.LastOutput != "broken\n" {
			return fmt.Errorf("health %+v", h)
		}
		if p := processesMatching("sleep 271.828"); len(p) > 0 {
			return fmt.Errorf("processes left by the check: %v", p)
		}
		return nil
	})

	setMode("hang")
	start := time.Now()
	d.wait("job", 30*time.Second, "timed out", func(i info) bool {
		return strings.Contains(i.Description, "[unhealthy: timed out after 1s (")
	})
	t.Logf("two timed-out checks in %v", time.Since(start))
	setMode("ok")
	d.wait("job", 30*time.Second, "healthy again", func(i info) bool { return strings.HasSuffix(i.Description, " [healthy]") })
	testenv.Eventually(t, 10*time.Second, func() error {
		if p := processesMatching("sleep 314.159"); len(p) > 0 {
			return fmt.Errorf("timed-out checks still running: %v", p)
		}
		if z := d.zombies(); len(z) > 0 {
			return fmt.Errorf("zombies %v", z)
		}
		return nil
	})
	// A check in flight when the program stops is killed with it.
	setMode("hang")
	testenv.Eventually(t, 10*time.Second, func() error {
		if len(processesMatching("sleep 314.159")) == 0 {
			return fmt.Errorf("no check in flight yet")
		}
		return nil
	})
	if err := d.call("supervisor.stopProcess", []any{"job", true}, nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if p := processesMatching("sleep 314.159"); len(p) > 0 {
			return fmt.Errorf("the check outlived its program: %v", p)
		}
		if z := d.zombies(); len(z) > 0 {
			return fmt.Errorf("zombies %v", z)
		}
		return nil
	})
}
