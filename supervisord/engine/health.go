package engine

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/events"
	"gosupervisor/supervisord/health"
)

// Health checks (healthcheck_* keys) run while an instance is RUNNING,
// one at a time, every interval after the previous one ended. HTTP and
// TCP checks run on the runner's goroutines; exec checks are children the
// loop spawns like programs and reaps with the one reaper, each leading
// its own process group, which is killed when the check times out, when
// it has exited (strays), and when the program stops.

// HealthRunner runs network checks (a *health.Runner); engine tests
// substitute a fake.
type HealthRunner interface {
	// Start runs a check of hc.Kind HealthHTTP or HealthTCP and reports
	// its result with token on the channel the runner was made with.
	Start(token any, hc config.HealthCheck)
	// Close cancels the checks in flight and waits for them.
	Close()
}

// healthState is a process's health checking.
type healthState struct {
	status health.Status
	// inflight is the check running now; nil between checks.
	inflight *probe
	// output is the last exec check's output (it may still be coming).
	output *health.Capture
	// detail is what the description says of an unhealthy verdict:
	// "HTTP 503 (3/3)".
	detail string
}

// probe is one check in flight.
type probe struct {
	p      *process
	serial uint64 // the instance it checks
	pid    int    // an exec check's pid; 0 for a network check
	done   bool   // its result is recorded (a timed-out exec check still runs until reaped)
}

// checking reports whether p's config has a health check.
func (p *process) checking() bool { return p.cfg.Health.Kind != config.HealthNone }

// healthy reports whether p's health check passes now: the condition
// depends_on's "healthy" waits for. A program without a check is never
// healthy (config refuses such an edge).
func (p *process) healthy() bool {
	return p.checking() && p.hc.status.State == health.Healthy
}

// startChecks arms the first check of an instance that entered RUNNING.
func (p *process) startChecks(now time.Time) {
	if p.checking() && p.forced == "" {
		p.due.check = now.Add(time.Duration(p.cfg.Health.IntervalSecs) * time.Second)
	}
}

// stopChecks ends checking for the current instance: no further check,
// and an exec check in flight is killed with its process group (the
// reaper then collects it and its result is dropped).
func (e *Engine) stopChecks(p *process) {
	p.due.check, p.due.probe = time.Time{}, time.Time{}
	if pr := p.hc.inflight; pr != nil {
		pr.done = true
		if pr.pid != 0 {
			_ = e.kill(-pr.pid, syscall.SIGKILL)
		}
		p.hc.inflight = nil
	}
}

// checkDue starts p's next check.
func (e *Engine) checkDue(p *process, now time.Time) {
	p.due.check = time.Time{}
	if p.hc.inflight != nil {
		return
	}
	hc := p.cfg.Health
	pr := &probe{p: p, serial: p.serial}
	if hc.Kind != config.HealthExec {
		p.hc.inflight = pr
		e.healthRunner().Start(pr, hc)
		return
	}
	pid, err := e.spawnCheck(p)
	if err != nil {
		e.checked(pr, health.Result{Reason: err.Error()}, now)
		return
	}
	pr.pid = pid
	p.hc.inflight = pr
	e.probes[pid] = pr
	p.due.probe = now.Add(time.Duration(hc.TimeoutSecs) * time.Second)
}

// healthRunner is the network check runner, made on first use.
func (e *Engine) healthRunner() HealthRunner {
	if e.runner == nil {
		if e.opts.Checks != nil {
			e.runner = e.opts.Checks(e.healthc)
		} else {
			e.runner = health.NewRunner(e.healthc)
		}
	}
	return e.runner
}

