package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
)

// dependsOn sets depends_on: "db", "db=exited", … (conditions by name).
func dependsOn(targets ...string) func(*config.Process) {
	return func(c *config.Process) {
		for _, t := range targets {
			name, cond, _ := strings.Cut(t, "=")
			d := config.Dependency{Target: name}
			for _, c := range []config.Condition{config.CondRunning, config.CondStarted, config.CondHealthy, config.CondExited} {
				if c.String() == cond {
					d.Condition = c
				}
			}
			c.DependsOn = append(c.DependsOn, d)
		}
	}
}

func startSecs(n int) func(*config.Process) { return func(c *config.Process) { c.StartSecs = n } }
func noAutostart(c *config.Process)         { c.Autostart = false }

// oneShot is an init task: exits 0 after secs, counted as started at once.
func oneShot(t *testing.T, name string, prio int, secs string, mods ...func(*config.Process)) *config.Group {
	return testProgram(t, name, prio, []string{"exit", "0", secs}, append([]func(*config.Process){func(c *config.Process) {
		c.StartSecs, c.Autorestart = 0, config.AutorestartFalse
	}}, mods...)...)
}

// spawnTimes is when each process was spawned, relative to start.
func spawnTimes(fos *fakeOS, start time.Time) map[string][]time.Duration {
	out := map[string][]time.Duration{}
	for _, s := range fos.startLog() {
		// A dependency is RUNNING 1 ns after its startsecs.
		out[s.name] = append(out[s.name], s.at.Sub(start).Round(time.Millisecond))
	}
	return out
}

func wantStatus(t *testing.T, e *Engine, name, state, note string) ProcessStatus {
	t.Helper()
	info, err := e.Process(name)
	if err != nil {
		t.Fatalf("Process(%s): %v", name, err)
	}
	if info.State.String() != state || info.DependencyNote != note {
		t.Errorf("%s: %s %q, want %s %q", name, info.State, info.DependencyNote, state, note)
	}
	return info
}

// sleepTo advances the bubble's clock to start+d and lets it settle.
func sleepTo(start time.Time, d time.Duration) {
	time.Sleep(time.Until(start.Add(d)))
	synctest.Wait()
}

func TestDependsStartOrders(t *testing.T) {
	s := time.Second
	tests := []struct {
		name   string
		groups func(t *testing.T) []*config.Group
		// wantSpawns is when each process spawns (relative to Run).
		wantSpawns map[string][]time.Duration
		wantLines  []string
	}{
		{
			name: "waits for running, whatever the priority",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					testProgram(t, "api", 1, []string{"run"}, dependsOn("db")),
					testProgram(t, "db", 999, []string{"run"}, startSecs(2)),
				}
			},
			wantSpawns: map[string][]time.Duration{"db": {0}, "api": {2 * s}},
		},
		{
			name: "started is met at the spawn",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					testProgram(t, "api", 1, []string{"run"}, dependsOn("db=started")),
					testProgram(t, "db", 999, []string{"run"}, startSecs(5)),
				}
			},
			wantSpawns: map[string][]time.Duration{"db": {0}, "api": {0}},
		},
		{
			name: "pull-in of autostart=false",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					testProgram(t, "api", 1, []string{"run"}, dependsOn("db")),
					testProgram(t, "db", 2, []string{"run"}, noAutostart),
					testProgram(t, "unrelated", 3, []string{"run"}, noAutostart),
				}
			},
			wantSpawns: map[string][]time.Duration{"db": {0}, "api": {1 * s}},
			wantLines:  []string{"INFO starting db: required by api", "INFO spawned: 'db'", "INFO spawned: 'api'"},
		},
		{
			name: "one-shot exited chain",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					testProgram(t, "app", 1, []string{"run"}, dependsOn("migrate=exited", "db")),
					oneShot(t, "migrate", 2, "3", dependsOn("init=exited", "db")),
					oneShot(t, "init", 3, "2"),
					testProgram(t, "db", 4, []string{"run"}),
				}
			},
			// db RUNNING at 1 s; init exits at 2 s; migrate runs 2-5 s.
			wantSpawns: map[string][]time.Duration{"init": {0}, "db": {0}, "migrate": {2 * s}, "app": {5 * s}},
		},
		{
			name: "numprocs: every instance",
			groups: func(t *testing.T) []*config.Group {
				web := testProgram(t, "web", 2, []string{"run"})
				w1 := *web.Processes[0]
				w1.Name, w1.StartSecs = "web1", 4
				web.Processes[0].Name = "web0"
				web.Processes = append(web.Processes, &w1)
				return []*config.Group{testProgram(t, "api", 1, []string{"run"}, dependsOn("web")), web}
			},
			wantSpawns: map[string][]time.Duration{"web0": {0}, "web1": {0}, "api": {4 * s}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				_, fos, log, stop := runFake(t, testConfig(t, tt.groups(t)...))
				sleepTo(start, 10*time.Second)
				if got := spawnTimes(fos, start); !mapsEqualDurations(got, tt.wantSpawns) {
					t.Errorf("spawns %v, want %v", got, tt.wantSpawns)
				}
				if len(tt.wantLines) > 0 {
					wantLinesInOrder(t, log, tt.wantLines...)
				}
				stop()
			})
		})
	}
}

