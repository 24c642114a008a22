package rpc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves one supervisord HTTP server's listener. The calls stock
// clients make back to back (a POST to /RPC2 with a small body, calling a
// method that never waits for a process) are read, handled and answered
// on each connection's own goroutine (fastConn); every other request, and
// from then on its connection, goes to an http.Server with the same
// handler. Both run the same handler, so every check it makes (auth,
// bounds, faults) holds on both paths.
//
// Why not net/http alone: under the mixed load of four Python clients
// (getState and getProcessInfo alternating, each call arriving while the
// daemon is idle) its per-request machinery cost more CPU than the call:
// a goroutine started per request to watch for the client hanging up and
// stopped again (two more hand-offs between threads), a context and four
// or five deadline changes per request, and the runtime's sysmon thread,
// which every syscall made after an idle spell wakes to poll every 20 µs
// for a millisecond. The fast path reads and writes the socket with raw
// non-blocking syscalls (no entersyscall, so sysmon sleeps on), changes
// deadlines only when a client is slow, and starts no goroutine.
type Server struct {
	http *http.Server
	base context.Context
	// The fast path's bounds, those of http: readHeaderTimeout etc.
	readHeaderTimeout, readTimeout, idleTimeout time.Duration
	// fastCalls counts the requests the fast path served.
	fastCalls atomic.Int64

	mu      sync.Mutex
	conns   map[*fastConn]struct{}
	handoff []*handoffListener // one per Serve
	// listeners are the Listeners served, whose connections a handover
	// takes (Drain).
	listeners []*Listener
	closing   bool
	wg        sync.WaitGroup // fastConn goroutines
}

// NewServer wraps h in a Server whose http.Server has bounds that do not
// break the endless log streams: headers and request bodies must arrive
// within limits, idle keep-alive connections close, and writes are
// bounded per write by the handler (WriteTimeout stays 0 for the
// streams). Request contexts derive from ctx, so cancelling it abandons
// waiting calls.
func NewServer(ctx context.Context, h http.Handler) *Server {
	return &Server{
		base:              ctx,
		conns:             map[*fastConn]struct{}{},
		readHeaderTimeout: readHeaderTimeout,
		readTimeout:       readTimeout,
		idleTimeout:       idleTimeout,
		http: &http.Server{
			Handler:           markServing(h),
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			// The reference drops idle connections after 30 minutes; clients
			// that keep one proxy (event listeners) do not reconnect on
			// their own, so we wait as long.
			IdleTimeout:    idleTimeout,
			MaxHeaderBytes: 64 << 10,
			BaseContext:    func(net.Listener) context.Context { return ctx },
			ConnContext:    ConnContext,
			ConnState:      trackConnState,
		},
	}
}

// The http.Server's bounds, which the fast path keeps too.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	idleTimeout       = 30 * time.Minute
)

// HTTP is the http.Server that serves what the fast path does not.
func (s *Server) HTTP() *http.Server { return s.http }

// Serve accepts connections on ln until it is closed (by Shutdown or
// Close), and returns http.ErrServerClosed then, like http.Server.Serve.
func (s *Server) Serve(ln net.Listener) error {
	// The fast path reads the socket itself; what it passes on gets the
	// listener's host-less rewrite (ListenUnix and ListenInet return a
	// Listener), which the fast path never needs: it passes on every
	// request without exactly one Host.
	wrap := func(c net.Conn) net.Conn { return c }
	owner, _ := ln.(*Listener)
	if owner != nil {
		wrap = owner.wrapHandoff
	}
	hl := newHandoffListener(ln, wrap)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.handoff = append(s.handoff, hl)
	if owner != nil {
		s.listeners = append(s.listeners, owner)
	}
	s.mu.Unlock()
	httpDone := make(chan error, 1)
	go func() { httpDone <- s.http.Serve(hl) }()
	detached := false
	defer func() {
		// A detached listener's connections are still served until they
		// are handed over, and may pass requests on to net/http: its
		// part ends with the server (Shutdown, Close).
		if !detached {
			hl.Close()
		}
		<-httpDone
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if owner != nil && owner.detached.Load() && !s.isClosing() {
				detached = true
				return http.ErrServerClosed
			}
			if s.isClosing() || errors.Is(err, net.ErrClosed) {
				return http.ErrServerClosed
			}
			// Out of descriptors and the like: wait and retry, as
			// http.Server does.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logf("http: Accept error: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !s.startConn(c, hl) {
			c.Close()
			return http.ErrServerClosed
		}
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// startConn starts serving c, unless the server is closing.
func (s *Server) startConn(c net.Conn, hl *handoffListener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	fc := newFastConn(s, c, hl)
	s.conns[fc] = struct{}{}
	s.wg.Add(1)
	go fc.serve()
	return true
}

// done forgets a finished fast connection.
func (s *Server) done(fc *fastConn) {
	s.mu.Lock()
	delete(s.conns, fc)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// beginClose marks the server closing and closes its listeners; it
// returns the fast connections open at that moment.
func (s *Server) beginClose() []*fastConn {
	s.mu.Lock()
	s.closing = true
	hls := s.handoff
	conns := make([]*fastConn, 0, len(s.conns))
	for fc := range s.conns {
		conns = append(conns, fc)
	}
	s.mu.Unlock()
	for _, hl := range hls {
		hl.Close()
	}
	return conns
}

// Shutdown stops accepting, closes idle connections, lets requests being
// handled finish and answer (a shutdown or restart reply must reach its
// client), and returns when every connection has closed or ctx ends, as
// http.Server.Shutdown.
func (s *Server) Shutdown(ctx context.Context) error {
	for _, fc := range s.beginClose() {
		fc.closeIfIdle()
	}
	err := s.http.Shutdown(ctx)
	fastDone := make(chan struct{})
	go func() { s.wg.Wait(); close(fastDone) }()
	select {
	case <-fastDone:
		return err
	case <-ctx.Done():
		s.closeFast()
		<-fastDone
		return ctx.Err()
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.beginClose()
	err := s.http.Close()
	s.closeFast()
	s.wg.Wait()
	return err
}

func (s *Server) closeFast() {
	s.mu.Lock()
	conns := make([]*fastConn, 0, len(s.conns))
	for fc := range s.conns {
		conns = append(conns, fc)
	}
	s.mu.Unlock()
	for _, fc := range conns {
		fc.conn.Close()
	}
}

// handoffListener gives the http.Server the connections the fast path
// passes on. Closing it closes the real listener too (for a unix socket,
// that removes its file).
type handoffListener struct {
	net.Listener
	wrap  func(net.Conn) net.Conn // applied to every connection passed on
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener(ln net.Listener, wrap func(net.Conn) net.Conn) *handoffListener {
	return &handoffListener{Listener: ln, wrap: wrap, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

// give passes c to the http.Server, or closes it when the server has
// stopped.
func (l *handoffListener) give(c net.Conn) {
	select {
	case l.conns <- l.wrap(c):
	case <-l.done:
		c.Close()
	}
}

// replayConn is a connection whose first bytes were already read: Read
// returns them before reading on.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the connection when it can (net/http uses it
// before dropping a client that sent too much).
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