// spawnCheck starts p's exec check as the program would run: its user,
// environment (without NOTIFY_SOCKET: a check is not the program),
// directory and umask; stdin on /dev/null, stdout and stderr into one
// pipe whose first bytes are kept.
func (e *Engine) spawnCheck(p *process) (int, error) {
	pc := *p.cfg
	pc.Command, pc.Argv, pc.ArgvErr = p.cfg.Health.Command, p.cfg.Health.Argv, ""
	path, argv, err := ResolveCommand(p.group.src, &pc)
	if err != nil {
		return 0, err
	}
	cred, err := credential(p.cfg)
	if err != nil {
		return 0, err
	}
	env, err := e.childEnv(p)
	if err != nil {
		return 0, err
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	pid, err := e.os.Start(&SpawnSpec{
		Path: path, Argv: argv, Env: stripNotifyEnv(env), Dir: p.cfg.Directory,
		Umask: p.cfg.Umask, Files: []*os.File{null, w, w}, Credential: cred,
	})
	w.Close()
	if err != nil {
		r.Close()
		return 0, fmt.Errorf("couldn't run healthcheck_exec: %v", err)
	}
	if p.hc.output != nil {
		p.hc.output.Close()
	}
	p.hc.output = health.NewCapture(r)
	return pid, nil
}

// probeDue is reached when an exec check outlived its timeout: its
// process group is killed and the check counts as failed now.
func (e *Engine) probeDue(p *process, now time.Time) {
	p.due.probe = time.Time{}
	pr := p.hc.inflight
	if pr == nil || pr.pid == 0 {
		return
	}
	_ = e.kill(-pr.pid, syscall.SIGKILL)
	e.checked(pr, health.TimedOut(time.Duration(p.cfg.Health.TimeoutSecs)*time.Second), now)
}

// checkExited handles the reaped exit of an exec check: strays left in
// its process group are killed, and its result counts unless it timed out
// or its instance is gone.
func (e *Engine) checkExited(pr *probe, ws syscall.WaitStatus, now time.Time) {
	if err := e.kill(-pr.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		e.log.Logf(protocol.LevelDebug, "couldn't kill what is left of %s's health check (pgid %d): %v", pr.p.name(), pr.pid, err)
	}
	if pr.p.hc.inflight == pr {
		// Not a check killed earlier (one a predecessor cut short).
		pr.p.due.probe = time.Time{}
	}
	e.checked(pr, health.ExitResult(ws), now)
}

// networkChecked handles a network check's report.
func (e *Engine) networkChecked(r health.Report, now time.Time) {
	if pr, ok := r.Token.(*probe); ok {
		e.checked(pr, r.Result, now)
	}
}

// checked records a check's result and acts on a change of verdict.
func (e *Engine) checked(pr *probe, r health.Result, now time.Time) {
	p := pr.p
	if pr.done || pr.serial != p.serial || p.state != protocol.StateRunning || p.forced != "" {
		return // killed, or its instance is gone
	}
	pr.done = true
	if p.hc.inflight == pr {
		p.hc.inflight = nil
	}
	hc := p.cfg.Health
	p.due.check = now.Add(time.Duration(hc.IntervalSecs) * time.Second)
	if !r.OK {
		p.res.counts.HealthFailures++
		p.res.version++
	}
	changed := p.hc.status.Record(hc, r, now)
	st := &p.hc.status
	if st.State == health.Unhealthy {
		p.hc.detail = fmt.Sprintf("%s (%d/%d)", st.LastResult.Reason, st.Failures, hc.Retries)
	}
	if !changed {
		return
	}
	switch st.State {
	case health.Healthy:
		e.log.Logf(protocol.LevelInfo, "health: %s is healthy (%s)", p.name(), r.Reason)
		e.emit(events.New(events.ProcessHealthHealthy, events.HealthPayload(p.name(), p.group.cfg.Name, p.pid, st.Failures, r.Reason)))
	case health.Unhealthy:
		e.emit(events.New(events.ProcessHealthUnhealthy, events.HealthPayload(p.name(), p.group.cfg.Name, p.pid, st.Failures, r.Reason)))
		if hc.Action != config.HealthRestart {
			e.log.Logf(protocol.LevelWarn, "health: %s is unhealthy (%s, %d/%d)", p.name(), r.Reason, st.Failures, hc.Retries)
			return
		}
		e.log.Logf(protocol.LevelError, "health: %s is unhealthy (%s, %d/%d), sending %s", p.name(), r.Reason, st.Failures, hc.Retries, config.SignalName(p.cfg.StopSignal))
		e.forceEnd(p, ExitHealth, p.cfg.StopSignal, now)
	}
}

// closeChecks stops the network check runner when the engine ends (exec
// checks' outputs close with their groups).
func (e *Engine) closeChecks() {
	if e.runner != nil {
		e.runner.Close()
	}
}

// Health is what gosupervisor.getProcessHealth reports of a process: its
// readiness, its health check and what its notifications said.
type Health struct {
	Name, Group string
	// Ready: RUNNING, and for a notify=true program READY=1 not
	// withdrawn by RELOADING=1 or STOPPING=1.
	Ready bool
	// State is the health check's verdict (health.None without a check
	// or without a running instance); Failures the failed checks in a
	// row; LastCheck when the last one ended (zero: none yet);
	// LastResult its result ("HTTP 503") and LastOutput the first bytes
	// it printed (an exec check's output, an HTTP check's body).
	State      health.State
	Failures   int
	LastCheck  time.Time
	LastResult string
	LastOutput string
	// Status and Errno are the last STATUS= and ERRNO=.
	Status string
	Errno  int
	// Watchdog is the keep-alive limit (0 = none); LastPing the last
	// keep-alive (zero: none).
	Watchdog time.Duration
	LastPing time.Time
	// MainPID is the pid signals go to (MAINPID= may have moved it from
	// the spawned pid); 0 without a running instance.
	MainPID int
	// LastExitReason is why the engine itself ended the last instance,
	// "" when it did not.
	LastExitReason ExitReason
}

// health is p's Health now. Loop goroutine only.
func (p *process) health() Health {
	h := Health{
		Name: p.name(), Group: p.group.cfg.Name,
		Ready:    p.state == protocol.StateRunning && (!p.cfg.Notify.Ready || p.ntf.ready),
		State:    p.hc.status.State,
		Failures: p.hc.status.Failures, LastCheck: p.hc.status.LastCheck,
		LastResult: p.hc.status.LastResult.Reason, LastOutput: p.hc.status.LastResult.Output,
		Status: p.ntf.status, Errno: p.ntf.errno,
		MainPID: p.pid, LastExitReason: p.forced,
	}
	if p.hc.output != nil && p.cfg.Health.Kind == config.HealthExec {
		h.LastOutput = p.hc.output.Output()
	}
	if p.ntf.sock != nil {
		h.Watchdog = p.ntf.limit
		h.LastPing = p.lastPing()
	}
	return h
}

// ProcessHealth is the Health of one process ("name" or "group:name").
func (e *Engine) ProcessHealth(name string) (Health, error) {
	var (
		h    Health
		ferr error
	)
	if err := e.call(func(time.Time) {
		p, err := e.lookup(name)
		if err != nil {
			ferr = err
			return
		}
		h = p.health()
	}); err != nil {
		return Health{}, err
	}
	return h, ferr
}

// AllProcessHealth is the Health of every process, by group then name.
func (e *Engine) AllProcessHealth() ([]Health, error) {
	var out []Health
	if err := e.call(func(time.Time) {
		for _, p := range e.pub.procs {
			out = append(out, p.health())
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}
