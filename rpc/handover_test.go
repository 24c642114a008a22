package rpc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gosupervisor/config"
)

// namedServer answers every request with its name; /slow takes 300 ms,
// and says on slowEntered (when not nil) that it has begun.
func namedServer(name string, slowEntered chan<- struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			if slowEntered != nil {
				slowEntered <- struct{}{}
			}
			time.Sleep(300 * time.Millisecond)
		}
		fmt.Fprint(w, name)
	})
}

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		MaxIdleConnsPerHost: 1,
	}}
}

// postCall makes an XML-RPC call as stock clients do (the fast path's).
func postCall(c *http.Client) (string, bool, error) {
	body := "<?xml version='1.0'?><methodCall><methodName>supervisor.getState</methodName><params></params></methodCall>"
	req, _ := http.NewRequest(http.MethodPost, "http://localhost/RPC2", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	return do(c, req)
}

func get(c *http.Client, path string) (string, bool, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://localhost"+path, nil)
	return do(c, req)
}

// do sends req and returns the body and whether the connection was
// reused.
func do(c *http.Client, req *http.Request) (string, bool, error) {
	var reused bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	}))
	resp, err := c.Do(req)
	if err != nil {
		return "", reused, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), reused, err
}

// TestListenerHandover hands a serving socket and its idle connections
// from one server to the next, as an upgrade in place does: a request in
// flight is answered by the old server, an idle keep-alive connection's
// next request (even one whose head had half arrived) by the new one, and
// clients connecting all along are never refused.
func TestListenerHandover(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := ListenUnix(config.UnixHTTPServer{File: sock, ChownUID: -1, ChownGID: -1}, UnixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	slowEntered := make(chan struct{}, 1)
	srvA := NewServer(context.Background(), namedServer("A", slowEntered))
	go func() { _ = srvA.Serve(ln) }()

	keep := unixClient(sock)
	if got, _, err := get(keep, "/"); err != nil || got != "A" {
		t.Fatalf("first request: %q, %v", got, err)
	}
	// A keep-alive XML-RPC client, served on the fast path.
	fast := unixClient(sock)
	if got, _, err := postCall(fast); err != nil || got != "A" {
		t.Fatalf("first call: %q, %v", got, err)
	}
	if srvA.fastCalls.Load() == 0 {
		t.Fatal("the call did not take the fast path")
	}
	// A raw connection with half a head read by the server.
	raw, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := io.WriteString(raw, "GET /raw HTTP/1.1\r\nHo"); err != nil {
		t.Fatal(err)
	}
	// A request in flight.
	slow := make(chan string, 1)
	go func() {
		got, _, err := get(unixClient(sock), "/slow")
		if err != nil {
			got = err.Error()
		}
		slow <- got
	}()
	// Fresh connections all along.
	var stop atomic.Bool
	var fresh sync.WaitGroup
	var served, failed atomic.Int64
	var firstErr atomic.Value
	fresh.Add(1)
	go func() {
		defer fresh.Done()
		for !stop.Load() {
			c := unixClient(sock)
			if _, _, err := get(c, "/"); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			} else {
				served.Add(1)
			}
			c.CloseIdleConnections()
		}
	}()
	select { // the slow request is in its handler
	case <-slowEntered:
	case got := <-slow:
		t.Fatalf("the slow request ended without reaching its handler: %q", got)
	case <-time.After(20 * time.Second):
		t.Fatal("the slow request did not reach its handler")
	}

	d, err := ln.Detach()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	idle := srvA.Drain(ctx)
	if ctx.Err() != nil {
		t.Fatal("Drain did not finish")
	}
	if err := srvA.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-slow; got != "A" {
		t.Errorf("the request in flight got %q, want the old server's answer", got)
	}
	if len(idle) < 4 {
		t.Fatalf("%d idle connections handed over, want the keep-alive ones, the raw one and the slow one's", len(idle))
	}
	time.Sleep(100 * time.Millisecond) // the exec

	ln2, err := AdoptListener(d, idle)
	if err != nil {
		t.Fatal(err)
	}
	srvB := NewServer(context.Background(), namedServer("B", nil))
	go func() { _ = srvB.Serve(ln2) }()
	defer srvB.Close()

	if got, reused, err := get(keep, "/"); err != nil || got != "B" || !reused {
		t.Errorf("keep-alive request after the handover: %q (reused %v), %v; want B on the same connection", got, reused, err)
	}
	if got, reused, err := postCall(fast); err != nil || got != "B" || !reused {
		t.Errorf("keep-alive call after the handover: %q (reused %v), %v; want B on the same connection", got, reused, err)
	}
	if srvB.fastCalls.Load() == 0 {
		t.Error("the call after the handover did not take the fast path")
	}
	if _, err := io.WriteString(raw, "st: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(raw), nil)
	if err != nil {
		t.Fatalf("raw connection: %v", err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "B" {
		t.Errorf("raw connection got %q, want B", b)
	}
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	fresh.Wait()
	if failed.Load() > 0 || served.Load() == 0 {
		t.Errorf("fresh connections: %d served, %d failed (first: %v)", served.Load(), failed.Load(), firstErr.Load())
	}
	if err := srvB.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("unix", sock); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("the socket file outlived the last server: %v", err)
	}
}
