package rpc

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gosupervisor/internal/protocol"
)

func TestLocalHost(t *testing.T) {
	t.Parallel()
	names := []string{"box", "box.example.org."}
	for host, want := range map[string]bool{
		"":                    true,
		"127.0.0.1":           true,
		"127.0.0.1:9001":      true,
		"10.1.2.3:80":         true,
		"[::1]:9001":          true,
		"[::1]":               true,
		"[fe80::1%25eth0]:80": true,
		"localhost":           true,
		"LocalHost.:9001":     true,
		"box:9001":            true,
		"BOX":                 true,
		"box.example.org":     true,
		"box.example.org.:1":  true,
		"evil.example":        false,
		"evil.example:9001":   false,
		"localhost.evil.com":  false,
		"box.evil.com":        false,
		"127.0.0.1.evil.com":  false,
		"127.0.0.1.nip.io":    false,
		"sub.localhost":       false,
	} {
		if got := localHost(host, names); got != want {
			t.Errorf("localHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestGuard: which requests reach a path, by their browser headers,
// Host and credentials; every answer says nosniff; refusals are logged.
func TestGuard(t *testing.T) {
	t.Parallel()
	type req struct {
		name, method, host string
		headers            map[string]string
		auth               bool
	}
	evil := map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
	cases := []struct {
		opts HandlerOptions
		req  req
		want int
	}{
		{HandlerOptions{}, req{"tool POST", "POST", "", nil, false}, 200},
		{HandlerOptions{}, req{"cross-site POST", "POST", "", evil, false}, 403},
		{HandlerOptions{}, req{"cross-site GET passes (the UI checks its actions)", "GET", "", evil, false}, 200},
		{HandlerOptions{}, req{"same-site POST", "POST", "", map[string]string{"Sec-Fetch-Site": "same-site"}, false}, 403},
		{HandlerOptions{}, req{"same-origin POST", "POST", "", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://evil.example"}, false}, 200},
		{HandlerOptions{}, req{"typed URL POST", "POST", "", map[string]string{"Sec-Fetch-Site": "none"}, false}, 200},
		{HandlerOptions{}, req{"Origin only, other host", "POST", "", map[string]string{"Origin": "http://evil.example"}, false}, 403},
		{HandlerOptions{}, req{"Origin only, same host", "POST", "127.0.0.1:9001", map[string]string{"Origin": "http://127.0.0.1:9001"}, false}, 200},
		{HandlerOptions{Username: "u", Password: "p"}, req{"cross-site POST with credentials", "POST", "", evil, true}, 403},
		{HandlerOptions{}, req{"any Host on a unix socket", "POST", "evil.example", nil, false}, 200},
		{HandlerOptions{CheckHost: true}, req{"rebinding Host", "GET", "evil.example:9001", nil, false}, 403},
		{HandlerOptions{CheckHost: true, LocalNames: []string{"box"}}, req{"this machine", "GET", "box:9001", nil, false}, 200},
		{HandlerOptions{CheckHost: true}, req{"IP Host", "GET", "192.168.1.5:9001", nil, false}, 200},
		{HandlerOptions{CheckHost: true}, req{"no Host", "GET", "", nil, false}, 200},
		{HandlerOptions{CheckHost: true, Username: "u", Password: "p"}, req{"any Host with credentials", "GET", "evil.example:9001", nil, true}, 200},
		{HandlerOptions{CheckHost: true, Username: "u", Password: "p"}, req{"no credentials", "GET", "evil.example:9001", nil, false}, 401},
		{HandlerOptions{Username: "u", Password: "{SHA}" + "516b9783fca517eecbd1d064da2d165310b19759"}, req{"SHA password", "GET", "", nil, true}, 200},
	}
	for _, c := range cases {
		var logged []string
		c.opts.Log = func(level protocol.Level, msg string) { logged = append(logged, fmt.Sprint(int(level))+" "+msg) }
		g := Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }), c.opts)
		r := httptest.NewRequest(c.req.method, "/RPC2", strings.NewReader("x"))
		r.Host = c.req.host
		for k, v := range c.req.headers {
			r.Header.Set(k, v)
		}
		if c.req.auth {
			r.SetBasicAuth("u", "p")
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, r)
		if rec.Code != c.want {
			t.Errorf("%s: status %d, want %d", c.req.name, rec.Code, c.want)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", c.req.name)
		}
		if refused := rec.Code == http.StatusForbidden; refused != (len(logged) == 1 && strings.HasPrefix(logged[0], "30 HTTP request refused: "+c.req.method+" /RPC2 ")) {
			t.Errorf("%s: logged %q", c.req.name, logged)
		}
	}
}
