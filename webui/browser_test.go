package webui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
)

// TestBrowser drives the UI in headless Chromium over a backend whose
// processes really change state: stop and start by clicking, live
// updates, the tail page and its follow mode, and a screenshot.
func TestBrowser(t *testing.T) {
	const evil = `<script>document.title="pwned"</script>`
	b := newFakeBackend(t,
		fakeProc{group: "web", name: "web", state: protocol.StateRunning,
			log:    "GET /health 200 1ms\nGET /api/users 200 12ms\nrendering " + evil + "\n",
			errLog: "warning: <b>slow</b> query\n"},
		fakeProc{group: "workers", name: "worker_00", state: protocol.StateRunning, log: "ready\n"},
		fakeProc{group: "workers", name: "worker_01", state: protocol.StateStopped, log: "-"},
		fakeProc{group: "cron", name: "cron", state: protocol.StateExited, log: "-"},
		fakeProc{group: "mailer", name: "mailer", state: protocol.StateFatal, log: "-"},
		fakeProc{group: "queue", name: "queue", state: protocol.StateBackoff, log: "-"},
	)
	srv := httptest.NewServer(newTestHandler(b))
	t.Cleanup(srv.Close)
	br := startBrowser(t)
	br.resize(1280, 800)

	br.open(srv.URL + "/")
	waitState := func(name, want string) {
		t.Helper()
		testenv.Eventually(t, 60*time.Second, func() error {
			got, err := br.attr(fmt.Sprintf(`tr[data-name=%q]`, name), "data-state")
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("%s shows %q, want %q", name, got, want)
			}
			return nil
		})
	}
	waitMessage := func(want string) {
		t.Helper()
		testenv.Eventually(t, 60*time.Second, func() error {
			got, err := br.text("#statusmessage")
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("message %q, want %q", got, want)
			}
			return nil
		})
	}
	waitState("web", "running")

	// Stop, then start again, by clicking the row's buttons.
	br.click(`tr[data-name="web"] button[value="stop"]`)
	waitMessage("Process web stopped")
	if got := b.StateOf("web"); got != "STOPPED" {
		t.Fatalf("backend says web is %s after Stop", got)
	}
	waitState("web", "stopped")
	if u := br.url(); !strings.HasSuffix(u, "/?message=Process%20web%20stopped") {
		t.Errorf("redirected to %s", u)
	}
	br.click(`tr[data-name="web"] button[value="start"]`)
	waitMessage("Process web started")
	if got := b.StateOf("web"); got != "RUNNING" {
		t.Fatalf("backend says web is %s after Start", got)
	}
	waitState("web", "running")

	// A change made behind the page's back shows up without a reload.
	var marker string
	br.eval(`window.notReloaded = "yes"; return window.notReloaded;`, &marker)
	if err := b.StartProcess(t.Context(), "workers:worker_01", true); err != nil {
		t.Fatal(err)
	}
	waitState("workers:worker_01", "running")
	br.eval(`return window.notReloaded || "";`, &marker)
	if marker != "yes" {
		t.Error("page reloaded instead of updating in place")
	}

	// An uptime ticking is updated in place: a button found before the
	// update is still the one on the page, and clicking it works.
	stopWeb := br.mustFind(`tr[data-name="web"] button[value="stop"]`)
	b.mu.Lock()
	b.procs["web"].PID, b.procs["web"].Started = 1003, fixedNow().Add(-67*time.Second)
	b.mu.Unlock()
	testenv.Eventually(t, 60*time.Second, func() error {
		got, err := br.text(`tr[data-name="web"] td.desc`)
		if err != nil {
			return err
		}
		if got != "pid 1003, uptime 0:01:07" {
			return fmt.Errorf("description %q", got)
		}
		return nil
	})
	br.must(http.MethodPost, "/element/"+stopWeb+"/click", map[string]any{}, nil)
	waitMessage("Process web stopped")
	br.click(`tr[data-name="web"] button[value="start"]`)
	waitMessage("Process web started")

	// The filter box keeps only the rows whose name matches.
	br.must(http.MethodPost, "/element/"+br.mustFind("#filter")+"/value", map[string]string{"text": "work"}, nil)
	shown := func(name string) bool {
		var visible bool
		br.must(http.MethodGet, "/element/"+br.mustFind(fmt.Sprintf(`tr[data-name=%q]`, name))+"/displayed", nil, &visible)
		return visible
	}
	if !shown("workers:worker_00") || shown("web") {
		t.Errorf("filter 'work': worker_00 shown %v, web shown %v", shown("workers:worker_00"), shown("web"))
	}
	br.must(http.MethodPost, "/element/"+br.mustFind("#filter")+"/clear", map[string]any{}, nil)
	if !shown("web") {
		t.Error("web still hidden with an empty filter")
	}

	// Screenshots of the status page, wide and phone-sized.
	shot := os.Getenv("WEBUI_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "webui.png")
	}
	br.screenshot(shot)
	br.resize(390, 844)
	br.screenshot(strings.TrimSuffix(shot, ".png") + "-phone.png")
	br.resize(1280, 800)

	// The name opens the tail of stdout; the log's HTML stays text.
	br.click(`tr[data-name="web"] td.name a`)
	testenv.Eventually(t, 60*time.Second, func() error {
		got, err := br.text("#tailbody")
		if err != nil {
			return err
		}
		if !strings.Contains(got, "rendering "+evil) {
			return fmt.Errorf("tail shows %q", got)
		}
		return nil
	})
	var title string
	br.eval(`return document.title;`, &title)
	if title != "Supervisor tail of process web" {
		t.Errorf("title %q: log text ran as script?", title)
	}

	// Follow: new output appears without clicking Refresh.
	br.click("#follow")
	b.appendLog(t, "web", "GET /late 201 3ms\n")
	testenv.Eventually(t, 60*time.Second, func() error {
		got, err := br.text("#tailbody")
		if err != nil {
			return err
		}
		if !strings.HasSuffix(got, "GET /late 201 3ms") {
			return fmt.Errorf("tail not followed: %q", got)
		}
		return nil
	})
	br.screenshot(strings.TrimSuffix(shot, ".png") + "-tail.png")

	// The stderr tab shows the other channel.
	br.click(".tabs a:last-child")
	testenv.Eventually(t, 60*time.Second, func() error {
		got, err := br.text("#tailbody")
		if err != nil {
			return err
		}
		if got != "warning: <b>slow</b> query" {
			return fmt.Errorf("stderr tab shows %q", got)
		}
		return nil
	})
}
