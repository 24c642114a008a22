package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Curve marks a scenario whose figures are measured at several program
// counts: metric m at count n has the key "m@n" (curveKey).
type Curve struct {
	Sizes   []int    `json:"sizes"`
	Metrics []Figure `json:"metrics"` // Key names the metric; Label and Unit describe it
}

func curveKey(metric string, n int) string { return fmt.Sprintf("%s@%d", metric, n) }

// growthKey is the key of a metric's growth exponent over the curve.
func growthKey(metric string) string { return "growth_" + metric }

// scaleMetrics are measured at each size; grown ones also get a growth
// exponent row.
var scaleGrown = []string{"running", "start_cpu", "rss", "list_cpu"}

func scaleScenario(sizes []int) *Scenario {
	curve := &Curve{Sizes: sizes, Metrics: []Figure{
		{Key: "running", Label: "exec to all RUNNING", Unit: "s"},
		{Key: "start_cpu", Label: "daemon CPU, exec to all RUNNING", Unit: "CPU-s"},
		{Key: "rss", Label: "VmRSS when idle", Unit: "MiB"},
		{Key: "idle_cpu", Label: "daemon CPU while idle", Unit: "%"},
		// Any wake-up while nothing happens is polling.
		{Key: "idle_wakeups", Label: "daemon wake-ups while idle", Unit: "/s", Target: Target{AtMost, 0.5}},
		{Key: "list_cpu", Label: "getAllProcessInfo daemon CPU per call", Unit: "ms"},
	}}
	var figures []Figure
	for _, m := range curve.Metrics {
		for _, n := range sizes {
			f := m
			f.Key = curveKey(m.Key, n)
			f.Label = fmt.Sprintf("%s, %d programs", m.Label, n)
			figures = append(figures, f)
		}
	}
	if len(sizes) > 1 {
		lo, hi := sizes[0], sizes[len(sizes)-1]
		for _, m := range curve.Metrics {
			for _, g := range scaleGrown {
				if m.Key == g {
					figures = append(figures, Figure{
						Key:   growthKey(g),
						Label: fmt.Sprintf("%s: growth exponent %d→%d (1 = linear)", m.Label, lo, hi),
						Unit:  "",
						// Linear or better, with room for a busy machine.
						Target: Target{AtMost, 1.15},
					})
				}
			}
		}
	}
	return &Scenario{
		Name:  "scale",
		Title: "the scale curve: numprocs of sleep (startsecs=1, redirect_stderr, AUTO log) at several program counts",
		Notes: []string{
			"one run per daemon (the reference spawns 5000 programs for minutes); sizes in ascending order, each with a fresh daemon",
			"all RUNNING is seen in the main log; idle CPU and wake-ups (context switches of all the daemon's threads) over an idle window after it",
			"growth exponent = log(value at the largest size / value at the smallest) / log(largest / smallest): 1 is linear, below is better",
		},
		MaxRuns: 1,
		Curve:   curve,
		Figures: figures,
		Run: func(ctx context.Context, env *Env) (Sample, error) {
			s := Sample{}
			for _, n := range sizes {
				if err := scaleAt(ctx, env, n, s); err != nil {
					return s, fmt.Errorf("%d programs: %w", n, err)
				}
			}
			addGrowth(s, sizes)
			return s, nil
		},
	}
}

// addGrowth adds the growth exponents of the grown metrics measured at
// both ends of the curve.
func addGrowth(s Sample, sizes []int) {
	if len(sizes) < 2 {
		return
	}
	lo, hi := sizes[0], sizes[len(sizes)-1]
	for _, m := range scaleGrown {
		a, okA := s[curveKey(m, lo)]
		b, okB := s[curveKey(m, hi)]
		if okA && okB && a > 0 && b > 0 {
			s[growthKey(m)] = math.Log(b/a) / math.Log(float64(hi)/float64(lo))
		}
	}
}

// scaleFDs is the minfds n programs need: the daemons hold two or three
// descriptors per program here (stdout pipe, log file, the reference's
// stdin pipe).
func scaleFDs(n int) int { return max(4096, 3*n+512) }

// scaleAt measures one size and adds its figures to s.
func scaleAt(ctx context.Context, env *Env, n int, s Sample) error {
	p := env.Params
	fds := scaleFDs(n)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Max < uint64(fds) {
		return fmt.Errorf("needs %d file descriptors, the hard limit (ulimit -Hn) is %d", fds, lim.Max)
	}
	dir := filepath.Join(env.Dir, strconv.Itoa(n))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	// The reference spawns about a hundred programs a second when the
	// machine is quiet, and serves only after spawning them all.
	timeout := time.Minute + time.Duration(n)*100*time.Millisecond
	cfg := DaemonConfig{Dir: dir, MinFDs: fds, ReadyTimeout: timeout, CallTimeout: timeout, Programs: []Program{sleeper("sleep",
		Setting{"numprocs", strconv.Itoa(n)},
		Setting{"process_name", "%(program_name)s_%(process_num)04d"},
		Setting{"redirect_stderr", "true"})}}
	d, err := StartDaemon(ctx, env.Bin, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	running, u, err := waitRunningInLog(ctx, d, n, timeout)
	if err != nil {
		return err
	}
	s[curveKey("running", n)] = running.Sub(d.Started).Seconds()
	s[curveKey("start_cpu", n)] = u.CPU.Seconds()
	// Let the last transitions settle, as a user's first look would.
	if err := sleepCtx(ctx, time.Second); err != nil {
		return err
	}
	u0, err := d.Usage()
	if err != nil {
		return err
	}
	w0, err := ReadWakeups(d.PID())
	if err != nil {
		return err
	}
	if err := sleepCtx(ctx, p.ScaleIdle); err != nil {
		return err
	}
	w1, err := ReadWakeups(d.PID())
	if err != nil {
		return err
	}
	u1, err := d.Usage()
	if err != nil {
		return err
	}
	s[curveKey("idle_cpu", n)] = 100 * (u1.CPU - u0.CPU).Seconds() / p.ScaleIdle.Seconds()
	s[curveKey("idle_wakeups", n)] = float64(w1-w0) / p.ScaleIdle.Seconds()
	s[curveKey("rss", n)] = float64(u1.RSS) / mib
	calls := 0
	for t0 := time.Now(); calls < scaleMaxCalls && (calls == 0 || time.Since(t0) < p.ScaleListFor); calls++ {
		infos, _, err := d.Client.TimedGetAllProcessInfo()
		if err != nil {
			return err
		}
		if err := allRunning(infos, n); err != nil {
			return err
		}
	}
	u2, err := d.Usage()
	if err != nil {
		return err
	}
	s[curveKey("list_cpu", n)] = ms(u2.CPU-u1.CPU) / float64(calls)
	return d.Close()
}

// scaleMaxCalls caps the getAllProcessInfo calls timed at one size: they
// go on for Params.ScaleListFor, at least one (the reference takes
// seconds per call with thousands of programs, and it grows with their
// square), so that a fast daemon's calls add up to many CPU ticks.
const scaleMaxCalls = 1000
