package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
)

// recLog records main-log lines as "LEVL text".
type recLog struct {
	mu    sync.Mutex
	lines []string
	debug bool
}

func levelTag(l protocol.Level) string {
	switch l {
	case protocol.LevelCritical:
		return "CRIT"
	case protocol.LevelError:
		return "ERRO"
	case protocol.LevelWarn:
		return "WARN"
	case protocol.LevelInfo:
		return "INFO"
	case protocol.LevelDebug:
		return "DEBG"
	case protocol.LevelTrace:
		return "TRAC"
	}
	return "BLAT"
}

func (r *recLog) Logf(level protocol.Level, format string, args ...any) {
	if level < protocol.LevelDebug {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, levelTag(level)+" "+fmt.Sprintf(format, args...))
}

func (r *recLog) Enabled(level protocol.Level) bool { return r.debug || level >= protocol.LevelInfo }

func (r *recLog) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

// find reports whether some line contains s.
func (r *recLog) find(s string) bool {
	for _, l := range r.snapshot() {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

type sent struct {
	pid int
	sig syscall.Signal
}

func testProcConfig(mods ...func(*config.Process)) *config.Process {
	pc := &config.Process{
		Name: "p", Group: "p", ProgramName: "p", NumProcs: 1,
		Command: "/bin/true", Argv: []string{"/bin/true"}, Umask: -1, Priority: 999,
		Autostart: true, Autorestart: config.AutorestartUnexpected, StartSecs: 1, StartRetries: 3,
		ExitCodes: []int{0}, StopSignal: syscall.SIGTERM, StopWaitSecs: 10, UID: -1, GID: -1, ServerURL: "AUTO",
	}
	for _, m := range mods {
		m(pc)
	}
	return pc
}

func exitStatus(code int) syscall.WaitStatus         { return syscall.WaitStatus(code << 8) }
func killedBy(sig syscall.Signal) syscall.WaitStatus { return syscall.WaitStatus(sig) }

var t0 = time.Date(2026, 11, 30, 2, 17, 0, 0, time.Local)

func sec(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestMachineTransitions(t *testing.T) {
	t.Parallel()
	type row struct {
		name    string
		cfg     []func(*config.Process)
		setup   func(p *process)
		spawnOK bool
		killErr error
		event   func(m *machine, p *process)
		// survivors are the live members of any process group.
		survivors []Survivor

		wantDaemonized string

		wantState   protocol.ProcessState
		wantLines   []string
		wantSent    []sent
		wantSpawns  int
		wantBackoff int
		wantExit    int
		wantSpawnEr string
		wantDue     deadlines
	}
	starting := func(at float64) func(p *process) {
		return func(p *process) {
			p.state, p.pid, p.started = protocol.StateStarting, 42, sec(at)
			p.due.running = sec(at).Add(time.Duration(p.cfg.StartSecs) * time.Second).Add(time.Nanosecond)
		}
	}
	runningAt := func(at float64) func(p *process) {
		return func(p *process) { p.state, p.pid, p.started = protocol.StateRunning, 42, sec(at) }
	}
	// backoff puts p in BACKOFF after its nth failure at a time.
	backoff := func(n int, at float64) func(p *process) {
		return func(p *process) {
			p.state, p.backoff = protocol.StateBackoff, n
			p.due.retry = sec(at).Add(time.Duration(n) * time.Second).Add(time.Nanosecond)
		}
	}
	tick := func(at float64) func(m *machine, p *process) {
		return func(m *machine, p *process) { m.transition(p, sec(at), protocol.SupervisorRunning) }
	}
	finish := func(ws syscall.WaitStatus, at float64) func(m *machine, p *process) {
		return func(m *machine, p *process) { m.finish(p, ws, sec(at)) }
	}
	rows := []row{
		{name: "autostart spawns a never-started process", spawnOK: true, event: tick(0),
			wantState: protocol.StateStarting, wantSpawns: 1, wantLines: []string{"INFO spawned: 'p' with pid 100"},
			wantDue: deadlines{running: sec(0).Add(time.Second + time.Nanosecond)}},
		{name: "no autostart", cfg: []func(*config.Process){func(c *config.Process) { c.Autostart = false }},
			event: tick(0), wantState: protocol.StateStopped},
		{name: "stopped after a run is not autostarted", setup: func(p *process) { p.started = sec(-5) },
			event: tick(0), wantState: protocol.StateStopped},
		{name: "no spawn while shutting down", spawnOK: true,
			event:     func(m *machine, p *process) { m.transition(p, sec(0), protocol.SupervisorShutdown) },
			wantState: protocol.StateStopped},
		{name: "spawn failure enters BACKOFF", spawnOK: false, event: tick(0),
			wantState: protocol.StateBackoff, wantSpawns: 1, wantBackoff: 1, wantSpawnEr: "can't find command '/nope'",
			wantLines: []string{"INFO spawnerr: can't find command '/nope'"},
			wantDue:   deadlines{retry: sec(0).Add(time.Second + time.Nanosecond)}},
		{name: "spawn refused while a pid is set", setup: func(p *process) { p.state, p.pid = protocol.StateExited, 7 },
			event:     func(m *machine, p *process) { m.spawnProcess(p, sec(0)) },
			wantState: protocol.StateExited, wantLines: []string{"WARN process 'p' already running"}},
		{name: "spawn from RUNNING is illegal", setup: func(p *process) { p.state = protocol.StateRunning },
			event:     func(m *machine, p *process) { m.spawnProcess(p, sec(0)) },
			wantState: protocol.StateRunning, wantLines: []string{"CRIT refused illegal transition of p from RUNNING to STARTING"}},
		{name: "illegal move STOPPED to RUNNING", event: func(m *machine, p *process) { m.changeState(p, protocol.StateRunning, sec(0)) },
			wantState: protocol.StateStopped, wantLines: []string{"CRIT refused illegal transition of p from STOPPED to RUNNING"}},
		{name: "illegal move EXITED to STOPPING", setup: func(p *process) { p.state = protocol.StateExited },
			event:     func(m *machine, p *process) { m.changeState(p, protocol.StateStopping, sec(0)) },
			wantState: protocol.StateExited, wantLines: []string{"CRIT refused illegal transition of p from EXITED to STOPPING"}},
		{name: "STARTING stays before startsecs", setup: starting(0), event: tick(0.9), wantState: protocol.StateStarting,
			wantDue: deadlines{running: sec(0).Add(time.Second + time.Nanosecond)}},
		{name: "STARTING needs strictly more than startsecs", setup: starting(0), event: tick(1), wantState: protocol.StateStarting,
			wantDue: deadlines{running: sec(0).Add(time.Second + time.Nanosecond)}},
		{name: "STARTING becomes RUNNING after startsecs", setup: starting(0), event: tick(1.001),
			wantState: protocol.StateRunning,
			wantLines: []string{"INFO success: p entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)"}},
		{name: "startsecs=0 is RUNNING on the next tick", cfg: []func(*config.Process){func(c *config.Process) { c.StartSecs = 0 }},
			setup: starting(0), event: tick(0.000001), wantState: protocol.StateRunning,
			wantLines: []string{"INFO success: p entered RUNNING state, process has stayed up for > than 0 seconds (startsecs)"}},
		{name: "BACKOFF waits for its delay", setup: backoff(2, 0), event: tick(2), wantState: protocol.StateBackoff, wantBackoff: 2,
			wantDue: deadlines{retry: sec(2).Add(time.Nanosecond)}},
		{name: "BACKOFF retries after its delay", spawnOK: true, setup: backoff(2, 0),
			event: tick(2.01), wantState: protocol.StateStarting, wantSpawns: 1, wantBackoff: 2,
			wantLines: []string{"INFO spawned: 'p' with pid 100"},
			wantDue:   deadlines{running: sec(2.01).Add(time.Second + time.Nanosecond)}},
		{name: "BACKOFF gives up after startretries", setup: func(p *process) { p.state, p.backoff = protocol.StateBackoff, 4 },
			event: tick(10), wantState: protocol.StateFatal,
			wantLines: []string{"INFO gave up: p entered FATAL state, too many start retries too quickly"}},
		{name: "startretries=0 gives up after the first failure",
			cfg:   []func(*config.Process){func(c *config.Process) { c.StartRetries = 0 }},
			setup: func(p *process) { p.state, p.backoff = protocol.StateBackoff, 1 }, event: tick(0), wantState: protocol.StateFatal,
			wantLines: []string{"INFO gave up: p entered FATAL state, too many start retries too quickly"}},
		{name: "EXITED autorestart=true restarts", spawnOK: true,
			cfg:   []func(*config.Process){func(c *config.Process) { c.Autorestart = config.AutorestartTrue }},
			setup: func(p *process) { p.state, p.started = protocol.StateExited, sec(-9) }, event: tick(0),
			wantState: protocol.StateStarting, wantSpawns: 1, wantLines: []string{"INFO spawned: 'p' with pid 100"},
			wantDue: deadlines{running: sec(0).Add(time.Second + time.Nanosecond)}},
		{name: "EXITED unexpected keeps an expected exit", setup: func(p *process) { p.state, p.exitStatus, p.started = protocol.StateExited, 0, sec(-9) },
			event: tick(0), wantState: protocol.StateExited},
		{name: "EXITED unexpected restarts an unexpected exit", spawnOK: true,
			setup: func(p *process) { p.state, p.exitStatus, p.started = protocol.StateExited, 3, sec(-9) },
			event: tick(0), wantState: protocol.StateStarting, wantSpawns: 1, wantLines: []string{"INFO spawned: 'p' with pid 100"},
			wantDue: deadlines{running: sec(0).Add(time.Second + time.Nanosecond)}},
		{name: "EXITED autorestart=false stays",
			cfg:   []func(*config.Process){func(c *config.Process) { c.Autorestart = config.AutorestartFalse }},
			setup: func(p *process) { p.state, p.exitStatus, p.started = protocol.StateExited, 3, sec(-9) },
			event: tick(0), wantState: protocol.StateExited, wantExit: 3},
		{name: "exit before startsecs is BACKOFF even with an expected code", setup: starting(0),
			event: finish(exitStatus(0), 0.5), wantState: protocol.StateBackoff, wantBackoff: 1,
			wantSpawnEr: "Exited too quickly (process log may have details)",
			wantLines:   []string{"WARN exited: p (exit status 0; not expected)"},
			wantDue:     deadlines{retry: sec(0.5).Add(time.Second + time.Nanosecond)}},
		{name: "exit after startsecs before the tick passes through RUNNING", setup: starting(0),
			event: finish(exitStatus(0), 1.5), wantState: protocol.StateExited,
			wantLines: []string{"INFO exited: p (exit status 0; expected)"}},
		{name: "unexpected exit code", setup: runningAt(0), event: finish(exitStatus(3), 5),
			wantState: protocol.StateExited, wantExit: 3, wantSpawnEr: "Bad exit code 3",
			wantLines: []string{"WARN exited: p (exit status 3; not expected)"}},
		{name: "death by signal is exit status -1", setup: runningAt(0), event: finish(killedBy(syscall.SIGKILL), 5),
			wantState: protocol.StateExited, wantExit: -1, wantSpawnEr: "Bad exit code -1",
			wantLines: []string{"WARN exited: p (terminated by SIGKILL; not expected)"}},
		{name: "core dump is reported", setup: runningAt(0), event: finish(syscall.WaitStatus(int(syscall.SIGSEGV)|0x80), 5),
			wantState: protocol.StateExited, wantExit: -1, wantSpawnEr: "Bad exit code -1",
			wantLines: []string{"WARN exited: p (terminated by SIGSEGV (core dumped); not expected)"}},
		{name: "stop sends the stop signal", setup: runningAt(0),
			event:     func(m *machine, p *process) { m.stopProcess(p, sec(3)) },
			wantState: protocol.StateStopping, wantSent: []sent{{42, syscall.SIGTERM}},
			wantLines: []string{"DEBG killing p (pid 42) with signal SIGTERM"},
			wantDue:   deadlines{kill: sec(13)}},
		{name: "stopasgroup signals the process group",
			cfg:   []func(*config.Process){func(c *config.Process) { c.StopAsGroup, c.KillAsGroup = true, true }},
			setup: runningAt(0), event: func(m *machine, p *process) { m.stopProcess(p, sec(3)) },
			wantState: protocol.StateStopping, wantSent: []sent{{-42, syscall.SIGTERM}},
			wantLines: []string{"DEBG killing p (pid 42) process group with signal SIGTERM"},
			wantDue:   deadlines{kill: sec(13)}},
		{name: "stop in BACKOFF is STOPPED without a signal",
			setup:     func(p *process) { p.state, p.backoff = protocol.StateBackoff, 1 },
			event:     func(m *machine, p *process) { m.stopProcess(p, sec(3)) },
			wantState: protocol.StateStopped, wantBackoff: 1,
			wantLines: []string{"DEBG Attempted to kill p, which is in BACKOFF state."}},
		{name: "stop of an already dead child stays STOPPING", setup: runningAt(0), killErr: syscall.ESRCH,
			event:     func(m *machine, p *process) { m.stopProcess(p, sec(3)) },
			wantState: protocol.StateStopping, wantSent: []sent{{42, syscall.SIGTERM}},
			wantLines: []string{"DEBG killing p (pid 42) with signal SIGTERM",
				"DEBG unable to signal p (pid 42), it probably just exited on its own: no such process"},
			wantDue: deadlines{kill: sec(13)}},
		{name: "an unexpected kill error is UNKNOWN", setup: runningAt(0), killErr: syscall.EPERM,
			event:     func(m *machine, p *process) { m.stopProcess(p, sec(3)) },
			wantState: protocol.StateUnknown, wantSent: []sent{{42, syscall.SIGTERM}},
			wantLines: []string{"DEBG killing p (pid 42) with signal SIGTERM",
				"CRIT unknown problem killing p (42):operation not permitted"}},
		{name: "STOPPING waits for stopwaitsecs",
			setup: func(p *process) { p.state, p.pid, p.killing, p.due.kill = protocol.StateStopping, 42, true, sec(10) },
			event: tick(9.99), wantState: protocol.StateStopping,
			wantDue: deadlines{kill: sec(10)}},
		{name: "STOPPING past stopwaitsecs is killed",
			cfg:   []func(*config.Process){func(c *config.Process) { c.StopAsGroup, c.KillAsGroup = false, true }},
			setup: func(p *process) { p.state, p.pid, p.killing, p.due.kill = protocol.StateStopping, 42, true, sec(10) },
			event: tick(10), wantState: protocol.StateStopping, wantSent: []sent{{-42, syscall.SIGKILL}},
			wantLines: []string{"WARN killing 'p' (42) with SIGKILL", "WARN " + ignoredTERM, "DEBG killing p (pid 42) process group with signal SIGKILL"},
			wantDue:   deadlines{kill: sec(20)}},
		{name: "a SIGKILL not reaped in time is warned about once",
			setup: func(p *process) {
				p.state, p.pid, p.killing, p.due.kill, p.killWarned = protocol.StateStopping, 42, true, sec(10), true
			},
			event: tick(10), wantState: protocol.StateStopping, wantSent: []sent{{42, syscall.SIGKILL}},
			wantLines: []string{"WARN killing 'p' (42) with SIGKILL", "DEBG killing p (pid 42) with signal SIGKILL"},
			wantDue:   deadlines{kill: sec(20)}},
		{name: "a quick expected exit leaving its process group alive is warned about", setup: starting(0),
			survivors: []Survivor{{43, "sleep"}},
			event:     finish(exitStatus(0), 0.5), wantState: protocol.StateBackoff, wantBackoff: 1,
			wantSpawnEr:    "Exited too quickly (process log may have details)",
			wantLines:      []string{"WARN exited: p (exit status 0; not expected)", "WARN " + daemonized43},
			wantDaemonized: daemonized43,
			wantDue:        deadlines{retry: sec(0.5).Add(time.Second + time.Nanosecond)}},
		{name: "the daemonize warning is given once a start",
			setup:     func(p *process) { starting(0)(p); p.daemonized = "earlier" },
			survivors: []Survivor{{44, "sleep"}},
			event:     finish(exitStatus(0), 0.5), wantState: protocol.StateBackoff, wantBackoff: 1,
			wantSpawnEr:    "Exited too quickly (process log may have details)",
			wantLines:      []string{"WARN exited: p (exit status 0; not expected)"},
			wantDaemonized: "earlier",
			wantDue:        deadlines{retry: sec(0.5).Add(time.Second + time.Nanosecond)}},
		{name: "a quick unexpected exit is a crash, not a daemon", setup: starting(0),
			survivors: []Survivor{{43, "sleep"}},
			event:     finish(exitStatus(1), 0.5), wantState: protocol.StateBackoff, wantBackoff: 1,
			wantSpawnEr: "Exited too quickly (process log may have details)",
			wantLines:   []string{"WARN exited: p (exit status 1; not expected)"},
			wantDue:     deadlines{retry: sec(0.5).Add(time.Second + time.Nanosecond)}},
		{name: "an exit after startsecs is not a daemon", setup: starting(0),
			survivors: []Survivor{{43, "sleep"}},
			event:     finish(exitStatus(0), 1.5), wantState: protocol.StateExited,
			wantLines: []string{"INFO exited: p (exit status 0; expected)"}},
		{name: "FATAL after a daemonize warning says it",
			setup: func(p *process) { p.state, p.backoff, p.daemonized = protocol.StateBackoff, 4, daemonized43 },
			event: tick(10), wantState: protocol.StateFatal, wantSpawnEr: daemonized43, wantDaemonized: daemonized43,
			wantLines: []string{"INFO gave up: p entered FATAL state, too many start retries too quickly"}},
		{name: "a retry keeps the daemonize warning", spawnOK: true,
			setup: func(p *process) { backoff(2, 0)(p); p.daemonized = daemonized43 },
			event: tick(2.01), wantState: protocol.StateStarting, wantSpawns: 1, wantBackoff: 2,
			wantLines: []string{"INFO spawned: 'p' with pid 100"}, wantDaemonized: daemonized43,
			wantDue: deadlines{running: sec(2.01).Add(time.Second + time.Nanosecond)}},
		{name: "a new start forgets the warnings", spawnOK: true,
			setup: func(p *process) {
				p.state, p.started, p.daemonized, p.killWarned, p.spawnErr = protocol.StateFatal, sec(-20), daemonized43, true, daemonized43
			},
			event:     func(m *machine, p *process) { m.spawnProcess(p, sec(0)) },
			wantState: protocol.StateStarting, wantSpawns: 1, wantLines: []string{"INFO spawned: 'p' with pid 100"},
			wantDue: deadlines{running: sec(0).Add(time.Second + time.Nanosecond)}},
		{name: "stopped by the stop signal",
			setup: func(p *process) {
				p.state, p.pid, p.killing, p.started, p.due.kill = protocol.StateStopping, 42, true, sec(0), sec(10)
			},
			event: finish(killedBy(syscall.SIGTERM), 5), wantState: protocol.StateStopped, wantExit: -1,
			wantLines: []string{"WARN stopped: p (terminated by SIGTERM)"}},
		{name: "stopped with an expected exit code",
			setup: func(p *process) {
				p.state, p.pid, p.killing, p.started, p.due.kill = protocol.StateStopping, 42, true, sec(0), sec(10)
			},
			event: finish(exitStatus(0), 5), wantState: protocol.StateStopped,
			wantLines: []string{"INFO stopped: p (exit status 0)"}},
		{name: "signal changes no state", setup: runningAt(0),
			event:     func(m *machine, p *process) { m.signalProcess(p, syscall.SIGHUP, sec(1)) },
			wantState: protocol.StateRunning, wantSent: []sent{{42, syscall.SIGHUP}},
			wantLines: []string{"DEBG sending p (pid 42) sig SIGHUP"}},
		{name: "give up from BACKOFF", setup: backoff(1, 0),
			event: func(m *machine, p *process) { m.giveUp(p, sec(0)) }, wantState: protocol.StateFatal},
		{name: "start from FATAL", spawnOK: true, setup: func(p *process) { p.state, p.started = protocol.StateFatal, sec(-20) },
			event:     func(m *machine, p *process) { m.spawnProcess(p, sec(0)) },
			wantState: protocol.StateStarting, wantSpawns: 1, wantLines: []string{"INFO spawned: 'p' with pid 100"},
			wantDue: deadlines{running: sec(0).Add(time.Second + time.Nanosecond)}},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log := &recLog{}
			var kills []sent
			spawns := 0
			m := &machine{
				log: log,
				spawn: func(p *process, now time.Time) (int, time.Time, error) {
					spawns++
					if !tc.spawnOK {
						return 0, now, errors.New("can't find command '/nope'")
					}
					return 100, now, nil
				},
				kill: func(pid int, sig syscall.Signal) error {
					kills = append(kills, sent{pid, sig})
					return tc.killErr
				},
				members: func(p *process) []Survivor {
					if p.pid != 42 {
						t.Errorf("survivors of pid %d, want the exited child's 42", p.pid)
					}
					return tc.survivors
				},
			}
			p := &process{cfg: testProcConfig(tc.cfg...)}
			if tc.setup != nil {
				tc.setup(p)
			}
			tc.event(m, p)
			if p.state != tc.wantState {
				t.Errorf("state = %s, want %s", p.state, tc.wantState)
			}
			if got := log.snapshot(); !slices.Equal(got, tc.wantLines) {
				t.Errorf("log lines:\n got %q\nwant %q", got, tc.wantLines)
			}
			if !slices.Equal(kills, tc.wantSent) {
				t.Errorf("signals = %v, want %v", kills, tc.wantSent)
			}
			if spawns != tc.wantSpawns {
				t.Errorf("spawns = %d, want %d", spawns, tc.wantSpawns)
			}
			if p.backoff != tc.wantBackoff {
				t.Errorf("backoff = %d, want %d", p.backoff, tc.wantBackoff)
			}
			if p.exitStatus != tc.wantExit {
				t.Errorf("exitstatus = %d, want %d", p.exitStatus, tc.wantExit)
			}
			if p.spawnErr != tc.wantSpawnEr {
				t.Errorf("spawnerr = %q, want %q", p.spawnErr, tc.wantSpawnEr)
			}
			if p.due != tc.wantDue {
				t.Errorf("deadlines = %+v, want %+v", p.due, tc.wantDue)
			}
			if p.daemonized != tc.wantDaemonized {
				t.Errorf("daemonized = %q, want %q", p.daemonized, tc.wantDaemonized)
			}
			if tc.name == "a new start forgets the warnings" && p.killWarned {
				t.Errorf("killWarned kept")
			}
		})
	}
}

// The pitfall warnings of TestMachineTransitions.
const (
	daemonized43 = "p exited but left pid 43 (sleep) running: it probably daemonizes itself; run it in the foreground"
	ignoredTERM  = "p ignored its stopsignal SIGTERM for 10 seconds and is killed with SIGKILL: what it had not saved is lost; raise stopwaitsecs if it needs longer to stop, or set stopsignal to the signal it stops on"
)

// TestDaemonizedText pins the warning's list of survivors.
func TestDaemonizedText(t *testing.T) {
	var many []Survivor
	for i := range 7 {
		many = append(many, Survivor{PID: 100 + i, Name: "w"})
	}
	tests := []struct {
		left []Survivor
		want string
	}{
		{[]Survivor{{123, "nginx"}}, "x exited but left pid 123 (nginx) running: it probably daemonizes itself; run it in the foreground"},
		{[]Survivor{{123, "nginx"}, {124, "nginx: worker"}}, "x exited but left pids 123 (nginx), 124 (nginx: worker) running: it probably daemonizes itself; run it in the foreground"},
		{many, "x exited but left pids 100 (w), 101 (w), 102 (w), 103 (w), 104 (w) and 2 more running: it probably daemonizes itself; run it in the foreground"},
	}
	for _, tt := range tests {
		if got := daemonizedText("x", tt.left); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

func TestBackoffDelaysGrowByOneSecond(t *testing.T) {
	t.Parallel()
	m := &machine{log: &recLog{}, spawn: func(_ *process, now time.Time) (int, time.Time, error) { return 0, now, errors.New("boom") },
		kill: func(int, syscall.Signal) error { return nil }}
	p := &process{cfg: testProcConfig()}
	now := sec(0)
	var attempts []time.Time
	for range 100 {
		before := p.serial
		m.transition(p, now, protocol.SupervisorRunning)
		if p.serial != before {
			attempts = append(attempts, now)
		}
		if p.state == protocol.StateFatal {
			break
		}
		at, ok := p.deadline(protocol.SupervisorRunning)
		if !ok {
			t.Fatalf("no deadline in %s", p.state)
		}
		now = at
	}
	if p.state != protocol.StateFatal {
		t.Fatalf("state = %s, want FATAL", p.state)
	}
	var gaps []time.Duration
	for i := 1; i < len(attempts); i++ {
		gaps = append(gaps, attempts[i].Sub(attempts[i-1]).Round(time.Millisecond))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	if len(attempts) != 4 || !slices.Equal(gaps, want) {
		t.Fatalf("attempts = %d with gaps %v, want 4 attempts (startretries+1) with gaps %v", len(attempts), gaps, want)
	}
}
