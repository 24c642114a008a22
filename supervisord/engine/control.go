package engine

import (
	"context"
	"errors"
	"strings"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
)

// lookup resolves "proc" or "group:proc" to an active process.
func (e *Engine) lookup(name string) (*process, error) {
	gname, pname, ok := strings.Cut(name, ":")
	if !ok {
		pname = gname
	}
	g := e.groups[gname]
	if g == nil || pname == "" || pname == "*" {
		return nil, fail(ErrNoSuchName, name)
	}
	for _, p := range g.procs {
		if p.name() == pname {
			return p, nil
		}
	}
	return nil, fail(ErrNoSuchName, name)
}

// startOne is startProcess for one process: an error now, a pending wait,
// or (nil, nil) when done.
func (e *Engine) startOne(p *process, name string, wait bool, now time.Time) (*pending, error) {
	if _, _, err := ResolveCommand(p.group.src, p.cfg); err != nil {
		var ce *commandError
		if errors.As(err, &ce) && ce.notFound {
			return nil, fail(ErrNoCommand, err.Error())
		}
		return nil, fail(ErrNotExecutable, err.Error())
	}
	if p.state.IsRunning() {
		return nil, fail(ErrAlreadyStarted, name)
	}
	if p.state == protocol.StateUnknown {
		return nil, fail(ErrFailed, name+" is in an unknown process state")
	}
	e.requestStart(p, now)
	e.reap(now)
	if p.spawnErr != "" {
		return nil, fail(ErrSpawn, name)
	}
	if p.dep.waiting {
		// It spawns once its dependencies are met; the answer waits for
		// that and the start, or for the wait to fail (SPAWN_ERROR).
		if !wait {
			return nil, nil
		}
		return &pending{poll: func(time.Time) (bool, error) {
			switch {
			case p.dep.waiting:
				return false, nil
			case p.spawnErr != "":
				return true, fail(ErrSpawn, name)
			case p.state == protocol.StateRunning:
				return true, nil
			case p.state != protocol.StateStarting:
				return true, fail(ErrExitedEarly, name)
			}
			return false, nil
		}}, nil
	}
	// The reference reads the clock again here, after the spawn: a
	// startsecs=0 program is then RUNNING already and answers at once
	// (a group call lists it in the immediate results, before any fault
	// of a later process). The step's now is from before the spawn.
	e.mach.transition(p, e.clock.Now(), e.moodNow())
	if !wait || p.state == protocol.StateRunning {
		return nil, nil
	}
	return &pending{poll: func(time.Time) (bool, error) {
		switch {
		case p.spawnErr != "":
			return true, fail(ErrSpawn, name)
		case p.state == protocol.StateRunning:
			return true, nil
		case p.state != protocol.StateStarting:
			return true, fail(ErrExitedEarly, name)
		}
		return false, nil
	}}, nil
}

// stopOne is stopProcess for one process. One that others depend on is
// signalled once they have stopped, the running ones being stopped (and
// held) first; one waiting for its dependencies just stops waiting.
func (e *Engine) stopOne(p *process, name string, wait bool, now time.Time) (*pending, error) {
	p.dep.held = false
	if p.dep.waiting {
		p.cancelWait()
		return nil, nil
	}
	switch {
	case p.dep.stopDeferred, p.dep.asDependent && e.inCall[p] && p.state == protocol.StateStopping:
		// Already being stopped for a dependency, by this very request.
	case p.dep.asDependent && e.inCall[p] && p.state.IsStopped():
		return nil, nil
	case !p.state.IsRunning():
		return nil, fail(ErrNotRunning, name)
	case len(p.dep.dependents) > 0:
		e.stopWithDependents(p, now, true)
	default:
		if msg := e.mach.stopProcess(p, now); msg != "" {
			return nil, fail(ErrFailed, msg)
		}
	}
	e.reap(now)
	if !wait || p.state.IsStopped() && !p.dep.stopDeferred {
		return nil, nil
	}
	return &pending{
		poll: func(now time.Time) (bool, error) {
			e.mach.stopReport(p, now)
			return p.state.IsStopped() && !p.dep.stopDeferred, nil
		},
		next: func() (time.Time, bool) {
			if p.state != protocol.StateStopping {
				return time.Time{}, false
			}
			return p.lastReport.Add(2 * time.Second), true
		},
	}, nil
}

