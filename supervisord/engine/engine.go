// Package engine owns supervisord's processes: their state machine, the
// spawner, the one reaper and every deadline. One goroutine (Run) owns the
// process table; everything else (RPC handlers, the web UI, signals) talks
// to it through requests and receives copies.
//
// The engine speaks in its own terms, never in a wire format: operations
// fail with an *Error whose Kind is one of the Err values (errors.Is);
// readers get ProcessStatus and ConfiguredProcess snapshots and Outcome
// lists. Words and numbers clients see (fault codes, descriptions,
// "none"/"auto") are the rpc package's; the shared vocabulary (states,
// levels, channels) is internal/protocol's. Consumers declare the few
// methods they use as their own interfaces.
//
// Files: engine.go (the loop), machine.go and process.go (the state
// machine over plain process records), requests.go (requests and waiters),
// control.go, reload.go, logs.go, snapshot.go (the API), spawn.go,
// output.go, group.go, fcgi.go, events.go and listener.go.
package engine

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/cgroup"
	"gosupervisor/internal/protocol"
	"gosupervisor/logrot"
	"gosupervisor/supervisord/events"
	"gosupervisor/supervisord/health"
	"gosupervisor/supervisord/notify"
)

// Logger is the main log as the engine needs it. Logf must be safe for
// concurrent use: output pumps copy child output to it at debug level.
type Logger interface {
	Logf(level protocol.Level, format string, args ...any)
	Enabled(level protocol.Level) bool
}

// MainLogFile is the main log's file side, for readLog/clearLog/SIGUSR2.
type MainLogFile interface {
	Path() string
	Clear() error
	Reopen() error
}

// Options configures New.
type Options struct {
	Config  *config.Config
	Log     Logger
	MainLog MainLogFile // nil = no main log file
	// Reload re-reads the config file from scratch (supervisor.reloadConfig / reread).
	Reload func() (*config.Config, error)
	Clock  Clock // nil = real time
	OS     OS    // nil = the real spawner/reaper, created by Run
	// EventSerial is the global event serial counter; nil = a new one.
	// Pass the same counter to the Engine of each restart: the reference
	// keeps counting across SIGHUP.
	EventSerial *events.Serial
	// Notifier makes programs' sd_notify sockets; nil = sockets in
	// [supervisord] notify_dir (or a private directory), made on first
	// use and removed when Run ends.
	Notifier Notifier
	// Checks makes the runner of HTTP and TCP health checks, reporting
	// on out; nil = health.NewRunner, made on first use.
	Checks func(out chan<- health.Report) HealthRunner
	// Service is the service manager supervisord runs under ($NOTIFY_SOCKET),
	// nil when there is none.
	Service ServiceManager
	// Resume, when set, is a predecessor's state (a supervisord upgraded
	// in place): the engine takes over its processes, pipes and events
	// instead of starting afresh, and Config is ignored (see Resume).
	Resume *Resume
	// Children, when set, is told of every child spawned and reaped (the
	// state file that lets a successor find the orphans of a crash).
	Children ChildRecorder
	// AdoptsOrphans says that orphaned descendants are reparented to
	// supervisord (it is PID 1 or a child subreaper): the reaper then logs
	// the unknown pids it reaps at debug level, not info.
	AdoptsOrphans bool
	// CgroupHost is where programs' cgroups are made; nil = this
	// process's own cgroups on the real filesystem. Tests give a
	// delegated cgroup of their own.
	CgroupHost *cgroup.Host
	// ReleaseMemory returns free heap to the operating system; the loop
	// calls it when a burst of spawns is over (memtrim.go). nil = never;
	// supervisord passes debug.FreeOSMemory.
	ReleaseMemory func()
}

// ChildRecorder keeps a record of the running children outside the
// daemon. The engine loop calls it; it need not be safe for concurrent
// use. Flush comes after each loop step that changed something.
type ChildRecorder interface {
	Started(pid int, group, name string) error
	Ended(pid int)
	Flush() error
}

// Exit says why Run returned.
type Exit int

