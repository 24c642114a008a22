package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gosupervisor/internal/protocol"
)

// rpcMethod is a call the rpc scenario makes, with its arguments.
type rpcMethod struct {
	name string
	args []string
}

func rpcMethods() []rpcMethod {
	return []rpcMethod{{"getState", nil}, {"getProcessInfo", []string{"p"}}}
}

func rpcScenario() *Scenario {
	var figures []Figure
	for _, m := range rpcMethods() {
		figures = append(figures,
			Figure{Key: m.name + "_rate", Label: m.name + ": calls per second", Unit: "calls/s"},
			Figure{Key: m.name + "_p99", Label: m.name + ": latency p99", Unit: "ms"},
			Figure{Key: m.name + "_cpu", Label: m.name + ": daemon CPU per call", Unit: "µs", Target: Target{RatioAtMost, 0.2}},
			Figure{Key: m.name + "_py_rate", Label: m.name + ": calls/s, Python clients", Unit: "calls/s", Target: Target{RatioAtLeast, 1.5}},
			Figure{Key: m.name + "_raw_rate", Label: m.name + ": calls/s, raw clients (ceiling)", Unit: "calls/s"},
		)
	}
	return &Scenario{
		Name:  "rpc",
		Title: "RPC load: concurrent clients, one method at a time",
		Notes: []string{
			"each client has its own keep-alive connection; getProcessInfo asks for the one program",
			"calls per second, p99 and CPU: Go clients (kolo/xmlrpc); Python clients: xmlrpc.client as supervisorctl uses it",
			"raw clients send a pre-encoded request and read the response undecoded: the daemon's ceiling on this machine",
		},
		Figures: figures,
		Run:     runRPCScenario,
	}
}

func runRPCScenario(ctx context.Context, env *Env) (Sample, error) {
	p := env.Params
	d, err := StartDaemon(ctx, env.Bin, DaemonConfig{Dir: env.Dir, Programs: []Program{sleeper("p")}})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := waitAllInState(ctx, d, 1, protocol.StateRunning, 50*time.Millisecond, 10*time.Second); err != nil {
		return nil, err
	}
	clients := make([]*Client, p.RPCClients)
	for i := range clients {
		if clients[i], err = NewClient(d.Config.SocketPath()); err != nil {
			return nil, err
		}
		defer clients[i].Close()
		if _, err := clients[i].GetState(); err != nil { // connect outside the window
			return nil, err
		}
	}
	s := Sample{}
	for _, m := range rpcMethods() {
		call := func(c *Client) error { _, err := c.GetState(); return err }
		if m.name == "getProcessInfo" {
			call = func(c *Client) error { _, err := c.GetProcessInfo(m.args[0]); return err }
		}
		u0, err := d.Usage()
		if err != nil {
			return s, err
		}
		lats, elapsed, err := loadWindow(ctx, clients, p.RPCFor, call)
		if err != nil {
			return s, fmt.Errorf("%s: %w", m.name, err)
		}
		u1, err := d.Usage()
		if err != nil {
			return s, err
		}
		var all []float64
		for _, l := range lats {
			all = append(all, l...)
		}
		if len(all) == 0 {
			return s, fmt.Errorf("%s: no call completed in %v", m.name, p.RPCFor)
		}
		s[m.name+"_rate"] = float64(len(all)) / elapsed.Seconds()
		s[m.name+"_p99"] = Percentile(all, 99)
		s[m.name+"_cpu"] = float64((u1.CPU-u0.CPU)/time.Microsecond) / float64(len(all))

		py, err := runPythonClients(ctx, d.Config.SocketPath(), p.RPCClients, p.RPCFor, nil, rpcCall("supervisor."+m.name, m.args...))
		if err != nil {
			return s, fmt.Errorf("%s: %w", m.name, err)
		}
		s[m.name+"_py_rate"] = py.Rate
		if s[m.name+"_raw_rate"], err = rawRate(ctx, d.Config.SocketPath(), p.RPCClients, p.RPCFor, "supervisor."+m.name, m.args...); err != nil {
			return s, fmt.Errorf("%s: %w", m.name, err)
		}
	}
	return s, nil
}

// loadWindow has every client call for d, back to back, and returns each
// one's latencies in ms and the window's length.
func loadWindow[C any](ctx context.Context, clients []C, d time.Duration, call func(C) error) ([][]float64, time.Duration, error) {
	lat := make([][]float64, len(clients))
	errs := make([]error, len(clients))
	t0 := time.Now()
	end := t0.Add(d)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				c0 := time.Now()
				if err := call(c); err != nil {
					errs[i] = err
					return
				}
				lat[i] = append(lat[i], ms(time.Since(c0)))
			}
		})
	}
	wg.Wait()
	return lat, time.Since(t0), errors.Join(errs...)
}

// rawRate runs n raw clients calling method for d and returns their calls
// per second.
func rawRate(ctx context.Context, socket string, n int, d time.Duration, method string, args ...string) (float64, error) {
	clients := make([]*rawClient, 0, n)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for range n {
		c, err := dialRaw(socket, method, args...)
		if err != nil {
			return 0, err
		}
		clients = append(clients, c)
		if err := c.call(); err != nil { // connect and warm up outside the window
			return 0, err
		}
	}
	lats, elapsed, err := loadWindow(ctx, clients, d, (*rawClient).call)
	if err != nil {
		return 0, err
	}
	calls := 0
	for _, l := range lats {
		calls += len(l)
	}
	return float64(calls) / elapsed.Seconds(), nil
}

func rpcMixedScenario() *Scenario {
	return &Scenario{
		Name:  "rpc-mixed",
		Title: "RPC, mixed load: Python clients alternating getState and getProcessInfo",
		Notes: []string{
			"each client is xmlrpc.client with one keep-alive connection over the unix socket, as supervisorctl's transport; they share the machine's cores with the daemon",
			"daemon CPU from /proc over the window, divided by the calls all clients made; latency is each call's as its client saw it",
		},
		Figures: []Figure{
			{Key: "cpu", Label: "daemon CPU per call", Unit: "µs", Target: Target{RatioAtMost, 0.3}},
			{Key: "rate", Label: "calls per second, all clients", Unit: "calls/s"},
			{Key: "p50", Label: "latency, median", Unit: "ms", Target: Target{RatioAtMost, 1}},
			{Key: "p99", Label: "latency, p99", Unit: "ms", Target: Target{RatioAtMost, 1}},
		},
		Run: runRPCMixedScenario,
	}
}

func runRPCMixedScenario(ctx context.Context, env *Env) (Sample, error) {
	p := env.Params
	d, err := StartDaemon(ctx, env.Bin, DaemonConfig{Dir: env.Dir, Programs: []Program{sleeper("p")}})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := waitAllInState(ctx, d, 1, protocol.StateRunning, 50*time.Millisecond, 10*time.Second); err != nil {
		return nil, err
	}
	res, err := runPythonClients(ctx, d.Config.SocketPath(), p.RPCClients, p.RPCFor, d,
		rpcCall("supervisor.getState"), rpcCall("supervisor.getProcessInfo", "p"))
	if err != nil {
		return nil, err
	}
	if res.Calls == 0 {
		return nil, fmt.Errorf("no call completed in %v", p.RPCFor)
	}
	return Sample{
		"cpu":  float64(res.CPU/time.Nanosecond) / 1000 / float64(res.Calls),
		"rate": res.Rate,
		"p50":  Median(res.Latency),
		"p99":  Percentile(res.Latency, 99),
	}, nil
}
