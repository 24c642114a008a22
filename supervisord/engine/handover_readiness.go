package engine

import (
	"fmt"
	"syscall"
	"time"

	"gosupervisor/supervisord/handover"
	"gosupervisor/supervisord/health"
)

// The handover of the readiness keys (sd_notify, watchdog, health
// checks; feature readiness): each running instance's notification
// socket goes over as a descriptor still bound at the address the
// program has in NOTIFY_SOCKET, so the program notices nothing;
// datagrams sent during the exec wait in the socket's queue. What the
// notifications said, the watchdog's last keep-alive and the health
// check's verdict and failure count go over as plain values, instants as
// durations before the freeze. A health check in flight is not handed
// over: an exec check is killed (the successor reaps it), and the
// successor runs the check again at once.

// freezeReadiness prepares the readiness state for a freeze: what the
// sockets received and the loop has not handled yet is handled now
// (nothing a program sent is lost or handled twice), and the health
// checks in flight are cut short, to run again after the resume. Loop
// goroutine only.
func (e *Engine) freezeReadiness(now time.Time) {
	for more := true; more; {
		select {
		case d := <-e.notifyc:
			e.notified(d, now)
		default:
			more = false
		}
	}
	for _, g := range e.order {
		for _, p := range g.procs {
			if p.ntf.sock != nil {
				// Stops the socket's goroutine; the descriptor stays
				// open (its duplicate goes over).
				for _, d := range p.ntf.sock.Drain() {
					e.notified(d, now)
				}
			}
		}
	}
	for _, g := range e.order {
		for _, p := range g.procs {
			pr := p.hc.inflight
			if pr == nil {
				continue
			}
			pr.done = true
			if pr.pid != 0 {
				_ = e.kill(-pr.pid, syscall.SIGKILL)
			}
			p.hc.inflight = nil
			p.due.probe = time.Time{}
			p.due.check = now
		}
	}
}

// exportReadiness describes p's readiness state at now; nil for a
// program without the readiness keys.
func (e *Engine) exportReadiness(p *process, now time.Time) *handover.Readiness {
	if !p.cfg.Notify.Socket() && !p.checking() && p.forced == "" {
		return nil
	}
	ago := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return max(int64(now.Sub(t)), 1) // 0 is never
	}
	r := &handover.Readiness{
		Forced: string(p.forced), Child: p.ntf.child, WatchMain: p.watch != nil,
		Ready: p.ntf.ready, Status: p.ntf.status, Errno: p.ntf.errno,
		WatchdogNS: int64(p.ntf.limit), PingedAgo: ago(p.lastPing()), Refused: p.ntf.refused,
	}
	if p.checking() {
		st := &p.hc.status
		hh := &handover.Health{
			State: st.State.String(), Failures: st.Failures, LastCheckAgo: ago(st.LastCheck),
			LastOK: st.LastResult.OK, LastReason: st.LastResult.Reason, LastOutput: p.health().LastOutput,
			Detail: p.hc.detail,
		}
		if end := st.StartPeriodEnd(); !end.IsZero() {
			if hh.StartPeriodLeft = int64(end.Sub(now)); hh.StartPeriodLeft == 0 {
				hh.StartPeriodLeft = -1 // over; 0 would say there is none
			}
		}
		for pid, pr := range e.probes {
			if pr.p == p {
				hh.Reap = append(hh.Reap, pid)
			}
		}
		r.Health = hh
	}
	return r
}

// restoreReadiness sets p's readiness state from r (nil: none), taken
// elapsed ago.
func (p *process) restoreReadiness(r *handover.Readiness, now time.Time, elapsed time.Duration) error {
	if r == nil {
		return nil
	}
	at := func(ago int64) time.Time {
		if ago == 0 {
			return time.Time{}
		}
		return now.Add(-time.Duration(ago) - elapsed)
	}
	p.forced = ExitReason(r.Forced)
	p.ntf = notifyState{
		child: r.Child, ready: r.Ready, status: r.Status, errno: r.Errno,
		limit: time.Duration(r.WatchdogNS), pinged: at(r.PingedAgo), refused: r.Refused,
	}
	if h := r.Health; h != nil {
		st, ok := health.ParseState(h.State)
		if !ok {
			return fmt.Errorf("unknown health state %q", h.State)
		}
		var end time.Time
		if h.StartPeriodLeft != 0 {
			end = now.Add(time.Duration(h.StartPeriodLeft) - elapsed)
		}
		p.hc.status = health.Restore(st, h.Failures, at(h.LastCheckAgo),
			health.Result{OK: h.LastOK, Reason: h.LastReason, Output: h.LastOutput}, end)
		p.hc.detail = h.Detail
	}
	return nil
}

// resumeNotify takes over the running instance's notification socket
// and its main pid's bookkeeping.
func (e *Engine) resumeNotify(p *process, r *handover.Readiness) error {
	if r == nil {
		return nil
	}
	if p.ntf.child == 0 {
		p.ntf.child = p.pid
	}
	switch {
	case r.WatchMain:
		// The spawned child was reaped; the main pid is watched once
		// Run has started (resumeWatches).
		e.watchAfterResume = append(e.watchAfterResume, p)
	case p.ntf.child != p.pid:
		// Not reaped yet: its exit leaves the instance to the main pid.
		e.byPID[p.ntf.child] = p
	}
	s := r.Socket
	if s == nil {
		return nil
	}
	sock, err := e.notifyDir().Adopt(e.notifyOptions(p), s.FD, s.Addr)
	if err != nil {
		closeNotifySocket(r)
		return fmt.Errorf("notification socket: %w; notifications are no longer received", err)
	}
	p.ntf.sock = sock
	sock.SetMainPID(p.pid)
	return nil
}

// reapChecks registers the exec checks the predecessor killed and did
// not reap, so that their exits are taken for what they are.
func (e *Engine) reapChecks(p *process, hp *handover.Process) {
	if hp == nil || hp.Readiness == nil || hp.Readiness.Health == nil {
		return
	}
	for _, pid := range hp.Readiness.Health.Reap {
		e.probes[pid] = &probe{p: p, serial: p.serial, pid: pid, done: true}
	}
}

// resumeWatches watches the main pids that are no children of ours
// (MAINPID=) again, once Run has its OS; one that is gone already ends
// its instance as if its exit had been seen. Loop goroutine only.
func (e *Engine) resumeWatches() {
	for _, p := range e.watchAfterResume {
		if p.pid == 0 || e.watchMain(p) {
			continue
		}
		x := mainExit{p, p.serial, p.pid}
		go func() {
			select {
			case e.mainExitc <- x:
			case <-e.done:
			}
		}()
	}
	e.watchAfterResume = nil
}
