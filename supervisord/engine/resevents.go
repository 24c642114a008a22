package engine

import (
	"gosupervisor/config"
	"gosupervisor/supervisord/events"
)

// ExitReason says why an instance ended beyond its exit status; "" when
// nothing more is known.
type ExitReason string

// resourceEvent names the opt-in resource events.
type resourceEvent int

const (
	resourceOOM resourceEvent = iota
	resourceRSSLimit
)

// emitResource emits an opt-in PROCESS_RESOURCE_* event; detail is the
// event's own tokens.
func (e *Engine) emitResource(p *process, pid int, kind resourceEvent, detail string) {
	typ := events.ProcessResourceOOM
	if kind == resourceRSSLimit {
		typ = events.ProcessResourceRSSLimit
	}
	e.emit(events.New(typ, events.ResourcePayload(p.name(), p.group.cfg.Name, pid, detail)))
}

// emitExitRecord emits the opt-in PROCESS_EXIT_RECORD event of a
// complete crash record.
func (e *Engine) emitExitRecord(p *process, rec ExitRecord) {
	r := events.ExitRecord{
		Process: p.name(), Group: p.group.cfg.Name, PID: rec.PID,
		Expected: rec.Expected, Stopped: rec.Stopped, ExitStatus: rec.ExitStatus,
		Uptime: rec.Uptime.Seconds(), Reason: string(rec.Reason), Stdout: rec.Stdout, Stderr: rec.Stderr,
	}
	if rec.Signal != 0 {
		r.Signal = config.SignalName(rec.Signal)
	}
	e.emit(events.New(events.ProcessExitRecord, r.Payload()))
}