func mapsEqualDurations(a, b map[string][]time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestDependsWaitDescriptionAndStartProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		cfg := testConfig(t,
			testProgram(t, "api", 1, []string{"run"}, noAutostart, dependsOn("db", "cache=started")),
			testProgram(t, "cache", 2, []string{"run"}, noAutostart),
			testProgram(t, "db", 3, []string{"run"}, noAutostart, startSecs(3)),
		)
		e, fos, log, stop := runFake(t, cfg)
		done := make(chan error, 1)
		go func() { done <- e.StartProcess(context.Background(), "api", true) }()
		synctest.Wait()
		wantStatus(t, e, "api", "STOPPED", "waiting for db (running)")
		wantLinesInOrder(t, log, "INFO starting db: required by api", "INFO starting cache: required by api")
		sleepTo(start, 2*time.Second)
		select {
		case err := <-done:
			t.Fatalf("StartProcess returned %v before db was RUNNING", err)
		default:
		}
		sleepTo(start, 5*time.Second)
		if err := <-done; err != nil {
			t.Fatalf("StartProcess(api) = %v", err)
		}
		if got := spawnTimes(fos, start)["api"]; !slices.Equal(got, []time.Duration{3 * time.Second}) {
			t.Errorf("api spawned at %v, want 3s", got)
		}
		wantStatus(t, e, "api", "RUNNING", "")
		stop()
	})
}

func TestDependsFailures(t *testing.T) {
	tests := []struct {
		name     string
		groups   func(t *testing.T) []*config.Group
		at       time.Duration
		wantNote string
	}{
		{
			name: "dependency FATAL",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					testProgram(t, "api", 1, []string{"run"}, dependsOn("db")),
					testProgram(t, "db", 2, []string{"exit", "1", "0.1"}, func(c *config.Process) { c.StartRetries = 1 }),
				}
			},
			at:       5 * time.Second,
			wantNote: "dependency failed: db entered FATAL",
		},
		{
			name: "timeout",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					testProgram(t, "api", 1, []string{"run"}, dependsOn("db"), func(c *config.Process) { c.DependsOnTimeoutSecs = 5 }),
					testProgram(t, "db", 2, []string{"run"}, startSecs(100)),
				}
			},
			at:       6 * time.Second,
			wantNote: "dependency failed: timed out after 5 s waiting for db (running)",
		},
		{
			name: "one-shot failed",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					testProgram(t, "app", 1, []string{"run"}, dependsOn("init=exited")),
					testProgram(t, "init", 2, []string{"exit", "3", "1"}, func(c *config.Process) { c.StartSecs, c.Autorestart = 0, config.AutorestartFalse }),
				}
			},
			at:       2 * time.Second,
			wantNote: "dependency failed: init exited (exit status 3)",
		},
		{
			name: "a failure propagates along the chain",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					testProgram(t, "web", 1, []string{"run"}, dependsOn("api")),
					testProgram(t, "api", 2, []string{"run"}, dependsOn("db")),
					testProgram(t, "db", 3, []string{"exit", "1", "0.1"}, func(c *config.Process) { c.StartRetries = 0 }),
				}
			},
			at:       2 * time.Second,
			wantNote: "dependency failed: api did not start (dependency failed: db entered FATAL)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				groups := tt.groups(t)
				e, fos, log, stop := runFake(t, testConfig(t, groups...))
				sleepTo(start, tt.at)
				first := groups[0].Processes[0].Name
				info := wantStatus(t, e, first, "STOPPED", tt.wantNote)
				if info.SpawnErr != tt.wantNote {
					t.Errorf("spawnerr %q, want %q", info.SpawnErr, tt.wantNote)
				}
				if !log.find("WARN not starting " + first + ": " + tt.wantNote) {
					t.Errorf("no WARN line; log:\n%s", strings.Join(log.snapshot(), "\n"))
				}
				if slices.Contains(startNames(fos.startLog()), first) {
					t.Errorf("%s was spawned", first)
				}
				// No illegal transition was attempted.
				if log.find("refused illegal transition") {
					t.Errorf("illegal transition:\n%s", strings.Join(log.snapshot(), "\n"))
				}
				// An explicit start waits again and fails again with
				// SPAWN_ERROR (a dependency FATAL is pulled in again).
				if tt.name == "dependency FATAL" {
					err := e.StartProcess(context.Background(), first, true)
					if !errors.Is(err, ErrSpawn) {
						t.Errorf("StartProcess after the failure = %v, want SPAWN_ERROR", err)
					}
				}
				stop()
			})
		})
	}
}

func TestDependsStopHoldsAndRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		cfg := testConfig(t,
			testProgram(t, "api", 1, []string{"slow-term", "2"}, dependsOn("db")),
			testProgram(t, "web", 2, []string{"run"}, dependsOn("api")),
			testProgram(t, "db", 3, []string{"run"}),
		)
		e, fos, log, stop := runFake(t, cfg)
		sleepTo(start, 5*time.Second)
		for _, n := range []string{"db", "api", "web"} {
			wantStatus(t, e, n, "RUNNING", "")
		}
		stopAt := time.Now()
		if err := e.StopProcess(context.Background(), "db", true); err != nil {
			t.Fatalf("StopProcess(db) = %v", err)
		}
		if took := time.Since(stopAt); took != 2*time.Second {
			t.Errorf("stop db took %v, want 2s (api's slow stop first)", took)
		}
		// web, then api, then db: never a dependency before its dependents.
		var order []int
		for _, k := range fos.killLog() {
			order = append(order, k.pid)
		}
		db, api, web := pidOf(t, fos, "db"), pidOf(t, fos, "api"), pidOf(t, fos, "web")
		if !slices.Equal(order, []int{web, api, db}) {
			t.Errorf("signals to %v, want web %d, api %d, db %d", order, web, api, db)
		}
		wantLinesInOrder(t, log, "INFO stopping api: depends on db", "INFO stopping web: depends on api",
			"stopped: web", "stopped: api", "stopped: db")
		wantStatus(t, e, "api", "STOPPED", "waiting for db (running)")
		wantStatus(t, e, "web", "STOPPED", "waiting for api (running)")
		// A start of db brings the held dependents back, in order.
		if err := e.StartProcess(context.Background(), "db", true); err != nil {
			t.Fatalf("StartProcess(db) = %v", err)
		}
		sleepTo(stopAt, 10*time.Second)
		for _, n := range []string{"db", "api", "web"} {
			wantStatus(t, e, n, "RUNNING", "")
		}
		times := spawnTimes(fos, start)
		if len(times["api"]) != 2 || len(times["web"]) != 2 || times["web"][1]-times["api"][1] != time.Second {
			t.Errorf("respawns %v: want api then web one startsecs later", times)
		}
		// An explicit stop of a held process clears the hold.
		if err := e.StopProcess(context.Background(), "db", true); err != nil {
			t.Fatal(err)
		}
		if err := e.StopProcess(context.Background(), "web", true); err != nil {
			t.Fatalf("StopProcess(web) while held = %v", err)
		}
		wantStatus(t, e, "web", "STOPPED", "")
		if err := e.StartProcess(context.Background(), "db", true); err != nil {
			t.Fatal(err)
		}
		sleepTo(stopAt, 30*time.Second)
		wantStatus(t, e, "api", "RUNNING", "")
		wantStatus(t, e, "web", "STOPPED", "")
		stop()
	})
}

