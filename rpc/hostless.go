package rpc

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
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
// head ends at the first empty line, and a body is Content-Length bytes
// or, in an HTTP/1.1 request with "Transfer-Encoding: chunked" (and no
// Content-Length), chunks and a trailer (see takeChunkPart). Anything
// else (another Transfer-Encoding, a bad or repeated Content-Length, a
// head, chunk line or trailer too long or malformed, a read error) makes
// it step aside for the rest of the connection: the bytes then pass
// unchanged and net/http judges them exactly as it would have. Where
// net/http finds a body malformed it closes the connection, so only the
// framings it accepts need following exactly.
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
	buf     []byte    // bytes read; out may alias it
	r, w    int       // buf[r:w] is read and not yet passed on
	out     []byte    // bytes to pass on before anything else
	scanned int       // how much of buf[r:w] is known to hold no end of head (or chunk line, or trailer)
	body    int64     // bytes of the current body (or chunk) still to pass unchanged
	chunk   chunkPart // in a chunked body: the part that comes next
	aside   bool      // stepped aside: everything passes unchanged
	heads   int64     // request heads passed on
	frozen  bool      // handed over: the socket is read no more
	// answered counts the responses net/http finished (StateIdle, see
	// trackConnState); owner is the listener following the connection.
	answered atomic.Int64
	owner    *Listener
	// serving is set while a handler's response is under way: from the
	// handler's start (markServing) to the connection's next StateIdle.
	serving atomic.Bool
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
		took := false
		if c.chunk != chunkNone {
			took = c.takeChunkPart()
		} else {
			took = c.takeHead()
		}
		if took {
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
	hasHost, needsHost, length, chunked, ok := readHead(head)
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
	if chunked {
		c.chunk = chunkSize
	}
	c.heads++
	return true
}

// chunkPart is what comes next in a chunked body.
type chunkPart uint8

const (
	chunkNone    chunkPart = iota // not in a chunked body
	chunkSize                     // a chunk-size line
	chunkDataEnd                  // the CR LF after a chunk's data
	chunkTrailer                  // the trailer, after the last chunk
)

// maxChunkLine is how far into a chunk-size line or a trailer net/http
// looks for its end: its reader's buffer, 4 KiB. Beyond, it fails the
// body (and closes the connection); here it steps aside.
const maxChunkLine = 4096

// takeChunkPart passes on the next framing part of a chunked body when
// in holds all of it, as net/http's chunked reader reads it (the data of
// a chunk then passes as a Content-Length body does). A chunk-size line
// is hex digits, optional blanks and ";extensions", then CR LF, and no
// other CR; a chunk's data ends with CR LF; after the last chunk (size
// 0) comes CR LF, or trailer lines up to the first empty one, all within
// maxChunkLine bytes. A part net/http would read otherwise, or refuse,
// makes it step aside. It reports false when in holds no whole part yet.
func (c *hostlessConn) takeChunkPart() bool {
	in := c.buf[c.r:c.w]
	var n int
	switch c.chunk {
	case chunkSize:
		end := bytes.IndexByte(in[c.scanned:min(len(in), maxChunkLine)], '\n')
		if end < 0 {
			return c.moreOrAside(len(in))
		}
		n = c.scanned + end + 1
		size, ok := chunkLength(in[:n])
		switch {
		case !ok:
			c.aside = true
			return true
		case size == 0:
			c.chunk = chunkTrailer
		default:
			c.body, c.chunk = size, chunkDataEnd
		}
	case chunkDataEnd:
		if len(in) < 2 {
			return false
		}
		if in[0] != '\r' || in[1] != '\n' {
			c.aside = true
			return true
		}
		n, c.chunk = 2, chunkSize
	case chunkTrailer:
		if len(in) < 2 {
			return false
		}
		n = 2
		if in[0] != '\r' || in[1] != '\n' {
			from := max(c.scanned-3, 0)
			end := bytes.Index(in[from:min(len(in), maxChunkLine)], []byte("\r\n\r\n"))
			if end < 0 {
				return c.moreOrAside(len(in))
			}
			n = from + end + 4
			if hasBareLF(in[:n]) {
				// net/http would end the trailer at another line.
				c.aside = true
				return true
			}
		}
		c.chunk = chunkNone
	}
	c.scanned = 0
	c.out = in[:n]
	c.r += n
	return true
}

// moreOrAside is takeChunkPart's answer when the n bytes at hand hold no
// end of the part: wait for more, or step aside once net/http would have
// given up.
func (c *hostlessConn) moreOrAside(n int) bool {
	if n >= maxChunkLine {
		c.aside = true
		return true
	}
	c.scanned = n
	return false
}

