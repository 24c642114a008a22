package engine

import (
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/pyrepr"
)

// process is one supervised program instance slot. It is a plain record
// owned by the engine goroutine: nothing else reads or writes it.
type process struct {
	cfg   *config.Process
	group *group

	state   ProcessState
	pid     int
	serial  uint64    // counts spawns, so a waiter can tell instances apart
	started time.Time // last spawn attempt; zero = never started
	stopped time.Time // last exit; zero = never exited
	// delay is the BACKOFF retry time or the STOPPING SIGKILL time.
	delay      time.Time
	backoff    int
	killing    bool
	spawnErr   string
	exitStatus int
	lastReport time.Time // last "waiting for x to stop"

	// Resolved log paths ("" = none) and the writers behind them.
	stdoutPath, stderrPath string
	stdoutLog, stderrLog   logWriter
	// io is the running instance's parent-side pipes; nil when not running.
	io *instanceIO
}

func (p *process) name() string { return p.cfg.Name }

// namespec is how the reference names a process in faults: "name" when the
// group has the same name, else "group:name".
func (p *process) namespec() string {
	if p.cfg.Group == p.cfg.Name {
		return p.cfg.Name
	}
	return p.cfg.Group + ":" + p.cfg.Name
}

func (p *process) expected(code int) bool { return slices.Contains(p.cfg.ExitCodes, code) }

// startsecsDeadline is when a STARTING process has been up strictly longer
// than startsecs.
func (p *process) startsecsDeadline() time.Time {
	return p.started.Add(time.Duration(p.cfg.StartSecs) * time.Second).Add(time.Nanosecond)
}

// machine holds the state-transition rules. It decides and acts through
// injected functions, so tests drive it with literal times and fakes.
type machine struct {
	log Logger
	// spawn starts the current config of p and returns its pid and when
	// the child started; the error text becomes spawnerr.
	spawn func(p *process, now time.Time) (int, time.Time, error)
	kill  func(pid int, sig syscall.Signal) error
	// changed is called after every state change: the one place where
	// PROCESS_STATE events will be born.
	changed func(p *process, from ProcessState, now time.Time)
}

func (m *machine) logf(level config.LogLevel, format string, args ...any) {
	m.log.Logf(level, format, args...)
}

// changeState is the single transition function. It refuses moves that are
// not in allowedMoves and reports whether the state changed.
func (m *machine) changeState(p *process, to ProcessState, now time.Time) bool {
	from := p.state
	if from == to {
		return false
	}
	if !moveAllowed(from, to) {
		m.logf(config.LevelCritical, "refused illegal transition of %s from %s to %s", p.name(), from, to)
		return false
	}
	p.state = to
	if to == StateBackoff {
		p.backoff++
		p.delay = now.Add(time.Duration(p.backoff) * time.Second)
	}
	if m.changed != nil {
		m.changed(p, from, now)
	}
	return true
}

// spawnProcess moves p to STARTING and starts it, or to BACKOFF when the
// spawn fails.
func (m *machine) spawnProcess(p *process, now time.Time) {
	if p.pid != 0 {
		m.logf(config.LevelWarn, "process %s already running", pyrepr.Str(p.name()))
		return
	}
	if !moveAllowed(p.state, StateStarting) {
		m.logf(config.LevelCritical, "refused illegal transition of %s from %s to %s", p.name(), p.state, StateStarting)
		return
	}
	p.killing = false
	p.spawnErr = ""
	p.exitStatus = 0
	p.started = now
	p.serial++
	m.changeState(p, StateStarting, now)
	pid, at, err := m.spawn(p, now)
	if err != nil {
		p.spawnErr = err.Error()
		m.logf(config.LevelInfo, "spawnerr: %s", p.spawnErr)
		m.changeState(p, StateBackoff, now)
		return
	}
	// One step may spawn hundreds of children over a second or more:
	// startsecs counts from this child's own start, not the step's.
	p.started = at
	p.pid = pid
	m.logf(config.LevelInfo, "spawned: %s with pid %d", pyrepr.Str(p.name()), pid)
}

