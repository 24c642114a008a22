package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Listener is an HTTP server's listening socket (ListenUnix,
// ListenInet, AdoptListener). It wraps every accepted connection in a
// hostlessConn and follows the connections, so that a supervisord
// upgraded in place can hand the socket and its idle connections to its
// successor (Detach, StealIdle) without refusing or dropping a client.
// Serve it with an http.Server from NewServer (its ConnState hook tells
// the Listener when a connection is between two requests).
type Listener struct {
	net.Listener // *net.TCPListener, or *unixListener
	unix         *unixListener

	mu      sync.Mutex
	conns   map[*hostlessConn]struct{}
	adopted []net.Conn // handed over: served before anything is accepted
	// detached is set once Detach handed the socket over.
	detached atomic.Bool
}

func newListener(ln net.Listener, unix *unixListener) *Listener {
	return &Listener{Listener: ln, unix: unix, conns: map[*hostlessConn]struct{}{}}
}

// Accept returns the handed-over connections first, then accepted ones,
// as they are: Server serves them on its fast path, and wraps those it
// passes to net/http with wrapHandoff.
func (l *Listener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if len(l.adopted) > 0 {
		c := l.adopted[0]
		l.adopted = l.adopted[1:]
		l.mu.Unlock()
		return c, nil
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

// wrapHandoff is how Server passes a connection to net/http: wrapped in
// a hostlessConn the listener follows (bytes the fast path read ahead
// go first).
func (l *Listener) wrapHandoff(c net.Conn) net.Conn {
	var pending []byte
	if rc, ok := c.(*replayConn); ok {
		c, pending = rc.Conn, rc.pending
	}
	hc := newHostlessConn(c)
	if len(pending) > 0 {
		hc.buf = append(make([]byte, 0, max(4096, len(pending))), pending...)
		hc.w = len(pending)
	}
	return l.track(hc)
}

func (l *Listener) track(c *hostlessConn) *hostlessConn {
	c.owner = l
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	return c
}

func (l *Listener) untrack(c *hostlessConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// trackConnState is NewServer's ConnState hook: it counts the responses
// a connection's requests got and forgets closed connections.
func trackConnState(c net.Conn, st http.ConnState) {
	hc, ok := c.(*hostlessConn)
	if !ok {
		return
	}
	switch st {
	case http.StateIdle:
		hc.serving.Store(false)
		hc.answered.Add(1)
	case http.StateClosed, http.StateHijacked:
		if hc.owner != nil {
			hc.owner.untrack(hc)
		}
	}
}

// Detached is a listening socket handed over: FD is a descriptor of it
// (close-on-exec), Path and Inode a unix socket's name and the inode it
// must still have to be removed when the successor closes it.
type Detached struct {
	FD    int
	Unix  bool
	Path  string
	Inode uint64
}

// Detach stops accepting and hands the socket over: it returns a
// duplicate of its descriptor and closes the listener, without removing
// a unix socket's file. The socket keeps listening through the
// duplicate: clients connecting meanwhile wait in its backlog until the
// successor accepts them, none is refused.
func (l *Listener) Detach() (Detached, error) {
	var d Detached
	var sc syscall.Conn
	if l.unix != nil {
		d.Unix, d.Path, d.Inode = true, l.unix.path, l.unix.ino
		sc = l.unix.UnixListener
	} else if c, ok := l.Listener.(syscall.Conn); ok {
		sc = c
	} else {
		return d, errors.New("listener: no descriptor to hand over")
	}
	fd, err := dupConn(sc)
	if err != nil {
		return d, fmt.Errorf("listener: %w", err)
	}
	d.FD = fd
	if l.unix != nil {
		l.unix.keep.Store(true)
	}
	l.detached.Store(true)
	l.Listener.Close()
	return d, nil
}

// IdleConn is a client connection handed over between two requests: a
// descriptor of it (close-on-exec) and the bytes of its next request
// read so far (an incomplete head).
type IdleConn struct {
	FD       int
	Buffered []byte
}

// stealIdle takes every connection that is between two requests (every
// request it sent is answered, and nothing of the next one was passed to
// the server): it returns duplicates of their descriptors, and the
// server's own reads of them fail from now on, so it closes them without
// having read a byte more. Connections in the middle of a request are
// left to finish (net/http then closes them, once shut down).
func (l *Listener) stealIdle() []IdleConn {
	l.mu.Lock()
	conns := make([]*hostlessConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	var out []IdleConn
	for _, c := range conns {
		if ic, ok := c.steal(); ok {
			out = append(out, ic)
		}
	}
	return out
}

// busy counts the connections not handed over.
func (l *Listener) busy() int {
	l.mu.Lock()
	conns := make([]*hostlessConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	n := 0
	for _, c := range conns {
		c.hand.Lock()
		if !c.frozen {
			n++
		}
		c.hand.Unlock()
	}
	return n
}

// steal freezes c if it is between two requests.
func (c *hostlessConn) steal() (IdleConn, bool) {
	if c.raw == nil {
		return IdleConn{}, false
	}
	c.hand.Lock()
	defer c.hand.Unlock()
	if c.frozen || c.aside || c.body > 0 || c.chunk != chunkNone || len(c.out) > 0 || c.heads != c.answered.Load() {
		return IdleConn{}, false
	}
	fd, err := dupRaw(c.raw)
	if err != nil {
		return IdleConn{}, false // closed meanwhile
	}
	c.frozen = true
	// Wake a read waiting for the next request: it finds the connection
	// frozen and the server closes its copy (a new connection waits for
	// its first request, which net/http's shutdown would wait for too).
	// The deadline is this descriptor's, not the socket's.
	_ = c.Conn.SetReadDeadline(aLongTimeAgo)
	return IdleConn{FD: fd, Buffered: bytes.Clone(c.buf[c.r:c.w])}, true
}

// aLongTimeAgo is a deadline that has passed.
var aLongTimeAgo = time.Unix(1, 0)

func dupConn(sc syscall.Conn) (int, error) {
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	return dupRaw(rc)
}

// dupRaw is a duplicate of rc's descriptor, with close-on-exec.
func dupRaw(rc syscall.RawConn) (int, error) {
	fd := -1
	var err error
	if cerr := rc.Control(func(raw uintptr) {
		fd, err = unix.FcntlInt(raw, unix.F_DUPFD_CLOEXEC, 3)
	}); cerr != nil {
		return -1, cerr
	}
	return fd, err
}

// AdoptListener serves a socket a predecessor handed over (Detach) and
// the idle connections it handed over with it (StealIdle), which Accept
// returns first. It owns the descriptors from now on, also on failure.
func AdoptListener(d Detached, conns []IdleConn) (*Listener, error) {
	closeConns := func() {
		for _, c := range conns {
			unix.Close(c.FD)
		}
	}
	f := os.NewFile(uintptr(d.FD), "listener")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		closeConns()
		return nil, fmt.Errorf("adopt listener: %w", err)
	}
	var l *Listener
	if d.Unix {
		ul, ok := ln.(*net.UnixListener)
		if !ok {
			ln.Close()
			closeConns()
			return nil, errors.New("adopt listener: not a unix socket")
		}
		ul.SetUnlinkOnClose(false)
		u := &unixListener{UnixListener: ul, path: d.Path, ino: d.Inode}
		l = newListener(u, u)
	} else {
		l = newListener(ln, nil)
	}
	var errs []error
	for _, ic := range conns {
		f := os.NewFile(uintptr(ic.FD), "conn")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(ic.Buffered) > 0 {
			// Part of a request came before the handover: net/http
			// serves it (see wrapHandoff).
			c = &replayConn{Conn: c, pending: ic.Buffered}
		}
		l.adopted = append(l.adopted, c)
	}
	if len(errs) > 0 {
		return l, fmt.Errorf("adopt connections: %w", errors.Join(errs...))
	}
	return l, nil
}

// Drain hands over the server's connections as each comes between two
// requests (those of the fast path, and those net/http serves) until
// none but handed-over ones is left, or ctx is done; it returns them.
// Requests in flight are answered as usual meanwhile, keep-alive
// included, so no client sees its connection close: the successor
// serves its next request. Call it once the listeners are detached and
// endless responses are ended; net/http's Shutdown would instead drop a
// request it has read but not begun.
func (s *Server) Drain(ctx context.Context) []IdleConn {
	var out []IdleConn
	for {
		s.mu.Lock()
		conns := make([]*fastConn, 0, len(s.conns))
		for fc := range s.conns {
			conns = append(conns, fc)
		}
		lns := slices.Clone(s.listeners)
		s.mu.Unlock()
		for _, fc := range conns {
			if ic, ok := fc.steal(); ok {
				out = append(out, ic)
			}
		}
		busy := 0
		for _, l := range lns {
			out = append(out, l.stealIdle()...)
			busy += l.busy()
		}
		s.mu.Lock()
		for fc := range s.conns {
			if fc.state.Load() != connHanding {
				busy++
			}
		}
		s.mu.Unlock()
		if busy == 0 {
			return out
		}
		select {
		case <-ctx.Done():
			return out
		case <-time.After(5 * time.Millisecond): // a request being served
		}
	}
}

// steal hands fc over if it is waiting for a request or for the rest
// of a request's head: its goroutine,
// woken, answers with a descriptor of the connection and the bytes it
// read meanwhile, then ends, closing its own copy.
func (fc *fastConn) steal() (IdleConn, bool) {
	if !fc.state.CompareAndSwap(connIdle, connHanding) && !fc.state.CompareAndSwap(connHead, connHanding) {
		return IdleConn{}, false
	}
	_ = fc.conn.SetReadDeadline(aLongTimeAgo)
	ic := <-fc.handed
	return ic, ic.FD >= 0
}

// handOver is the goroutine's side of steal.
func (fc *fastConn) handOver() {
	ic := IdleConn{FD: -1, Buffered: bytes.Clone(fc.buf[fc.r:fc.w])}
	// FD stays -1 when it was closed meanwhile: the client sees it close.
	if fd, err := dupRaw(fc.rc); err == nil {
		ic.FD = fd
	}
	fc.handed <- ic
}
