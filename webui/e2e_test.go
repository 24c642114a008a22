package webui

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kolo/xmlrpc"

	"gosupervisor/internal/testenv"
)

// e2eUser and e2ePassword guard both of the daemon's HTTP servers.
const (
	e2eUser     = "admin"
	e2ePassword = "s3cret"
	// e2eEvil is a log line that must show as text, never run.
	e2eEvil = "rendering <script>alert(1)</script> done"
)

// TestBrowserAgainstDaemon drives the UI served by our real supervisord,
// in headless Chromium: stop and start by clicking, checked through
// XML-RPC; the tail page shows HTML in the log as text; and the UI is
// served on the unix socket too.
func TestBrowserAgainstDaemon(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "sock")
	// The programs are shell scripts in dir, so a straggler can be found
	// by its command line and killed by pid.
	script := func(name, body string) string {
		path := filepath.Join(dir, name+".sh")
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return "/bin/sh " + path
	}
	d, port := startE2EDaemon(t, dir, func(port int) string {
		return fmt.Sprintf(`[unix_http_server]
file=%[1]s
username=%[3]s
password=%[4]s

[inet_http_server]
port=127.0.0.1:%[2]d
username=%[3]s
password=%[4]s

[supervisord]
logfile=%[5]s/main.log
pidfile=%[5]s/supervisord.pid
childlogdir=%[5]s
identifier=e2e

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:web]
command=%[6]s
startsecs=0
stopwaitsecs=5

[program:idle]
command=%[7]s
autostart=false
`, sock, port, e2eUser, e2ePassword, dir,
			script("web", "echo '"+e2eEvil+"'\nwhile :; do sleep 1; done\n"),
			script("idle", "while :; do sleep 1; done\n"))
	}, func(port int) string {
		return fmt.Sprintf("http://%s:%s@127.0.0.1:%d/RPC2", e2eUser, e2ePassword, port)
	})

	rpcURL := fmt.Sprintf("http://%s:%s@127.0.0.1:%d/RPC2", e2eUser, e2ePassword, port)
	client, err := xmlrpc.NewClient(rpcURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	stateOf := func(name string) (string, error) {
		var info struct {
			StateName string `xmlrpc:"statename"`
		}
		if err := client.Call("supervisor.getProcessInfo", name, &info); err != nil {
			return "", err
		}
		return info.StateName, nil
	}
	waitRPCState := func(name, want string) {
		t.Helper()
		testenv.Eventually(t, 60*time.Second, func() error {
			select {
			case <-d.Exited:
				t.Fatalf("daemon exited: %v\nstderr:\n%s", d.ExitErr, d.Stderr.String())
			default:
			}
			got, err := stateOf(name)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("XML-RPC says %s is %s, want %s", name, got, want)
			}
			return nil
		})
	}
	waitRPCState("web", "RUNNING")
	waitRPCState("idle", "STOPPED")

	t.Run("unix socket serves the UI", func(t *testing.T) {
		c := testenv.UnixClient(sock)
		get := func(auth bool) (int, string) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://localhost/", nil)
			if err != nil {
				t.Fatal(err)
			}
			if auth {
				req.SetBasicAuth(e2eUser, e2ePassword)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode, string(body)
		}
		if code, _ := get(false); code != http.StatusUnauthorized {
			t.Errorf("GET / without credentials: status %d, want 401", code)
		}
		code, page := get(true)
		if code != http.StatusOK {
			t.Fatalf("GET /: status %d", code)
		}
		for _, want := range []string{"<title>Supervisor Status</title>", `data-name="web" data-state="running"`, `data-name="idle" data-state="stopped"`} {
			if !strings.Contains(page, want) {
				t.Errorf("status page on the unix socket lacks %q", want)
			}
		}
	})

	br := startBrowser(t)
	br.resize(1280, 800)
	// The page URL carries the credentials; Chromium keeps them for the
	// page's own requests (the live-update fetches, the form posts).
	base := fmt.Sprintf("http://%s:%s@127.0.0.1:%d/", e2eUser, e2ePassword, port)
	br.open(base)
	waitShown := func(name, want string) {
		t.Helper()
		testenv.Eventually(t, 60*time.Second, func() error {
			got, err := br.attr(fmt.Sprintf(`tr[data-name=%q]`, name), "data-state")
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("page shows %s as %q, want %q", name, got, want)
			}
			return nil
		})
	}
	waitShown("web", "running")
	waitShown("idle", "stopped")

	br.click(`tr[data-name="web"] button[value="stop"]`)
	waitRPCState("web", "STOPPED")
	waitShown("web", "stopped")
	br.click(`tr[data-name="web"] button[value="start"]`)
	waitRPCState("web", "RUNNING")
	waitShown("web", "running")
	testenv.Eventually(t, 60*time.Second, func() error {
		got, err := br.text("#statusmessage")
		if err != nil {
			return err
		}
		if got != "Process web started" {
			return fmt.Errorf("message %q", got)
		}
		return nil
	})

	shot := os.Getenv("WEBUI_SCREENSHOT_E2E")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "webui-e2e.png")
	}
	br.screenshot(shot)

	// The tail page: the web script ran twice, so its log holds the line
	// twice, as text; the script element never reached the DOM.
	br.click(`tr[data-name="web"] td.name a`)
	testenv.Eventually(t, 60*time.Second, func() error {
		got, err := br.text("#tailbody")
		if err != nil {
			return err
		}
		if n := strings.Count(got, e2eEvil); n != 2 {
			return fmt.Errorf("tail shows the line %d times, want 2: %q", n, got)
		}
		return nil
	})
	var scripts int
	br.eval(`return document.querySelectorAll("#tailbody *").length;`, &scripts)
	if scripts != 0 {
		t.Errorf("the log text became %d elements in the tail", scripts)
	}
	var title string
	br.eval(`return document.title;`, &title)
	if title != "Supervisor tail of process web" {
		t.Errorf("tail page title %q", title)
	}
	// An alert would be open now had the line run as script.
	if err := br.call(http.MethodGet, br.session+"/alert/text", nil, nil); err == nil || !strings.Contains(err.Error(), "no such alert") {
		t.Errorf("alert check: %v, want a 'no such alert' error", err)
	}
	br.screenshot(strings.TrimSuffix(shot, ".png") + "-tail.png")
}