// transition applies the time- and mood-driven rules, as the reference's
// per-tick transition() does. Spawns happen only while mood is RUNNING.
func (m *machine) transition(p *process, now time.Time, mood Mood) {
	state := p.state
	if mood > MoodRestarting {
		switch {
		case state == StateExited:
			switch p.cfg.Autorestart {
			case config.AutorestartTrue:
				m.spawnProcess(p, now)
			case config.AutorestartUnexpected:
				if !p.expected(p.exitStatus) {
					m.spawnProcess(p, now)
				}
			}
		case state == StateStopped && p.started.IsZero():
			if p.cfg.Autostart {
				m.spawnProcess(p, now)
			}
		case state == StateBackoff:
			if p.backoff <= p.cfg.StartRetries && now.After(p.delay) {
				m.spawnProcess(p, now)
			}
		}
	}
	switch state {
	case StateStarting:
		if !now.Before(p.startsecsDeadline()) {
			p.delay = time.Time{}
			p.backoff = 0
			m.changeState(p, StateRunning, now)
			m.logf(config.LevelInfo, "success: %s entered RUNNING state, process has stayed up for > than %d seconds (startsecs)", p.name(), p.cfg.StartSecs)
		}
	case StateBackoff:
		if p.backoff > p.cfg.StartRetries {
			m.giveUp(p, now)
			m.logf(config.LevelInfo, "gave up: %s entered FATAL state, too many start retries too quickly", p.name())
		}
	case StateStopping:
		if !now.Before(p.delay) {
			m.logf(config.LevelWarn, "killing %s (%d) with SIGKILL", pyrepr.Str(p.name()), p.pid)
			m.killProcess(p, syscall.SIGKILL, now)
		}
	}
}

// deadline is when transition next has something to do for p without any
// other event; ok is false when only an event can change p.
func (p *process) deadline(mood Mood) (time.Time, bool) {
	switch p.state {
	case StateStarting:
		return p.startsecsDeadline(), true
	case StateBackoff:
		if p.backoff > p.cfg.StartRetries {
			return time.Time{}, true // gives up on the next step
		}
		if mood > MoodRestarting {
			return p.delay.Add(time.Nanosecond), true
		}
	case StateStopping:
		if p.killing {
			return p.delay, true
		}
	}
	return time.Time{}, false
}

func (m *machine) giveUp(p *process, now time.Time) {
	p.delay = time.Time{}
	p.backoff = 0
	m.changeState(p, StateFatal, now)
}

// stopProcess is an administrative stop: the stop signal, or STOPPED at
// once from BACKOFF. It returns the reference's failure text or "".
func (m *machine) stopProcess(p *process, now time.Time) string {
	p.lastReport = time.Time{}
	return m.killProcess(p, p.cfg.StopSignal, now)
}

// killProcess sends sig as a stop (or the final SIGKILL) and enters STOPPING.
func (m *machine) killProcess(p *process, sig syscall.Signal, now time.Time) string {
	if p.state == StateBackoff {
		m.logf(config.LevelDebug, "Attempted to kill %s, which is in BACKOFF state.", p.name())
		m.changeState(p, StateStopped, now)
		return ""
	}
	if p.pid == 0 {
		msg := fmt.Sprintf("attempted to kill %s with sig %s but it wasn't running", p.name(), config.SignalName(sig))
		m.logf(config.LevelDebug, "%s", msg)
		return msg
	}
	asGroup := p.cfg.StopAsGroup
	if p.state == StateStopping {
		asGroup = p.cfg.KillAsGroup
	}
	groupText := ""
	if asGroup {
		groupText = "process group "
	}
	m.logf(config.LevelDebug, "killing %s (pid %d) %swith signal %s", p.name(), p.pid, groupText, config.SignalName(sig))
	p.killing = true
	p.delay = now.Add(time.Duration(p.cfg.StopWaitSecs) * time.Second)
	m.changeState(p, StateStopping, now)
	target := p.pid
	if asGroup {
		target = -p.pid
	}
	if err := m.kill(target, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			// It exited on its own; the reaper will tell.
			m.logf(config.LevelDebug, "unable to signal %s (pid %d), it probably just exited on its own: %v", p.name(), p.pid, err)
			return ""
		}
		msg := fmt.Sprintf("unknown problem killing %s (%d):%v", p.name(), p.pid, err)
		m.logf(config.LevelCritical, "%s", msg)
		m.changeState(p, StateUnknown, now)
		p.killing = false
		p.delay = time.Time{}
		return msg
	}
	return ""
}

