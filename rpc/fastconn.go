package rpc

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Fast path bounds: a head or body beyond them goes to net/http, which
// has the full rules (MaxHeaderBytes, the handler's large-body slots).
const (
	fastMaxHead    = 8 << 10
	fastMaxHeaders = 64
	fastReadBuf    = 4 << 10
	// fastKeepBuf is the largest buffer a connection keeps between
	// requests; a bigger one (getAllProcessInfo of thousands of
	// programs) is left to the garbage collector.
	fastKeepBuf = 64 << 10
	// idleRefresh: the idle deadline is pushed back only when less than
	// idleTimeout-idleRefresh is left (or a thirtieth of it is gone), so
	// that a busy connection changes it at most once a minute.
	idleRefresh = time.Minute
)

// Connection states, for Shutdown.
const (
	connIdle    int32 = iota // waiting for a request's first byte
	connActive               // reading, handling or answering a request
	connClosing              // Shutdown closed it while idle
	connHanding              // a handover takes it while idle (Server.Drain)
	connHead                 // waiting for the rest of a request's head
	connNew                  // not yet waiting for its first request
)

// fastConn serves one connection until it closes or is handed to
// net/http.
type fastConn struct {
	srv  *Server
	conn net.Conn
	hl   *handoffListener
	rc   syscall.RawConn
	ctx  context.Context

	state atomic.Int32
	// handed carries the connection to a handover (see steal).
	handed chan IdleConn

	buf    []byte // buf[r:w] is read and not yet used
	r, w   int
	idleAt time.Time // the read deadline while idle

	// Per-request values reused from one request to the next. base is an
	// empty request carrying the connection's context, copied into req.
	head       fastHead
	base       *http.Request
	req        http.Request
	hdr        http.Header
	fields     []cachedField
	resp       fastResponse
	body       bytes.Reader
	bodyRC     io.ReadCloser
	url        url.URL
	lastTarget string
	lastURL    *url.URL
	remote     string

	// Raw I/O callbacks, built once so that calls allocate nothing.
	rdFn, wrFn func(fd uintptr) bool
	rdN        int
	rdErr      error
	wrP        []byte
	wrErr      error
	wrOnce     bool // the write callback makes one attempt, not waiting
}

func newFastConn(s *Server, c net.Conn, hl *handoffListener) *fastConn {
	fc := &fastConn{srv: s, conn: c, hl: hl, hdr: http.Header{}, handed: make(chan IdleConn, 1)}
	// Not idle yet for a handover, which needs the goroutine waiting in
	// a read to answer it; Shutdown closes it as an idle one.
	fc.state.Store(connNew)
	fc.rdFn, fc.wrFn = fc.rawRead, fc.rawWrite
	return fc
}

// serve is the connection's goroutine.
func (fc *fastConn) serve() {
	defer fc.srv.done(fc)
	handedOff := false
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			fc.srv.logf("http: panic serving %v: %v\n%s", fc.conn.RemoteAddr(), v, buf)
		}
		if !handedOff {
			fc.conn.Close()
		}
	}()
	sc, ok := fc.conn.(syscall.Conn)
	if ok {
		rc, err := sc.SyscallConn()
		ok = err == nil
		fc.rc = rc
	}
	if !ok {
		handedOff = true
		fc.hl.give(fc.conn)
		return
	}
	fc.ctx = fc.srv.base
	if cc := fc.srv.http.ConnContext; cc != nil {
		fc.ctx = cc(fc.ctx, fc.conn)
	}
	fc.remote = fc.conn.RemoteAddr().String()
	fc.base = (&http.Request{}).WithContext(fc.ctx)
	fc.bodyRC = io.NopCloser(&fc.body)
	for {
		switch fc.next() {
		case stepServe:
			if !fc.answer() {
				return
			}
		case stepHandOff:
			handedOff = true
			fc.hl.give(&replayConn{Conn: fc.conn, pending: slices.Clone(fc.buf[fc.r:fc.w])})
			return
		default:
			return
		}
	}
}

