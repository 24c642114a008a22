package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/cgroup"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
	"gosupervisor/supervisord/handover"
	"gosupervisor/supervisord/health"
)

// roundTrip passes a freeze through the state document's JSON, as the
// exec does, and returns what a successor resumes from.
func roundTrip(t *testing.T, h *Handover) *Resume {
	t.Helper()
	doc := handover.New(handover.Build{Version: "test"})
	doc.Engine, doc.FrozenMono = h.State, h.Mono
	data, err := doc.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := handover.ThisBinary().Decode(data)
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	return &Resume{State: back.Engine, Configs: h.Configs, Elapsed: time.Duration(handover.Monotonic() - back.FrozenMono)}
}

// TestRealHandover freezes an engine in the middle of everything and
// resumes a second one from the state, with real children: nobody is
// restarted, no output line is lost or doubled (log rotation goes on),
// queued stdin is delivered, a stop and a backoff finish on the
// predecessor's schedule, a child that died during the gap is reaped and
// restarted, and the listener's events continue without a gap.
func TestRealHandover(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t,
		childProgram(t, dir, "counter", 1, []string{"count"}, func(c *config.Process) {
			c.Stdout.MaxBytes, c.Stdout.Backups = 8192, 1000
		}),
		childProgram(t, dir, "echo", 2, []string{"echo"}),
		childProgram(t, dir, "stubborn", 3, []string{"ignore-term"}, func(c *config.Process) { c.StopWaitSecs = 2 }),
		childProgram(t, dir, "quick", 4, []string{"exit", "1", "0"}, func(c *config.Process) {
			c.StartSecs, c.StartRetries = 10, 2
		}),
		childProgram(t, dir, "victim", 5, []string{"sleep"}, func(c *config.Process) {
			c.Autorestart = config.AutorestartTrue
		}),
	)
	listener := testPool(t, "listener", []string{"PROCESS_STATE"}, 100, "listener")
	listener.Processes[0].Environment = []config.EnvVar{{Key: childEnvVar, Value: "1"}}
	listener.Processes[0].Stderr = config.LogConfig{File: filepath.Join(dir, "listener.err")}
	cfg.Groups = append([]*config.Group{listener}, cfg.Groups...)

	a := startReal(t, cfg)
	pids := map[string]int{}
	for _, name := range []string{"counter", "echo", "stubborn", "victim", "listener"} {
		pids[name] = waitState(t, a, name, "RUNNING").PID
	}
	waitState(t, a, "quick", "BACKOFF")
	if err := a.SendProcessStdin("echo", []byte("before\n")); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(dir, "echo.out"), "echo: before\n")
	waitFile(t, filepath.Join(dir, "stubborn.out"), "ready")
	stopAt := time.Now()
	if err := a.StopProcess(context.Background(), "stubborn", false); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, "stubborn", "STOPPING")
	// Some output before the handover (the stop of stubborn and the
	// backoff of quick leave no time to wait for a rotation here).
	counterLog := filepath.Join(dir, "counter.out")
	waitCount(t, counterLog, 100, 0)

	h, err := a.Freeze()
	if err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	x := <-a.exited
	a.exited <- x // for the cleanup
	if x != ExitUpgrade {
		t.Fatalf("Run returned %v, want ExitUpgrade", x)
	}
	if _, err := a.Process("counter"); err == nil {
		t.Error("the frozen engine still answers")
	}
	_, rotated, _ := readCount(counterLog) // nothing rotates until the resume
	// The gap of an exec: the counter writes into its pipe, a child dies
	// and stays a zombie until the successor reaps it.
	if err := syscall.Kill(pids["victim"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)

	b := startReal(t, nil, func(o *Options) { o.Resume = roundTrip(t, h) })
	for _, name := range []string{"counter", "echo", "stubborn", "listener"} {
		info, err := b.Process(name)
		if err != nil || info.PID != pids[name] {
			t.Errorf("%s after the handover: %+v, %v; want pid %d", name, info, err, pids[name])
		}
	}
	waitLog(t, b, "exited: victim (terminated by SIGKILL; not expected)")
	if info := waitState(t, b, "victim", "RUNNING"); info.PID == pids["victim"] {
		t.Errorf("victim was not restarted")
	}
	if err := b.SendProcessStdin("echo", []byte("after\n")); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(dir, "echo.out"), "echo: after\n")

	// The stop keeps its deadline: SIGKILL about stopwaitsecs after it
	// was asked for, not after the resume.
	waitLog(t, b, "stopped: stubborn (terminated by SIGKILL)")
	if took := time.Since(stopAt); took < 1900*time.Millisecond || took > 4*time.Second {
		t.Errorf("stubborn was killed %v after the stop, want about 2s", took)
	}
	// The backoff goes on counting: three attempts in all, then FATAL.
	waitState(t, b, "quick", "FATAL")
	spawns := countLog(a, "spawned: 'quick'") + countLog(b, "spawned: 'quick'")
	if spawns != 3 {
		t.Errorf("quick spawned %d times across the handover, want 3", spawns)
	}
	if n := countLog(b, "exited: quick"); n == 0 {
		t.Errorf("the successor saw no exit of quick")
	}

	// Every line once, in order, across the handover and the rotations
	// (one at least after it).
	waitCount(t, counterLog, 1000, rotated+1)
	if err := b.StopProcess(context.Background(), "counter", true); err != nil {
		t.Fatal(err)
	}
	checkCount(t, counterLog)

	// The listener got every state change once, serials without a gap.
	if err := b.StopProcess(context.Background(), "listener", true); err != nil {
		t.Fatal(err)
	}
	checkSerials(t, filepath.Join(dir, "listener.err"))
}