func pidOf(t *testing.T, fos *fakeOS, name string) int {
	t.Helper()
	pid := 0
	for _, s := range fos.startLog() {
		if s.name == name {
			pid = s.pid
		}
	}
	if pid == 0 {
		t.Fatalf("%s never spawned", name)
	}
	return pid
}

func TestDependsShutdownAndStopAllOrder(t *testing.T) {
	for _, viaStopAll := range []bool{false, true} {
		name := "shutdown"
		if viaStopAll {
			name = "stop all"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				// Reverse priority would stop db (3) first; its dependents
				// go first all the same.
				cfg := testConfig(t,
					testProgram(t, "api", 1, []string{"slow-term", "2"}, dependsOn("db")),
					testProgram(t, "other", 2, []string{"slow-term", "1"}),
					testProgram(t, "db", 3, []string{"slow-term", "1"}),
				)
				e, fos, _, stop := runFake(t, cfg)
				sleepTo(start, 5*time.Second)
				at := time.Now()
				if viaStopAll {
					outcomes, err := e.StopAllProcesses(context.Background(), true)
					if err != nil || len(outcomes) != 3 {
						t.Fatalf("StopAllProcesses = %v, %v", outcomes, err)
					}
					for _, o := range outcomes {
						if o.Err != nil {
							t.Errorf("%s: %v", o.Name, o.Err)
						}
					}
				} else {
					stop()
				}
				kills := fos.killLog()
				db, api := pidOf(t, fos, "db"), pidOf(t, fos, "api")
				var dbAt, apiAt = -1, -1
				for i, k := range kills {
					switch k.pid {
					case db:
						dbAt = i
					case api:
						apiAt = i
					}
				}
				if apiAt < 0 || dbAt < apiAt {
					t.Errorf("signals %v: api (%d) must be signalled before db (%d)", kills, api, db)
				}
				// A shutdown stops one group at a time: db's first (api
				// 2 s, then db 1 s), then other's (1 s). stop all stops
				// everything at once but db, which waits for api.
				want := 4 * time.Second
				if viaStopAll {
					want = 3 * time.Second
				}
				if took := time.Since(at); took != want {
					t.Errorf("took %v, want %v", took, want)
				}
				if viaStopAll {
					// Nothing is held: a stop of everything named api too.
					if err := e.StartProcess(context.Background(), "db", true); err != nil {
						t.Fatal(err)
					}
					sleepTo(at, 20*time.Second)
					wantStatus(t, e, "api", "STOPPED", "")
					stop()
				}
			})
		})
	}
}

func TestDependsCrashLeavesDependentsRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		cfg := testConfig(t,
			testProgram(t, "api", 1, []string{"run"}, dependsOn("db")),
			testProgram(t, "db", 2, []string{"exit", "1", "3"}),
		)
		e, fos, log, stop := runFake(t, cfg)
		sleepTo(start, 3500*time.Millisecond)
		wantLinesInOrder(t, log, "WARN db exited while api, which depend on it, run on")
		wantStatus(t, e, "api", "RUNNING", "")
		if got := spawnTimes(fos, start)["api"]; len(got) != 1 {
			t.Errorf("api spawned %v times", got)
		}
		stop()
	})
}

