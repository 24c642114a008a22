package blackbox

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// rawExchange writes raw to a fresh connection to network/addr and reads
// n responses; each is "<status code> <body>".
func rawExchange(t *testing.T, network, addr, raw string, n int) []string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []string
	for i := range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			out = append(out, fmt.Sprintf("response %d: %v", i, err))
			break
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, fmt.Sprintf("%d %s", resp.StatusCode, body))
	}
	return out
}

// TestHostlessHTTP11 sends HTTP/1.1 requests without a Host header, as
// hand-written clients (socat, shell, PHP and Lua libraries) do, two
// XML-RPC calls and a GET on one connection, over the unix socket and
// TCP: the reference answers all three, and so must we (net/http alone
// answers 400 "missing required Host header").
func TestHostlessHTTP11(t *testing.T) {
	t.Parallel()
	call := "<?xml version='1.0'?><methodCall><methodName>supervisor.getState</methodName><params></params></methodCall>"
	requests := func(password string) string {
		auth := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(rpcUser+":"+password)) + "\r\n"
		post := "POST /RPC2 HTTP/1.1\r\n" + auth + "Content-Type: text/xml\r\nContent-Length: " + fmt.Sprint(len(call)) + "\r\n\r\n" + call
		return post + post + "GET /ok.html HTTP/1.1\r\n" + auth + "Connection: close\r\n\r\n"
	}
	type answers struct{ unix, inet []string }
	got := runBoth(t, func(t *testing.T, impl implementation) answers {
		s := newSide(t, impl, "")
		s.start(t)
		return answers{
			unix: rawExchange(t, "unix", s.sock, requests(unixPassword), 3),
			inet: rawExchange(t, "tcp", fmt.Sprintf("127.0.0.1:%d", s.port), requests(inetPassword), 3),
		}
	})
	ref, ours := got[0], got[1]
	for _, a := range []answers{ref, ours} {
		for _, side := range [][]string{a.unix, a.inet} {
			if len(side) != 3 || !strings.HasPrefix(side[0], "200 ") || !strings.Contains(side[1], "RUNNING") || side[2] != "200 OK" {
				t.Errorf("answers %q, want three 200s", side)
			}
		}
	}
	if !reflect.DeepEqual(ref, ours) {
		t.Errorf("answers differ:\nref  %q\nours %q", ref, ours)
	}
}

// openConfig is baseConfig without any password: the situation in which
// a page the operator visits can reach the daemon with nothing to guess.
var openConfig = strings.NewReplacer("username={{user}}\n", "", "password={{unixpw}}\n", "", "password={{inetpw}}\n", "").Replace(baseConfig)

// browserRequest is one request as a browser sends it; target is the
// program it would stop.
type browserRequest struct {
	name   string
	method string
	path   string
	// host replaces the Host header ("" keeps 127.0.0.1:port).
	host    string
	headers map[string]string
	body    func(target string) string
	target  string
}

// stopCall is the XML-RPC body that stops a program.
func stopCall(target string) string {
	return "<?xml version='1.0'?><methodCall><methodName>supervisor.stopProcess</methodName><params><param><value><string>" +
		target + "</string></value></param></params></methodCall>"
}