// Why Run returned: every process is stopped and supervisord should exit,
// or re-read its config and run a new Engine.
const (
	ExitShutdown Exit = iota
	ExitRestart
	// ExitUpgrade: Freeze took the state for a handover; every process
	// runs on, and its pipes are the handover's.
	ExitUpgrade
)

// Engine supervises the processes of one configuration. Build it with New,
// drive it with Run; all exported methods are safe for concurrent use.
type Engine struct {
	opts  Options
	log   Logger
	clock Clock
	pid   int

	reqc    chan func(now time.Time)
	done    chan struct{}
	ran     atomic.Bool
	stepped chan struct{} // closed once Run has published its first step
	mood    atomic.Int32
	pumps   sync.WaitGroup
	stdinWG sync.WaitGroup
	trim    memTrim

	// Owned by the loop goroutine (and by New before Run starts).
	os         OS
	mach       *machine
	cfg        *config.Config // the config read last (reread replaces it)
	identifier string
	groups     map[string]*group
	order      []*group // active groups by (priority, name)
	byPID      map[int]*process
	syslog     *logrot.Syslog // for *_syslog=true; connects on first use
	ev         eventState     // listener pools, serials, pump messages (events.go)
	waiters    []*waiter
	stopping   bool
	stopGroups []*group
	lastReport time.Time // last "waiting for ... to die"
	draining   []drainingIO
	exit       Exit
	restartCfg *config.Config // read by Restart, for the next run
	finished   bool
	// exitStatus is what an exit policy decided supervisord exits with.
	exitStatus int
	// inCall is the set of processes the request being handled acts on
	// (nil between requests): a pull-in or a hold spares them.
	inCall map[*process]bool
	// recordFailing is set once a ChildRecorder error was logged, until
	// it works again.
	recordFailing bool
	pub           publisher // snapshots for read-only calls (snapshot.go)
	// endErr is what calls get once Run has returned (set before done
	// is closed).
	endErr error
	// upgrading is set from BeginUpgrade to EndUpgrade or Freeze;
	// resumed says New took over a predecessor's state (handover.go).
	upgrading bool
	resumed   bool
	// helpers are children the loop spawned for the daemon itself (the
	// upgrade's check), by pid: the reaper hands their status over.
	helpers map[int]chan<- syscall.WaitStatus
	// strays are children a resume found no record for, by pid: reaped
	// and logged, never signalled.
	strays  map[int]string
	strayIO []*logrot.Source // their output pipes
	strayWG sync.WaitGroup   // their pumps

	// Resources (resources.go, sampler.go): where cgroups go (nil:
	// none), the system's OOM kill count last seen, record ids, the
	// sampler and the monitor goroutine.
	cgroups   *cgroup.Hierarchy
	oomSystem uint64
	oomSeen   bool
	lastID    uint64
	samples   *sampler
	monitor   monitorState

	// sd_notify, health checks and the service manager (notify.go,
	// health.go, service.go).
	notifier  Notifier
	notifyc   chan notify.Delivery
	mainExitc chan any
	runner    HealthRunner
	healthc   chan health.Report
	probes    map[int]*probe // exec checks in flight or not yet reaped, by pid
	svc       serviceState
	// watchAfterResume are the processes whose main pid a resume must
	// watch once Run has started (handover_readiness.go).
	watchAfterResume []*process
}

