package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
)

// Dependencies between processes (depends_on, an extension key).
//
// A start of a process with dependencies (autostart, startProcess, a
// pull-in, a held process coming back) goes through requestStart: the
// process spawns at once when every dependency meets its condition, else
// it stays in its state (STOPPED, EXITED or FATAL: no transition, no
// event) and waits, and the dependencies that will not start on their own
// are started first. Each step re-examines the waiting processes
// (dependencyStep): met → spawn; a dependency that can no longer meet its
// condition, or depends_on_timeout_secs passed → "dependency failed: …"
// as the process's spawn error, and its startProcess waiters get
// SPAWN_ERROR. Restarts by autorestart and BACKOFF retries are not gated:
// a crashing dependency does not take its running dependents down.
//
// A stop goes the other way (stopWithDependents): a process is signalled
// only once every process that depends on it has stopped, the running
// ones being stopped first. An explicit stop holds the dependents it
// stopped (unless the same request stops them too): they start again
// when the dependency next meets their condition, so stock supervisorctl's
// restart (a stop then a start) brings them back.
//
// The edges are resolved against the active groups whenever a group is
// added or removed (rebuildDeps), since active groups may come from
// different configs after a partial update; a cycle among them (each
// config was acyclic) breaks the edge that closes it: a start waiting on
// it fails, naming the cycle.

// depState is a process's part in the dependency rules; the zero value is
// a process without dependencies that nothing depends on.
type depState struct {
	edges      []depEdge  // what the process depends on
	dependents []*process // the active processes that depend on it
	// requested: a start was requested (its autostart is done).
	requested bool
	// waiting: a start waits for the dependencies (with pull-in and
	// timeout). held: stopped because a dependency was explicitly stopped;
	// starts again, passively, once they are met.
	waiting, held bool
	// stopDeferred: a stop waits for the dependents to stop first.
	stopDeferred bool
	// asDependent: the current stop was made because a dependency was
	// stopped (a request that names both then counts it as its own).
	asDependent bool
	// failed is the last wait's "dependency failed: …"; "" otherwise.
	failed string
}

// depEdge is one resolved dependency.
type depEdge struct {
	target *process // nil when no active process answers to the name
	name   string   // the target as messages name it
	cond   config.Condition
	// broken says why the edge can never be met (a cycle across configs).
	broken string
}

// rebuildDeps resolves every active process's depends_on against the
// active groups.
func (e *Engine) rebuildDeps() {
	cfgs := make([]*config.Group, 0, len(e.order))
	for _, g := range e.order {
		cfgs = append(cfgs, g.cfg)
		for _, p := range g.procs {
			p.dep.edges, p.dep.dependents = nil, nil
		}
	}
	for _, g := range e.order {
		for _, p := range g.procs {
			for _, d := range p.cfg.DependsOn {
				targets, err := config.DependencyTargets(cfgs, d.Target)
				if err != nil {
					p.dep.edges = append(p.dep.edges, depEdge{name: d.Target, cond: d.Condition})
					continue
				}
				for _, tc := range targets {
					t := e.recordOf(tc)
					if t == nil || p.hasEdge(t, d.Condition) {
						continue
					}
					p.dep.edges = append(p.dep.edges, depEdge{target: t, name: t.namespec(), cond: d.Condition})
					if !t.hasDependent(p) {
						t.dep.dependents = append(t.dep.dependents, p)
					}
				}
			}
		}
	}
	e.breakCycles()
}

// recordOf is the active record of a configured process.
func (e *Engine) recordOf(pc *config.Process) *process {
	g := e.groups[pc.Group]
	if g == nil {
		return nil
	}
	for _, p := range g.procs {
		if p.name() == pc.Name {
			return p
		}
	}
	return nil
}

func (p *process) hasEdge(t *process, c config.Condition) bool {
	for _, ed := range p.dep.edges {
		if ed.target == t && ed.cond == c {
			return true
		}
	}
	return false
}

func (p *process) hasDependent(d *process) bool {
	for _, x := range p.dep.dependents {
		if x == d {
			return true
		}
	}
	return false
}

// breakCycles marks the edge that closes each cycle among the active
// processes as broken (a start that waits on it fails with the cycle as
// the reason) and logs it. Each config was checked for cycles when it was
// read; groups of different configs (a partial update) can still form
// one.
func (e *Engine) breakCycles() {
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[*process]int{}
	var path []*process
	var visit func(p *process)
	visit = func(p *process) {
		state[p] = onPath
		path = append(path, p)
		for i := range p.dep.edges {
			ed := &p.dep.edges[i]
			t := ed.target
			if t == nil {
				continue
			}
			switch state[t] {
			case onPath:
				var names []string
				for j := len(path) - 1; j >= 0; j-- {
					names = append([]string{path[j].namespec()}, names...)
					if path[j] == t {
						break
					}
				}
				ed.broken = "depends_on cycle: " + strings.Join(append(names, t.namespec()), " -> ")
				e.log.Logf(protocol.LevelError, "%s (active groups of different configurations): %s cannot start while it waits for %s", ed.broken, p.name(), t.name())
				// Out of the stop order too, which would otherwise wait
				// around the cycle for ever.
				t.dep.dependents = slices.DeleteFunc(t.dep.dependents, func(d *process) bool { return d == p })
			case unvisited:
				visit(t)
			}
		}
		path = path[:len(path)-1]
		state[p] = done
	}
	for _, g := range e.order {
		for _, p := range g.procs {
			if state[p] == unvisited {
				visit(p)
			}
		}
	}
}

