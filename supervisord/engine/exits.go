package engine

import (
	"fmt"
	"syscall"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
)

// The exit policies (extension keys for containers, where supervisord is
// the container's main process and its exit status is the container's):
// exit_on_fatal and exit_on_end per program, exit_when_all_ended for the
// daemon. Each ends the daemon through the ordinary shutdown (processes
// stopped in order); ExitStatus then says what supervisord exits with.

// ExitStatus is the status supervisord exits with once Run has returned
// ExitShutdown: 0, or what an exit policy decided. Before that it is 0.
func (e *Engine) ExitStatus() int {
	select {
	case <-e.done:
		return e.exitStatus // Run has ended: nothing writes it any more
	default:
		return 0
	}
}

// requestExit begins a shutdown that makes supervisord exit with status.
// Only the first request while RUNNING counts.
func (e *Engine) requestExit(status int, why string) {
	if e.moodNow() != protocol.SupervisorRunning {
		return
	}
	e.log.Logf(protocol.LevelWarn, "%s: shutting down, exit status %d", why, status)
	e.exitStatus = status
	e.setMood(protocol.SupervisorShutdown)
}

// exitCode is a wait status as a shell reports it: the exit code, or
// 128+n after signal n (tini's rule).
func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// processEnded applies exit_on_fatal and exit_on_end to a state change of
// p: FATAL, or EXITED without a restart to come.
func (e *Engine) processEnded(p *process) {
	switch p.state {
	case protocol.StateFatal:
		e.endedForGood(p, 1, false)
	case protocol.StateExited:
		if !p.willRestart() {
			e.endedForGood(p, exitCode(p.exitWS), p.expected(p.exitStatus))
		}
	}
}

// endedForGood applies p's exit policies to an end after which nothing
// restarts it: FATAL, an exit without restart, or a start whose
// dependencies failed (which counts as FATAL). status is the exit status
// exit_on_end propagates.
func (e *Engine) endedForGood(p *process, status int, expected bool) {
	fatal := p.state == protocol.StateFatal || p.dep.failed != ""
	switch {
	case fatal && p.cfg.ExitOnFatal:
		e.requestExit(1, fmt.Sprintf("%s failed to start (exit_on_fatal)", p.name()))
	case p.cfg.ExitOnEnd == config.ExitOnEndAlways,
		p.cfg.ExitOnEnd == config.ExitOnEndUnexpected && !expected:
		e.requestExit(status, fmt.Sprintf("%s ended (exit_on_end)", p.name()))
	}
}

// checkAllEnded applies exit_when_all_ended: once every process that was
// started (event listeners aside) has ended and none is to start again,
// supervisord exits, 0 if every end was expected, else 1.
func (e *Engine) checkAllEnded() {
	if !e.opts.Config.Supervisord.ExitWhenAllEnded || e.moodNow() != protocol.SupervisorRunning {
		return
	}
	started, unexpected := false, false
	for _, g := range e.order {
		if g.cfg.Kind == config.KindEventListener {
			continue
		}
		for _, p := range g.procs {
			if p.dep.waiting || p.dep.held || p.dep.stopDeferred || p.willAutostart() {
				return
			}
			if p.started.IsZero() && p.dep.failed == "" {
				continue // never started
			}
			started = true
			switch p.state {
			case protocol.StateStopped:
				unexpected = unexpected || p.dep.failed != ""
			case protocol.StateFatal:
				unexpected = true
			case protocol.StateExited:
				if p.willRestart() {
					return
				}
				unexpected = unexpected || !p.expected(p.exitStatus)
			default:
				return
			}
		}
	}
	if !started {
		return
	}
	status := 0
	if unexpected {
		status = 1
	}
	e.requestExit(status, "every process has ended (exit_when_all_ended)")
}