// New builds the engine: it removes old AUTO child logs (unless
// nocleanup), creates the groups with their AUTO log files and fcgi
// sockets, and starts nothing.
func New(o Options) (*Engine, error) {
	if r := o.Resume; r != nil && r.State.Config >= 0 && r.State.Config < len(r.Configs) {
		o.Config = r.Configs[r.State.Config]
	}
	if o.Config == nil {
		return nil, errors.New("engine: no config")
	}
	if o.Log == nil {
		return nil, errors.New("engine: no logger")
	}
	e := &Engine{
		opts:       o,
		log:        o.Log,
		clock:      o.Clock,
		pid:        os.Getpid(),
		reqc:       make(chan func(time.Time)),
		done:       make(chan struct{}),
		stepped:    make(chan struct{}),
		cfg:        o.Config,
		identifier: o.Config.Supervisord.Identifier,
		groups:     map[string]*group{},
		byPID:      map[int]*process{},
		syslog:     logrot.NewSyslog(nil),
		notifier:   o.Notifier,
		notifyc:    make(chan notify.Delivery),
		mainExitc:  make(chan any),
		healthc:    make(chan health.Report),
		probes:     map[int]*probe{},
		svc:        serviceState{mood: protocol.SupervisorRunning},
		endErr:     errStopped,
		helpers:    map[int]chan<- syscall.WaitStatus{},
		strays:     map[int]string{},
		samples:    newSampler(),
		monitor:    monitorState{kick: make(chan struct{}, 1)},
		trim:       memTrim{release: o.ReleaseMemory},
	}
	if e.clock == nil {
		e.clock = realClock{}
	}
	e.mood.Store(int32(protocol.SupervisorRunning))
	e.ev = newEventState(o.EventSerial)
	e.mach = &machine{log: o.Log, spawn: e.spawn, kill: e.kill, changed: e.stateChanged, start: e.requestStart, members: e.survivors}
	if o.Resume != nil {
		if err := e.resume(o.Resume); err != nil {
			e.closeGroups()
			return nil, err
		}
		e.publish()
		return e, nil
	}
	if !o.Config.Supervisord.NoCleanup {
		cleanAutoLogs(o.Log, o.Config.Supervisord.ChildLogDir, e.identifier)
	}
	for _, gc := range o.Config.Groups {
		if e.groups[gc.Name] != nil {
			continue // the first group of a name wins, as in the reference
		}
		if err := e.addGroup(gc); err != nil {
			e.closeGroups()
			return nil, err
		}
	}
	e.publish()
	return e, nil
}

// kill reaches the OS; Run sets e.os before anything can be signalled.
func (e *Engine) kill(pid int, sig syscall.Signal) error { return e.os.Kill(pid, sig) }

// survivors are the live processes p's exited instance left in its
// process group (it leads its own) or in its cgroup.
func (e *Engine) survivors(p *process) []Survivor {
	var also []int
	if p.res.leaf != nil {
		also = p.res.leaf.Pids()
	}
	return e.os.Survivors(p.pid, also)
}

// Run is the engine loop. It starts the autostart programs in priority
// order and runs until a shutdown or restart request has stopped every
// process, then says which it was. Cancelling ctx requests a shutdown (the
// processes are still stopped in order). Run may be called once.
func (e *Engine) Run(ctx context.Context) (Exit, error) {
	if !e.ran.CompareAndSwap(false, true) {
		return ExitShutdown, errors.New("engine: Run called twice")
	}
	defer close(e.done)
	if e.opts.OS != nil {
		e.os = e.opts.OS
	} else {
		ros := newRealOS()
		e.os = ros
		defer ros.Close()
	}
	ctxDone := ctx.Done()
	var timerC <-chan time.Time
	stopTimer := func() bool { return false }
	e.setupCgroups()
	e.readSystemOOMKills()
	e.reap(e.clock.Now())
	e.resumeWatches()
	if !e.resumed {
		e.supervisorRunning(e.clock.Now())
	}
	stepped := false
	for {
		if e.finished { // a request ended the loop (Freeze)
			break
		}
		now := e.clock.Now()
		e.step(now)
		if e.finished {
			break
		}
		stopTimer()
		timerC, stopTimer = nil, func() bool { return false }
		if at, ok := e.nextDeadline(); ok {
			// Measured from when the step ended, not began: spawning 500
			// programs takes a second, and the timer would fire that late
			// unless some request happened to wake the loop first.
			timerC, stopTimer = e.clock.NewTimer(max(at.Sub(e.clock.Now()), 0))
		}
		e.flushChildren()
		if e.publish() && e.monitor.active {
			e.kickMonitor()
		}
		if !stepped {
			stepped = true
			close(e.stepped)
			e.startMonitor()
		}
		select {
		case <-ctxDone:
			ctxDone = nil
			e.setMood(protocol.SupervisorShutdown)
		case <-e.os.ChildExited():
			e.log.Logf(protocol.LevelDebug, "received SIGCHLD indicating a child quit")
			e.reap(e.clock.Now())
		case req := <-e.reqc:
			req(e.clock.Now())
		case <-e.ev.queue.wake:
			e.handlePumpMessages()
		case d := <-e.notifyc:
			e.notified(d, e.clock.Now())
		case r := <-e.healthc:
			e.networkChecked(r, e.clock.Now())
		case token := <-e.mainExitc:
			e.mainExited(token, e.clock.Now())
		case <-timerC:
		}
	}
	stopTimer()
	e.stopMonitor()
	e.closeExtensions()
	e.finishWaiters(e.endErr)
	e.stopAllIO()
	e.closeGroups()
	e.syslog.Close()
	return e.exit, nil
}

