package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
)

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
	changed func(p *process, from protocol.ProcessState, now time.Time)
	// start begins an autostart; nil means spawn at once. The engine's
	// goes through the process's dependencies (requestStart).
	start func(p *process, now time.Time)
	// members lists the live processes p's exited instance left behind
	// (OS.Survivors); nil = never look.
	members func(p *process) []Survivor
}

// begin makes p's autostart.
func (m *machine) begin(p *process, now time.Time) {
	if m.start != nil {
		m.start(p, now)
		return
	}
	p.dep.requested = true
	m.spawnProcess(p, now)
}

func (m *machine) logf(level protocol.Level, format string, args ...any) {
	m.log.Logf(level, format, args...)
}

// allowedMoves is every transition the state machine may make. Anything
// else is a bug in the engine and is refused by changeState.
var allowedMoves = map[protocol.ProcessState][]protocol.ProcessState{
	protocol.StateStopped:  {protocol.StateStarting},
	protocol.StateStarting: {protocol.StateRunning, protocol.StateBackoff, protocol.StateStopping, protocol.StateUnknown},
	protocol.StateRunning:  {protocol.StateStopping, protocol.StateExited, protocol.StateUnknown},
	protocol.StateBackoff:  {protocol.StateStarting, protocol.StateFatal, protocol.StateStopped},
	protocol.StateStopping: {protocol.StateStopped, protocol.StateUnknown},
	protocol.StateExited:   {protocol.StateStarting},
	protocol.StateFatal:    {protocol.StateStarting},
	protocol.StateUnknown:  {protocol.StateStopped, protocol.StateExited},
}

func moveAllowed(from, to protocol.ProcessState) bool {
	return slices.Contains(allowedMoves[from], to)
}

// changeState is the single transition function. It refuses moves that are
// not in allowedMoves and reports whether the state changed.
func (m *machine) changeState(p *process, to protocol.ProcessState, now time.Time) bool {
	from := p.state
	if from == to {
		return false
	}
	if !moveAllowed(from, to) {
		m.logf(protocol.LevelCritical, "refused illegal transition of %s from %s to %s", p.name(), from, to)
		return false
	}
	p.state = to
	p.due.leave(from)
	if to == protocol.StateBackoff {
		p.backoff++
		// Retried once strictly more than the delay has passed.
		p.due.retry = now.Add(p.retryDelay()).Add(time.Nanosecond)
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
		m.logf(protocol.LevelWarn, "process %s already running", pyrepr.Str(p.name()))
		return
	}
	if !moveAllowed(p.state, protocol.StateStarting) {
		m.logf(protocol.LevelCritical, "refused illegal transition of %s from %s to %s", p.name(), p.state, protocol.StateStarting)
		return
	}
	if p.state != protocol.StateBackoff {
		// A new start, not a retry: its pitfalls are warned afresh.
		p.daemonized, p.killWarned = "", false
	}
	from := p.state
	p.killing = false
	p.forced = ""
	p.spawnErr = ""
	p.exitStatus, p.exitWS = 0, 0
	p.cancelWait()
	p.dep.failed = ""
	p.started = now
	p.serial++
	m.changeState(p, protocol.StateStarting, now)
	pid, at, err := m.spawn(p, now)
	if err != nil {
		p.spawnErr = err.Error()
		m.logState(protocol.LevelInfo, p, 0, protocol.StateStarting, protocol.StateBackoff, nil, "spawnerr: %s", p.spawnErr)
		m.changeState(p, protocol.StateBackoff, now)
		return
	}
	// One step may spawn hundreds of children over a second or more:
	// startsecs counts from this child's own start, not the step's.
	p.started = at
	if nc := p.cfg.Notify; !nc.Ready {
		p.due.running = at.Add(time.Duration(p.cfg.StartSecs) * time.Second).Add(time.Nanosecond)
	} else if nc.ReadyTimeoutSecs > 0 {
		// RUNNING comes with READY=1, whatever startsecs says.
		p.due.ready = at.Add(time.Duration(nc.ReadyTimeoutSecs) * time.Second)
	}
	p.pid = pid
	m.logState(protocol.LevelInfo, p, pid, from, protocol.StateStarting, nil, "spawned: %s with pid %d", pyrepr.Str(p.name()), pid)
}

