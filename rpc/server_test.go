package rpc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gosupervisor/config"
)

// startServer serves h with a Server on a unix socket from ListenUnix.
func startServer(t *testing.T, h http.Handler, tune func(*Server)) (*Server, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "sock")
	ln, err := ListenUnix(config.UnixHTTPServer{File: sock, ChownUID: -1, ChownGID: -1}, UnixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(context.Background(), h)
	if tune != nil {
		tune(srv)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return srv, sock
}

// startPlain serves h with net/http alone behind the listeners' host-less
// rewrite, as the daemon did before Server, for comparison.
func startPlain(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "plain")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ConnContext: ConnContext}
	go srv.Serve(hostlessListener{ln})
	t.Cleanup(func() { srv.Close() })
	return sock
}

// hostlessListener wraps every accepted connection in a hostlessConn
// (Listener leaves that to Server, for the connections it passes to
// net/http).
type hostlessListener struct{ net.Listener }

func (l hostlessListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newHostlessConn(c), nil
}

// rawConn is a client connection that writes bytes as given and reads
// responses with net/http's parser.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, sock string) *rawConn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) send(b []byte) {
	r.t.Helper()
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// response reads one response: status, header (without Date) and body.
func (r *rawConn) response() (int, http.Header, []byte, error) {
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Header.Del("Date")
	return resp.StatusCode, resp.Header, body, err
}

// closed reports whether the server closed the connection (EOF) within d.
func (r *rawConn) closed(d time.Duration) bool {
	return r.closedBy(time.Now().Add(d))
}

// closedBy reports whether the server closed the connection (EOF) by the
// time deadline.
func (r *rawConn) closedBy(deadline time.Time) bool {
	_ = r.c.SetReadDeadline(deadline)
	_, err := r.br.ReadByte()
	return errors.Is(err, io.EOF)
}

// post is a request as Python's xmlrpc.client sends it.
func post(body []byte, extra ...string) []byte {
	h := "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nContent-Type: text/xml\r\n" +
		"User-Agent: Python-xmlrpc/3.11\r\n" + strings.Join(extra, "") + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
	return append([]byte(h), body...)
}