// send makes the request to the side's TCP server and returns the status.
func (b browserRequest) send(t *testing.T, s *side) int {
	t.Helper()
	var body io.Reader
	if b.body != nil {
		body = strings.NewReader(b.body(b.target))
	}
	path := strings.ReplaceAll(b.path, "TARGET", b.target)
	req, err := http.NewRequestWithContext(t.Context(), b.method, fmt.Sprintf("http://127.0.0.1:%d%s", s.port, path), body)
	if err != nil {
		t.Fatal(err)
	}
	if b.host != "" {
		req.Host = strings.ReplaceAll(b.host, "PORT", fmt.Sprint(s.port))
	}
	for k, v := range b.headers {
		req.Header.Set(k, strings.ReplaceAll(v, "PORT", fmt.Sprint(s.port)))
	}
	// The UI answers an action with a redirect: its status is the answer.
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", b.name, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestCrossSiteRequests makes, against an inet_http_server without a
// password, the requests a page of another site makes a browser send:
// a fetch POST of an XML-RPC call as text/plain, a form POST and an
// <img> GET of a UI action, the same from a browser that sends only
// Origin, from another port of the same host (same-site, another
// origin), and from a DNS-rebinding page (its own name as Host). Each
// stops its program on the reference (the attack is real); ours refuses
// each with 403 and the program runs on. The requests a user or a tool
// makes on purpose (supervisorctl-like clients sending neither header,
// our UI's own same-origin forms and links, a URL typed in the address
// bar, Host names of this machine) still act on both.
func TestCrossSiteRequests(t *testing.T) {
	t.Parallel()
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	form := func(target string) string { return "action=stop&processname=" + target }
	const evil = "http://evil.example"
	attacks := []browserRequest{
		{name: "fetch POST text/plain", method: "POST", path: "/RPC2", body: stopCall,
			headers: map[string]string{"Content-Type": "text/plain;charset=UTF-8", "Origin": evil, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty"}},
		{name: "form POST", method: "POST", path: "/index.html", body: form,
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": evil, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}},
		{name: "img GET", method: "GET", path: "/index.html?action=stop&processname=TARGET",
			headers: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image", "Referer": evil + "/"}},
		{name: "Origin only (older browser)", method: "POST", path: "/RPC2", body: stopCall,
			headers: map[string]string{"Content-Type": "text/plain", "Origin": evil}},
		{name: "another port of this host", method: "POST", path: "/index.html", body: form,
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"}},
		{name: "DNS rebinding", method: "POST", path: "/RPC2", body: stopCall, host: "evil.example:PORT",
			headers: map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example:PORT", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}},
	}
	wanted := []browserRequest{
		{name: "XML-RPC client", method: "POST", path: "/RPC2", body: stopCall, headers: map[string]string{"Content-Type": "text/xml"}},
		{name: "UI link, same origin", method: "GET", path: "/index.html?action=stop&processname=TARGET",
			headers: map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Referer": "http://127.0.0.1:PORT/"}},
		{name: "UI form, same origin", method: "POST", path: "/index.html", body: form,
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://127.0.0.1:PORT", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}},
		{name: "UI form, Origin only", method: "POST", path: "/index.html", body: form,
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://127.0.0.1:PORT"}},
		{name: "typed URL", method: "GET", path: "/?action=stop&processname=TARGET",
			headers: map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}},
		{name: "Host localhost", method: "POST", path: "/RPC2", body: stopCall, host: "localhost:PORT"},
		{name: "Host of this machine", method: "POST", path: "/RPC2", body: stopCall, host: hostname + ":PORT"},
	}
	var programs strings.Builder
	for i := range attacks {
		attacks[i].target = fmt.Sprintf("attacked%d", i)
		programs.WriteString(program(attacks[i].target, "serve", "startsecs=0"))
	}
	for i := range wanted {
		wanted[i].target = fmt.Sprintf("wanted%d", i)
		programs.WriteString(program(wanted[i].target, "serve", "startsecs=0"))
	}
	type outcome struct {
		status map[string]int
		state  map[string]string
	}
	got := runBoth(t, func(t *testing.T, impl implementation) outcome {
		s := newSide(t, impl, "")
		s.writeFile(t, "supervisord.conf", openConfig+programs.String())
		s.start(t)
		s.settle(t)
		o := outcome{status: map[string]int{}, state: map[string]string{}}
		for _, r := range append(attacks, wanted...) {
			o.status[r.name] = r.send(t, s)
		}
		c := s.rpcClient(t)
		defer c.Close()
		var infos []struct {
			Name      string `xmlrpc:"name"`
			StateName string `xmlrpc:"statename"`
		}
		if err := c.Call("supervisor.getAllProcessInfo", nil, &infos); err != nil {
			t.Fatal(err)
		}
		for _, p := range infos {
			o.state[p.Name] = p.StateName
		}
		return o
	})
	ref, ours := got[0], got[1]
	for _, r := range attacks {
		if ref.state[r.target] != "STOPPED" {
			t.Errorf("%s: the reference's %s is %s: the request is no real attack", r.name, r.target, ref.state[r.target])
		}
		if ours.state[r.target] != "RUNNING" || ours.status[r.name] != http.StatusForbidden {
			t.Errorf("%s: answered %d, %s is %s; want 403 and RUNNING", r.name, ours.status[r.name], r.target, ours.state[r.target])
		}
	}
	for _, r := range wanted {
		for i, o := range []outcome{ref, ours} {
			if o.state[r.target] != "STOPPED" || o.status[r.name] >= 400 {
				t.Errorf("%s, %s: answered %d, %s is %s; want it stopped", implementations[i].name, r.name, o.status[r.name], r.target, o.state[r.target])
			}
		}
	}
}

// TestSecurityHeaders: every response of our daemon, whatever its path
// and status, says X-Content-Type-Options: nosniff (no browser may run a
// log or an error page as script or style); the pages and the redirects
// after actions forbid framing (Content-Security-Policy: frame-ancestors
// 'none'), so no site can lay a decoy over a Stop button.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := newSide(t, implementations[1], program("cat", "serve", "startsecs=0"))
	s.start(t)
	s.settle(t)
	type check struct {
		method, path, body string
		auth               bool
		status             int
		page               bool
	}
	checks := []check{
		{"GET", "/", "", false, http.StatusUnauthorized, false},
		{"GET", "/", "", true, http.StatusOK, true},
		{"GET", "/index.html", "", true, http.StatusOK, true},
		{"GET", "/tail.html?processname=cat", "", true, http.StatusOK, true},
		{"GET", "/index.html?action=refresh", "", true, http.StatusMovedPermanently, true},
		{"GET", "/tail.txt?processname=cat", "", true, http.StatusOK, false},
		{"GET", "/ok.html", "", true, http.StatusOK, false},
		{"GET", "/stylesheets/supervisor.css", "", true, http.StatusOK, false},
		{"GET", "/scripts/supervisor.js", "", true, http.StatusOK, false},
		{"GET", "/nosuch", "", true, http.StatusNotFound, false},
		{"POST", "/RPC2", stopCall("nosuch"), true, http.StatusOK, false},
		{"GET", "/RPC2", "", true, http.StatusBadRequest, false},
		{"GET", "/logtail/cat", "", true, http.StatusOK, false},
	}
	for _, c := range checks {
		for _, network := range []string{"unix", "tcp"} {
			client := testenv.UnixClient(s.sock)
			base := "http://localhost"
			pw := unixPassword
			if network == "tcp" {
				client = &http.Client{Timeout: 30 * time.Second}
				base = fmt.Sprintf("http://127.0.0.1:%d", s.port)
				pw = inetPassword
			}
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			req, err := http.NewRequestWithContext(t.Context(), c.method, base+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.auth {
				req.SetBasicAuth(rpcUser, pw)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", c.method, c.path, err)
			}
			resp.Body.Close() // /logtail never ends: the headers are all we need
			if resp.StatusCode != c.status {
				t.Errorf("%s %s %s: status %d, want %d", network, c.method, c.path, resp.StatusCode, c.status)
			}
			if got := resp.Header.Values("X-Content-Type-Options"); len(got) != 1 || got[0] != "nosniff" {
				t.Errorf("%s %s %s: X-Content-Type-Options %q", network, c.method, c.path, got)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if c.page && csp != "frame-ancestors 'none'" {
				t.Errorf("%s %s %s: Content-Security-Policy %q", network, c.method, c.path, csp)
			}
		}
	}
}

// TestHostlessAfterChunkedBody sends, on one connection without Host
// headers, an XML-RPC POST whose body is chunked (with an extension and a
// trailer), then a GET. Both daemons answer the POST 411 (an XML-RPC body
// needs a Content-Length); the reference, which does not read chunked
// bodies, then closes the connection, while ours reads past the chunks
// as net/http does and must answer the GET 200 as it answers any
// host-less request (it answered 400, "missing required Host header",
// once a chunked body had made its rewriter step aside).
func TestHostlessAfterChunkedBody(t *testing.T) {
	t.Parallel()
	requests := func(password string) string {
		auth := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(rpcUser+":"+password)) + "\r\n"
		return "POST /RPC2 HTTP/1.1\r\n" + auth + "Content-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"7;note=x\r\n<?xml v\r\n5\r\nGET /\r\n0\r\nX-Trailer: 1\r\n\r\n" +
			"GET /ok.html HTTP/1.1\r\n" + auth + "Connection: close\r\n\r\n"
	}
	type answers struct{ unix, inet []string }
	got := runBoth(t, func(t *testing.T, impl implementation) answers {
		s := newSide(t, impl, "")
		s.start(t)
		return answers{
			unix: rawExchange(t, "unix", s.sock, requests(unixPassword), 2),
			inet: rawExchange(t, "tcp", fmt.Sprintf("127.0.0.1:%d", s.port), requests(inetPassword), 2),
		}
	})
	ref, ours := got[0], got[1]
	for _, side := range [][]string{ref.unix, ref.inet} {
		if len(side) != 2 || !strings.HasPrefix(side[0], "411 ") || !strings.Contains(side[1], "EOF") {
			t.Errorf("the reference answered %q: want 411 to the chunked POST, then the connection closed", side)
		}
	}
	for _, side := range [][]string{ours.unix, ours.inet} {
		if len(side) != 2 || !strings.HasPrefix(side[0], "411 ") || side[1] != "200 OK" {
			t.Errorf("ours answered %q: want 411 to the chunked POST and 200 OK to the GET", side)
		}
	}
}
