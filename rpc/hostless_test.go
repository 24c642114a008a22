package rpc

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"gosupervisor/config"
)

// streamConn is a net.Conn whose reads come from r.
type streamConn struct {
	net.Conn
	r io.Reader
}

func (c streamConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestHostlessConnRewrites feeds request streams through hostlessConn
// whole, in 3-byte pieces and byte by byte, and checks what net/http
// would read: an empty Host line added exactly where an HTTP/1.1 head
// has none, bodies and everything after an unknown framing unchanged.
func TestHostlessConnRewrites(t *testing.T) {
	t.Parallel()
	const post = "POST /RPC2 HTTP/1.1\r\nContent-Length: 38\r\n\r\n"
	const body = "<x>\r\n\r\nGET / HTTP/1.1\r\nA: b\r\n\r\n</x>" // a head inside a body
	cases := []struct {
		name, in, want string
	}{
		{"no host", "GET / HTTP/1.1\r\nA: b\r\n\r\n", "GET / HTTP/1.1\r\nHost: \r\nA: b\r\n\r\n"},
		{"no headers", "GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: \r\n\r\n"},
		{"LF only", "GET / HTTP/1.1\nA: b\n\n", "GET / HTTP/1.1\nHost: \r\nA: b\n\n"},
		{"host", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"host lower case", "GET / HTTP/1.1\r\nhOST: x\r\n\r\n", "GET / HTTP/1.1\r\nhOST: x\r\n\r\n"},
		{"HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"},
		{"host only in a continuation", "GET / HTTP/1.1\r\nA: b\r\n Host: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: \r\nA: b\r\n Host: x\r\n\r\n"},
		{"body untouched, then the next head", post + body + "GET /ok.html HTTP/1.1\r\n\r\n",
			"POST /RPC2 HTTP/1.1\r\nHost: \r\nContent-Length: 38\r\n\r\n" + body + "GET /ok.html HTTP/1.1\r\nHost: \r\n\r\n"},
		{"CR LF after a POST body", post + body + "\r\nGET / HTTP/1.1\r\n\r\n",
			"POST /RPC2 HTTP/1.1\r\nHost: \r\nContent-Length: 38\r\n\r\n" + body + "\r\nGET / HTTP/1.1\r\nHost: \r\n\r\n"},
		{"chunked: aside", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
			"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"},
		{"two lengths: aside", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
			"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"},
		{"bad length: aside", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
			"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\nGET / HTTP/1.1\r\n\r\n"},
		{"unfinished head", "GET / HTTP/1.1\r\nA: b\r\n", "GET / HTTP/1.1\r\nA: b\r\n"},
		{"huge head: aside", "GET / HTTP/1.1\r\nA: " + strings.Repeat("b", maxHeadBytes) + "\r\n\r\n",
			"GET / HTTP/1.1\r\nA: " + strings.Repeat("b", maxHeadBytes) + "\r\n\r\n"},
	}
	pieces := map[string]func(io.Reader) io.Reader{
		"whole":   func(r io.Reader) io.Reader { return r },
		"3 bytes": func(r io.Reader) io.Reader { return &chunkReader{r: r, n: 3} },
		"1 byte":  iotest.OneByteReader,
	}
	for _, c := range cases {
		for how, split := range pieces {
			conn := newHostlessConn(streamConn{r: split(strings.NewReader(c.in))})
			got, err := io.ReadAll(iotest.OneByteReader(conn))
			if err != nil {
				t.Errorf("%s, %s: %v", c.name, how, err)
			}
			if string(got) != c.want {
				t.Errorf("%s, %s:\n got %q\nwant %q", c.name, how, clip(string(got)), clip(c.want))
			}
		}
	}
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// TestHostlessRequestsServed: HTTP/1.1 requests without Host, several on
// one connection, are answered on the unix socket as the reference
// answers them; with Host, nothing changes.
func TestHostlessRequestsServed(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "sock")
	ln, err := ListenUnix(config.UnixHTTPServer{File: sock, ChownUID: -1, ChownGID: -1}, UnixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(context.Background(), NewHandler(newFakeBackend(t), HandlerOptions{}))
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	defer func() { srv.Close(); <-done }()

	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	call := "<?xml version='1.0'?><methodCall><methodName>supervisor.getState</methodName></methodCall>"
	var reqs bytes.Buffer
	for range 2 {
		reqs.WriteString("POST /RPC2 HTTP/1.1\r\nContent-Type: text/xml\r\nContent-Length: " + itoa(len(call)) + "\r\n\r\n" + call)
	}
	reqs.WriteString("GET /ok.html HTTP/1.1\r\nConnection: close\r\n\r\n")
	if _, err := c.Write(reqs.Bytes()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for i, want := range []string{"<name>statename</name>", "<name>statename</name>", "OK"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("response %d: %s %q", i, resp.Status, body)
		}
	}
}