// step applies every time- and mood-driven rule, once per loop wake-up.
func (e *Engine) step(now time.Time) {
	mood := e.moodNow()
	// Waiters first, as the reference answers pending requests before its
	// transitions: "waiting for x to stop" precedes "killing x" in the log.
	e.pollWaiters(now)
	for _, g := range e.order {
		for _, p := range g.procs {
			e.mach.transition(p, now, mood)
			e.extensionsDue(p, now)
			e.resourcesDue(p, now)
		}
	}
	// Before the shutdown's first step: STOPPING=1 precedes the extra
	// time asked for each group.
	e.serviceStep(now)
	e.deferredStops(now)
	e.dependencyStep(now, mood)
	e.checkAllEnded()
	if mood < protocol.SupervisorRunning {
		e.shutdownStep(now)
	}
	e.tick(now)
	e.dispatchEvents()
	e.pollWaiters(now)
	e.trimMemory()
	if e.moodNow() != mood {
		// An exit policy began a shutdown: start it now, not at the next
		// wake-up.
		e.step(now)
	}
}

// flushChildren brings the ChildRecorder's record up to date.
func (e *Engine) flushChildren() {
	if e.opts.Children == nil {
		return
	}
	if err := e.opts.Children.Flush(); err != nil {
		if !e.recordFailing {
			e.log.Logf(protocol.LevelError, "could not record the children for a successor: %v", err)
			e.recordFailing = true
		}
		return
	}
	e.recordFailing = false
}

// reap collects every exited child: wait4(-1, WNOHANG) until none is left.
func (e *Engine) reap(now time.Time) {
	for {
		r, ok := e.os.Reap()
		if !ok {
			return
		}
		pid, ws := r.PID, r.Status
		if pr := e.probes[pid]; pr != nil {
			delete(e.probes, pid)
			e.checkExited(pr, ws, now)
			continue
		}
		if c := e.helpers[pid]; c != nil {
			delete(e.helpers, pid)
			c <- ws
			continue
		}
		if name, ok := e.strays[pid]; ok {
			delete(e.strays, pid)
			_, how := decodeWaitStatus(ws)
			e.log.Logf(protocol.LevelWarn, "unsupervised %s (pid %d) exited (%s)", name, pid, how)
			continue
		}
		p := e.byPID[pid]
		if p == nil {
			_, how := decodeWaitStatus(ws)
			level := protocol.LevelInfo
			if e.opts.AdoptsOrphans {
				level = protocol.LevelDebug
			}
			e.log.Logf(level, "reaped unknown pid %d (%s)", pid, how)
			continue
		}
		delete(e.byPID, pid)
		if e.opts.Children != nil {
			e.opts.Children.Ended(pid)
		}
		if pid != p.pid {
			// The spawned child of a program that named another main pid
			// (MAINPID=): the instance lives on as that pid.
			p.res.cpuDone += r.CPU
			if pid == p.ntf.child && p.pid != 0 {
				e.childExitedForMain(p, now)
			}
			continue
		}
		facts := exitFacts{pid: pid, serial: p.serial, started: p.started, killing: p.killing, cpu: r.CPU}
		e.stopWatchingMain(p)
		e.lastWords(p, now)
		e.mach.finish(p, ws, now)
		e.recordExit(p, ws, facts, now)
		e.instanceEnded(p, now)
	}
}

