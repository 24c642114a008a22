package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gosupervisor/internal/protocol"
)

// Setup says where the log scenarios write and how big the scale curve is.
type Setup struct {
	DiskDir  string // a directory on a disk filesystem ("" = the temp dir)
	TmpfsDir string // a directory on tmpfs
	Params   Params
}

// Scenarios returns the scenarios of `make bench`, in order.
func Scenarios(setup Setup) []*Scenario {
	return []*Scenario{
		idleScenario(), manyScenario(),
		logScenario("logs-disk", setup.DiskDir, false), logScenario("logs-tmpfs", setup.TmpfsDir, true),
		chattyScenario(), respawnScenario(), rpcScenario(), rpcMixedScenario(), startupScenario(),
		scaleScenario(setup.Params.ScaleSizes),
	}
}

// sleeper is a program that does nothing for longer than any run.
func sleeper(name string, settings ...Setting) Program {
	return Program{Name: name, Command: "sleep 100000", Settings: settings}
}

func idleScenario() *Scenario {
	return &Scenario{
		Name:  "idle",
		Title: "idle daemon with 1 program",
		Figures: []Figure{
			{Key: "rss", Label: "VmRSS", Unit: "MiB", Target: Target{RatioAtMost, 0.4}},
			{Key: "hwm", Label: "VmHWM", Unit: "MiB"},
		},
		Run: func(ctx context.Context, env *Env) (Sample, error) {
			d, err := StartDaemon(ctx, env.Bin, DaemonConfig{Dir: env.Dir, Programs: []Program{sleeper("sleeper")}})
			if err != nil {
				return nil, err
			}
			defer d.Close()
			if err := waitAllInState(ctx, d, 1, protocol.StateRunning, 50*time.Millisecond, 10*time.Second); err != nil {
				return nil, err
			}
			if err := sleepCtx(ctx, env.Params.IdleSettle); err != nil {
				return nil, err
			}
			u, err := d.Usage()
			if err != nil {
				return nil, err
			}
			return Sample{"rss": float64(u.RSS) / mib, "hwm": float64(u.HWM) / mib}, nil
		},
	}
}

func manyScenario() *Scenario {
	return &Scenario{
		Name:  "many",
		Title: "many programs (numprocs of sleep, startsecs=1)",
		Notes: []string{
			"all RUNNING and start CPU are counted from exec; RUNNING is seen in the main log (10 ms polls), not by RPC, so polling costs the daemon nothing",
			"CPU comes from /proc in 10 ms ticks: over the idle window one tick is 0.05% (0.2% with -quick)",
			"getAllProcessInfo latency runs from sending the request to the last response byte; the Go client decodes afterwards, untimed",
		},
		Figures: []Figure{
			{Key: "running", Label: "exec to all RUNNING", Unit: "s", Target: Target{RatioAtMost, 0.6}},
			{Key: "start_cpu", Label: "daemon CPU, exec to all RUNNING", Unit: "CPU-s", Target: Target{RatioAtMost, 0.4}},
			{Key: "idle_cpu", Label: "daemon CPU while idle", Unit: "%", Target: Target{RatioAtMost, 1}},
			{Key: "rss", Label: "VmRSS after idle", Unit: "MiB"},
			{Key: "hwm", Label: "VmHWM after idle", Unit: "MiB"},
			{Key: "list_ms", Label: "getAllProcessInfo latency (median)", Unit: "ms", Target: Target{RatioAtMost, 0.1}},
			{Key: "list_cpu", Label: "getAllProcessInfo daemon CPU per call", Unit: "ms", Target: Target{RatioAtMost, 0.05}},
			{Key: "stop_all", Label: "stopAllProcesses(wait)", Unit: "s"},
		},
		Run: func(ctx context.Context, env *Env) (Sample, error) {
			p := env.Params
			cfg := DaemonConfig{Dir: env.Dir, Programs: []Program{sleeper("sleep",
				Setting{"numprocs", strconv.Itoa(p.Programs)},
				Setting{"process_name", "%(program_name)s_%(process_num)03d"})}}
			d, err := StartDaemon(ctx, env.Bin, cfg)
			if err != nil {
				return nil, err
			}
			defer d.Close()
			s := Sample{}
			running, u, err := waitRunningInLog(ctx, d, p.Programs, 2*time.Minute)
			if err != nil {
				return s, err
			}
			s["running"] = running.Sub(d.Started).Seconds()
			s["start_cpu"] = u.CPU.Seconds()
			if err := sleepCtx(ctx, p.IdleWindow); err != nil {
				return s, err
			}
			u2, err := d.Usage()
			if err != nil {
				return s, err
			}
			s["idle_cpu"] = 100 * (u2.CPU - u.CPU).Seconds() / p.IdleWindow.Seconds()
			s["rss"], s["hwm"] = float64(u2.RSS)/mib, float64(u2.HWM)/mib
			var lat []float64
			u3, err := d.Usage()
			if err != nil {
				return s, err
			}
			for range p.ListCalls {
				infos, took, err := d.Client.TimedGetAllProcessInfo()
				if err != nil {
					return s, err
				}
				lat = append(lat, ms(took))
				if err := allRunning(infos, p.Programs); err != nil {
					return s, err
				}
			}
			s["list_ms"] = Median(lat)
			u4, err := d.Usage()
			if err != nil {
				return s, err
			}
			s["list_cpu"] = ms(u4.CPU-u3.CPU) / float64(p.ListCalls)
			t0 := time.Now()
			n, failed, err := d.Client.StopAllProcesses(true)
			if err != nil {
				return s, err
			}
			s["stop_all"] = time.Since(t0).Seconds()
			if n != p.Programs || failed != 0 {
				return s, fmt.Errorf("stopAllProcesses: %d results, %d failed; want %d, 0", n, failed, p.Programs)
			}
			return s, nil
		},
	}
}

