package rpc

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxHeadBytes is how much of a request head hostlessConn holds while it
// looks for the head's end; net/http refuses heads far smaller
// (MaxHeaderBytes, 64 KiB, in NewServer), so beyond this it steps aside.
const maxHeadBytes = 256 << 10

// emptyHost is the header line inserted into a head without one.
var emptyHost = []byte("Host: \r\n")

// hostlessConn lets HTTP/1.1 requests that carry no Host header through
// to net/http, which answers them 400 ("missing required Host header")
// where the reference serves them: hand-written clients (socat, shell
// scripts, PHP and Lua libraries speaking over the unix socket) often
// send none. It watches the request stream and, in a head that lacks
// Host, inserts an empty "Host:" line after the request line; net/http
// then serves the request as it serves an HTTP/1.0 one without Host
// (r.Host is empty).
//
// To know where each head starts it follows the requests' framing as
// net/http does: up to four CR or LF bytes before a head are skipped, a
// head ends at the first empty line, and a body is Content-Length bytes.
// Anything else (Transfer-Encoding, a bad or repeated Content-Length, a
// head too long, a read error) makes it step aside for the rest of the
// connection: the bytes then pass unchanged and net/http judges them
// exactly as it would have.
//
// It also knows when the connection is between two requests, which lets
// a supervisord upgraded in place hand an idle connection to its
// successor (steal): the socket is read without blocking, under hand,
// and the wait for more happens outside it.
type hostlessConn struct {
	net.Conn
	// raw reads the socket without blocking; nil when the connection
	// has no descriptor (tests): Reads then block under hand and the
	// connection is never handed over.
	raw syscall.RawConn
	// mu serialises Reads: a net.Conn may be read from several
	// goroutines (net/http's watch for a closed connection, and the log
	// streams' own), and the rewrite state is shared.
	mu sync.Mutex
	// hand guards the fields below; a read from the socket happens only
	// while holding it, and never once frozen.
	hand    sync.Mutex
	buf     []byte // bytes read; out may alias it
	r, w    int    // buf[r:w] is read and not yet passed on
	out     []byte // bytes to pass on before anything else
	scanned int    // how much of buf[r:w] is known to hold no end of head
	body    int64  // bytes of the current body still to pass unchanged
	aside   bool   // stepped aside: everything passes unchanged
	heads   int64  // request heads passed on
	frozen  bool   // handed over: the socket is read no more
	// answered counts the responses net/http finished (StateIdle, see
	// trackConnState); owner is the listener following the connection.
	answered atomic.Int64
	owner    *Listener
}

// newHostlessConn wraps c.
func newHostlessConn(c net.Conn) *hostlessConn {
	hc := &hostlessConn{Conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			hc.raw = raw
		}
	}
	return hc
}

// errHandedOver is what the server's reads get once the connection has
// been handed to a successor: it closes its copy.
var errHandedOver = errors.New("connection handed over")

// Read passes the request stream on, with Host lines inserted.
func (c *hostlessConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.raw == nil {
		c.hand.Lock()
		defer c.hand.Unlock()
		n, err, _ := c.step(p, -1)
		return n, err
	}
	// One RawConn.Read for the whole Read: it waits for the socket
	// between two calls of the function, and a second RawConn.Read
	// would forget a readiness the poller saw meanwhile.
	var n int
	var err error
	if rerr := c.raw.Read(func(fd uintptr) bool {
		c.hand.Lock()
		defer c.hand.Unlock()
		var wait bool
		n, err, wait = c.step(p, int(fd))
		return !wait
	}); rerr != nil {
		return 0, c.readError(rerr) // a deadline passed, or closed
	}
	return n, err
}

// step is one Read short of waiting: wait is true when the socket (fd,
// or c.Conn when fd < 0) had nothing to read. Caller holds mu and hand.
func (c *hostlessConn) step(p []byte, fd int) (n int, err error, wait bool) {
	for {
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			return n, nil, false
		}
		if c.aside || c.body > 0 {
			if c.r < c.w {
				n := c.w - c.r
				if !c.aside {
					n = int(min(int64(n), c.body))
				}
				n = copy(p, c.buf[c.r:c.r+n])
				c.r += n
				c.consumed(n)
				return n, nil, false
			}
			q := p
			if !c.aside {
				q = p[:min(int64(len(p)), c.body)]
			}
			n, err, again := c.readSocket(q, fd)
			if again {
				return 0, nil, true
			}
			c.consumed(n)
			return n, err, false
		}
		if c.takeHead() {
			continue
		}
		if c.w-c.r >= maxHeadBytes {
			c.aside = true
			continue
		}
		again, err := c.fill(fd)
		if again {
			return 0, nil, true
		}
		if err != nil {
			var ne net.Error
			if c.r == c.w || errors.As(err, &ne) && ne.Timeout() {
				// A timeout keeps the partial head: net/http's wait for
				// a next request is cut by a deadline and resumed.
				return 0, err, false
			}
			c.aside = true // pass what there is; the error comes again
		}
	}
}

