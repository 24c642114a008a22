package blackbox

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
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