// instanceEnded releases what p's instance held once it has ended.
func (e *Engine) instanceEnded(p *process, now time.Time) {
	e.releaseIO(p, now)
	e.releaseSocket(p.group)
	p.closeNotify()
	p.ntf.ready = false
	e.stopChecks(p)
	p.hc.status.Stop()
}

// extensionsDue acts on the sd_notify and health check deadlines that
// are reached.
func (e *Engine) extensionsDue(p *process, now time.Time) {
	if reached(p.due.ready, now) && p.state == protocol.StateStarting {
		e.readyDue(p, now)
	}
	if reached(p.due.watchdog, now) {
		e.watchdogDue(p, now)
	}
	if reached(p.due.probe, now) {
		e.probeDue(p, now)
	}
	if reached(p.due.check, now) {
		e.checkDue(p, now)
	}
	if reached(p.due.force, now) {
		e.forceDue(p)
	}
}

// closeExtensions releases the notification sockets, health checks and
// main pid watches when Run ends.
func (e *Engine) closeExtensions() {
	for _, g := range e.order {
		for _, p := range g.procs {
			p.closeNotify()
			e.stopWatchingMain(p)
		}
	}
	e.closeChecks()
	if e.notifier != nil {
		if err := e.notifier.Close(); err != nil {
			e.log.Logf(protocol.LevelWarn, "couldn't remove notify_dir: %v", err)
		}
	}
}

// nextDeadline is the earliest instant at which step has work to do
// without any other event. Deadlines are recomputed from the current
// records each time, so one left over from an earlier instance never acts
// on a new one.
func (e *Engine) nextDeadline() (time.Time, bool) {
	var at time.Time
	found := false
	consider := func(t time.Time) {
		if !found || t.Before(at) {
			at, found = t, true
		}
	}
	mood := e.moodNow()
	for _, g := range e.order {
		for _, p := range g.procs {
			if t, ok := p.deadline(mood); ok {
				consider(t)
			}
		}
	}
	for _, w := range e.waiters {
		if w.next != nil {
			if t, ok := w.next(); ok {
				consider(t)
			}
		}
	}
	if e.stopping && e.hasUnstopped() {
		consider(e.lastReport.Add(3 * time.Second).Add(time.Nanosecond))
	}
	if t, ok := e.eventsDeadline(); ok {
		consider(t)
	}
	if t, ok := e.serviceDeadline(); ok {
		consider(t)
	}
	return at, found
}

// shutdownStep stops groups from the highest priority down, one group at
// a time, and finishes Run once nothing is left running.
func (e *Engine) shutdownStep(now time.Time) {
	if !e.stopping {
		e.stopping = true
		e.supervisorStopping()
		// Listeners stop last; let them have the news first.
		e.dispatchEvents()
		e.stopGroups = append([]*group(nil), e.order...)
	}
	for len(e.stopGroups) > 0 {
		g := e.stopGroups[len(e.stopGroups)-1]
		if e.holdListeners(g, now) {
			break
		}
		if e.svc.stopping != g && len(g.unstopped()) > 0 {
			e.svc.stopping = g
			e.serviceGroupStopping(g)
		}
		e.stopAllInGroup(g, now)
		if len(g.unstopped()) > 0 {
			break
		}
		e.stopGroups = e.stopGroups[:len(e.stopGroups)-1]
	}
	if !e.hasUnstopped() {
		// Health checks killed as their programs stopped are reaped
		// before the engine ends.
		e.finished = len(e.probes) == 0
		return
	}
	if e.lastReport.IsZero() || now.After(e.lastReport.Add(3*time.Second)) {
		var names []string
		for _, g := range e.order {
			for _, p := range g.unstopped() {
				names = append(names, p.name())
			}
		}
		e.log.Logf(protocol.LevelInfo, "waiting for %s to die", strings.Join(names, ", "))
		e.lastReport = now
		for _, g := range e.order {
			for _, p := range g.unstopped() {
				e.log.Logf(protocol.LevelBlather, "%s has entered the %s state", p.name(), p.state)
			}
		}
	}
}