func TestExitPolicies(t *testing.T) {
	tests := []struct {
		name       string
		allEnded   bool
		groups     func(t *testing.T) []*config.Group
		wantStatus int
		wantAt     time.Duration // the shutdown has finished by then; 0 = no exit
		wantLine   string
	}{
		{
			name: "exit_on_fatal",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					testProgram(t, "svc", 1, []string{"exit", "3", "0.1"}, func(c *config.Process) { c.StartRetries, c.ExitOnFatal = 0, true }),
					testProgram(t, "other", 2, []string{"run"}),
				}
			},
			wantStatus: 1, wantAt: 2 * time.Second, wantLine: "WARN svc failed to start (exit_on_fatal): shutting down, exit status 1",
		},
		{
			name: "exit_on_end code",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{testProgram(t, "job", 1, []string{"exit", "3", "2"}, func(c *config.Process) {
					c.Autorestart, c.ExitOnEnd = config.AutorestartFalse, config.ExitOnEndAlways
				})}
			},
			wantStatus: 3, wantAt: 3 * time.Second, wantLine: "WARN job ended (exit_on_end): shutting down, exit status 3",
		},
		{
			name: "exit_on_end unexpected ignores an expected end",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					testProgram(t, "job", 1, []string{"exit", "0", "2"}, func(c *config.Process) { c.ExitOnEnd = config.ExitOnEndUnexpected }),
				}
			},
		},
		{
			name: "exit_on_end waits while autorestart restarts",
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					testProgram(t, "job", 1, []string{"exit", "4", "2"}, func(c *config.Process) { c.ExitOnEnd = config.ExitOnEndUnexpected }),
				}
			},
		},
		{
			name:     "exit_when_all_ended, all expected",
			allEnded: true,
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					oneShot(t, "a", 1, "1"), oneShot(t, "b", 2, "2"),
					testProgram(t, "manual", 3, []string{"run"}, noAutostart),
				}
			},
			wantStatus: 0, wantAt: 3 * time.Second, wantLine: "WARN every process has ended (exit_when_all_ended): shutting down, exit status 0",
		},
		{
			name:     "exit_when_all_ended, one unexpected",
			allEnded: true,
			groups: func(t *testing.T) []*config.Group {
				return []*config.Group{
					oneShot(t, "a", 1, "1"),
					testProgram(t, "b", 2, []string{"exit", "2", "2"}, func(c *config.Process) { c.StartSecs, c.Autorestart = 0, config.AutorestartFalse }),
				}
			},
			wantStatus: 1, wantAt: 3 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				cfg := testConfig(t, tt.groups(t)...)
				cfg.Supervisord.ExitWhenAllEnded = tt.allEnded
				e, _, log, stop := runFake(t, cfg)
				sleepTo(start, 10*time.Second)
				select {
				case <-e.done:
					if tt.wantAt == 0 {
						t.Fatalf("the engine ended:\n%s", strings.Join(log.snapshot(), "\n"))
					}
				default:
					if tt.wantAt != 0 {
						t.Fatalf("the engine still runs:\n%s", strings.Join(log.snapshot(), "\n"))
					}
					stop()
					if e.ExitStatus() != 0 {
						t.Errorf("ExitStatus after a plain shutdown = %d", e.ExitStatus())
					}
					return
				}
				if got := e.ExitStatus(); got != tt.wantStatus {
					t.Errorf("ExitStatus = %d, want %d", got, tt.wantStatus)
				}
				if tt.wantLine != "" {
					wantLinesInOrder(t, log, tt.wantLine)
				}
			})
		})
	}
}

func TestBackoffMaxAndRetryForever(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		cfg := testConfig(t,
			testProgram(t, "expo", 1, []string{"exit", "1", "0"}, func(c *config.Process) { c.StartRetries, c.BackoffMaxSecs = -1, 8 }),
			testProgram(t, "linear", 2, []string{"exit", "1", "0"}, func(c *config.Process) { c.StartRetries = -1 }),
			// Only -1 means forever: -2 gives up at once, as in the reference.
			testProgram(t, "minus2", 3, []string{"exit", "1", "0"}, func(c *config.Process) { c.StartRetries = -2 }),
		)
		e, fos, _, stop := runFake(t, cfg)
		sleepTo(start, 60*time.Second)
		times := spawnTimes(fos, start)
		s := time.Second
		// Delays 1, 2, 4, 8, 8, 8 … after each failure.
		wantExpo := []time.Duration{0, 1 * s, 3 * s, 7 * s, 15 * s, 23 * s, 31 * s, 39 * s, 47 * s, 55 * s}
		if !slices.Equal(times["expo"], wantExpo) {
			t.Errorf("expo attempts %v, want %v", times["expo"], wantExpo)
		}
		// The reference's 1, 2, 3 … and never FATAL.
		wantLinear := []time.Duration{0, 1 * s, 3 * s, 6 * s, 10 * s, 15 * s, 21 * s, 28 * s, 36 * s, 45 * s, 55 * s}
		if !slices.Equal(times["linear"], wantLinear) {
			t.Errorf("linear attempts %v, want %v", times["linear"], wantLinear)
		}
		for _, n := range []string{"expo", "linear"} {
			if info, _ := e.Process(n); info.State != protocol.StateBackoff {
				t.Errorf("%s: %s, want BACKOFF", n, info.State)
			}
		}
		if info, _ := e.Process("minus2"); info.State != protocol.StateFatal || len(times["minus2"]) != 1 {
			t.Errorf("minus2: %s after %d attempts, want FATAL after 1", info.State, len(times["minus2"]))
		}
		stop()
	})
}

func TestDependsStartAllAndStopWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t,
			testProgram(t, "api", 1, []string{"run"}, noAutostart, dependsOn("db")),
			testProgram(t, "db", 2, []string{"run"}, noAutostart, startSecs(2)),
		)
		e, _, log, stop := runFake(t, cfg)
		outcomes, err := e.StartAllProcesses(context.Background(), true)
		if err != nil || len(outcomes) != 2 || outcomes[0].Err != nil || outcomes[1].Err != nil {
			t.Fatalf("StartAllProcesses = %+v, %v", outcomes, err)
		}
		if log.find("required by") {
			t.Errorf("db was pulled in although the request starts it:\n%s", strings.Join(log.snapshot(), "\n"))
		}
		// A stop of a process that waits for its dependencies cancels the
		// wait, and its start answers ABNORMAL_TERMINATION.
		if _, err := e.StopAllProcesses(context.Background(), true); err != nil {
			t.Fatal(err)
		}
		startErr := make(chan error, 1)
		go func() { startErr <- e.StartProcess(context.Background(), "api", true) }()
		synctest.Wait()
		wantStatus(t, e, "api", "STOPPED", "waiting for db (running)")
		if err := e.StopProcess(context.Background(), "api", true); err != nil {
			t.Errorf("StopProcess(api) while waiting = %v", err)
		}
		if err := <-startErr; !errors.Is(err, ErrExitedEarly) {
			t.Errorf("StartProcess(api) = %v, want ABNORMAL_TERMINATION", err)
		}
		wantStatus(t, e, "api", "STOPPED", "")
		stop()
	})
}

// Groups of different configs (a partial update) can form a cycle each
// config alone did not have: the start that waits on the edge closing it
// fails with the cycle as the reason, and the stop order ignores that
// edge: nothing waits for ever.
func TestDependsCycleAcrossConfigs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		first := testConfig(t,
			testProgram(t, "a", 1, []string{"run"}, dependsOn("b")),
			testProgram(t, "b", 2, []string{"run"}),
		)
		second := testConfig(t,
			testProgram(t, "a", 1, []string{"run"}),
			testProgram(t, "b", 2, []string{"run"}, dependsOn("a")),
		)
		e, _, log, stop := runFakeWith(t, first, func(o *Options) {
			o.Reload = func() (*config.Config, error) { return second, nil }
		})
		time.Sleep(3 * time.Second)
		if _, changed, _, err := e.ReloadConfig(); err != nil || !slices.Equal(changed, []string{"a", "b"}) {
			t.Fatalf("ReloadConfig: changed %v, %v", changed, err)
		}
		// update b only: the old a (a -> b) and the new b (b -> a).
		if _, err := e.StopProcessGroup(context.Background(), "b", true); err != nil {
			t.Fatal(err)
		}
		if err := e.RemoveProcessGroup("b"); err != nil {
			t.Fatal(err)
		}
		if err := e.AddProcessGroup("b"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		wantLinesInOrder(t, log, "ERRO depends_on cycle: a -> b -> a")
		wantStatus(t, e, "b", "STOPPED", "dependency failed: depends_on cycle: a -> b -> a")
		// a was held by the stop of b, and waits for it.
		wantStatus(t, e, "a", "STOPPED", "waiting for b (running)")
		if x := stop(); x != ExitShutdown {
			t.Errorf("Run = %v", x)
		}
	})
}