// transition applies the time- and mood-driven rules, as the reference's
// per-tick transition() does. Spawns happen only while mood is RUNNING.
func (m *machine) transition(p *process, now time.Time, mood protocol.SupervisorState) {
	state := p.state
	if mood > protocol.SupervisorRestarting {
		switch {
		case state == protocol.StateExited:
			switch p.cfg.Autorestart {
			case config.AutorestartTrue:
				m.spawnProcess(p, now)
			case config.AutorestartUnexpected:
				if !p.exitedAsExpected() {
					m.spawnProcess(p, now)
				}
			}
		case p.willAutostart():
			m.begin(p, now)
		case state == protocol.StateBackoff:
			if !p.retriesExhausted() && reached(p.due.retry, now) {
				m.spawnProcess(p, now)
			}
		}
	}
	switch state {
	case protocol.StateStarting:
		if reached(p.due.running, now) {
			p.backoff = 0
			m.changeState(p, protocol.StateRunning, now)
			m.logState(protocol.LevelInfo, p, p.pid, protocol.StateStarting, protocol.StateRunning, nil,
				"success: %s entered RUNNING state, process has stayed up for > than %d seconds (startsecs)", p.name(), p.cfg.StartSecs)
		}
	case protocol.StateBackoff:
		if p.retriesExhausted() {
			m.giveUp(p, now)
			m.logState(protocol.LevelInfo, p, 0, protocol.StateBackoff, protocol.StateFatal, nil, "gave up: %s entered FATAL state, too many start retries too quickly", p.name())
		}
	case protocol.StateStopping:
		if reached(p.due.kill, now) {
			m.logf(protocol.LevelWarn, "killing %s (%d) with SIGKILL", pyrepr.Str(p.name()), p.pid)
			if !p.killWarned {
				// The deadline re-arms while the kill is not reaped: once.
				p.killWarned = true
				m.logf(protocol.LevelWarn, "%s", ignoredStopText(p))
			}
			m.killProcess(p, syscall.SIGKILL, now)
		}
	}
}

func (m *machine) giveUp(p *process, now time.Time) {
	p.backoff = 0
	if p.daemonized != "" {
		p.spawnErr = p.daemonized
	}
	m.changeState(p, protocol.StateFatal, now)
}

// stopProcess is an administrative stop: the stop signal, or STOPPED at
// once from BACKOFF. It returns the reference's failure text or "".
func (m *machine) stopProcess(p *process, now time.Time) string {
	p.lastReport = time.Time{}
	p.forced = "" // an end the engine forced becomes this ordinary stop
	return m.killProcess(p, p.cfg.StopSignal, now)
}

// killProcess sends sig as a stop (or the final SIGKILL) and enters STOPPING.
func (m *machine) killProcess(p *process, sig syscall.Signal, now time.Time) string {
	if p.state == protocol.StateBackoff {
		m.logf(protocol.LevelDebug, "Attempted to kill %s, which is in BACKOFF state.", p.name())
		m.changeState(p, protocol.StateStopped, now)
		return ""
	}
	if p.pid == 0 {
		msg := fmt.Sprintf("attempted to kill %s with sig %s but it wasn't running", p.name(), config.SignalName(sig))
		m.logf(protocol.LevelDebug, "%s", msg)
		return msg
	}
	asGroup := p.cfg.StopAsGroup
	if p.state == protocol.StateStopping {
		asGroup = p.cfg.KillAsGroup
	}
	groupText := ""
	if asGroup {
		groupText = "process group "
	}
	m.logf(protocol.LevelDebug, "killing %s (pid %d) %swith signal %s", p.name(), p.pid, groupText, config.SignalName(sig))
	p.killing = true
	m.changeState(p, protocol.StateStopping, now)
	p.due.kill = now.Add(time.Duration(p.cfg.StopWaitSecs) * time.Second)
	target := p.pid
	if asGroup {
		target = -p.pid
	}
	if err := m.kill(target, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			// It exited on its own; the reaper will tell.
			m.logf(protocol.LevelDebug, "unable to signal %s (pid %d), it probably just exited on its own: %v", p.name(), p.pid, err)
			return ""
		}
		msg := fmt.Sprintf("unknown problem killing %s (%d):%v", p.name(), p.pid, err)
		m.logf(protocol.LevelCritical, "%s", msg)
		m.changeState(p, protocol.StateUnknown, now)
		p.killing = false
		return msg
	}
	return ""
}

// signalProcess sends an arbitrary signal; it changes no state.
func (m *machine) signalProcess(p *process, sig syscall.Signal, now time.Time) string {
	if p.pid == 0 {
		msg := fmt.Sprintf("attempted to send %s sig %s but it wasn't running", p.name(), config.SignalName(sig))
		m.logf(protocol.LevelDebug, "%s", msg)
		return msg
	}
	m.logf(protocol.LevelDebug, "sending %s (pid %d) sig %s", p.name(), p.pid, config.SignalName(sig))
	if err := m.kill(p.pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			m.logf(protocol.LevelDebug, "unable to signal %s (pid %d), it probably just now exited on its own: %v", p.name(), p.pid, err)
			return ""
		}
		msg := fmt.Sprintf("unknown problem sending sig %s (%d):%v", p.name(), p.pid, err)
		m.logf(protocol.LevelCritical, "%s", msg)
		m.changeState(p, protocol.StateUnknown, now)
		p.killing = false
		return msg
	}
	return ""
}

// stopReport logs "waiting for x to stop" at most every 2 s while p stops.
func (m *machine) stopReport(p *process, now time.Time) {
	if p.state != protocol.StateStopping {
		return
	}
	if p.lastReport.IsZero() || !now.Before(p.lastReport.Add(2*time.Second)) {
		m.logf(protocol.LevelInfo, "waiting for %s to stop", p.name())
		p.lastReport = now
	}
}