// readCount reads a counter's log and its backups: 1, 2, 3, ... with
// nothing missing or repeated. It returns how many lines they hold and
// how many backups there are, or an error naming the first line out of
// sequence.
func readCount(path string) (lines, backups int, err error) {
	var text strings.Builder
	for i := 1000; i >= 0; i-- {
		name := path
		if i > 0 {
			name = fmt.Sprintf("%s.%d", path, i)
		}
		b, err := os.ReadFile(name)
		if err == nil {
			text.Write(b)
			if i > 0 {
				backups++
			}
		}
	}
	next := 1
	for _, line := range strings.Split(strings.TrimSuffix(text.String(), "\n"), "\n") {
		if line == "ready" {
			continue
		}
		n, err := strconv.Atoi(line)
		if err != nil || n != next {
			return lines, backups, fmt.Errorf("line %d of the counter's output is %q, want %d", lines+1, line, next)
		}
		next++
		lines++
	}
	return lines, backups, nil
}

// waitCount waits until the counter's output holds at least lines lines
// in at least backups backups, and returns the backups' count then. A
// loaded machine runs the counter far slower than its nominal rate, so
// the test waits for the output it needs instead of a fixed time.
func waitCount(t *testing.T, path string, lines, backups int) int {
	t.Helper()
	var n, b int
	testenv.Eventually(t, 60*time.Second, func() error {
		var err error
		// A read during a rotation may miss a file: that is retried.
		if n, b, err = readCount(path); err != nil {
			return err
		}
		if n < lines || b < backups {
			return fmt.Errorf("%d lines in %d backups so far", n, b)
		}
		return nil
	})
	return b
}

// checkCount checks the counter's whole output once it has stopped.
func checkCount(t *testing.T, path string) {
	t.Helper()
	lines, _, err := readCount(path)
	if err != nil {
		t.Fatal(err)
	}
	if lines < 1000 {
		t.Errorf("only %d lines counted", lines)
	}
}

var serialRE = regexp.MustCompile(`serial (\d+) pool_serial (\d+)`)

func checkSerials(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var serials, poolSerials []int
	for _, m := range serialRE.FindAllStringSubmatch(string(b), -1) {
		s, _ := strconv.Atoi(m[1])
		ps, _ := strconv.Atoi(m[2])
		serials, poolSerials = append(serials, s), append(poolSerials, ps)
	}
	if len(serials) < 10 {
		t.Fatalf("the listener got %d events:\n%s", len(serials), b)
	}
	for i := 1; i < len(serials); i++ {
		if serials[i] != serials[i-1]+1 || poolSerials[i] != poolSerials[i-1]+1 {
			t.Fatalf("event %d: serial %d/%d after %d/%d:\n%s", i, serials[i], poolSerials[i], serials[i-1], poolSerials[i-1], b)
		}
	}
}