// met reports whether a dependency meets its condition now.
func (ed depEdge) met() bool {
	t := ed.target
	if t == nil || ed.broken != "" {
		return false
	}
	switch ed.cond {
	case config.CondStarted:
		return t.state == protocol.StateStarting || t.state == protocol.StateRunning
	case config.CondHealthy:
		return t.state == protocol.StateRunning && t.healthy()
	case config.CondExited:
		return t.state == protocol.StateExited && t.expected(t.exitStatus)
	}
	return t.state == protocol.StateRunning
}

func (p *process) allMet() bool {
	for _, ed := range p.dep.edges {
		if !ed.met() {
			return false
		}
	}
	return true
}

// willAutostart reports whether p is yet to make its autostart.
func (p *process) willAutostart() bool {
	return p.state == protocol.StateStopped && p.started.IsZero() && p.cfg.Autostart && !p.dep.requested
}

// willRestart reports whether an EXITED p is about to be restarted by
// autorestart.
func (p *process) willRestart() bool {
	switch p.cfg.Autorestart {
	case config.AutorestartTrue:
		return true
	case config.AutorestartUnexpected:
		return !p.expected(p.exitStatus)
	}
	return false
}

// onItsWay reports whether p is starting or about to, by itself.
func (p *process) onItsWay() bool {
	switch {
	case p.dep.waiting, p.dep.held, p.willAutostart():
		return true
	case p.state == protocol.StateExited:
		return p.willRestart()
	}
	return p.state == protocol.StateStarting || p.state == protocol.StateRunning || p.state == protocol.StateBackoff
}

// hopeless says why a dependency can no longer meet its condition for a
// waiting process ("" while it still may).
func (ed depEdge) hopeless() string {
	t := ed.target
	switch {
	case ed.broken != "":
		return ed.broken
	case t == nil:
		return ed.name + " is not an active process"
	case ed.met() || t.onItsWay():
		return ""
	case t.dep.failed != "":
		return fmt.Sprintf("%s did not start (%s)", ed.name, t.dep.failed)
	}
	switch t.state {
	case protocol.StateFatal:
		return ed.name + " entered FATAL"
	case protocol.StateExited:
		_, how := decodeWaitStatus(t.exitWS)
		return fmt.Sprintf("%s exited (%s)", ed.name, how)
	case protocol.StateStopped:
		return ed.name + " is stopped"
	case protocol.StateUnknown:
		return ed.name + " is in the UNKNOWN state"
	}
	return "" // STOPPING: it may be started again
}

// requestStart starts p through its dependencies: at once when they are
// met, else p waits and the dependencies that will not start by
// themselves are started first.
func (e *Engine) requestStart(p *process, now time.Time) {
	p.dep.requested, p.dep.held, p.dep.asDependent = true, false, false
	if len(p.dep.edges) == 0 || p.allMet() {
		p.dep.waiting, p.dep.failed = false, ""
		p.due.depends = time.Time{}
		e.mach.spawnProcess(p, now)
		return
	}
	if !p.dep.waiting {
		p.dep.waiting, p.dep.failed, p.spawnErr = true, "", ""
		if secs := p.cfg.DependsOnTimeoutSecs; secs > 0 {
			p.due.depends = now.Add(time.Duration(secs) * time.Second)
		}
	}
	for _, ed := range p.dep.edges {
		t := ed.target
		if t == nil || ed.broken != "" || ed.met() || e.inCall[t] || t.state == protocol.StateStopping {
			continue
		}
		// A held dependency is pulled in too: an explicit start of a
		// dependent overrides the hold.
		if t.onItsWay() && !t.dep.held {
			continue
		}
		e.log.Logf(protocol.LevelInfo, "starting %s: required by %s", t.name(), p.name())
		e.requestStart(t, now)
	}
}

// dependencyStep starts the waiting and held processes whose
// dependencies are met, and fails the waits that cannot succeed, until
// nothing changes: a spawn (condition started) or a failure may decide
// another wait at once.
func (e *Engine) dependencyStep(now time.Time, mood protocol.SupervisorState) {
	if mood <= protocol.SupervisorRestarting {
		return
	}
	for changed := true; changed; {
		changed = false
		for _, g := range e.order {
			for _, p := range g.procs {
				if !p.dep.waiting && !p.dep.held || !p.state.IsStopped() {
					continue // a held process is examined once it has stopped
				}
				if p.allMet() && !(p.dep.held && p.dependencyGoingDown()) {
					p.cancelWait() // even if the spawn is refused
					e.mach.spawnProcess(p, now)
					changed = true
					continue
				}
				if p.dep.held {
					continue
				}
				if why := p.whyNot(now); why != "" {
					e.dependencyFailed(p, why)
					changed = true
				}
			}
		}
	}
}