// signalOne is signalProcess for one process.
func (e *Engine) signalOne(p *process, name, signal string, now time.Time) error {
	sig, err := config.ParseSignal(signal)
	if err != nil {
		return fail(ErrBadSignal, signal)
	}
	if !p.state.IsSignallable() {
		return fail(ErrNotRunning, name)
	}
	if msg := e.mach.signalProcess(p, sig, now); msg != "" {
		return fail(ErrFailed, msg)
	}
	return nil
}

func notRunning(p *process) bool  { return !p.state.IsRunning() }
func running(p *process) bool     { return p.state.IsRunning() }
func signallable(p *process) bool { return p.state.IsSignallable() }

// StartProcess starts one process ("name" or "group:name"); with wait it
// returns once the process is RUNNING or has failed.
func (e *Engine) StartProcess(ctx context.Context, name string, wait bool) error {
	return e.single(ctx, name, func(p *process, now time.Time) (*pending, error) {
		return e.startOne(p, name, wait, now)
	})
}

// StartProcessGroup starts every process of a group that is not running.
func (e *Engine) StartProcessGroup(ctx context.Context, group string, wait bool) ([]Outcome, error) {
	return e.many(ctx, group, false, notRunning, func(p *process, name string, now time.Time) (*pending, error) {
		return e.startOne(p, name, wait, now)
	})
}

// StartAllProcesses starts every process that is not running, in priority order.
func (e *Engine) StartAllProcesses(ctx context.Context, wait bool) ([]Outcome, error) {
	return e.many(ctx, "", true, notRunning, func(p *process, name string, now time.Time) (*pending, error) {
		return e.startOne(p, name, wait, now)
	})
}

// StopProcess stops one process; with wait it returns once it has stopped.
func (e *Engine) StopProcess(ctx context.Context, name string, wait bool) error {
	return e.single(ctx, name, func(p *process, now time.Time) (*pending, error) {
		return e.stopOne(p, name, wait, now)
	})
}

// StopProcessGroup stops the running processes of a group.
func (e *Engine) StopProcessGroup(ctx context.Context, group string, wait bool) ([]Outcome, error) {
	return e.many(ctx, group, false, running, func(p *process, name string, now time.Time) (*pending, error) {
		return e.stopOne(p, name, wait, now)
	})
}

// StopAllProcesses stops every running process.
func (e *Engine) StopAllProcesses(ctx context.Context, wait bool) ([]Outcome, error) {
	return e.many(ctx, "", true, running, func(p *process, name string, now time.Time) (*pending, error) {
		return e.stopOne(p, name, wait, now)
	})
}

// SignalProcess sends a signal (name or number) to one process.
func (e *Engine) SignalProcess(name, signal string) error {
	return e.single(context.Background(), name, func(p *process, now time.Time) (*pending, error) {
		return nil, e.signalOne(p, name, signal, now)
	})
}

// SignalProcessGroup signals the signallable processes of a group.
func (e *Engine) SignalProcessGroup(group, signal string) ([]Outcome, error) {
	return e.many(context.Background(), group, false, signallable, func(p *process, name string, now time.Time) (*pending, error) {
		return nil, e.signalOne(p, name, signal, now)
	})
}

// SignalAllProcesses signals every signallable process.
func (e *Engine) SignalAllProcesses(signal string) ([]Outcome, error) {
	return e.many(context.Background(), "", true, signallable, func(p *process, name string, now time.Time) (*pending, error) {
		return nil, e.signalOne(p, name, signal, now)
	})
}

// SendProcessStdin queues data for the process's stdin; the write happens
// on the process's own writer goroutine.
func (e *Engine) SendProcessStdin(name string, data []byte) error {
	var err error
	if cerr := e.call(func(time.Time) {
		var p *process
		if p, err = e.lookup(name); err != nil {
			return
		}
		var full *errStdinFull
		switch {
		case p.pid == 0 || p.killing:
			err = fail(ErrNotRunning, name)
		case p.io == nil || p.io.stdin == nil:
			err = fail(ErrNoStdin, name)
		default:
			if serr := p.io.stdin.send(data); errors.As(serr, &full) {
				err = fail(ErrStdinFull, name+": "+full.Error())
			} else if serr != nil {
				err = fail(ErrNoStdin, name)
			}
		}
	}); cerr != nil {
		return cerr
	}
	return err
}
