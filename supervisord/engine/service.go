package engine

import (
	"fmt"
	"strings"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/sdnotify"
	"gosupervisor/supervisord/handover"
)

// When supervisord itself runs under a service manager (a systemd unit of
// Type=notify), the loop keeps it informed: READY=1 once every autostart
// program has settled (EXTEND_TIMEOUT_USEC while it waits), STATUS= with
// the number of programs per state at most once a second, RELOADING=1 when
// a restart begins, STOPPING=1 when a shutdown does (and more time as each
// group starts stopping), and WATCHDOG=1 at half the watchdog limit. The
// keep-alives come from the loop's own timer, not from a goroutine of
// their own: a wedged loop stops them, which is what the watchdog is for.

// ServiceManager is the service manager supervisord runs under.
type ServiceManager interface {
	// Notify sends one notification; it never blocks.
	Notify(state string) error
	// Watchdog is the keep-alive limit; 0 when there is none.
	Watchdog() time.Duration
}

// Service notification timing.
const (
	// statusInterval bounds how often STATUS= is sent.
	statusInterval = time.Second
	// extendEvery and extendBy: while autostart programs settle, the
	// start timeout is pushed extendBy ahead every extendEvery.
	extendEvery = 10 * time.Second
	extendBy    = 30 * time.Second
	// stopExtraTime is added to a group's longest stopwaitsecs when its
	// stop begins during a shutdown.
	stopExtraTime = 5 * time.Second
)

// serviceState is what the loop has told the service manager.
type serviceState struct {
	ready bool // READY=1 sent
	// resumeReady: a predecessor (before an upgrade in place) had sent
	// READY=1, then RELOADING=1; READY=1 goes again at once.
	resumeReady bool
	status      string    // last STATUS= sent
	statusAt    time.Time // when the next STATUS= may go
	extendAt    time.Time // next EXTEND_TIMEOUT_USEC while not ready
	pingAt      time.Time // next WATCHDOG=1
	mood        protocol.SupervisorState
	stopping    *group // the group whose stop was last announced
}

// serviceStep sends what is due; once per loop step.
func (e *Engine) serviceStep(now time.Time) {
	sm := e.opts.Service
	if sm == nil {
		return
	}
	s := &e.svc
	if wd := sm.Watchdog(); wd > 0 && !now.Before(s.pingAt) {
		e.tell(sdnotify.Watchdog)
		s.pingAt = now.Add(wd / 2)
	}
	mood := e.moodNow()
	if mood != s.mood {
		s.mood = mood
		switch mood {
		case protocol.SupervisorRestarting:
			e.tell(fmt.Sprintf("%s\nMONOTONIC_USEC=%d", sdnotify.Reloading, handover.Monotonic()/1000))
		case protocol.SupervisorShutdown:
			e.tell(sdnotify.Stopping)
		}
	}
	if mood < protocol.SupervisorRunning {
		return
	}
	if !s.ready {
		if !s.resumeReady && !e.settled() {
			if !now.Before(s.extendAt) {
				e.tell(fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", extendBy.Microseconds()))
				s.extendAt = now.Add(extendEvery)
			}
			return
		}
		s.ready = true
		status := e.statusCounts()
		e.tell(sdnotify.Ready + "\nSTATUS=" + status)
		s.status, s.statusAt = status, now.Add(statusInterval)
		return
	}
	// The counts walk every process: only when STATUS= may go.
	if now.Before(s.statusAt) {
		return
	}
	if status := e.statusCounts(); status != s.status {
		e.tell("STATUS=" + status)
		s.status, s.statusAt = status, now.Add(statusInterval)
	}
}

// serviceDeadline is when serviceStep next has something to send.
func (e *Engine) serviceDeadline() (time.Time, bool) {
	sm := e.opts.Service
	if sm == nil {
		return time.Time{}, false
	}
	s := &e.svc
	var at time.Time
	consider := func(t time.Time) {
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	if sm.Watchdog() > 0 {
		consider(s.pingAt)
	}
	if e.moodNow() == protocol.SupervisorRunning {
		switch {
		case !s.ready:
			consider(s.extendAt)
		case e.statusCounts() != s.status:
			consider(s.statusAt)
		}
	}
	return at, !at.IsZero()
}

// serviceGroupStopping gives the service manager more time as a group
// starts stopping during a shutdown: its longest stopwaitsecs and a
// margin.
func (e *Engine) serviceGroupStopping(g *group) {
	if e.opts.Service == nil {
		return
	}
	longest := 0
	for _, p := range g.procs {
		longest = max(longest, p.cfg.StopWaitSecs)
	}
	d := time.Duration(longest)*time.Second + stopExtraTime
	e.tell(fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", d.Microseconds()))
}

func (e *Engine) tell(state string) {
	if err := e.opts.Service.Notify(state); err != nil {
		e.log.Logf(protocol.LevelDebug, "couldn't notify the service manager: %v", err)
	}
}

// settled reports whether every autostart process has reached the first
// state it settles in (RUNNING, EXITED, FATAL, or a stop on request).
func (e *Engine) settled() bool {
	for _, g := range e.order {
		for _, p := range g.procs {
			if !p.cfg.Autostart {
				continue
			}
			switch p.state {
			case protocol.StateRunning, protocol.StateExited, protocol.StateFatal:
			case protocol.StateStopped:
				if p.started.IsZero() {
					return false // about to start
				}
			default:
				return false
			}
		}
	}
	return true
}

// statusOrder is the order of the counts in STATUS=.
var statusOrder = []protocol.ProcessState{
	protocol.StateRunning, protocol.StateStarting, protocol.StateBackoff, protocol.StateStopping,
	protocol.StateExited, protocol.StateFatal, protocol.StateStopped, protocol.StateUnknown,
}

// statusCounts is the STATUS= text: "RUNNING 8, STARTING 1, FATAL 1,
// STOPPED 2" (states with no process left out).
func (e *Engine) statusCounts() string {
	counts := make([]int, len(statusOrder))
	for _, g := range e.order {
		for _, p := range g.procs {
			for i, st := range statusOrder {
				if p.state == st {
					counts[i]++
				}
			}
		}
	}
	var b strings.Builder
	for i, st := range statusOrder {
		if counts[i] == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", st, counts[i])
	}
	if b.Len() == 0 {
		return "no programs"
	}
	return b.String()
}

// Pause holds the loop for d, as a wedged loop would be held; it returns
// once the loop runs again. It exists for a test hook of supervisord
// (the keep-alives to the service manager must stop meanwhile).
func (e *Engine) Pause(d time.Duration) {
	_ = e.call(func(time.Time) { time.Sleep(d) })
}