// stopAllInGroup is the reference's group stop_all: descending priority,
// BACKOFF gives up (FATAL) instead of stopping.
func (e *Engine) stopAllInGroup(g *group, now time.Time) {
	procs := g.byPriority()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		p.cancelWait()
		switch p.state {
		case protocol.StateRunning, protocol.StateStarting:
			switch {
			case p.dep.stopDeferred:
				// Signalled once its dependents have stopped.
			case len(p.dep.dependents) > 0:
				e.stopWithDependents(p, now, false)
			default:
				e.mach.stopProcess(p, now)
			}
		case protocol.StateBackoff:
			e.mach.giveUp(p, now)
		}
	}
}

func (e *Engine) hasUnstopped() bool {
	for _, g := range e.order {
		if len(g.unstopped()) > 0 {
			return true
		}
	}
	return false
}

func (e *Engine) moodNow() protocol.SupervisorState { return protocol.SupervisorState(e.mood.Load()) }

// State is supervisord's own state: RUNNING until a shutdown or restart
// begins.
func (e *Engine) State() protocol.SupervisorState { return e.moodNow() }

// PID is supervisord's pid.
func (e *Engine) PID() int { return e.pid }

// setMood enters SHUTDOWN or RESTARTING; the loop does the rest.
func (e *Engine) setMood(m protocol.SupervisorState) {
	e.mood.Store(int32(m))
	if m == protocol.SupervisorRestarting {
		e.exit = ExitRestart
	} else {
		e.exit = ExitShutdown
	}
}

// call runs fn on the loop goroutine and waits for it to finish.
func (e *Engine) call(fn func(now time.Time)) error {
	finished := make(chan struct{})
	select {
	case e.reqc <- func(now time.Time) { fn(now); e.publish(); close(finished) }:
	case <-e.done:
		return e.endErr
	}
	<-finished
	return nil
}

// Shutdown asks for an orderly stop of every process, then Run returns
// ExitShutdown. It logs nothing itself. A shutdown already in progress
// answers SHUTDOWN_STATE; a restart in progress becomes a shutdown.
func (e *Engine) Shutdown() error {
	var err error
	if cerr := e.call(func(time.Time) {
		if e.moodNow() < protocol.SupervisorRunning {
			err = fail(ErrShutdown, "")
		}
		e.setMood(protocol.SupervisorShutdown)
	}); cerr != nil {
		return cerr
	}
	return err
}

// Restart reads the config file again and, when it is valid, asks for an
// orderly stop of every process, then Run returns ExitRestart and
// RestartConfig holds that config. A config that cannot be read changes
// nothing: the error is logged and answered as ErrReread, every process
// runs on (the reference stops everything, then exits). During a shutdown
// it answers ErrShutdown and changes nothing.
func (e *Engine) Restart() error {
	if e.moodNow() < protocol.SupervisorRunning {
		return fail(ErrShutdown, "")
	}
	if e.opts.Reload == nil {
		return fail(ErrReread, "no configuration file to re-read")
	}
	// Read outside the loop: parsing touches the file system.
	next, rerr := e.opts.Reload()
	if rerr != nil {
		e.log.Logf(protocol.LevelError, "could not reload the configuration, keeping the previous one: %v", rerr)
		return fail(ErrReread, rerr.Error())
	}
	var err error
	if cerr := e.call(func(time.Time) {
		if e.moodNow() < protocol.SupervisorRunning {
			err = fail(ErrShutdown, "")
			return
		}
		if err = e.refuseDuringUpgrade(); err != nil {
			return
		}
		e.restartCfg = next
		e.setMood(protocol.SupervisorRestarting)
	}); cerr != nil {
		return cerr
	}
	return err
}

// RestartConfig is the config a restart read and checked before it
// stopped anything; the next run starts on it. Call it once Run has
// returned ExitRestart.
func (e *Engine) RestartConfig() *config.Config { return e.restartCfg }
