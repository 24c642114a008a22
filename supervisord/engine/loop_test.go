package engine

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
)

func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("os.Executable: %v", err)
	}
	return exe
}

// testProgram is a one-process [program:name] running the test binary with args.
func testProgram(t *testing.T, name string, prio int, args []string, mods ...func(*config.Process)) *config.Group {
	t.Helper()
	pc := testProcConfig(func(c *config.Process) {
		c.Name, c.Group, c.ProgramName, c.Priority = name, name, name, prio
		c.Argv = append([]string{testBinary(t)}, args...)
		c.Command = strings.Join(c.Argv, " ")
	})
	for _, m := range mods {
		m(pc)
	}
	return &config.Group{Name: name, Kind: config.KindProgram, Priority: prio, Processes: []*config.Process{pc}}
}

func testConfig(t *testing.T, groups ...*config.Group) *config.Config {
	return &config.Config{
		Supervisord: config.Supervisord{Identifier: "supervisor", ChildLogDir: t.TempDir(), NoCleanup: true},
		Groups:      groups,
	}
}

// runFake starts an engine with a fake OS inside the current bubble. The
// returned stop shuts it down and returns Run's result.
func runFake(t *testing.T, cfg *config.Config) (*Engine, *fakeOS, *recLog, func() Exit) {
	t.Helper()
	return runFakeWith(t, cfg, nil)
}

// runFakeWith is runFake with the options adjusted by mod.
func runFakeWith(t *testing.T, cfg *config.Config, mod func(*Options)) (*Engine, *fakeOS, *recLog, func() Exit) {
	t.Helper()
	fos := newFakeOS()
	log := &recLog{}
	opts := Options{Config: cfg, Log: log, OS: fos}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	exited := make(chan Exit, 1)
	go func() {
		x, err := e.Run(context.Background())
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		exited <- x
	}()
	synctest.Wait()
	stop := func() Exit {
		_ = e.Shutdown()
		return <-exited
	}
	return e, fos, log, stop
}

func startNames(starts []fakeStart) []string {
	var out []string
	for _, s := range starts {
		out = append(out, s.name)
	}
	return out
}

func wantLinesInOrder(t *testing.T, log *recLog, want ...string) {
	t.Helper()
	lines := log.snapshot()
	i := 0
	for _, l := range lines {
		if i < len(want) && strings.Contains(l, want[i]) {
			i++
		}
	}
	if i < len(want) {
		t.Fatalf("log lacks %q (in order); log:\n%s", want[i], strings.Join(lines, "\n"))
	}
}

func TestLoopAutostartInPriorityOrderWithoutDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		cfg := testConfig(t,
			testProgram(t, "early", 5, []string{"run"}),
			testProgram(t, "manual", 1, []string{"run"}, func(c *config.Process) { c.Autostart = false }),
			testProgram(t, "late", 10, []string{"run"}),
		)
		slices.SortFunc(cfg.Groups, func(a, b *config.Group) int { return a.Priority - b.Priority })
		e, fos, log, stop := runFake(t, cfg)
		starts := fos.startLog()
		if got, want := startNames(starts), []string{"early", "late"}; !slices.Equal(got, want) {
			t.Fatalf("spawn order = %v, want %v", got, want)
		}
		for _, s := range starts {
			if !s.at.Equal(start) {
				t.Errorf("%s spawned %v after start, want at once", s.name, s.at.Sub(start))
			}
			if s.spec.Files[0] == nil || s.spec.Files[1] == nil || s.spec.Files[2] == nil {
				t.Errorf("%s: child fds %v, want three files", s.name, s.spec.Files)
			}
			for _, kv := range []string{"SUPERVISOR_ENABLED=1", "SUPERVISOR_GROUP_NAME=" + s.name} {
				if !slices.Contains(s.spec.Env, kv) {
					t.Errorf("%s: env lacks %s", s.name, kv)
				}
			}
		}
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		info, err := e.Process("early")
		if err != nil || info.State.String() != "RUNNING" || describe(info) != "pid 1001, uptime 0:00:01" {
			t.Fatalf("Process(early) = %+v, %v", info, err)
		}
		if info, _ := e.Process("manual"); info.State.String() != "STOPPED" || describe(info) != "Not started" {
			t.Fatalf("manual = %+v", info)
		}
		wantLinesInOrder(t, log, "INFO spawned: 'early' with pid 1001", "INFO spawned: 'late' with pid 1002",
			"INFO success: early entered RUNNING state")
		var idle bool
		_ = e.call(func(time.Time) { _, pending := e.nextDeadline(); idle = !pending })
		if !idle {
			t.Errorf("a timer is armed while every process is RUNNING")
		}
		if x := stop(); x != ExitShutdown {
			t.Fatalf("Run = %v, want ExitShutdown", x)
		}
	})
}