// chunkLength parses a chunk-size line, CR LF included, as net/http does.
func chunkLength(line []byte) (int64, bool) {
	p, ok := bytes.CutSuffix(line, []byte("\r\n"))
	if !ok || bytes.IndexByte(p, '\r') >= 0 || len(p) >= maxChunkLine {
		return 0, false
	}
	p = bytes.TrimRight(p, " \t")
	p, _, _ = bytes.Cut(p, []byte(";"))
	if len(p) == 0 || len(p) > 16 {
		return 0, false
	}
	var n uint64
	for _, d := range p {
		switch {
		case '0' <= d && d <= '9':
			d -= '0'
		case 'a' <= d && d <= 'f':
			d -= 'a' - 10
		case 'A' <= d && d <= 'F':
			d -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(d)
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// hasBareLF reports whether b holds a LF not preceded by CR.
func hasBareLF(b []byte) bool {
	for i, ch := range b {
		if ch == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
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
// and its body: length bytes, or chunks when chunked. ok is false when
// net/http would judge the framing by rules this reader does not follow.
func readHead(head []byte) (hasHost, needsHost bool, length int64, chunked, ok bool) {
	line, rest := nextLine(head)
	if i := bytes.LastIndexByte(line, ' '); i >= 0 {
		v := line[i+1:]
		// "HTTP/1.1" and later minor versions; net/http refuses others
		// or does not require Host of them.
		needsHost = len(v) == 8 && string(v[:7]) == "HTTP/1." && v[7] >= '1' && v[7] <= '9'
	}
	seenLength, seenTE, folded := false, false, false
	for len(rest) > 0 {
		line, rest = nextLine(rest)
		if len(line) == 0 {
			continue // the end
		}
		if line[0] == ' ' || line[0] == '\t' {
			folded = true // a continuation of the previous line
			continue
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		switch {
		case !found:
			// net/http refuses the head
		case bytes.EqualFold(name, []byte("Host")):
			hasHost = true
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			// net/http takes one field, "chunked", and only from
			// HTTP/1.1 on (it ignores the field in HTTP/1.0).
			if seenTE || !bytes.EqualFold(bytes.Trim(value, " \t"), []byte("chunked")) {
				return false, false, 0, false, false
			}
			seenTE = true
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, valid := parseLength(bytes.TrimSpace(value))
			if !valid || seenLength {
				return false, false, 0, false, false
			}
			seenLength, length = true, n
		}
	}
	if seenTE && (!needsHost || seenLength || folded) {
		return false, false, 0, false, false
	}
	return hasHost, needsHost, length, seenTE, true
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

// netHTTPErrorHeaders is the header block of the answers net/http writes
// itself, before any handler runs, to a request it cannot read (400 for
// a malformed head, 431, 501 for an unknown Transfer-Encoding, 505): it
// writes each in one piece, status line, this, then a short text.
const netHTTPErrorHeaders = netHTTPErrorFields + "\r\n"

// netHTTPErrorFields is netHTTPErrorHeaders without its closing empty
// line, where withNosniff adds its field.
const netHTTPErrorFields = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"

// Write passes the server's writes on. net/http's own error answers,
// written while no handler's response is under way, get the
// X-Content-Type-Options header Guard gives every other response (a
// browser must not take their text, which can echo the request, for a
// page). The test on serving keeps a response body that happens to look
// like such an answer unchanged.
func (c *hostlessConn) Write(p []byte) (int, error) {
	if !c.serving.Load() {
		if q, ok := withNosniff(p); ok {
			if _, err := c.Conn.Write(q); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

// withNosniff returns p, a whole error answer of net/http's, with the
// nosniff header; ok is false when p is no such answer.
func withNosniff(p []byte) ([]byte, bool) {
	const maxAnswer = 1024 // net/http's texts are a line long
	if len(p) > maxAnswer || !bytes.HasPrefix(p, []byte("HTTP/1.1 ")) {
		return nil, false
	}
	status, text, ok := bytes.Cut(p, []byte(netHTTPErrorHeaders))
	if !ok || bytes.ContainsAny(status, "\r\n") {
		return nil, false
	}
	const headers = netHTTPErrorFields + "X-Content-Type-Options: nosniff\r\n\r\n"
	q := make([]byte, 0, len(p)+len(headers))
	q = append(q, status...)
	q = append(q, headers...)
	return append(q, text...), true
}

// markServing wraps the server's handler: it marks the connection a
// request arrived on as serving (see hostlessConn.serving).
func markServing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hc, ok := r.Context().Value(connKey{}).(*hostlessConn); ok {
			hc.serving.Store(true)
		}
		h.ServeHTTP(w, r)
	})
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