// step is what next found.
type step int

const (
	stepClose   step = iota // EOF, an error, a timeout or shutdown
	stepServe               // fc.req holds a request for the fast path
	stepHandOff             // net/http takes the connection from buf[r:]
)

// next reads until buf[r:] starts with a whole request, and prepares it
// in fc.req when the fast path serves it.
func (fc *fastConn) next() step {
	if fc.r == fc.w {
		fc.r, fc.w = 0, 0
		if !fc.waitIdle() {
			return stepClose
		}
	}
	fc.state.Store(connActive)
	// The request's deadlines, set only if it does not come in one read:
	// the head within readHeaderTimeout, the whole within readTimeout,
	// both counted from the first wait.
	var start time.Time
	bodyDeadline := false
	for {
		avail := fc.buf[fc.r:fc.w]
		end := bytes.Index(avail, []byte("\r\n\r\n"))
		if end < 0 {
			// Too long, or lines ending in a bare LF, which net/http
			// takes.
			if len(avail) > fastMaxHead || bytes.Contains(avail, []byte("\n\n")) {
				return stepHandOff
			}
			if start.IsZero() {
				start = time.Now()
				if fc.conn.SetReadDeadline(start.Add(fc.srv.readHeaderTimeout)) != nil {
					return stepClose
				}
			}
			// Nothing of the request is used yet: a handover may take
			// the connection with the bytes read so far.
			fc.state.Store(connHead)
			ok := fc.read()
			if !fc.state.CompareAndSwap(connHead, connActive) {
				fc.handOver()
				return stepClose
			}
			if !ok {
				return stepClose
			}
			continue
		}
		head := avail[:end+4]
		h := &fc.head
		if len(head) > fastMaxHead || !parseFastHead(head, h) {
			return stepHandOff
		}
		total := len(head) + int(h.contentLength)
		for fc.w-fc.r < total {
			if !bodyDeadline {
				bodyDeadline = true
				if start.IsZero() {
					start = time.Now()
				}
				if fc.conn.SetReadDeadline(start.Add(fc.srv.readTimeout)) != nil {
					return stepClose
				}
			}
			if !fc.read() {
				return stepClose
			}
		}
		// The head may have moved while the body was read.
		head = fc.buf[fc.r : fc.r+len(head)]
		body := fc.buf[fc.r+len(head) : fc.r+total]
		if !fastBody(body) || !fc.prepare(h, head, body) {
			return stepHandOff
		}
		fc.r += total
		if !start.IsZero() {
			// A slow client moved the read deadline: back to idle's.
			fc.idleAt = time.Time{}
		}
		return stepServe
	}
}

// waitIdle waits for the first bytes of the next request, with the idle
// timeout as deadline.
func (fc *fastConn) waitIdle() bool {
	now := time.Now()
	if fc.idleAt.Sub(now) < fc.srv.idleTimeout-min(idleRefresh, fc.srv.idleTimeout/30) {
		fc.idleAt = now.Add(fc.srv.idleTimeout)
		if fc.conn.SetReadDeadline(fc.idleAt) != nil {
			return false
		}
	}
	if !fc.state.CompareAndSwap(connActive, connIdle) && !fc.state.CompareAndSwap(connNew, connIdle) {
		return false // Shutdown closed it before its first request
	}
	ok := fc.read()
	if !fc.state.CompareAndSwap(connIdle, connActive) {
		// Shutdown closed it meanwhile, or a handover takes it.
		if fc.state.Load() == connHanding {
			fc.handOver()
		}
		return false
	}
	return ok
}