func TestLoopStartRetriesThenFatal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		cfg := testConfig(t, testProgram(t, "flap", 1, []string{"exit", "0", "0.2"}))
		e, fos, log, stop := runFake(t, cfg)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		var offsets []time.Duration
		for _, s := range fos.startLog() {
			offsets = append(offsets, s.at.Sub(start).Round(100*time.Millisecond))
		}
		// Exits at +0.2 s, then BACKOFF delays of 1, 2, 3 s.
		want := []time.Duration{0, 1200 * time.Millisecond, 3400 * time.Millisecond, 6600 * time.Millisecond}
		if !slices.Equal(offsets, want) {
			t.Fatalf("attempts at %v, want %v", offsets, want)
		}
		info, _ := e.Process("flap")
		if info.State.String() != "FATAL" || describe(info) != "Exited too quickly (process log may have details)" {
			t.Fatalf("info = %+v", info)
		}
		wantLinesInOrder(t, log, "INFO spawned: 'flap' with pid 1001", "WARN exited: flap (exit status 0; not expected)",
			"INFO spawned: 'flap' with pid 1004", "WARN exited: flap (exit status 0; not expected)",
			"INFO gave up: flap entered FATAL state, too many start retries too quickly")
		stop()
	})
}

func TestLoopAutorestartAfterCrashIsImmediate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t,
			testProgram(t, "crash", 1, []string{"exit", "3", "2"}),
			testProgram(t, "clean", 2, []string{"exit", "0", "2"}),
			testProgram(t, "always", 3, []string{"exit", "0", "2"}, func(c *config.Process) { c.Autorestart = config.AutorestartTrue }),
		)
		e, fos, log, stop := runFake(t, cfg)
		time.Sleep(2*time.Second + time.Millisecond)
		synctest.Wait()
		var restarted []string
		for _, s := range fos.startLog()[3:] {
			if s.at.Sub(fos.startLog()[0].at) != 2*time.Second {
				t.Errorf("%s restarted %v after start, want exactly at the exit", s.name, s.at.Sub(fos.startLog()[0].at))
			}
			restarted = append(restarted, s.name)
		}
		slices.Sort(restarted)
		if want := []string{"always", "crash"}; !slices.Equal(restarted, want) {
			t.Fatalf("restarted %v, want %v", restarted, want)
		}
		if info, _ := e.Process("clean"); info.State.String() != "EXITED" || info.ExitStatus != 0 {
			t.Fatalf("clean = %+v", info)
		}
		wantLinesInOrder(t, log, "WARN exited: crash (exit status 3; not expected)")
		stop()
	})
}

func TestLoopShutdownStopsGroupsInReversePriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t,
			testProgram(t, "db", 1, []string{"slow-term", "4"}),
			testProgram(t, "web", 2, []string{"slow-term", "1"}),
		)
		e, fos, log, _ := runFake(t, cfg)
		time.Sleep(2 * time.Second)
		start := time.Now()
		exited := make(chan Exit, 1)
		// Run was started by runFake; Shutdown and watch the order.
		if err := e.Shutdown(); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if err := e.Shutdown(); !errors.Is(err, ErrShutdown) {
			t.Fatalf("second Shutdown = %v, want SHUTDOWN_STATE", err)
		}
		synctest.Wait()
		if got := fos.killLog(); len(got) != 1 || got[0].pid != 1002 {
			t.Fatalf("signals right after shutdown = %v, want only web (1002)", got)
		}
		go func() { <-e.done; exited <- ExitShutdown }()
		<-exited
		took := time.Since(start)
		if took != 5*time.Second {
			t.Errorf("shutdown took %v, want 5s (1s for web, then 4s for db)", took)
		}
		kills := fos.killLog()
		if len(kills) != 2 || kills[1].pid != 1001 {
			t.Fatalf("signals = %v, want web then db", kills)
		}
		wantLinesInOrder(t, log, "INFO waiting for db, web to die", "WARN stopped: web (terminated by SIGTERM)",
			"INFO waiting for db to die", "WARN stopped: db (terminated by SIGTERM)")
		if e.State().String() != "SHUTDOWN" {
			t.Fatalf("state = %+v", e.State())
		}
	})
}

