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
	"strings"
	"sync"
	"syscall"
	"time"
)

// Scenarios returns the seven scenarios of `make bench`, in order.
func Scenarios() []*Scenario {
	return []*Scenario{
		idleScenario(), manyScenario(), logScenario(), chattyScenario(),
		respawnScenario(), rpcScenario(), startupScenario(),
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
			if err := waitAllInState(ctx, d, 1, stateRunning, 50*time.Millisecond, 10*time.Second); err != nil {
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
		},
		Figures: []Figure{
			{Key: "running", Label: "exec to all RUNNING", Unit: "s", Target: Target{RatioAtMost, 0.6}},
			{Key: "start_cpu", Label: "daemon CPU, exec to all RUNNING", Unit: "CPU-s", Target: Target{RatioAtMost, 0.4}},
			{Key: "idle_cpu", Label: "daemon CPU while idle", Unit: "%", Target: Target{RatioAtMost, 1}},
			{Key: "rss", Label: "VmRSS after idle", Unit: "MiB"},
			{Key: "hwm", Label: "VmHWM after idle", Unit: "MiB"},
			{Key: "list_ms", Label: "getAllProcessInfo latency (median)", Unit: "ms", Target: Target{RatioAtMost, 0.1}},
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
			running, err := waitRunningInLog(ctx, d, p.Programs)
			if err != nil {
				return s, err
			}
			u, err := d.Usage()
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
			for range p.ListCalls {
				t0 := time.Now()
				infos, err := d.Client.GetAllProcessInfo()
				if err != nil {
					return s, err
				}
				lat = append(lat, ms(time.Since(t0)))
				if len(infos) != p.Programs {
					return s, fmt.Errorf("getAllProcessInfo: %d processes, want %d", len(infos), p.Programs)
				}
			}
			s["list_ms"] = Median(lat)
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
// state" n times. The log is read every 10 ms; a getAllProcessInfo every
// 2 s is the fallback should the log say it differently, and the final
// count is confirmed by RPC.
func waitRunningInLog(ctx context.Context, d *Daemon, n int) (time.Time, error) {
	var (
		last time.Time
		at   time.Time
	)
	lc := &logCounter{path: d.Config.MainLogPath(), marker: []byte(runningMarker)}
	err := pollUntil(ctx, d, 10*time.Millisecond, 2*time.Minute, fmt.Sprintf("%d RUNNING", n), func() (bool, error) {
		seen, err := lc.update()
		if err != nil {
			return false, err
		}
		if seen >= n {
			at = time.Now()
			return true, nil
		}
		if time.Since(last) < 2*time.Second {
			return false, fmt.Errorf("log shows %d RUNNING", seen)
		}
		last = time.Now()
		infos, err := d.Client.GetAllProcessInfo()
		if err != nil {
			return false, err
		}
		c := countStates(infos)
		if c[stateFatal] > 0 {
			return false, permanent{fmt.Errorf("%d processes FATAL", c[stateFatal])}
		}
		at = time.Now()
		return len(infos) == n && c[stateRunning] == n, fmt.Errorf("states %v", c)
	})
	if err != nil {
		return at, err
	}
	infos, err := d.Client.GetAllProcessInfo()
	if err != nil {
		return at, err
	}
	if c := countStates(infos); len(infos) != n || c[stateRunning] != n {
		return at, fmt.Errorf("log says %d RUNNING but getAllProcessInfo says %v", lc.seen, c)
	}
	return at, nil
}

func logScenario() *Scenario {
	return &Scenario{
		Name:     "logs",
		Title:    "log throughput: one child writes to stdout, rotating log",
		Notes:    []string{"limit = a plain Go loop copying the same writer's pipe into a file with the same rotation, measured just before each daemon run"},
		LogBound: true,
		Figures: []Figure{
			{Key: "mibps", Label: "throughput", Unit: "MiB/s"},
			{Key: "limit", Label: "machine limit (pipe to rotating file)", Unit: "MiB/s"},
			{Key: "pct_limit", Label: "throughput / limit", Unit: "%", Target: Target{AtLeast, 90}},
			{Key: "cpu_per_gib", Label: "daemon CPU per GiB", Unit: "CPU-s", Target: Target{RatioAtMost, 0.5}},
			{Key: "kept", Label: "bytes kept on disk", Unit: "MiB"},
			{Key: "kept_ok", Label: "kept == last bytes of the stream (1=yes)", Unit: "bool", Target: Target{Equal, 1}},
		},
		Run: runLogScenario,
	}
}

func runLogScenario(ctx context.Context, env *Env) (Sample, error) {
	p := env.Params
	s := Sample{}
	limit, err := MeasurePipeLimit(ctx, env.Helper, env.Dir, p.LogBytes, p.LogMaxBytes, p.LogBackups)
	if err != nil {
		return s, err
	}
	s["limit"] = limit / mib
	cmd, err := env.helperCommand("write", "-bytes", p.LogBytes)
	if err != nil {
		return s, err
	}
	logPath := filepath.Join(env.Dir, "writer.log")
	cfg := DaemonConfig{Dir: env.Dir, Programs: []Program{{Name: "writer", Command: cmd, Settings: []Setting{
		{"autostart", "false"}, {"autorestart", "false"}, {"startsecs", "0"}, {"startretries", "0"},
		{"stdout_logfile", logPath},
		{"stdout_logfile_maxbytes", strconv.FormatInt(p.LogMaxBytes/mib, 10) + "MB"},
		{"stdout_logfile_backups", strconv.Itoa(p.LogBackups)},
		{"stderr_logfile", filepath.Join(env.Dir, "writer.err")},
	}}}}
	d, err := StartDaemon(ctx, env.Bin, cfg)
	if err != nil {
		return s, err
	}
	defer d.Close()
	files := rotatedFiles(logPath, p.LogBackups)
	final := patternTail(p.LogBytes)
	u0, err := d.Usage()
	if err != nil {
		return s, err
	}
	syscall.Sync() // as before the limit: no dirty pages left from it
	t0 := time.Now()
	if err := d.Client.StartProcess("writer", false); err != nil {
		return s, err
	}
	// The stream's tail is unique, so seeing it at the end of the log means
	// every byte has been written.
	err = pollUntil(ctx, d, 10*time.Millisecond, 5*time.Minute, "the whole stream in the log", func() (bool, error) {
		tail, err := readTail(files, len(final))
		return err == nil && bytes.Equal(tail, final), err
	})
	elapsed := time.Since(t0)
	if err != nil {
		return s, err
	}
	u1, err := d.Usage()
	if err != nil {
		return s, err
	}
	s["mibps"] = float64(p.LogBytes) / mib / elapsed.Seconds()
	s["pct_limit"] = 100 * s["mibps"] / s["limit"]
	s["cpu_per_gib"] = (u1.CPU - u0.CPU).Seconds() / (float64(p.LogBytes) / (1 << 30))
	kept, checkErr := checkKept(files, p.LogBytes, p.LogMaxBytes)
	s["kept"] = float64(kept) / mib
	s["kept_ok"] = 1
	if checkErr != nil {
		s["kept_ok"] = 0
	}
	return s, checkErr
}

// rotatedFiles lists a rotating log's files oldest first: base.N .. base.1, base.
func rotatedFiles(base string, backups int) []string {
	var files []string
	for i := backups; i >= 1; i-- {
		files = append(files, fmt.Sprintf("%s.%d", base, i))
	}
	return append(files, base)
}

// readTail returns the last n bytes of the concatenation of files (oldest
// first); missing files count as empty.
func readTail(files []string, n int) ([]byte, error) {
	tail := make([]byte, 0, n)
	for i := len(files) - 1; i >= 0 && len(tail) < n; i-- {
		b, err := readLast(files[i], n-len(tail))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		tail = append(b, tail...)
	}
	return tail, nil
}

func readLast(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(0, st.Size()-int64(n))
	b := make([]byte, st.Size()-off)
	_, err = f.ReadAt(b, off)
	return b, err
}

// rotationSlack is how far past maxbytes a file may grow: Supervisor
// rotates after the write that crosses the limit, and reads at most
// 128 KiB at a time.
const rotationSlack = 128 << 10

// checkKept verifies the rotating log set: every backup holds maxbytes
// (plus at most one read's worth), the current file less, and together
// they are exactly the last bytes of the stream. It returns the bytes kept.
func checkKept(files []string, total, maxBytes int64) (int64, error) {
	var kept int64
	var readers []io.Reader
	var problems []string
	for i, name := range files {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return kept, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return kept, err
		}
		size := st.Size()
		isBackup := i < len(files)-1
		if (isBackup && size < maxBytes) || size > maxBytes+rotationSlack {
			problems = append(problems, fmt.Sprintf("%s has %d bytes", filepath.Base(name), size))
		}
		kept += size
		readers = append(readers, f)
	}
	backups := int64(len(files) - 1)
	if want := min(total, backups*maxBytes); kept < want {
		problems = append(problems, fmt.Sprintf("%d bytes kept, want at least %d", kept, want))
	}
	if err := checkSuffix(io.MultiReader(readers...), kept, total); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return kept, fmt.Errorf("rotated logs: %s", strings.Join(problems, "; "))
	}
	return kept, nil
}

func chattyScenario() *Scenario {
	return &Scenario{
		Name:  "chatty",
		Title: "chatty programs (a line every interval each)",
		Notes: []string{"CPU window: from the socket answering until every child has EXITED"},
		Figures: []Figure{
			{Key: "cpu", Label: "daemon CPU", Unit: "% core", Target: Target{RatioAtMost, 0.15}},
			{Key: "lines", Label: "lines the children wrote", Unit: "lines"},
			{Key: "lost", Label: "lines lost", Unit: "lines", Target: Target{Equal, 0}},
		},
		Run: runChattyScenario,
	}
}

func runChattyScenario(ctx context.Context, env *Env) (Sample, error) {
	p := env.Params
	s := Sample{}
	cmd, err := env.helperCommand("chatty", "-name", "c%(process_num)02d", "-every", p.ChattyEvery,
		"-size", p.ChattyLineSize, "-for", p.ChattyFor,
		"-count-file", filepath.Join(env.Dir, "count_%(process_num)02d"))
	if err != nil {
		return s, err
	}
	cfg := DaemonConfig{Dir: env.Dir, Programs: []Program{{Name: "chatty", Command: cmd, Settings: []Setting{
		{"numprocs", strconv.Itoa(p.ChattyProcs)},
		{"process_name", "%(program_name)s_%(process_num)02d"},
		{"autorestart", "false"},
		{"stdout_logfile", filepath.Join(env.Dir, "chatty_%(process_num)02d.log")},
		{"stdout_logfile_maxbytes", "0"},
		{"stderr_logfile", filepath.Join(env.Dir, "chatty_%(process_num)02d.err")},
	}}}}
	d, err := StartDaemon(ctx, env.Bin, cfg)
	if err != nil {
		return s, err
	}
	defer d.Close()
	u0, err := d.Usage()
	if err != nil {
		return s, err
	}
	t0 := time.Now()
	if err := waitAllInState(ctx, d, p.ChattyProcs, stateExited, 500*time.Millisecond, p.ChattyFor+time.Minute); err != nil {
		return s, err
	}
	u1, err := d.Usage()
	if err != nil {
		return s, err
	}
	s["cpu"] = 100 * (u1.CPU - u0.CPU).Seconds() / time.Since(t0).Seconds()
	// The daemon may still hold unread output when it reports the exit.
	// A timeout here is not an error: what is still missing is lost.
	_ = pollUntil(ctx, d, 100*time.Millisecond, 10*time.Second, "every line in the logs", func() (bool, error) {
		said, got, err := countChattyLines(env.Dir, p.ChattyProcs)
		return err == nil && got >= said, err
	})
	said, got, err := countChattyLines(env.Dir, p.ChattyProcs)
	if err != nil {
		return s, err
	}
	s["lines"] = float64(said)
	s["lost"] = float64(max(0, said-got))
	if got > said {
		return s, fmt.Errorf("logs hold %d lines, children wrote %d", got, said)
	}
	return s, nil
}

// countChattyLines sums what each chatty child says it wrote and the lines
// its log holds.
func countChattyLines(dir string, procs int) (said, got int, err error) {
	for i := range procs {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("count_%02d", i)))
		if err != nil {
			return said, got, fmt.Errorf("child %d count: %w", i, err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return said, got, fmt.Errorf("child %d count: %w", i, err)
		}
		said += n
		log, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("chatty_%02d.log", i)))
		if err != nil {
			return said, got, fmt.Errorf("child %d log: %w", i, err)
		}
		got += bytes.Count(log, []byte{'\n'})
	}
	return said, got, nil
}

