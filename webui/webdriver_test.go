package webui

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// A minimal W3C WebDriver client over chromedriver, enough to drive the
// UI in headless Chromium: no module beyond the standard library.

const (
	chromedriverPath = "/usr/bin/chromedriver"
	chromiumPath     = "/usr/bin/chromium"
	// webElementKey names an element reference in WebDriver JSON.
	webElementKey = "element-6066-11e4-a52e-4f735466cecf"
)

// startedOnPort finds the port in chromedriver's start-up line.
var startedOnPort = regexp.MustCompile(`started successfully on port (\d+)`)

// browser is one WebDriver session.
type browser struct {
	t       *testing.T
	client  *http.Client
	session string // http://127.0.0.1:port/session/<id>
}

// startBrowser starts chromedriver and a headless Chromium session; both
// are stopped when the test ends.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	for _, p := range []string{chromedriverPath, chromiumPath} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("browser test needs %s (Debian packages chromium, chromium-driver; run `make deps`): %v", p, err)
		}
	}
	// Port 0: chromedriver picks a free port and says which, so no other
	// test can take it in between.
	cmd := exec.Command(chromedriverPath, "--port=0")
	var logs testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	// Its own process group, so the browser it forks dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromedriver: %v", err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("chromedriver output:\n%s", logs.String())
		}
	})
	var base string
	testenv.Eventually(t, 10*time.Second, func() error {
		m := startedOnPort.FindStringSubmatch(logs.String())
		if m == nil {
			return fmt.Errorf("chromedriver has not said its port yet: %q", logs.String())
		}
		base = "http://127.0.0.1:" + m[1]
		return nil
	})
	b := &browser{t: t, client: &http.Client{Timeout: 20 * time.Second}}
	testenv.Eventually(t, 10*time.Second, func() error {
		var status struct {
			Ready bool `json:"ready"`
		}
		if err := b.call(http.MethodGet, base+"/status", nil, &status); err != nil {
			return err
		}
		if !status.Ready {
			return fmt.Errorf("chromedriver not ready")
		}
		return nil
	})
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromiumPath,
			"args": []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--disable-quic", "--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()},
		},
	}}}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(http.MethodPost, base+"/session", caps, &created); err != nil {
		t.Fatalf("new WebDriver session: %v\n%s", err, logs.String())
	}
	b.session = base + "/session/" + created.SessionID
	t.Cleanup(func() { _ = b.call(http.MethodDelete, b.session, nil, nil) })
	return b
}

// call sends one WebDriver command and decodes its "value" into out.
func (b *browser) call(method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var reply struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		return fmt.Errorf("%s %s: status %d: %w", method, url, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode, reply.Value)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(reply.Value, out)
}

// must is call on the session that fails the test on error.
func (b *browser) must(method, path string, in, out any) {
	b.t.Helper()
	if err := b.call(method, b.session+path, in, out); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) open(url string) {
	b.t.Helper()
	b.must(http.MethodPost, "/url", map[string]string{"url": url}, nil)
}

func (b *browser) url() string {
	b.t.Helper()
	var u string
	b.must(http.MethodGet, "/url", nil, &u)
	return u
}

func (b *browser) resize(width, height int) {
	b.t.Helper()
	b.must(http.MethodPost, "/window/rect", map[string]int{"width": width, "height": height}, nil)
}

// find returns the id of the element matching a CSS selector.
func (b *browser) find(css string) (string, error) {
	var el map[string]string
	err := b.call(http.MethodPost, b.session+"/element", map[string]string{"using": "css selector", "value": css}, &el)
	if err != nil {
		return "", err
	}
	return el[webElementKey], nil
}

func (b *browser) mustFind(css string) string {
	b.t.Helper()
	id, err := b.find(css)
	if err != nil {
		b.t.Fatalf("find %q: %v", css, err)
	}
	return id
}

func (b *browser) click(css string) {
	b.t.Helper()
	b.must(http.MethodPost, "/element/"+b.mustFind(css)+"/click", map[string]any{}, nil)
}

// text is the rendered text of the element matching css.
func (b *browser) text(css string) (string, error) {
	id, err := b.find(css)
	if err != nil {
		return "", err
	}
	var s string
	err = b.call(http.MethodGet, b.session+"/element/"+id+"/text", nil, &s)
	return s, err
}

// attr is an attribute of the element matching css.
func (b *browser) attr(css, name string) (string, error) {
	id, err := b.find(css)
	if err != nil {
		return "", err
	}
	var s *string
	if err := b.call(http.MethodGet, b.session+"/element/"+id+"/attribute/"+name, nil, &s); err != nil {
		return "", err
	}
	if s == nil {
		return "", fmt.Errorf("%s has no attribute %s", css, name)
	}
	return *s, nil
}

// eval runs a script in the page and returns its result.
func (b *browser) eval(script string, out any) {
	b.t.Helper()
	b.must(http.MethodPost, "/execute/sync", map[string]any{"script": script, "args": []any{}}, out)
}

// screenshot saves a PNG of the viewport and returns its path.
func (b *browser) screenshot(path string) {
	b.t.Helper()
	var encoded string
	b.must(http.MethodGet, "/screenshot", nil, &encoded)
	png, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	b.t.Logf("screenshot written to %s", path)
}
