package rpc

import (
	"bytes"
	"errors"
	"net"
	"sync"
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
type hostlessConn struct {
	net.Conn
	// mu serialises Reads: a net.Conn may be read from several
	// goroutines (net/http's watch for a closed connection, and the log
	// streams' own), and the rewrite state is shared.
	mu      sync.Mutex
	buf     []byte // bytes read; out may alias it
	r, w    int    // buf[r:w] is read and not yet passed on
	out     []byte // bytes to pass on before anything else
	scanned int    // how much of buf[r:w] is known to hold no end of head
	body    int64  // bytes of the current body still to pass unchanged
	aside   bool   // stepped aside: everything passes unchanged
}

// newHostlessConn wraps c.
func newHostlessConn(c net.Conn) *hostlessConn {
	return &hostlessConn{Conn: c}
}

// Read passes the request stream on, with Host lines inserted.
func (c *hostlessConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			return n, nil
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
				return n, nil
			}
			q := p
			if !c.aside {
				q = p[:min(int64(len(p)), c.body)]
			}
			n, err := c.Conn.Read(q)
			c.consumed(n)
			return n, err
		}
		if c.takeHead() {
			continue
		}
		if c.w-c.r >= maxHeadBytes {
			c.aside = true
			continue
		}
		if err := c.fill(); err != nil {
			var ne net.Error
			if c.r == c.w || errors.As(err, &ne) && ne.Timeout() {
				// A timeout keeps the partial head: net/http's wait for
				// a next request is cut by a deadline and resumed.
				return 0, err
			}
			c.aside = true // pass what there is; the error comes again
		}
	}
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
func (c *hostlessConn) fill() error {
	switch {
	case c.buf == nil:
		c.buf = make([]byte, 4096)
	case c.w == len(c.buf) && c.r > 0:
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	case c.w == len(c.buf):
		c.buf = append(c.buf, make([]byte, len(c.buf))...)
	}
	n, err := c.Conn.Read(c.buf[c.w:])
	c.w += n
	return err
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

// hostlessListener wraps every accepted connection in a hostlessConn.
type hostlessListener struct {
	net.Listener
}

func (l hostlessListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newHostlessConn(c), nil
}