// unknownExit is the wait status kept for an instance whose exit status
// cannot be known, its main pid not being a child of ours (MAINPID=):
// WCONTINUED's status, which wait4 never returns here (it is not asked
// for). decodeWaitStatus words it "exit status unknown".
const unknownExit = syscall.WaitStatus(0xffff)

// finishUnknown handles the end of an instance whose exit status cannot
// be known.
func (m *machine) finishUnknown(p *process, now time.Time) {
	m.finish(p, unknownExit, now)
}

// finish handles the reaped exit of p's current instance.
func (m *machine) finish(p *process, ws syscall.WaitStatus, now time.Time) {
	code, how := decodeWaitStatus(ws)
	from, pid := p.state, p.pid
	p.stopped, p.exitWS = now, ws
	// A program that reports readiness has started only once it said so.
	tooQuickly := now.Sub(p.started) < time.Duration(p.cfg.StartSecs)*time.Second || p.cfg.Notify.Ready
	expected := p.expected(code) && p.forced == ""
	switch {
	case p.killing:
		p.killing = false
		p.exitStatus = code
		if p.state == protocol.StateUnknown || p.state == protocol.StateStopping {
			m.changeState(p, protocol.StateStopped, now)
		}
		level := protocol.LevelWarn
		if expected {
			level = protocol.LevelInfo
		}
		m.logState(level, p, pid, from, p.state, &exitFields{ws, expected}, "stopped: %s (%s)", p.name(), how)
	case tooQuickly && p.state == protocol.StateStarting:
		p.exitStatus = 0
		p.spawnErr = "Exited too quickly (process log may have details)"
		if why := p.failedStartReason(); why != "" {
			p.spawnErr = why
		}
		m.logState(protocol.LevelWarn, p, pid, from, protocol.StateBackoff, &exitFields{ws, false}, "exited: %s (%s; not expected)", p.name(), how)
		m.checkDaemonized(p, expected)
		m.changeState(p, protocol.StateBackoff, now)
	default:
		p.backoff = 0
		p.exitStatus = code
		if p.state == protocol.StateStarting {
			// Up for startsecs before the timer said so.
			m.changeState(p, protocol.StateRunning, now)
		}
		if expected {
			m.changeState(p, protocol.StateExited, now)
			m.logState(protocol.LevelInfo, p, pid, from, protocol.StateExited, &exitFields{ws, true}, "exited: %s (%s; expected)", p.name(), how)
		} else {
			p.spawnErr = fmt.Sprintf("Bad exit code %d", code)
			m.changeState(p, protocol.StateExited, now)
			m.logState(protocol.LevelWarn, p, pid, from, protocol.StateExited, &exitFields{ws, false}, "exited: %s (%s; not expected)", p.name(), how)
		}
	}
	p.pid = 0
}

// checkDaemonized warns, once a start, when p's instance exited within
// startsecs with an expected status while processes of its process group
// live on: the program most likely forked a daemon and exited, so
// supervisord retries it, gives up, and the real server runs
// unsupervised. The text becomes the FATAL description.
func (m *machine) checkDaemonized(p *process, expected bool) {
	if !expected || m.members == nil || p.daemonized != "" {
		return
	}
	left := m.members(p)
	if len(left) == 0 {
		return
	}
	p.daemonized = daemonizedText(p.name(), left)
	m.logf(protocol.LevelWarn, "%s", p.daemonized)
}

// maxSurvivorsNamed bounds the pids a daemonize warning names.
const maxSurvivorsNamed = 5

// daemonizedText is the warning for a program named name that left
// processes left running.
func daemonizedText(name string, left []Survivor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s exited but left ", name)
	if len(left) > 1 {
		b.WriteString("pids ")
	} else {
		b.WriteString("pid ")
	}
	for i, s := range left[:min(len(left), maxSurvivorsNamed)] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d (%s)", s.PID, s.Name)
	}
	if len(left) > maxSurvivorsNamed {
		fmt.Fprintf(&b, " and %d more", len(left)-maxSurvivorsNamed)
	}
	b.WriteString(" running: it probably daemonizes itself; run it in the foreground")
	return b.String()
}

// ignoredStopText is the warning for p killed with SIGKILL once
// stopwaitsecs have passed since its stop signal.
func ignoredStopText(p *process) string {
	return fmt.Sprintf("%s ignored its stopsignal %s for %d seconds and is killed with SIGKILL: what it had not saved is lost; raise stopwaitsecs if it needs longer to stop, or set stopsignal to the signal it stops on",
		p.name(), config.SignalName(p.cfg.StopSignal), p.cfg.StopWaitSecs)
}

// decodeWaitStatus is the reference's decode_wait_status: the exit code
// (-1 after a signal) and the text logged for it.
func decodeWaitStatus(ws syscall.WaitStatus) (int, string) {
	switch {
	case ws == unknownExit:
		return -1, "exit status unknown"
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