// read appends what the socket has to buf, waiting for it if need be.
func (fc *fastConn) read() bool {
	switch {
	case fc.buf == nil:
		fc.buf = make([]byte, fastReadBuf)
	case fc.w == len(fc.buf) && fc.r > 0:
		fc.w = copy(fc.buf, fc.buf[fc.r:fc.w])
		fc.r = 0
	case fc.w == len(fc.buf):
		fc.buf = append(fc.buf, make([]byte, len(fc.buf))...)
	}
	fc.rdErr = nil
	if err := fc.rc.Read(fc.rdFn); err != nil {
		return false
	}
	if fc.rdErr != nil || fc.rdN <= 0 {
		return false
	}
	fc.w += fc.rdN
	return true
}

// rawRead is the RawConn read callback: a non-blocking read(2) made with
// RawSyscall, which never blocks and so needs no hand-off of the P.
func (fc *fastConn) rawRead(fd uintptr) bool {
	p := fc.buf[fc.w:]
	for {
		n, _, errno := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		switch errno {
		case 0:
			fc.rdN = int(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			fc.rdN, fc.rdErr = 0, errno
			return true
		}
	}
}

// write sends p whole: at once if the socket takes it, else waiting with
// the handler's write deadline (or DefaultWriteTimeout).
func (fc *fastConn) write(p []byte, deadline time.Time) bool {
	fc.wrP, fc.wrErr, fc.wrOnce = p, nil, true
	if err := fc.rc.Write(fc.wrFn); err != nil || fc.wrErr != nil {
		return false
	}
	if len(fc.wrP) == 0 {
		return true
	}
	if deadline.IsZero() {
		deadline = time.Now().Add(DefaultWriteTimeout)
	}
	if fc.conn.SetWriteDeadline(deadline) != nil {
		return false
	}
	fc.wrOnce = false
	err := fc.rc.Write(fc.wrFn)
	_ = fc.conn.SetWriteDeadline(time.Time{})
	return err == nil && fc.wrErr == nil && len(fc.wrP) == 0
}

// rawWrite is the RawConn write callback; like rawRead it never blocks.
func (fc *fastConn) rawWrite(fd uintptr) bool {
	for len(fc.wrP) > 0 {
		n, _, errno := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(fc.wrP))), uintptr(len(fc.wrP)))
		switch errno {
		case 0:
			fc.wrP = fc.wrP[n:]
		case unix.EINTR:
		case unix.EAGAIN:
			return fc.wrOnce
		default:
			fc.wrErr = errno
			return true
		}
	}
	return true
}

// closeIfIdle closes the connection if it is waiting for a request; a
// connection handling one closes after answering (Shutdown).
func (fc *fastConn) closeIfIdle() {
	if fc.state.CompareAndSwap(connIdle, connClosing) || fc.state.CompareAndSwap(connNew, connClosing) {
		fc.conn.Close()
	}
}

// prepare fills fc.req for the handler; false hands the request to
// net/http. A keep-alive client sends the same head fields call after
// call, so the strings of the last request are reused when the bytes
// match: an ordinary call allocates no header strings.
func (fc *fastConn) prepare(h *fastHead, head, body []byte) bool {
	target := head[h.target.v0:h.target.v1]
	if fc.lastURL == nil || string(target) != fc.lastTarget {
		u, err := url.ParseRequestURI(string(target))
		if err != nil {
			return false
		}
		fc.lastTarget, fc.lastURL = string(target), u
	}
	fc.url = *fc.lastURL
	clear(fc.hdr)
	host := ""
	for i, span := range h.fields[:h.nfields] {
		if i == len(fc.fields) {
			fc.fields = append(fc.fields, cachedField{})
		}
		f := &fc.fields[i]
		if raw := head[span.k0:span.k1]; string(raw) != f.raw {
			f.raw = string(raw)
			f.key = http.CanonicalHeaderKey(f.raw)
			f.vals = nil
		}
		if v := head[span.v0:span.v1]; f.vals == nil || string(v) != f.vals[0] {
			f.vals = []string{string(v)}
		}
		if prev, dup := fc.hdr[f.key]; dup {
			fc.hdr[f.key] = slices.Concat(prev, f.vals)
		} else {
			fc.hdr[f.key] = f.vals
		}
		if i == h.hostField {
			host = f.vals[0]
		}
	}
	fc.body.Reset(body)
	fc.req = *fc.base
	fc.req.Method = http.MethodPost
	fc.req.URL = &fc.url
	fc.req.Proto, fc.req.ProtoMajor, fc.req.ProtoMinor = "HTTP/1.1", 1, 1
	fc.req.Header = fc.hdr
	fc.req.Body = fc.bodyRC
	fc.req.ContentLength = h.contentLength
	fc.req.Host = host
	fc.req.RemoteAddr = fc.remote
	fc.req.RequestURI = fc.lastTarget
	fc.req.Close = h.close
	return true
}