// TestFastPathSameAsNetHTTP sends each request to a Server and to
// net/http alone with the same handler: the answers must be the same
// (status, header fields but Date, body), and the fast path must serve
// exactly the requests meant for it.
func TestFastPathSameAsNetHTTP(t *testing.T) {
	getState := encodeCall(t, "supervisor.getState")
	big := encodeCall(t, "supervisor.getProcessInfo", strings.Repeat("x", smallBodyBytes))
	tests := []struct {
		name string
		req  []byte
		auth bool // the server wants Basic auth
		fast bool
	}{
		{name: "getState", req: post(getState), fast: true},
		{name: "getProcessInfo", req: post(encodeCall(t, "supervisor.getProcessInfo", "cat")), fast: true},
		{name: "getAllProcessInfo", req: post(encodeCall(t, "supervisor.getAllProcessInfo")), fast: true},
		{name: "fault", req: post(encodeCall(t, "supervisor.getProcessInfo", "nosuch")), fast: true},
		{name: "unknown method", req: post(encodeCall(t, "supervisor.nosuch")), fast: true},
		{name: "not XML", req: post([]byte("<methodCall><methodName>x")), fast: true},
		{name: "lower-case fields, no User-Agent", req: []byte("POST /RPC2 HTTP/1.1\r\nhost: x\r\ncontent-length: " +
			fmt.Sprint(len(getState)) + "\r\n\r\n" + string(getState)), fast: true},
		{name: "path below /RPC2", req: bytes.Replace(post(getState), []byte("/RPC2"), []byte("/RPC2/x?y=1"), 1), fast: true},
		{name: "keep-alive", req: post(getState, "Connection: keep-alive\r\n"), fast: true},
		{name: "connection close", req: post(getState, "Connection: close\r\n"), fast: true},
		{name: "no credentials", req: post(getState), auth: true, fast: true},
		{name: "wrong credentials", req: post(getState, "Authorization: Basic dXNlcjp3cm9uZw==\r\n"), auth: true, fast: true},
		{name: "credentials", req: post(getState, "Authorization: Basic dXNlcjpwYXNz\r\n"), auth: true, fast: true},
		// Everything else is net/http's.
		{name: "startProcess waits", req: post(encodeCall(t, "supervisor.startProcess", "cat", false))},
		{name: "stopProcess waits", req: post(encodeCall(t, "supervisor.stopProcess", "grp:b", false))},
		{name: "multicall", req: post(encodeCall(t, "system.multicall", []any{}))},
		{name: "a program named like a method that waits", req: post(encodeCall(t, "supervisor.getProcessInfo", "STARTER"))},
		{name: "character reference", req: post([]byte("<?xml version='1.0'?><methodCall><methodName>supervisor.getSt&#97;te</methodName></methodCall>"))},
		{name: "comment", req: post([]byte("<?xml version='1.0'?><methodCall><!-- x --><methodName>supervisor.getState</methodName></methodCall>"))},
		{name: "body over 64 KiB", req: post(big)},
		{name: "empty body", req: []byte("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")},
		{name: "no Content-Length", req: []byte("POST /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n")},
		{name: "two Content-Lengths", req: post(getState, fmt.Sprintf("Content-Length: %d\r\n", len(getState)))},
		{name: "Content-Length with a sign", req: bytes.Replace(post(getState), []byte("Content-Length: "), []byte("Content-Length: +"), 1)},
		{name: "chunked", req: []byte(fmt.Sprintf("POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(getState), getState))},
		{name: "Expect", req: post(getState, "Expect: 100-continue\r\n")},
		{name: "HTTP/1.0", req: bytes.Replace(post(getState), []byte("HTTP/1.1"), []byte("HTTP/1.0"), 1)},
		{name: "no Host", req: bytes.Replace(post(getState), []byte("Host: localhost\r\n"), nil, 1)},
		{name: "two Hosts", req: post(getState, "Host: other\r\n")},
		{name: "odd Host", req: bytes.Replace(post(getState), []byte("Host: localhost"), []byte("Host: a b"), 1)},
		{name: "GET", req: []byte("GET /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n")},
		{name: "other path", req: bytes.Replace(post(getState), []byte("/RPC2"), []byte("/ok.html"), 1)},
		{name: "lower-case method", req: bytes.Replace(post(getState), []byte("POST"), []byte("post"), 1)},
		{name: "folded field", req: post(getState, "X-A: 1\r\n 2\r\n")},
		{name: "space before colon", req: post(getState, "X-A : 1\r\n")},
		{name: "bare LF ends", req: bytes.ReplaceAll(post(getState), []byte("\r\n"), []byte("\n"))},
		{name: "control character in a value", req: post(getState, "X-A: a\x01b\r\n")},
		{name: "Connection: upgrade", req: post(getState, "Connection: upgrade\r\n")},
		{name: "head over 8 KiB", req: post(getState, "X-Big: "+strings.Repeat("y", fastMaxHead)+"\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := HandlerOptions{}
			if tt.auth {
				opts = HandlerOptions{Username: "user", Password: "pass"}
			}
			// Separate backends: a call that changes state must not change
			// the other side's answer.
			ours, theirs := newFakeBackend(t), newFakeBackend(t)
			srv, sock := startServer(t, NewHandler(ours, opts), nil)
			plain := startPlain(t, NewHandler(theirs, opts))
			got, want := dial(t, sock), dial(t, plain)
			got.send(tt.req)
			want.send(tt.req)
			gs, gh, gb, gerr := got.response()
			ws, wh, wb, werr := want.response()
			// Each backend has its own log directory.
			gb = bytes.ReplaceAll(gb, []byte(filepath.Dir(ours.mainLog)), []byte("DIR"))
			wb = bytes.ReplaceAll(wb, []byte(filepath.Dir(theirs.mainLog)), []byte("DIR"))
			if (gerr != nil) != (werr != nil) {
				t.Fatalf("errors differ: %v vs net/http's %v", gerr, werr)
			}
			if gs != ws || !bytes.Equal(gb, wb) || !sameHeader(gh, wh) {
				t.Errorf("answers differ:\n%d %v\n%s\nnet/http:\n%d %v\n%s", gs, gh, gb, ws, wh, wb)
			}
			if fast := srv.fastCalls.Load() > 0; fast != tt.fast {
				t.Errorf("served by the fast path: %v, want %v", fast, tt.fast)
			}
		})
	}
}

func sameHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestFastPathKeepsConnections: several calls on one connection, the
// fast path handing the connection to net/http at the first call it
// does not serve, every answer in order.
func TestFastPathKeepsConnections(t *testing.T) {
	t.Parallel()
	srv, sock := startServer(t, NewHandler(newFakeBackend(t), HandlerOptions{}), nil)
	c := dial(t, sock)
	calls := []struct {
		method string
		params []any
		want   string
	}{
		{"supervisor.getState", nil, "RUNNING"},
		{"supervisor.getProcessInfo", []any{"cat"}, "cat"},
		{"supervisor.startProcess", []any{"grp:a", false}, "<boolean>1</boolean>"},
		{"supervisor.getProcessInfo", []any{"grp:a"}, "RUNNING"},
	}
	for i, call := range calls {
		c.send(post(encodeCall(t, call.method, call.params...)))
		status, _, body, err := c.response()
		if err != nil || status != 200 || !strings.Contains(string(body), call.want) {
			t.Fatalf("call %d (%s): %d %v\n%s", i, call.method, status, err, body)
		}
	}
	if n := srv.fastCalls.Load(); n != 2 {
		t.Errorf("fast path served %d calls, want the 2 before the hand-off", n)
	}
}

// TestFastPathPipelinedAndSplit: requests sent together are answered in
// order; a request arriving in pieces is served once whole.
func TestFastPathPipelinedAndSplit(t *testing.T) {
	t.Parallel()
	srv, sock := startServer(t, NewHandler(newFakeBackend(t), HandlerOptions{}), nil)
	c := dial(t, sock)
	a := post(encodeCall(t, "supervisor.getProcessInfo", "cat"))
	b := post(encodeCall(t, "supervisor.getProcessInfo", "grp:b"))
	c.send(append(slices.Clone(a), b...))
	for _, want := range []string{"4242", "4343"} {
		if status, _, body, err := c.response(); err != nil || status != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("pipelined: %d %v\n%s", status, err, body)
		}
	}
	// In pieces: inside the request line, inside the head's end, inside
	// the body.
	cuts := []int{3, len(a) - len(encodeCall(t, "supervisor.getProcessInfo", "cat")) - 2, len(a) - 10, len(a)}
	prev := 0
	for _, cut := range cuts {
		c.send(a[prev:cut])
		prev = cut
		time.Sleep(20 * time.Millisecond)
	}
	if status, _, body, err := c.response(); err != nil || status != 200 || !strings.Contains(string(body), "4242") {
		t.Fatalf("split: %d %v\n%s", status, err, body)
	}
	if n := srv.fastCalls.Load(); n != 3 {
		t.Errorf("fast path served %d calls, want 3", n)
	}
}

// TestFastPathTimeouts: a head or body that does not arrive in time, and
// an idle connection, are closed as net/http would close them. Each
// server-side clock starts after the test's t0 (taken before the dial),
// so "still open at t0+keepFor" holds however late the test itself runs.
func TestFastPathTimeouts(t *testing.T) {
	t.Parallel()
	const idle = time.Second
	_, sock := startServer(t, NewHandler(newFakeBackend(t), HandlerOptions{}), func(s *Server) {
		s.readHeaderTimeout, s.readTimeout, s.idleTimeout = 300*time.Millisecond, 600*time.Millisecond, idle
	})
	req := post(encodeCall(t, "supervisor.getState"))
	head := bytes.Index(req, []byte("\r\n\r\n")) + 4
	tests := []struct {
		name    string
		send    []byte
		keepFor time.Duration // the connection must stay open this long
	}{
		// Short of each timeout, so that neither of the two timers (the
		// server's and the test's read deadline) need fire in time.
		{"partial head", req[:10], 200 * time.Millisecond},
		{"partial body", req[:head+5], 450 * time.Millisecond},
		{"idle", nil, idle - 200*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Now()
			c := dial(t, sock)
			if tt.send != nil {
				c.send(tt.send)
			}
			if c.closedBy(t0.Add(tt.keepFor)) {
				t.Fatalf("closed after %v, sooner than %v", time.Since(t0), tt.keepFor)
			}
			if !c.closed(5 * time.Second) {
				t.Fatal("not closed")
			}
		})
	}
	// A request answered in time keeps the connection, and the idle
	// deadline starts again after it: the requests come a quarter of the
	// idle timeout apart, longer than it in all.
	c := dial(t, sock)
	for range 6 {
		time.Sleep(idle / 4)
		c.send(req)
		if status, _, _, err := c.response(); err != nil || status != 200 {
			t.Fatalf("%d %v", status, err)
		}
	}
}

// blockingHandler answers POSTs only once released, and counts them.
type blockingHandler struct {
	entered chan struct{}
	release chan struct{}
}

func (h *blockingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	if strings.Contains(r.Header.Get("X-Panic"), "yes") {
		panic("handler broke")
	}
	h.entered <- struct{}{}
	<-h.release
	io.WriteString(w, "done")
}

// TestServerShutdown: idle connections close at once, a call being
// handled finishes and is answered, then Shutdown returns.
func TestServerShutdown(t *testing.T) {
	t.Parallel()
	h := &blockingHandler{entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv, sock := startServer(t, h, nil)
	busy, idle := dial(t, sock), dial(t, sock)
	idle.send(post([]byte("x")))
	<-h.entered
	h.release <- struct{}{}
	if _, _, body, err := idle.response(); err != nil || string(body) != "done" {
		t.Fatalf("%q %v", body, err)
	}
	busy.send(post([]byte("y")))
	<-h.entered
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	if !idle.closed(5 * time.Second) {
		t.Error("idle connection not closed by Shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a call was being handled", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(h.release)
	if _, _, body, err := busy.response(); err != nil || string(body) != "done" {
		t.Fatalf("the call being handled was not answered: %q %v", body, err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if !busy.closed(5 * time.Second) {
		t.Error("busy connection not closed after its answer")
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

// TestFastPathPanic: a handler's panic closes its connection only.
func TestFastPathPanic(t *testing.T) {
	t.Parallel()
	h := &blockingHandler{entered: make(chan struct{}, 1), release: make(chan struct{})}
	close(h.release)
	_, sock := startServer(t, h, func(s *Server) { s.HTTP().ErrorLog = log.New(io.Discard, "", 0) })
	c := dial(t, sock)
	c.send(post([]byte("x"), "X-Panic: yes\r\n"))
	if !c.closed(5 * time.Second) {
		t.Fatal("connection not closed after the panic")
	}
	c = dial(t, sock)
	c.send(post([]byte("x")))
	<-h.entered
	if _, _, body, err := c.response(); err != nil || string(body) != "done" {
		t.Fatalf("after a panic: %q %v", body, err)
	}
}

// TestFastWriteDeadline: a client that stops reading is dropped once the
// write deadline passes, not waited for.
func TestFastWriteDeadline(t *testing.T) {
	t.Parallel()
	a, b := socketPair(t)
	fc := newFastConn(NewServer(context.Background(), http.NotFoundHandler()), a, nil)
	rc, err := a.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fc.rc = rc
	if !fc.write([]byte("small"), time.Now().Add(time.Second)) {
		t.Fatal("a small write failed")
	}
	t0 := time.Now()
	if fc.write(make([]byte, 32<<20), time.Now().Add(200*time.Millisecond)) {
		t.Fatal("32 MiB written to a client that reads nothing")
	}
	if d := time.Since(t0); d < 150*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %v, want about 200ms", d)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "small" {
		t.Errorf("read %q %v", buf, err)
	}
}

func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "pair")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestWaitAbandonedThroughServer: through a Server, a start with wait
// still ends when its client hangs up (net/http serves it).
func TestWaitAbandonedThroughServer(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	b.blockStart = "grp:a"
	_, sock := startServer(t, NewHandler(b, HandlerOptions{}), nil)
	c := dial(t, sock)
	c.send(post(encodeCall(t, "supervisor.getState")))
	if _, _, _, err := c.response(); err != nil {
		t.Fatal(err)
	}
	c.send(post(encodeCall(t, "supervisor.startProcess", "grp:a", true)))
	time.Sleep(50 * time.Millisecond)
	c.c.Close()
	select {
	case err := <-b.startCancel:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("backend saw %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("StartProcess kept waiting after the client left")
	}
}

func TestParseFastHead(t *testing.T) {
	tests := []struct {
		head      string
		ok        bool
		target    string
		host      string
		length    int64
		closeConn bool
		fields    int
	}{
		{head: "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 12\r\n\r\n", ok: true, target: "/RPC2", host: "localhost", length: 12, fields: 2},
		{head: "POST /RPC2/x HTTP/1.1\r\nhOsT:  [::1]:9001 \r\nCONTENT-LENGTH:\t7\r\nConnection: Close\r\nX: \r\n\r\n", ok: true,
			target: "/RPC2/x", host: "[::1]:9001", length: 7, closeConn: true, fields: 4},
		{head: "POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 65536\r\n\r\n", ok: true, target: "/RPC2", host: "h", length: 65536, fields: 2},
		{head: "POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 65537\r\n\r\n"},
		{head: "POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n"},
		{head: "POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n"},
		{head: "POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nTrailer: x\r\n\r\n"},
		{head: "POST /RPC2 HTTP/1.1\r\nHost: \r\nContent-Length: 12\r\n\r\n"},
		{head: "POST /RPC2  HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n"},
		{head: "POST /RPC2\x7f HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n"},
		{head: "POST http://h/RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n"},
		{head: "POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nX\r\n\r\n"},
		{head: "POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nX\rY: 1\r\n\r\n"},
		{head: "POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nX: a\x00\r\n\r\n"},
		{head: "POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n" + strings.Repeat("X: 1\r\n", fastMaxHeaders) + "\r\n"},
	}
	for _, tt := range tests {
		var h fastHead
		ok := parseFastHead([]byte(tt.head), &h)
		if ok != tt.ok {
			t.Errorf("%q: ok = %v", tt.head, ok)
			continue
		}
		hb := []byte(tt.head)
		if ok && (string(hb[h.target.v0:h.target.v1]) != tt.target || string(hb[h.fields[h.hostField].v0:h.fields[h.hostField].v1]) != tt.host ||
			h.contentLength != tt.length || h.close != tt.closeConn || h.nfields != tt.fields) {
			t.Errorf("%q: %+v", tt.head, h)
		}
	}
}

func TestFastBody(t *testing.T) {
	tests := []struct {
		body string
		ok   bool
	}{
		{"<methodCall><methodName>supervisor.getState</methodName></methodCall>", true},
		{"<methodCall><methodName>supervisor.readProcessStdoutLog</methodName></methodCall>", true},
		{"<methodCall><methodName>supervisor.startProcess</methodName></methodCall>", false},
		{"<methodCall><methodName>supervisor.stopAllProcesses</methodName></methodCall>", false},
		{"<methodCall><methodName>system.multicall</methodName></methodCall>", false},
		{"<methodCall><methodName>supervisor.StartProcess</methodName></methodCall>", false},
		{"<methodCall><methodName>supervisor.getProcessInfo</methodName><params><param><value>stopper</value></param></params></methodCall>", false},
		{"<methodCall><methodName>x&#115;</methodName></methodCall>", false},
		{"<methodCall><![CDATA[x]]></methodCall>", false},
	}
	for _, tt := range tests {
		if got := fastBody([]byte(tt.body)); got != tt.ok {
			t.Errorf("fastBody(%q) = %v, want %v", tt.body, got, tt.ok)
		}
	}
}
