package webui

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kolo/xmlrpc"

	"gosupervisor/internal/testenv"
)

// crossSitePage is a page of another site that tries to stop three
// programs of the daemon at DAEMON (an origin), as a page the operator
// visits could: an <img> of a UI action, a form posted into a hidden
// frame, and a no-cors fetch POST of an XML-RPC call as text/plain. Its
// title becomes "sent" once the browser has had an answer to all three.
const crossSitePage = `<!DOCTYPE html>
<html><head><title>cat pictures</title></head><body>
<img id="img" src="DAEMON/index.html?action=stop&amp;processname=byimg">
<iframe name="sink" id="sink" style="display:none"></iframe>
<form id="form" method="POST" target="sink" action="DAEMON/index.html">
<input name="action" value="stop"><input name="processname" value="byform"></form>
<script>
let pending = 3;
function done() { if (--pending === 0) { document.title = "sent"; } }
const img = document.getElementById("img");
if (img.complete) { done(); } else { img.onload = done; img.onerror = done; }
document.getElementById("sink").onload = done;
document.getElementById("form").submit();
fetch("DAEMON/RPC2", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"},
  body: "<?xml version='1.0'?><methodCall><methodName>supervisor.stopProcess</methodName><params><param><value><string>byfetch</string></value></param></params></methodCall>"})
  .then(done, done);
</script></body></html>
`

// TestBrowserCrossSiteAttack: headless Chromium visits a page of another
// site (served on localhost, the daemon on 127.0.0.1: different sites)
// that tries to stop programs of a daemon whose inet_http_server has no
// password. Every program runs on. The UI itself, opened in the same
// browser, still stops a program with its own button.
func TestBrowserCrossSiteAttack(t *testing.T) {
	dir := t.TempDir()
	var programs strings.Builder
	for _, name := range []string{"byimg", "byform", "byfetch", "own"} {
		path := filepath.Join(dir, name+".sh")
		if err := os.WriteFile(path, []byte("while :; do sleep 1; done\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&programs, "[program:%s]\ncommand=/bin/sh %s\nstartsecs=0\nstopwaitsecs=5\n\n", name, path)
	}
	_, port := startE2EDaemon(t, dir, func(port int) string {
		return fmt.Sprintf(`[inet_http_server]
port=127.0.0.1:%[1]d

[supervisord]
logfile=%[2]s/main.log
pidfile=%[2]s/supervisord.pid
childlogdir=%[2]s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

%[3]s`, port, dir, programs.String())
	}, func(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/RPC2", port) })
	daemon := fmt.Sprintf("http://127.0.0.1:%d", port)
	client, err := xmlrpc.NewClient(daemon+"/RPC2", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	states := func() (map[string]string, error) {
		var infos []struct {
			Name      string `xmlrpc:"name"`
			StateName string `xmlrpc:"statename"`
		}
		if err := client.Call("supervisor.getAllProcessInfo", nil, &infos); err != nil {
			return nil, err
		}
		m := map[string]string{}
		for _, p := range infos {
			m[p.Name] = p.StateName
		}
		return m, nil
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		m, err := states()
		if err != nil {
			return err
		}
		for name, state := range m {
			if state != "RUNNING" {
				return fmt.Errorf("%s is %s", name, state)
			}
		}
		return nil
	})

	// The other site.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ReplaceAll(crossSitePage, "DAEMON", daemon)
	site := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}), ReadHeaderTimeout: 10 * time.Second}
	go site.Serve(ln)
	t.Cleanup(func() { site.Close() })

	br := startBrowser(t)
	br.open(fmt.Sprintf("http://localhost:%d/", ln.Addr().(*net.TCPAddr).Port))
	testenv.Eventually(t, 20*time.Second, func() error {
		var title string
		br.eval(`return document.title;`, &title)
		if title != "sent" {
			return fmt.Errorf("the page has not had all its answers yet (title %q)", title)
		}
		return nil
	})
	m, err := states()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"byimg", "byform", "byfetch"} {
		if m[name] != "RUNNING" {
			t.Errorf("a page of another site stopped %s (%s)", name, m[name])
		}
	}

	br.open(daemon + "/")
	br.click(`tr[data-name="own"] button[value="stop"]`)
	testenv.Eventually(t, 15*time.Second, func() error {
		m, err := states()
		if err != nil {
			return err
		}
		if m["own"] != "STOPPED" {
			return fmt.Errorf("own is %s after its Stop button", m["own"])
		}
		return nil
	})
}