// readSocket reads what the socket (fd) holds into q without blocking;
// again is true when it holds nothing yet. With fd < 0 it reads c.Conn,
// blocking. Caller holds hand.
func (c *hostlessConn) readSocket(q []byte, fd int) (n int, err error, again bool) {
	if c.frozen {
		return 0, c.readError(errHandedOver), false
	}
	if fd < 0 {
		n, err = c.Conn.Read(q)
		return n, err, false
	}
	var rerr error
	for {
		n, rerr = unix.Read(fd, q)
		if rerr != unix.EINTR {
			break
		}
	}
	switch {
	case rerr == unix.EAGAIN:
		return 0, nil, true
	case rerr != nil:
		return 0, c.readError(os.NewSyscallError("read", rerr)), false
	case n == 0 && len(q) > 0:
		return 0, io.EOF, false
	}
	return n, nil, false
}

// readError words err as net.Conn's Read does, so net/http judges it
// alike (a timeout, a closed connection).
func (c *hostlessConn) readError(err error) error {
	return &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// consumed counts n body bytes passed on.
func (c *hostlessConn) consumed(n int) {
	if !c.aside {
		c.body -= int64(n)
	}
}

// fill reads more bytes into buf, making room first: the bytes not yet
// passed on move to the front, or buf doubles when they fill it. Each
// byte thus moves a bounded number of times, however small the reads.
// again is true when the socket holds nothing yet.
func (c *hostlessConn) fill(fd int) (again bool, err error) {
	switch {
	case c.buf == nil:
		c.buf = make([]byte, 4096)
	case c.w == len(c.buf) && c.r > 0:
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	case c.w == len(c.buf):
		c.buf = append(c.buf, make([]byte, len(c.buf))...)
	}
	n, err, again := c.readSocket(c.buf[c.w:], fd)
	c.w += n
	return again, err
}

// takeHead finds a whole head at the start of in, moves it (with a Host
// line inserted when needed) to out, and sets up its body. It reports
// false when in holds no whole head yet.
func (c *hostlessConn) takeHead() bool {
	in := c.buf[c.r:c.w]
	skip := 0
	for skip < len(in) && skip < 4 && (in[skip] == '\r' || in[skip] == '\n') {
		skip++
	}
	end := headEnd(in[skip:], c.scanned)
	if end < 0 {
		c.scanned = max(0, len(in)-skip-3)
		return false
	}
	c.scanned = 0
	end += skip
	head := in[skip:end]
	hasHost, needsHost, length, ok := readHead(head)
	if !ok {
		c.aside = true
		return true
	}
	if needsHost && !hasHost {
		lineEnd := bytes.IndexByte(head, '\n') + 1
		out := make([]byte, 0, end+len(emptyHost))
		out = append(out, in[:skip+lineEnd]...)
		out = append(out, emptyHost...)
		c.out = append(out, head[lineEnd:]...)
	} else {
		c.out = in[:end]
	}
	c.r += end
	c.body = length
	c.heads++
	return true
}

// headEnd returns the length of the head at the start of b (through its
// empty line), or -1; from is where to resume a search.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		rest := b[i+1:]
		switch {
		case len(rest) > 0 && rest[0] == '\n':
			return i + 2
		case len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n':
			return i + 3
		}
	}
	return -1
}

// readHead reads what the framing needs from a head: whether it has a
// Host line, whether its version requires one (HTTP/1.1 and later 1.x),
// and its body length. ok is false when net/http would judge the framing
// by rules this reader does not follow.
func readHead(head []byte) (hasHost, needsHost bool, length int64, ok bool) {
	line, rest := nextLine(head)
	if i := bytes.LastIndexByte(line, ' '); i >= 0 {
		v := line[i+1:]
		// "HTTP/1.1" and later minor versions; net/http refuses others
		// or does not require Host of them.
		needsHost = len(v) == 8 && string(v[:7]) == "HTTP/1." && v[7] >= '1' && v[7] <= '9'
	}
	seenLength := false
	for len(rest) > 0 {
		line, rest = nextLine(rest)
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue // the end, or a continuation of the previous line
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		switch {
		case !found:
			// net/http refuses the head
		case bytes.EqualFold(name, []byte("Host")):
			hasHost = true
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return false, false, 0, false
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, valid := parseLength(bytes.TrimSpace(value))
			if !valid || seenLength {
				return false, false, 0, false
			}
			seenLength, length = true, n
		}
	}
	return hasHost, needsHost, length, true
}

// nextLine splits the first line (without its CR LF or LF) from b.
func nextLine(b []byte) (line, rest []byte) {
	line, rest, _ = bytes.Cut(b, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), rest
}

// parseLength parses a Content-Length value: decimal digits only.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, d := range v {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

// CloseWrite half-closes the connection when the wrapped one can;
// net/http uses it to let a client read an error before the close.
func (c *hostlessConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// CloseRead half-closes the reading side when the wrapped connection
// can (else it closes the connection): a log stream ended by a handover
// lets net/http write the response's end, then its next read finds the
// end of input and the connection closes.
func (c *hostlessConn) CloseRead() error {
	if cr, ok := c.Conn.(interface{ CloseRead() error }); ok {
		return cr.CloseRead()
	}
	return c.Conn.Close()
}