// TestRealHandoverStdinQueue: bytes queued for a child that does not
// read its stdin are handed over and written by the successor.
func TestRealHandoverStdinQueue(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, childProgram(t, dir, "echo", 1, []string{"echo"}))
	a := startReal(t, cfg)
	info := waitState(t, a, "echo", "RUNNING")
	// Stop the child so it reads nothing, and fill its pipe and queue.
	if err := syscall.Kill(info.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 1000) + "\n"
	var sent int
	for range 300 {
		if err := a.SendProcessStdin("echo", []byte(line)); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	h, err := a.Freeze()
	if err != nil {
		t.Fatal(err)
	}
	a.exited <- <-a.exited
	var queued int
	for _, g := range h.State.Groups {
		for _, p := range g.Processes {
			if p.Stdin != nil {
				queued = len(p.Stdin.Pending)
			}
		}
	}
	// The pipe holds 64 KiB; the rest was queued when the engine froze.
	if queued < sent*len(line)-1<<20 || queued == 0 {
		t.Fatalf("%d bytes handed over as queued, want most of the %d sent", queued, sent*len(line))
	}
	b := startReal(t, nil, func(o *Options) { o.Resume = roundTrip(t, h) })
	if err := syscall.Kill(info.PID, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		out, _ := os.ReadFile(filepath.Join(dir, "echo.out"))
		if n := strings.Count(string(out), "echo: x"); n != sent {
			return fmt.Errorf("%d of %d lines echoed", n, sent)
		}
		return nil
	})
	if got := waitState(t, b, "echo", "RUNNING").PID; got != info.PID {
		t.Errorf("pid %d, want %d", got, info.PID)
	}
}

// TestHandoverRefusals: no upgrade during another or during a shutdown;
// a config change during an upgrade is refused; EndUpgrade allows it
// again.
func TestHandoverRefusals(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, childProgram(t, dir, "sleeper", 1, []string{"sleep"}))
	e := startReal(t, cfg, func(o *Options) {
		o.Reload = func() (*config.Config, error) { return cfg, nil }
	})
	waitState(t, e, "sleeper", "RUNNING")
	h, err := e.BeginUpgrade()
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Configs) != 1 || h.Configs[0] != cfg || len(h.State.Groups) != 1 || h.State.Groups[0].Processes[0].Stdin != nil {
		t.Errorf("preview: %+v", h)
	}
	if _, err := e.BeginUpgrade(); !errors.Is(err, ErrUpgrading) {
		t.Errorf("second BeginUpgrade: %v", err)
	}
	if _, _, _, err := e.ReloadConfig(); !errors.Is(err, ErrUpgrading) {
		t.Errorf("ReloadConfig during an upgrade: %v", err)
	}
	if err := e.RemoveProcessGroup("sleeper"); !errors.Is(err, ErrUpgrading) {
		t.Errorf("RemoveProcessGroup during an upgrade: %v", err)
	}
	if err := e.Restart(); !errors.Is(err, ErrUpgrading) {
		t.Errorf("Restart during an upgrade: %v", err)
	}
	e.EndUpgrade()
	if _, _, _, err := e.ReloadConfig(); err != nil {
		t.Errorf("ReloadConfig after EndUpgrade: %v", err)
	}
	if _, err := e.BeginUpgrade(); err != nil {
		t.Fatal(err)
	}
	_ = e.Shutdown()
	if _, err := e.Freeze(); err == nil {
		t.Error("Freeze during a shutdown succeeded")
	}
}