// describe is what getProcessInfo would say of info now.
func describe(info ProcessStatus) string {
	return protocol.Describe(info.State, info.Name, info.PID, info.SpawnErr, unixOrZero(info.Started), unixOrZero(info.Stopped), time.Now().Unix())
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func TestLoopStopIgnoringTermIsKilledAfterStopwaitsecs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t, testProgram(t, "stubborn", 1, []string{"ignore-term"}, func(c *config.Process) {
			c.StopWaitSecs = 3
			c.StopAsGroup, c.KillAsGroup = false, true
		}))
		e, fos, log, stop := runFake(t, cfg)
		time.Sleep(2 * time.Second)
		start := time.Now()
		if err := e.StopProcess(context.Background(), "stubborn", true); err != nil {
			t.Fatalf("StopProcess: %v", err)
		}
		if took := time.Since(start); took != 3*time.Second {
			t.Errorf("stop took %v, want 3s", took)
		}
		if got, want := fos.killLog(), []sent{{1001, 15}, {-1001, 9}}; !slices.Equal(got, want) {
			t.Fatalf("signals = %v, want %v", got, want)
		}
		wantLinesInOrder(t, log, "INFO waiting for stubborn to stop", "INFO waiting for stubborn to stop",
			"WARN killing 'stubborn' (1001) with SIGKILL", "WARN stopped: stubborn (terminated by SIGKILL)")
		if n := strings.Count(strings.Join(log.snapshot(), "\n"), "waiting for stubborn to stop"); n != 2 {
			t.Errorf("%d stop reports in 3 s, want 2 (at 0 and 2 s)", n)
		}
		info, _ := e.Process("stubborn")
		if info.State.String() != "STOPPED" || info.ExitStatus != -1 || describe(info) == "Not started" {
			t.Fatalf("info = %+v", info)
		}
		stop()
	})
}

func TestLoopStartStopWaitSemantics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t,
			testProgram(t, "slow", 1, []string{"run"}, func(c *config.Process) { c.StartSecs, c.Autostart = 3, false }),
			testProgram(t, "quick", 2, []string{"exit", "0", "0.5"}, func(c *config.Process) { c.Autostart = false }),
			testProgram(t, "nofile", 3, nil, func(c *config.Process) { c.Argv = []string{"/nonexistent/prog"}; c.Autostart = false }),
		)
		e, _, _, stop := runFake(t, cfg)
		ctx := context.Background()
		start := time.Now()
		if err := e.StartProcess(ctx, "slow", true); err != nil {
			t.Fatalf("StartProcess(slow) = %v", err)
		}
		if took := time.Since(start); took <= 3*time.Second || took > 3*time.Second+time.Millisecond {
			t.Errorf("start wait took %v, want just over startsecs", took)
		}
		rows := []struct {
			name string
			call func() error
			want error
		}{
			{"already started", func() error { return e.StartProcess(ctx, "slow", true) }, ErrAlreadyStarted},
			{"exits too quickly", func() error { return e.StartProcess(ctx, "quick", true) }, ErrSpawn},
			{"no such file", func() error { return e.StartProcess(ctx, "nofile", true) }, ErrNoCommand},
			{"bad name", func() error { return e.StartProcess(ctx, "nosuch", true) }, ErrNoSuchName},
			{"stop", func() error { return e.StopProcess(ctx, "slow", true) }, nil},
			{"stop again", func() error { return e.StopProcess(ctx, "slow", true) }, ErrNotRunning},
			{"signal stopped", func() error { return e.SignalProcess("slow", "HUP") }, ErrNotRunning},
			{"start without wait", func() error { return e.StartProcess(ctx, "slow", false) }, nil},
			{"bad signal", func() error { return e.SignalProcess("slow", "NOPE") }, ErrBadSignal},
			{"signal", func() error { return e.SignalProcess("slow", "USR1") }, nil},
		}
		for _, r := range rows {
			err := r.call()
			if !errors.Is(err, r.want) {
				t.Errorf("%s: err = %v, want %v", r.name, err, r.want)
			}
		}
		if info, _ := e.Process("slow"); info.State.String() != "STARTING" {
			t.Fatalf("after start without wait: %+v", info)
		}
		stop()
	})
}

func TestLoopGroupResultsInCompletionOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t,
			testProgram(t, "a", 1, []string{"slow-term", "3"}),
			testProgram(t, "b", 2, []string{"slow-term", "1"}),
			testProgram(t, "c", 3, []string{"run"}, func(c *config.Process) { c.Autostart = false }),
		)
		e, _, _, stop := runFake(t, cfg)
		time.Sleep(2 * time.Second)
		res, err := e.StopAllProcesses(context.Background(), true)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range res {
			names = append(names, r.Name)
			if r.Err != nil {
				t.Errorf("result %+v", r)
			}
		}
		if want := []string{"b", "a"}; !slices.Equal(names, want) {
			t.Fatalf("stop results %v, want completion order %v", names, want)
		}
		res, err = e.StartAllProcesses(context.Background(), false)
		if err != nil || len(res) != 3 {
			t.Fatalf("StartAllProcesses = %+v, %v", res, err)
		}
		res, _ = e.StartProcessGroup(context.Background(), "a", true)
		if len(res) != 0 {
			t.Fatalf("start of a running group = %+v, want nothing to do", res)
		}
		if _, err := e.StartProcessGroup(context.Background(), "zz", true); !errors.Is(err, ErrNoSuchName) {
			t.Fatalf("unknown group: %v", err)
		}
		stop()
	})
}

func TestLoopRestartAndUnknownPid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t, testProgram(t, "a", 1, []string{"run"}))
		next := testConfig(t, testProgram(t, "b", 1, []string{"run"}))
		broken := true
		e, fos, log, _ := runFakeWith(t, cfg, func(o *Options) {
			o.Reload = func() (*config.Config, error) {
				if broken {
					return nil, errors.New("program section program:b does not specify a command")
				}
				return next, nil
			}
		})
		fos.exit(4242, exitStatus(0))
		synctest.Wait()
		if !log.find("INFO reaped unknown pid 4242 (exit status 0)") {
			t.Fatalf("unknown pid not logged: %q", log.snapshot())
		}
		// A broken config refuses the restart and touches nothing.
		if err := e.Restart(); !errors.Is(err, ErrReread) {
			t.Fatalf("restart with a broken config: %v", err)
		}
		synctest.Wait()
		if e.State().String() != "RUNNING" || len(fos.killLog()) != 0 || len(fos.startLog()) != 1 {
			t.Fatalf("after a refused restart: state %+v, kills %v, starts %v", e.State(), fos.killLog(), fos.startLog())
		}
		if !log.find("ERRO could not reload the configuration, keeping the previous one: program section program:b does not specify a command") {
			t.Fatalf("refused restart not logged: %q", log.snapshot())
		}
		broken = false
		if err := e.Restart(); err != nil {
			t.Fatal(err)
		}
		if e.State().String() != "RESTARTING" {
			t.Fatalf("state %+v", e.State())
		}
		if err := e.Restart(); !errors.Is(err, ErrShutdown) {
			t.Fatalf("restart during restart: %v", err)
		}
		<-e.done
		if e.exit != ExitRestart || e.RestartConfig() != next {
			t.Fatalf("exit = %v, next config %p (want %p)", e.exit, e.RestartConfig(), next)
		}
		if _, err := e.Process("a"); !errors.Is(err, ErrShutdown) {
			t.Fatalf("ProcessInfo after Run = %v", err)
		}
	})
}

func TestLoopStopRightAfterStartStopsPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t, testProgram(t, "a", 1, []string{"run"}, func(c *config.Process) { c.Autostart = false }))
		e, _, _, stop := runFake(t, cfg)
		ctx := context.Background()
		start := time.Now()
		if err := e.StartProcess(ctx, "a", false); err != nil {
			t.Fatal(err)
		}
		if err := e.StopProcess(ctx, "a", true); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 0 {
			t.Fatalf("start+stop took %v, want no waiting", took)
		}
		if info, _ := e.Process("a"); info.State.String() != "STOPPED" {
			t.Fatalf("state %+v", info)
		}
		stop()
	})
}

func TestLoopStaleStopDeadlineNeverHitsANewInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t, testProgram(t, "a", 1, []string{"slow-term", "1"}, func(c *config.Process) { c.StopWaitSecs = 5 }))
		e, fos, _, stop := runFake(t, cfg)
		ctx := context.Background()
		time.Sleep(2 * time.Second)
		if err := e.StopProcess(ctx, "a", true); err != nil {
			t.Fatal(err)
		}
		if err := e.StartProcess(ctx, "a", true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second) // well past the first instance's SIGKILL deadline
		synctest.Wait()
		if got, want := fos.killLog(), []sent{{1001, 15}}; !slices.Equal(got, want) {
			t.Fatalf("signals = %v, want only the first SIGTERM", got)
		}
		if info, _ := e.Process("a"); info.State.String() != "RUNNING" || info.PID != 1002 {
			t.Fatalf("new instance: %+v", info)
		}
		stop()
	})
}

func TestLoopStartWaitEndsAbnormallyOrOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t, testProgram(t, "a", 1, []string{"run"}, func(c *config.Process) {
			c.StartSecs, c.Autostart = 5, false
		}))
		e, _, _, stop := runFake(t, cfg)
		started := make(chan error, 1)
		go func() { started <- e.StartProcess(context.Background(), "a", true) }()
		time.Sleep(time.Second)
		if err := e.StopProcess(context.Background(), "a", true); err != nil {
			t.Fatal(err)
		}
		if err := <-started; !errors.Is(err, ErrExitedEarly) {
			t.Fatalf("start wait after a stop = %v, want ABNORMAL_TERMINATION", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := e.StartProcess(ctx, "a", true); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("start wait under a 2 s deadline = %v", err)
		}
		synctest.Wait()
		var pending int
		_ = e.call(func(time.Time) { pending = len(e.waiters) })
		if pending != 0 {
			t.Fatalf("%d waiters left after the client went away", pending)
		}
		stop()
	})
}

// In a [group:x] autostart follows programs= as written, while group and
// "all" calls and the shutdown's stop_all order by priority.
func TestLoopHeterogeneousGroupOrders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		x := testProgram(t, "x", 5, []string{"run"}).Processes[0]
		y := testProgram(t, "y", 1, []string{"run"}).Processes[0]
		z := testProgram(t, "z", 9, []string{"run"}).Processes[0]
		for _, pc := range []*config.Process{x, y, z} {
			pc.Group = "g"
		}
		g := &config.Group{Name: "g", Kind: config.KindGroup, Priority: 999, Processes: []*config.Process{x, y, z}}
		e, fos, _, stop := runFake(t, testConfig(t, g))
		if got, want := startNames(fos.startLog()), []string{"x", "y", "z"}; !slices.Equal(got, want) {
			t.Fatalf("autostart order %v, want programs= order %v", got, want)
		}
		time.Sleep(2 * time.Second)
		res, err := e.StopProcessGroup(context.Background(), "g", false)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range res {
			names = append(names, r.Name)
		}
		if want := []string{"y", "x", "z"}; !slices.Equal(names, want) {
			t.Fatalf("stopProcessGroup order %v, want by priority %v", names, want)
		}
		synctest.Wait()
		if _, err := e.StartProcessGroup(context.Background(), "g", true); err != nil {
			t.Fatal(err)
		}
		before := len(fos.killLog())
		if x := stop(); x != ExitShutdown {
			t.Fatalf("Run = %v", x)
		}
		var pids []int
		for _, k := range fos.killLog()[before:] {
			pids = append(pids, k.pid)
		}
		// Restarted as 1004 (y), 1005 (x), 1006 (z): stop_all goes z, x, y.
		if want := []int{1006, 1005, 1004}; !slices.Equal(pids, want) {
			t.Fatalf("shutdown signal order %v, want descending priority %v", pids, want)
		}
	})
}
