package rpc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
	"gosupervisor/supervisord/engine"
)

// discardWriter is a ResponseWriter that keeps only the status, so the
// benchmark measures the handler and not a recorder.
type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchCall measures the daemon-side cost of one XML-RPC call through
// the handler: auth, body read, decode, dispatch, encode, response
// write. cpu-ns/op is the process's CPU time per call (wall time on a
// busy machine overstates it).
func benchCall(b *testing.B, method string, params ...any) {
	h := NewHandler(newFakeBackend(b), HandlerOptions{Username: "user", Password: "pw", Now: fakeNow})
	body := encodeCall(b, method, params...)
	req := httptest.NewRequest("POST", "/RPC2", nil)
	req.Header.Set("Authorization", basic("user", "pw"))
	req.ContentLength = int64(len(body))
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		w.code = 0
		h.ServeHTTP(w, req)
		if w.code != 0 && w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkGetState(b *testing.B)          { benchCall(b, "supervisor.getState") }
func BenchmarkGetProcessInfo(b *testing.B)    { benchCall(b, "supervisor.getProcessInfo", "cat") }
func BenchmarkGetAllProcessInfo(b *testing.B) { benchCall(b, "supervisor.getAllProcessInfo") }

// BenchmarkGetStateOverUnixSocket is a whole round trip on a keep-alive
// unix-socket connection, as supervisorctl makes it. Client and server
// share the process, so cpu-ns/op is an upper bound of the daemon's part.
func BenchmarkGetStateOverUnixSocket(b *testing.B) {
	sock := filepath.Join(b.TempDir(), "sock")
	ln, err := ListenUnix(config.UnixHTTPServer{File: sock, ChownUID: -1, ChownGID: -1}, UnixOptions{})
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(context.Background(), NewHandler(newFakeBackend(b), HandlerOptions{Now: fakeNow}))
	go srv.Serve(ln)
	defer srv.Close()
	client := testenv.UnixClient(sock)
	body := encodeCall(b, "supervisor.getState")
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		resp, err := client.Post("http://localhost/RPC2", "text/xml", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// manyProcs is the fake backend with n RUNNING processes, as the bench's
// "many" scenario runs them.
type manyProcs struct {
	*fakeBackend
	procs []engine.ProcessStatus
}

func (m manyProcs) Processes() ([]engine.ProcessStatus, error) {
	return slices.Clone(m.procs), nil
}

// BenchmarkGetAllProcessInfo500 is getAllProcessInfo of 500 RUNNING
// processes, the call supervisorctl status makes.
func BenchmarkGetAllProcessInfo500(b *testing.B) {
	m := manyProcs{fakeBackend: newFakeBackend(b)}
	for i := range 500 {
		name := fmt.Sprintf("s_%03d", i)
		m.procs = append(m.procs, engine.ProcessStatus{Name: name, Group: "s", State: protocol.StateRunning,
			PID: 10000 + i, Started: time.Unix(fakeStart-int64(i)*3700, 0)})
	}
	h := NewHandler(m, HandlerOptions{Now: fakeNow})
	body := encodeCall(b, "supervisor.getAllProcessInfo")
	req := httptest.NewRequest("POST", "/RPC2", nil)
	req.ContentLength = int64(len(body))
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkFastPathGetState is getState on a keep-alive unix-socket
// connection through Server, with a client that sends pre-encoded bytes
// and reads the answer by its length: allocs/op is nearly all the
// server's.
func BenchmarkFastPathGetState(b *testing.B) {
	sock := filepath.Join(b.TempDir(), "sock")
	ln, err := ListenUnix(config.UnixHTTPServer{File: sock, ChownUID: -1, ChownGID: -1}, UnixOptions{})
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(context.Background(), NewHandler(newFakeBackend(b), HandlerOptions{}))
	go srv.Serve(ln)
	defer srv.Close()
	c, err := net.Dial("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	body := encodeCall(b, "supervisor.getState")
	req := fmt.Appendf(nil, "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nContent-Type: text/xml\r\nUser-Agent: Python-xmlrpc/3.11\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	br := bufio.NewReader(c)
	buf := make([]byte, 4096)
	call := func() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n := -1
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if len(line) == 2 {
				break
			}
			if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
				n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
		}
		if _, err := io.ReadFull(br, buf[:n]); err != nil {
			b.Fatal(err)
		}
	}
	call()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		call()
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
