package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// python3 runs the Python clients; the system one, as supervisorctl's.
const python3 = "/usr/bin/python3"

// pyClientScript is an xmlrpc.client client as supervisorctl makes calls:
// one ServerProxy, one keep-alive connection over the unix socket. It
// makes one call, says "ready", waits for a line on stdin, then calls
// for the given seconds and prints "<calls> <elapsed seconds>".
const pyClientScript = `
import http.client, socket, sys, time, xmlrpc.client
sock, method, secs, args = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock)
class Transport(xmlrpc.client.Transport):
    def make_connection(self, host):
        if self._connection and self._connection[0] == host:
            return self._connection[1]
        self._connection = host, Conn("localhost")
        return self._connection[1]
proxy = xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=Transport())
call = getattr(proxy, method)
call(*args)
print("ready", flush=True)
sys.stdin.readline()
n, t0 = 0, time.monotonic()
end = t0 + secs
while time.monotonic() < end:
    call(*args)
    n += 1
print(n, time.monotonic() - t0, flush=True)
`

// pyClient is one running Python client.
type pyClient struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// pythonRate runs n Python clients calling method on socket together for
// d and returns their total calls per second.
func pythonRate(ctx context.Context, socket string, n int, d time.Duration, method string, args ...string) (float64, error) {
	clients := make([]*pyClient, 0, n)
	defer func() {
		for _, c := range clients {
			_ = c.stdin.Close()
			if c.cmd.ProcessState == nil {
				_ = c.cmd.Process.Kill()
				_ = c.cmd.Wait()
			}
		}
	}()
	secs := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	for range n {
		cmd := exec.CommandContext(ctx, python3, append([]string{"-c", pyClientScript, socket, method, secs}, args...)...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return 0, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return 0, err
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return 0, fmt.Errorf("python client: %w", err)
		}
		c := &pyClient{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
		clients = append(clients, c)
		if !c.out.Scan() || c.out.Text() != "ready" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait() // stderr is complete only now
			return 0, fmt.Errorf("python client did not start: %q %s", c.out.Text(), strings.TrimSpace(stderr.String()))
		}
	}
	for _, c := range clients {
		if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
			return 0, fmt.Errorf("python client: %w", err)
		}
	}
	var rate float64
	for _, c := range clients {
		if !c.out.Scan() {
			return 0, fmt.Errorf("python client ended without a result")
		}
		calls, elapsed, ok := strings.Cut(c.out.Text(), " ")
		nc, err1 := strconv.Atoi(calls)
		secs, err2 := strconv.ParseFloat(elapsed, 64)
		if !ok || err1 != nil || err2 != nil || secs <= 0 {
			return 0, fmt.Errorf("python client result %q", c.out.Text())
		}
		rate += float64(nc) / secs
		if err := c.cmd.Wait(); err != nil {
			return 0, fmt.Errorf("python client: %w", err)
		}
	}
	return rate, nil
}