// TestReadinessRoundTrip: the readiness state of a process (what its
// notifications said, the last keep-alive, the health check's verdict,
// failures and start period, the engine's forced end, checks left to
// reap) goes through the state document and comes back the same on the
// successor's clock; a program without the keys has none.
func TestReadinessRoundTrip(t *testing.T) {
	cfg := &config.Process{Name: "a", Group: "a",
		Notify: config.Notify{Ready: true, WatchdogSecs: 5, Access: config.NotifyMain},
		Health: config.HealthCheck{Kind: config.HealthExec, Retries: 3, StartPeriodSecs: 60}}
	g := &group{cfg: &config.Group{Name: "a"}}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	p := &process{cfg: cfg, group: g, state: protocol.StateRunning, pid: 42, forced: ExitWatchdog}
	p.ntf = notifyState{child: 41, ready: true, status: "serving", errno: 5, limit: 5 * time.Second, pinged: now.Add(-2 * time.Second), refused: true}
	p.hc.status = health.Restore(health.Unhealthy, 4, now.Add(-time.Second),
		health.Result{Reason: "exit status 1", Output: "broken\n"}, now.Add(30*time.Second))
	p.hc.detail = "exit status 1 (4/3)"
	e := &Engine{probes: map[int]*probe{77: {p: p, pid: 77, done: true}, 78: {p: &process{}, pid: 78}}}
	data, err := json.Marshal(e.exportReadiness(p, now))
	if err != nil {
		t.Fatal(err)
	}
	var back handover.Readiness
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Health == nil || !slices.Equal(back.Health.Reap, []int{77}) {
		t.Fatalf("exported %s", data)
	}
	// The successor's clock reads the freeze's instant plus the exec.
	const elapsed = 150 * time.Millisecond
	q := &process{cfg: cfg, group: g, state: protocol.StateRunning, pid: 42}
	if err := q.restoreReadiness(&back, now.Add(elapsed), elapsed); err != nil {
		t.Fatal(err)
	}
	if q.ntf != p.ntf || q.forced != p.forced || q.hc.detail != p.hc.detail {
		t.Errorf("restored %+v %q %q, want %+v %q %q", q.ntf, q.forced, q.hc.detail, p.ntf, p.forced, p.hc.detail)
	}
	if q.hc.status != p.hc.status || !q.hc.status.StartPeriodEnd().Equal(now.Add(30*time.Second)) {
		t.Errorf("restored health %+v, want %+v", q.hc.status, p.hc.status)
	}
	if got, want := q.health(), p.health(); got != want {
		t.Errorf("getProcessHealth after the round trip %+v, want %+v", got, want)
	}

	stock := &process{cfg: &config.Process{Name: "b", Group: "b"}, group: g, state: protocol.StateRunning, pid: 43}
	if r := e.exportReadiness(stock, now); r != nil {
		t.Errorf("a program without the keys exported %+v", r)
	}
}

// TestUpgradeRefusedInCgroup: the cgroup leaves and their OOM baselines
// are not handed over (the successor would look for them under the
// cgroup supervisord moved itself into), so an upgrade is refused while
// a program runs in a leaf of its own, naming it, and nothing changes.
func TestUpgradeRefusedInCgroup(t *testing.T) {
	host := delegatedCgroup(t, cgroup.Pids)
	dir := t.TempDir()
	cfg := testConfig(t, childProgram(t, dir, "limited", 1, []string{"sleep"}, func(c *config.Process) {
		c.Resources.Cgroup.PidsMax = 50
	}))
	e := startReal(t, cfg, func(o *Options) { o.CgroupHost = host })
	pid := waitState(t, e, "limited", "RUNNING").PID
	_, err := e.BeginUpgrade()
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "limited runs in a cgroup of its own (cgroup_* keys)") {
		t.Fatalf("BeginUpgrade: %v, want ErrFailed naming limited's cgroup", err)
	}
	// Refused, not begun: the configuration is not frozen.
	if _, err := e.BeginUpgrade(); errors.Is(err, ErrUpgrading) {
		t.Fatalf("second BeginUpgrade: %v", err)
	}
	if info := waitState(t, e, "limited", "RUNNING"); info.PID != pid {
		t.Errorf("limited: pid %d, %d before", info.PID, pid)
	}
}