// dependencyGoingDown reports whether a dependency of p is being stopped:
// a process held by that stop starts again only once the dependency
// next meets the condition, not while it is still up.
func (p *process) dependencyGoingDown() bool {
	for _, ed := range p.dep.edges {
		if t := ed.target; t != nil && (t.dep.stopDeferred || t.state == protocol.StateStopping) {
			return true
		}
	}
	return false
}

// whyNot says why a waiting p cannot start ("" while it may).
func (p *process) whyNot(now time.Time) string {
	for _, ed := range p.dep.edges {
		if why := ed.hopeless(); why != "" {
			return why
		}
	}
	if reached(p.due.depends, now) {
		return fmt.Sprintf("timed out after %d s %s", p.cfg.DependsOnTimeoutSecs, p.waitingFor())
	}
	return ""
}

// waitingFor is "waiting for db (running), cache (healthy)": the
// dependencies p still waits for.
func (p *process) waitingFor() string {
	var parts []string
	for _, ed := range p.dep.edges {
		if !ed.met() {
			parts = append(parts, fmt.Sprintf("%s (%s)", ed.name, ed.cond))
		}
	}
	return "waiting for " + strings.Join(parts, ", ")
}

// dependencyFailed ends p's wait: it stays where it is with the reason as
// its spawn error.
func (e *Engine) dependencyFailed(p *process, why string) {
	p.dep.waiting = false
	p.due.depends = time.Time{}
	p.dep.failed = "dependency failed: " + why
	p.spawnErr = p.dep.failed
	e.log.Logf(protocol.LevelWarn, "not starting %s: %s", p.name(), p.dep.failed)
	e.endedForGood(p, 1, false)
}

// cancelWait drops p's wait or hold (an explicit stop, a shutdown).
func (p *process) cancelWait() {
	p.dep.waiting, p.dep.held = false, false
	p.due.depends = time.Time{}
}

// dependentsStopped reports whether every process that depends on p has
// stopped.
func (p *process) dependentsStopped() bool {
	for _, d := range p.dep.dependents {
		if !d.state.IsStopped() {
			return false
		}
	}
	return true
}

// stopWithDependents stops p's running dependents first (holding them,
// when hold is set, unless the current request stops them too), then p,
// at once if they have all stopped, else once they have (deferredStops).
// A dependent still waiting to start is held instead (or just stopped).
func (e *Engine) stopWithDependents(p *process, now time.Time, hold bool) {
	for _, d := range p.dep.dependents {
		holdIt := hold && !e.inCall[d]
		if d.dep.waiting || d.dep.held {
			d.cancelWait()
			d.dep.held = holdIt
			continue
		}
		if !d.state.IsRunning() || d.dep.stopDeferred {
			continue // stopped, or on its way
		}
		d.dep.held, d.dep.asDependent = holdIt, true
		e.log.Logf(protocol.LevelInfo, "stopping %s: depends on %s", d.name(), p.name())
		e.stopWithDependents(d, now, hold)
	}
	if p.dependentsStopped() {
		p.dep.stopDeferred = false
		e.mach.stopProcess(p, now)
		return
	}
	p.dep.stopDeferred = true
}

// deferredStops signals the processes whose stop waited for their
// dependents, once those have stopped.
func (e *Engine) deferredStops(now time.Time) {
	for _, g := range e.order {
		for _, p := range g.procs {
			if !p.dep.stopDeferred {
				continue
			}
			if !p.state.IsRunning() {
				p.dep.stopDeferred = false
				continue
			}
			if p.dependentsStopped() {
				p.dep.stopDeferred = false
				e.mach.stopProcess(p, now)
			}
		}
	}
}

// dependencyChanged warns when a process that others depend on ends by
// itself while they run: they are left running (depends_on is systemd's
// Requires=, not BindsTo=).
func (e *Engine) dependencyChanged(p *process, from protocol.ProcessState) {
	if from != protocol.StateRunning || p.state != protocol.StateExited || len(p.dep.dependents) == 0 {
		return
	}
	var running []string
	for _, d := range p.dep.dependents {
		if d.state.IsRunning() {
			running = append(running, d.name())
		}
	}
	if len(running) > 0 {
		e.log.Logf(protocol.LevelWarn, "%s exited while %s, which depend on it, run on", p.name(), strings.Join(running, ", "))
	}
}

// dependencyNote is what the description of a stopped p says about its
// dependencies: "waiting for …" while it waits or is held, "dependency
// failed: …" after its wait failed, "" otherwise.
func (p *process) dependencyNote() string {
	switch {
	case len(p.dep.edges) == 0 && p.dep.failed == "", !p.state.IsStopped():
		return ""
	case p.dep.waiting || p.dep.held:
		return p.waitingFor()
	}
	return p.dep.failed
}