// startE2EDaemon writes the config text(port) for a TCP port nobody
// listened on a moment ago, starts our supervisord with it in dir and
// waits until supervisor.getState answers at rpcURL(port). Anything on
// the machine binding port 0 may have been handed that port before the
// daemon bound it: a daemon that finds it taken is started again on
// another one.
func startE2EDaemon(t *testing.T, dir string, text, rpcURL func(port int) string) (*testenv.Daemon, int) {
	t.Helper()
	conf := filepath.Join(dir, "supervisord.conf")
	for attempt := 1; ; attempt++ {
		port := e2eFreePort(t)
		if err := os.WriteFile(conf, []byte(text(port)), 0o644); err != nil {
			t.Fatal(err)
		}
		d := testenv.Start(t, dir, filepath.Join(testenv.Binaries(t), "supervisord"), "-n", "-c", conf)
		// Runs before testenv's kill: a clean shutdown stops the
		// programs, and whatever survives a failed one is killed by pid.
		t.Cleanup(func() {
			d.Stop(t, 15*time.Second)
			killScriptsUnder(dir)
		})
		client, err := xmlrpc.NewClient(rpcURL(port), nil)
		if err != nil {
			t.Fatal(err)
		}
		exited := false
		testenv.Eventually(t, 60*time.Second, func() error {
			select {
			case <-d.Exited:
				exited = true
				return nil
			default:
			}
			var state map[string]any
			return client.Call("supervisor.getState", nil, &state)
		})
		client.Close()
		if !exited {
			return d, port
		}
		stderr := d.Stderr.String()
		if attempt == 3 || !strings.Contains(stderr, "Another program is already listening on a port") {
			t.Fatalf("daemon exited: %v\nstderr:\n%s", d.ExitErr, stderr)
		}
		t.Logf("port %d was taken before the daemon bound it; again on another one", port)
	}
}

// e2eFreePort returns a TCP port on 127.0.0.1 nobody listened on a
// moment ago.
func e2eFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// killScriptsUnder kills, by pid, every process whose command line names
// a file in dir: the test's program scripts, should the daemon not have
// stopped them.
func killScriptsUnder(dir string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(cmdline), dir+string(os.PathSeparator)) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