// logCounter counts the occurrences of a marker in a growing log file,
// reading only what was appended since the last look. Watching the log
// costs the daemon nothing, where an RPC poll would wake it up.
type logCounter struct {
	path    string
	marker  []byte
	offset  int64
	partial []byte
	seen    int
}

// runningMarker is the main-log line end of every transition to RUNNING.
const runningMarker = " entered RUNNING state"

// update reads what was appended and returns the count so far. Only whole
// lines count. A missing file counts as empty.
func (c *logCounter) update() (int, error) {
	f, err := os.Open(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return c.seen, nil
	}
	if err != nil {
		return c.seen, err
	}
	defer f.Close()
	chunk, err := io.ReadAll(io.NewSectionReader(f, c.offset, 1<<40))
	if err != nil {
		return c.seen, err
	}
	c.offset += int64(len(chunk))
	buf := append(c.partial, chunk...)
	cut := bytes.LastIndexByte(buf, '\n') + 1
	c.seen += bytes.Count(buf[:cut], c.marker)
	c.partial = append(c.partial[:0], buf[cut:]...)
	return c.seen, nil
}

// waitRunningInLog returns when the main log has said "entered RUNNING
// state" n times, with the daemon's usage read at that moment. The log is
// read every 10 ms; should it stay still for 5 s (the log might say it
// differently), getAllProcessInfo is asked instead, since each call costs
// the daemon (seconds for the reference with thousands of programs).
// Callers confirm the states with the calls they time (allRunning).
func waitRunningInLog(ctx context.Context, d *Daemon, n int, timeout time.Duration) (time.Time, Usage, error) {
	var (
		at    time.Time
		usage Usage
		moved = time.Now()
		size  int64
	)
	lc := &logCounter{path: d.Config.MainLogPath(), marker: []byte(runningMarker)}
	err := pollUntil(ctx, d, 10*time.Millisecond, timeout, fmt.Sprintf("%d RUNNING", n), func() (bool, error) {
		seen, err := lc.update()
		if err != nil {
			return false, err
		}
		if seen >= n {
			at = time.Now()
			usage, err = d.Usage()
			return err == nil, err
		}
		if lc.offset != size {
			size, moved = lc.offset, time.Now()
		}
		if time.Since(moved) < 5*time.Second {
			return false, fmt.Errorf("log shows %d RUNNING", seen)
		}
		moved = time.Now()
		infos, err := d.Client.GetAllProcessInfo()
		if err != nil {
			return false, err
		}
		c := countStates(infos)
		if c[protocol.StateFatal] > 0 {
			return false, permanent{fmt.Errorf("%d processes FATAL", c[protocol.StateFatal])}
		}
		if len(infos) == n && c[protocol.StateRunning] == n {
			at = time.Now()
			usage, err = d.Usage()
			return err == nil, err
		}
		return false, fmt.Errorf("states %v", c)
	})
	return at, usage, err
}

// allRunning checks that infos are n processes, all RUNNING.
func allRunning(infos []ProcessInfo, n int) error {
	if c := countStates(infos); len(infos) != n || c[protocol.StateRunning] != n {
		return fmt.Errorf("getAllProcessInfo: %d processes in states %v, want %d RUNNING", len(infos), c, n)
	}
	return nil
}

func startupScenario() *Scenario {
	return &Scenario{
		Name:  "startup",
		Title: "start-up: exec to the socket answering getState (no programs)",
		Notes: []string{"each run is the median of several starts; the socket is polled every 1 ms; no programs, since the reference loses a SIGTERM sent before its child has exec'd and then waits stopwaitsecs"},
		Figures: []Figure{
			{Key: "ready", Label: "exec to getState answered", Unit: "ms", Target: Target{RatioAtMost, 0.3}},
		},
		Run: func(ctx context.Context, env *Env) (Sample, error) {
			var lat []float64
			for i := range env.Params.StartupTries {
				dir := filepath.Join(env.Dir, strconv.Itoa(i))
				if err := os.Mkdir(dir, 0o755); err != nil {
					return nil, err
				}
				d, err := StartDaemon(ctx, env.Bin, DaemonConfig{Dir: dir})
				if err != nil {
					return nil, err
				}
				lat = append(lat, ms(d.Ready.Sub(d.Started)))
				if err := d.Close(); err != nil {
					return nil, err
				}
			}
			return Sample{"ready": Median(lat)}, nil
		},
	}
}
