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
// one ServerProxy, one keep-alive connection over the unix socket. Its
// arguments are the socket, the seconds to run, and calls written
// "method" or "method:arg", made in turn. It makes each call once, says
// "ready", waits for a line on stdin, then calls for the given seconds and
// prints "<calls> <elapsed seconds>" and, on a second line, every call's
// latency in microseconds.
const pyClientScript = `
import http.client, socket, sys, time, xmlrpc.client
sock, secs, specs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
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
calls = []
for spec in specs:
    method, _, arg = spec.partition(":")
    calls.append((getattr(proxy, method), (arg,) if arg else ()))
for call, args in calls:
    call(*args)
print("ready", flush=True)
sys.stdin.readline()
lat = []
n, k, clock = 0, len(calls), time.perf_counter
t0 = time.monotonic()
end = t0 + secs
while time.monotonic() < end:
    call, args = calls[n % k]
    c0 = clock()
    call(*args)
    lat.append(int((clock() - c0) * 1e6))
    n += 1
print(n, time.monotonic() - t0)
print(" ".join(map(str, lat)), flush=True)
`

// pyClient is one running Python client.
type pyClient struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// pyResult is what a set of Python clients did together.
type pyResult struct {
	Calls   int
	Rate    float64   // calls per second, summed over the clients
	Latency []float64 // every call's, in ms
	CPU     time.Duration
}

// rpcCall is one call a Python client makes: "method" or "method:arg".
func rpcCall(method string, args ...string) string {
	if len(args) == 0 {
		return method
	}
	return method + ":" + args[0]
}

// runPythonClients runs n Python clients on socket together for d, each
// making calls in turn. When d is given, its CPU time over the window
// (from "go" to the last result) is in the result.
func runPythonClients(ctx context.Context, socket string, n int, dur time.Duration, d *Daemon, calls ...string) (pyResult, error) {
	var res pyResult
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
	secs := strconv.FormatFloat(dur.Seconds(), 'f', -1, 64)
	for range n {
		cmd := exec.CommandContext(ctx, python3, append([]string{"-c", pyClientScript, socket, secs}, calls...)...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return res, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return res, err
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return res, fmt.Errorf("python client: %w", err)
		}
		c := &pyClient{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
		c.out.Buffer(nil, 64<<20)
		clients = append(clients, c)
		if !c.out.Scan() || c.out.Text() != "ready" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait() // stderr is complete only now
			return res, fmt.Errorf("python client did not start: %q %s", c.out.Text(), strings.TrimSpace(stderr.String()))
		}
	}
	var u0 Usage
	if d != nil {
		var err error
		if u0, err = d.Usage(); err != nil {
			return res, err
		}
	}
	for _, c := range clients {
		if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
			return res, fmt.Errorf("python client: %w", err)
		}
	}
	for i, c := range clients {
		if !c.out.Scan() {
			return res, fmt.Errorf("python client ended without a result")
		}
		calls, elapsed, ok := strings.Cut(c.out.Text(), " ")
		nc, err1 := strconv.Atoi(calls)
		secs, err2 := strconv.ParseFloat(elapsed, 64)
		if !ok || err1 != nil || err2 != nil || secs <= 0 {
			return res, fmt.Errorf("python client result %q", c.out.Text())
		}
		if !c.out.Scan() {
			return res, fmt.Errorf("python client ended without latencies")
		}
		lats := strings.Fields(c.out.Text())
		if len(lats) != nc {
			return res, fmt.Errorf("python client: %d latencies for %d calls", len(lats), nc)
		}
		for _, l := range lats {
			us, err := strconv.Atoi(l)
			if err != nil {
				return res, fmt.Errorf("python client latency %q", l)
			}
			res.Latency = append(res.Latency, float64(us)/1000)
		}
		res.Calls += nc
		res.Rate += float64(nc) / secs
		if i == len(clients)-1 && d != nil {
			u1, err := d.Usage()
			if err != nil {
				return res, err
			}
			res.CPU = u1.CPU - u0.CPU
		}
		if err := c.cmd.Wait(); err != nil {
			return res, fmt.Errorf("python client: %w", err)
		}
	}
	return res, nil
}