func respawnScenario() *Scenario {
	return &Scenario{
		Name:  "respawn",
		Title: "respawn: SIGKILL a startsecs=0 autorestart=true child",
		Notes: []string{
			"quiet: nothing talks to the daemon between the kill and the main log's next \"entered RUNNING state\" (log read every 1 ms); the reference then waits out its 1 s poll timeout",
			"polled: getProcessInfo back to back until a new pid is RUNNING; each call wakes the reference's loop, which hides its 1 s timeout",
		},
		Figures: []Figure{
			{Key: "quiet_median", Label: "quiet: kill to RUNNING logged, median", Unit: "ms", Target: Target{AtMost, 50}},
			{Key: "quiet_p90", Label: "quiet: kill to RUNNING logged, p90", Unit: "ms"},
			{Key: "polled_median", Label: "polled: kill to new pid RUNNING, median", Unit: "ms"},
			{Key: "polled_p90", Label: "polled: kill to new pid RUNNING, p90", Unit: "ms"},
		},
		Run: runRespawnScenario,
	}
}

func runRespawnScenario(ctx context.Context, env *Env) (Sample, error) {
	cfg := DaemonConfig{Dir: env.Dir, Programs: []Program{sleeper("victim",
		Setting{"startsecs", "0"}, Setting{"autorestart", "true"})}}
	d, err := StartDaemon(ctx, env.Bin, cfg)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := waitAllInState(ctx, d, 1, stateRunning, 10*time.Millisecond, 10*time.Second); err != nil {
		return nil, err
	}
	running := func() (ProcessInfo, error) {
		info, err := d.Client.GetProcessInfo("victim")
		if err == nil && (info.State != stateRunning || info.PID <= 0) {
			err = fmt.Errorf("victim is %s pid %d", info.StateName, info.PID)
		}
		return info, err
	}
	lc := &logCounter{path: cfg.MainLogPath(), marker: []byte(runningMarker)}
	s := Sample{}
	var quiet, polled []float64
	for k := range env.Params.QuietKills {
		info, err := running()
		if err != nil {
			return s, fmt.Errorf("quiet kill %d: %w", k, err)
		}
		before, err := lc.update()
		if err != nil {
			return s, err
		}
		// Let the daemon go back to sleep after that call.
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return s, err
		}
		if err := syscall.Kill(info.PID, syscall.SIGKILL); err != nil {
			return s, fmt.Errorf("kill %d: %w", info.PID, err)
		}
		t0 := time.Now()
		err = pollUntil(ctx, d, time.Millisecond, 10*time.Second, "RUNNING logged after a kill", func() (bool, error) {
			n, err := lc.update()
			return n > before, err
		})
		if err != nil {
			return s, err
		}
		quiet = append(quiet, ms(time.Since(t0)))
		if err := pollUntil(ctx, d, 10*time.Millisecond, 5*time.Second, "a new victim RUNNING", func() (bool, error) {
			now, err := running()
			return err == nil && now.PID != info.PID, err
		}); err != nil {
			return s, err
		}
	}
	s["quiet_median"], s["quiet_p90"] = Median(quiet), Percentile(quiet, 90)
	for k := range env.Params.Kills {
		info, err := running()
		if err != nil {
			return s, fmt.Errorf("polled kill %d: %w", k, err)
		}
		if err := syscall.Kill(info.PID, syscall.SIGKILL); err != nil {
			return s, fmt.Errorf("kill %d: %w", info.PID, err)
		}
		t0 := time.Now()
		err = pollUntil(ctx, d, 0, 10*time.Second, "a new victim RUNNING", func() (bool, error) {
			now, err := d.Client.GetProcessInfo("victim")
			return err == nil && now.State == stateRunning && now.PID != info.PID && now.PID > 0, err
		})
		if err != nil {
			return s, err
		}
		polled = append(polled, ms(time.Since(t0)))
	}
	s["polled_median"], s["polled_p90"] = Median(polled), Percentile(polled, 90)
	return s, nil
}

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