// signalProcess sends an arbitrary signal; it changes no state.
func (m *machine) signalProcess(p *process, sig syscall.Signal, now time.Time) string {
	if p.pid == 0 {
		msg := fmt.Sprintf("attempted to send %s sig %s but it wasn't running", p.name(), config.SignalName(sig))
		m.logf(config.LevelDebug, "%s", msg)
		return msg
	}
	m.logf(config.LevelDebug, "sending %s (pid %d) sig %s", p.name(), p.pid, config.SignalName(sig))
	if err := m.kill(p.pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			m.logf(config.LevelDebug, "unable to signal %s (pid %d), it probably just now exited on its own: %v", p.name(), p.pid, err)
			return ""
		}
		msg := fmt.Sprintf("unknown problem sending sig %s (%d):%v", p.name(), p.pid, err)
		m.logf(config.LevelCritical, "%s", msg)
		m.changeState(p, StateUnknown, now)
		p.killing = false
		p.delay = time.Time{}
		return msg
	}
	return ""
}

// stopReport logs "waiting for x to stop" at most every 2 s while p stops.
func (m *machine) stopReport(p *process, now time.Time) {
	if p.state != StateStopping {
		return
	}
	if p.lastReport.IsZero() || !now.Before(p.lastReport.Add(2*time.Second)) {
		m.logf(config.LevelInfo, "waiting for %s to stop", p.name())
		p.lastReport = now
	}
}

// finish handles the reaped exit of p's current instance.
func (m *machine) finish(p *process, ws syscall.WaitStatus, now time.Time) {
	code, how := decodeWaitStatus(ws)
	p.stopped = now
	tooQuickly := now.Sub(p.started) < time.Duration(p.cfg.StartSecs)*time.Second
	expected := p.expected(code)
	switch {
	case p.killing:
		p.killing = false
		p.delay = time.Time{}
		p.exitStatus = code
		if p.state == StateUnknown || p.state == StateStopping {
			m.changeState(p, StateStopped, now)
		}
		level := config.LevelWarn
		if expected {
			level = config.LevelInfo
		}
		m.logf(level, "stopped: %s (%s)", p.name(), how)
	case tooQuickly && p.state == StateStarting:
		p.exitStatus = 0
		p.spawnErr = "Exited too quickly (process log may have details)"
		m.logf(config.LevelWarn, "exited: %s (%s; not expected)", p.name(), how)
		m.changeState(p, StateBackoff, now)
	default:
		p.delay = time.Time{}
		p.backoff = 0
		p.exitStatus = code
		if p.state == StateStarting {
			// Up for startsecs before the timer said so.
			m.changeState(p, StateRunning, now)
		}
		if expected {
			m.changeState(p, StateExited, now)
			m.logf(config.LevelInfo, "exited: %s (%s; expected)", p.name(), how)
		} else {
			p.spawnErr = fmt.Sprintf("Bad exit code %d", code)
			m.changeState(p, StateExited, now)
			m.logf(config.LevelWarn, "exited: %s (%s; not expected)", p.name(), how)
		}
	}
	p.pid = 0
}

// decodeWaitStatus is the reference's decode_wait_status: the exit code
// (-1 after a signal) and the text logged for it.
func decodeWaitStatus(ws syscall.WaitStatus) (int, string) {
	switch {
	case ws.Exited():
		return ws.ExitStatus(), fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		msg := "terminated by " + config.SignalName(ws.Signal())
		if ws.CoreDump() {
			msg += " (core dumped)"
		}
		return -1, msg
	}
	return -1, fmt.Sprintf("unknown termination cause 0x%04x", int(ws))
}
