package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawClient calls one XML-RPC method over and over on its own keep-alive
// connection. The request is encoded once and the response is read by
// its Content-Length, never decoded: so little client work that with it
// the daemon's own ceiling shows, where a decoding client sharing the
// machine's cores would hide it.
type rawClient struct {
	conn net.Conn
	br   *bufio.Reader
	req  []byte
	body []byte
}

// rawTimeout bounds one raw call.
const rawTimeout = 10 * time.Second

// dialRaw connects to the daemon on socket for calls of method with
// string arguments.
func dialRaw(socket, method string, args ...string) (*rawClient, error) {
	conn, err := net.DialTimeout("unix", socket, rawTimeout)
	if err != nil {
		return nil, fmt.Errorf("raw client: %w", err)
	}
	var body bytes.Buffer
	body.WriteString("<?xml version='1.0'?>\n<methodCall>\n<methodName>" + method + "</methodName>\n<params>\n")
	for _, a := range args {
		body.WriteString("<param>\n<value><string>" + a + "</string></value>\n</param>\n")
	}
	body.WriteString("</params>\n</methodCall>\n")
	req := fmt.Appendf(nil, "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\n"+
		"Content-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", body.Len(), body.Bytes())
	return &rawClient{conn: conn, br: bufio.NewReaderSize(conn, 16<<10), req: req}, nil
}

// call makes one call; a fault or an HTTP error is an error.
func (c *rawClient) call() error {
	if err := c.conn.SetDeadline(time.Now().Add(rawTimeout)); err != nil {
		return err
	}
	if _, err := c.conn.Write(c.req); err != nil {
		return fmt.Errorf("raw client: %w", err)
	}
	status, err := c.br.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("raw client: %w", err)
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("raw client: %q", bytes.TrimSpace(status))
	}
	length := -1
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("raw client: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return fmt.Errorf("raw client: Content-Length %q", value)
			}
		}
	}
	if length < 0 {
		return fmt.Errorf("raw client: response without Content-Length")
	}
	if cap(c.body) < length {
		c.body = make([]byte, length)
	}
	c.body = c.body[:length]
	if _, err := io.ReadFull(c.br, c.body); err != nil {
		return fmt.Errorf("raw client: %w", err)
	}
	if bytes.Contains(c.body, []byte("<fault>")) {
		return fmt.Errorf("raw client: fault %q", c.body)
	}
	return nil
}

// Close drops the connection.
func (c *rawClient) Close() error { return c.conn.Close() }
