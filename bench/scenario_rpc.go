package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

func rpcScenario() *Scenario {
	var figures []Figure
	for _, m := range []string{"getState", "getProcessInfo"} {
		figures = append(figures,
			Figure{Key: m + "_rate", Label: m + ": calls per second", Unit: "calls/s"},
			Figure{Key: m + "_p99", Label: m + ": latency p99", Unit: "ms"},
			Figure{Key: m + "_cpu", Label: m + ": daemon CPU per call", Unit: "µs", Target: Target{RatioAtMost, 0.2}},
		)
	}
	return &Scenario{
		Name:    "rpc",
		Title:   "RPC load: concurrent clients, one method at a time",
		Notes:   []string{"each client has its own keep-alive connection; getProcessInfo asks for the one program"},
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
	if err := waitAllInState(ctx, d, 1, stateRunning, 50*time.Millisecond, 10*time.Second); err != nil {
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
	methods := []struct {
		name string
		call func(*Client) error
	}{
		{"getState", func(c *Client) error { _, err := c.GetState(); return err }},
		{"getProcessInfo", func(c *Client) error { _, err := c.GetProcessInfo("p"); return err }},
	}
	for _, m := range methods {
		u0, err := d.Usage()
		if err != nil {
			return s, err
		}
		lat := make([][]float64, len(clients))
		errs := make([]error, len(clients))
		t0 := time.Now()
		end := t0.Add(p.RPCFor)
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() {
				for time.Now().Before(end) && ctx.Err() == nil {
					c0 := time.Now()
					if err := m.call(c); err != nil {
						errs[i] = err
						return
					}
					lat[i] = append(lat[i], ms(time.Since(c0)))
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(t0)
		u1, err := d.Usage()
		if err != nil {
			return s, err
		}
		if err := errors.Join(errs...); err != nil {
			return s, err
		}
		var all []float64
		for _, l := range lat {
			all = append(all, l...)
		}
		if len(all) == 0 {
			return s, fmt.Errorf("%s: no call completed in %v", m.name, p.RPCFor)
		}
		s[m.name+"_rate"] = float64(len(all)) / elapsed.Seconds()
		s[m.name+"_p99"] = Percentile(all, 99)
		s[m.name+"_cpu"] = float64((u1.CPU-u0.CPU)/time.Microsecond) / float64(len(all))
	}
	return s, nil
}