// cachedField is one head field of the connection's last request.
type cachedField struct {
	raw, key string   // the name as sent, and canonical
	vals     []string // the value
}

// answer runs the handler on the prepared request and writes its
// response; false closes the connection.
func (fc *fastConn) answer() bool {
	rw := &fc.resp
	rw.reset()
	fc.srv.fastCalls.Add(1)
	fc.srv.http.Handler.ServeHTTP(rw, &fc.req)
	out := rw.encode(fc.req.Close)
	ok := fc.write(out, rw.deadline)
	rw.release()
	if !ok || fc.req.Close {
		return false
	}
	// Shutdown lets this request finish, then the connection closes.
	return !fc.srv.isClosing()
}

// fastResponse collects the handler's response, to be written in one go.
type fastResponse struct {
	hdr      http.Header
	status   int
	body     []byte
	out      []byte
	keys     []string
	deadline time.Time
	// date is the Date field's value for the second dateSec.
	date    []byte
	dateSec int64
}

func (r *fastResponse) reset() {
	if r.hdr == nil {
		r.hdr = http.Header{}
	}
	clear(r.hdr)
	r.status, r.body, r.deadline = 0, r.body[:0], time.Time{}
}

// release drops buffers too big to keep for the next request.
func (r *fastResponse) release() {
	if cap(r.body) > fastKeepBuf {
		r.body = nil
	}
	if cap(r.out) > fastKeepBuf {
		r.out = nil
	}
}

// Header is the response's header map.
func (r *fastResponse) Header() http.Header { return r.hdr }

// WriteHeader sets the status; only the first call counts.
func (r *fastResponse) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// Write adds to the body (buffered until the handler returns).
func (r *fastResponse) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.body = append(r.body, p...)
	return len(p), nil
}

// SetWriteDeadline is what http.ResponseController calls: the deadline
// bounds the write of the response.
func (r *fastResponse) SetWriteDeadline(t time.Time) error {
	r.deadline = t
	return nil
}

// encode lays out the response as net/http would: status line, the
// handler's header fields in sorted order, Date and Content-Length, the
// body.
func (r *fastResponse) encode(closeConn bool) []byte {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	b := r.out[:0]
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\n"...)
	r.keys = r.keys[:0]
	for k := range r.hdr {
		if k != "Content-Length" && k != "Date" && k != "Connection" {
			r.keys = append(r.keys, k)
		}
	}
	slices.Sort(r.keys)
	for _, k := range r.keys {
		for _, v := range r.hdr[k] {
			b = appendHeaderField(b, k, v)
		}
	}
	if closeConn {
		b = append(b, "Connection: close\r\n"...)
	}
	if now := time.Now(); now.Unix() != r.dateSec || r.date == nil {
		r.date, r.dateSec = now.UTC().AppendFormat(r.date[:0], http.TimeFormat), now.Unix()
	}
	b = append(b, "Date: "...)
	b = append(b, r.date...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(r.body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, r.body...)
	r.out = b
	return b
}

// appendHeaderField writes one field, with CR and LF in the value made
// spaces as net/http does.
func appendHeaderField(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, "\r\n"...)
}

// logf reports a server-side problem where http.Server would.
func (s *Server) logf(format string, args ...any) {
	if s.http.ErrorLog != nil {
		s.http.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}
