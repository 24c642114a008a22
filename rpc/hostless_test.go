package rpc

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
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
	const post = "POST /RPC2 HTTP/1.1\r\nContent-Length: 35\r\n\r\n"
	const body = "<x>\r\n\r\nGET / HTTP/1.1\r\nA: b\r\n\r\n</x>" // a head inside a body
	const chunked = "POST /RPC2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	const chunkedHost = "POST /RPC2 HTTP/1.1\r\nHost: \r\nTransfer-Encoding: chunked\r\n\r\n"
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
			"POST /RPC2 HTTP/1.1\r\nHost: \r\nContent-Length: 35\r\n\r\n" + body + "GET /ok.html HTTP/1.1\r\nHost: \r\n\r\n"},
		{"CR LF after a POST body", post + body + "\r\nGET / HTTP/1.1\r\n\r\n",
			"POST /RPC2 HTTP/1.1\r\nHost: \r\nContent-Length: 35\r\n\r\n" + body + "\r\nGET / HTTP/1.1\r\nHost: \r\n\r\n"},
		{"chunked, then the next head", chunked + "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
			chunkedHost + "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: \r\n\r\n"},
		{"chunks holding a head, extensions, blanks, a trailer", chunked + "1F;a=b \t\r\n" + body[:31] + "\r\n" + "4 \t\r\n" + body[31:] + "\r\n0\r\nX-T: 1\r\nY: \r\n\r\n" + "GET / HTTP/1.1\r\n\r\n",
			chunkedHost + "1F;a=b \t\r\n" + body[:31] + "\r\n" + "4 \t\r\n" + body[31:] + "\r\n0\r\nX-T: 1\r\nY: \r\n\r\n" + "GET / HTTP/1.1\r\nHost: \r\n\r\n"},
		{"chunked with a host, hex upper case", "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding:  Chunked \r\n\r\nA\r\n0123456789\r\n00\r\n\r\nGET / HTTP/1.1\r\n\r\n",
			"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding:  Chunked \r\n\r\nA\r\n0123456789\r\n00\r\n\r\nGET / HTTP/1.1\r\nHost: \r\n\r\n"},
		{"chunked in HTTP/1.0: aside", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", ""},
		{"chunked and a length: aside", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", ""},
		{"two encodings: aside", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", ""},
		{"gzip: aside", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", ""},
		{"folded line with chunked: aside", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n x\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", ""},
		{"bad chunk size: aside", chunked + "5x\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "="},
		{"blank before an extension: aside", chunked + "5 ;x\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "="},
		{"chunk size of 17 digits: aside", chunked + "00000000000000005\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "="},
		{"chunk size past int64: aside", chunked + "8000000000000000\r\nhello\r\n", "="},
		{"bare LF after a chunk size: aside", chunked + "5\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "="},
		{"CR inside a chunk line: aside", chunked + "5;a\rb\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "="},
		{"no CR LF after the data: aside", chunked + "5\r\nhelloX\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "="},
		{"bare LF in the trailer: aside", chunked + "0\r\nX: 1\n\r\nGET / HTTP/1.1\r\n\r\n", "="},
		{"chunk line too long: aside", chunked + "5;" + strings.Repeat("e", maxChunkLine) + "\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "="},
		{"trailer too long: aside", chunked + "0\r\nX: " + strings.Repeat("t", maxChunkLine) + "\r\n\r\nGET / HTTP/1.1\r\n\r\n", "="},
		{"unfinished chunk", chunked + "5\r\nhel", "="},
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
		// want "" is the input unchanged; "=" the input with a Host
		// line in the first head only (the rest passes unchanged).
		switch c.want {
		case "":
			c.want = c.in
		case "=":
			c.want = strings.Replace(c.in, chunked, chunkedHost, 1)
		}
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
	_, sock := startServer(t, NewHandler(newFakeBackend(t), HandlerOptions{}), nil)

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

// FuzzHostlessConn checks the rewriter against net/http's own request
// reader: the requests http.ReadRequest reads from the rewritten stream
// (each body read to its end, as the server does before the next
// request) are the ones it reads from the original, with the same
// method, target, headers (bar Host), body and trailer, for as long as
// the original reads without error. An inserted Host line anywhere but
// in a head would change a body, a trailer or the requests that follow.
// The first byte sets the size of the reads the rewriter sees.
func FuzzHostlessConn(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nA: b\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"POST /RPC2 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n",
		"POST /RPC2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1c;x=y \t\r\nGET / HTTP/1.1\r\nA: b\r\n\r\n</x>\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\nU: 2\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\nGET / HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
	} {
		f.Add(byte(0), []byte(seed))
		f.Add(byte(1), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, piece byte, in []byte) {
		var r io.Reader = bytes.NewReader(in)
		if piece%4 != 0 {
			r = &chunkReader{r: r, n: int(piece % 4)}
		}
		out, err := io.ReadAll(newHostlessConn(streamConn{r: r}))
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := readRequests(in)
		got, _ := readRequests(out)
		if len(got) < len(want) {
			t.Fatalf("%d requests read from the rewritten stream, %d from the original (then %v)\nin  %q\nout %q", len(got), len(want), wantErr, in, out)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("request %d:\n got %s\nwant %s\nin  %q\nout %q", i, got[i], want[i], in, out)
			}
		}
	})
}

// readRequests reads requests with net/http's reader as its server does
// (a body read to its end, CR LF before a head forgiven after a POST)
// and describes each, Host left out; it stops at the first error.
func readRequests(stream []byte) ([]string, error) {
	br := bufio.NewReader(bytes.NewReader(stream))
	var reqs []string
	lastPOST := false
	for {
		if lastPOST {
			peek, _ := br.Peek(4)
			n := 0
			for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
				n++
			}
			br.Discard(n)
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return reqs, err
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return reqs, err
		}
		req.Header.Del("Host")
		reqs = append(reqs, fmt.Sprintf("%s %q %s %v body %q trailer %v", req.Method, req.RequestURI, req.Proto, req.Header, body, req.Trailer))
		lastPOST = req.Method == http.MethodPost
	}
}

// TestNetHTTPErrorsNosniff: the answers net/http writes itself to
// requests it cannot read (a malformed head, an unknown transfer coding,
// a head too large, a bad Host), which no handler and so no Guard sees,
// carry X-Content-Type-Options: nosniff like every other response, on a
// fresh connection and after a request served on it.
func TestNetHTTPErrorsNosniff(t *testing.T) {
	t.Parallel()
	_, sock := startServer(t, NewHandler(newFakeBackend(t), HandlerOptions{}), nil)

	for _, c := range []struct {
		name, req string
		status    []int
	}{
		{"malformed header", "GET /ok.html HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", []int{400}},
		{"unknown coding", "POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", []int{501}},
		{"head too large", "GET /ok.html HTTP/1.1\r\nHost: x\r\nA: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", []int{431}},
		{"bad host", "GET /ok.html HTTP/1.1\r\nHost: a b\r\n\r\n", []int{400}},
		{"after a request served", "GET /ok.html HTTP/1.1\r\n\r\nGET /ok.html HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", []int{200, 400}},
	} {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.WriteString(conn, c.req); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		br := bufio.NewReader(conn)
		for _, status := range c.status {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != status || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: %s %v %q, want %d with nosniff", c.name, resp.Status, resp.Header, body, status)
			}
		}
		conn.Close()
	}
}

// TestNosniffOnlyBetweenResponses: a write that looks like net/http's
// error answer passes unchanged while a handler's response is under way
// (a log text can hold those bytes), and gets the header otherwise.
func TestNosniffOnlyBetweenResponses(t *testing.T) {
	t.Parallel()
	answer := "HTTP/1.1 400 Bad Request" + netHTTPErrorHeaders + "400 Bad Request"
	for _, serving := range []bool{false, true} {
		var out bytes.Buffer
		c := newHostlessConn(writeConn{w: &out})
		c.serving.Store(serving)
		if n, err := c.Write([]byte(answer)); n != len(answer) || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
		want := answer
		if !serving {
			want = strings.Replace(answer, "close\r\n", "close\r\nX-Content-Type-Options: nosniff\r\n", 1)
		}
		if out.String() != want {
			t.Errorf("serving %v: wrote %q, want %q", serving, out.String(), want)
		}
	}
}

// writeConn is a net.Conn whose writes go to w.
type writeConn struct {
	net.Conn
	w io.Writer
}

func (c writeConn) Write(p []byte) (int, error) { return c.w.Write(p) }
