package engine

import (
	"fmt"
	"syscall"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
)

// FieldLogger is a Logger that also takes structured fields with a
// record: the JSON main log (logfile_format=json) shows them, the text
// format shows the message only, byte for byte as before.
type FieldLogger interface {
	LogFields(level protocol.Level, fields map[string]any, msg string)
}

// logProc logs a line about process p with its fields: program, group
// and pid (when not 0), then extra's. Through a Logger without fields it
// is Logf.
func logProc(l Logger, p *process, pid int, level protocol.Level, extra map[string]any, format string, args ...any) {
	fl, ok := l.(FieldLogger)
	if !ok {
		l.Logf(level, format, args...)
		return
	}
	if !l.Enabled(level) {
		return
	}
	fields := make(map[string]any, 3+len(extra))
	fields["program"] = p.name()
	if p.group != nil {
		fields["group"] = p.group.cfg.Name
	}
	if pid != 0 {
		fields["pid"] = pid
	}
	for k, v := range extra {
		fields[k] = v
	}
	fl.LogFields(level, fields, fmt.Sprintf(format, args...))
}

// exitFields are what a state line about an exit adds to its fields.
type exitFields struct {
	ws       syscall.WaitStatus
	expected bool
}

// logState logs a state line about p (spawned, success, exited, ...)
// with the move's fields for the JSON main log: from_state, to_state
// and, for an exit, exit_status (-1 after a signal), signal and expected.
// Through a logger without fields it is logf, and builds none.
func (m *machine) logState(level protocol.Level, p *process, pid int, from, to protocol.ProcessState, exit *exitFields, format string, args ...any) {
	if _, ok := m.log.(FieldLogger); !ok {
		m.logf(level, format, args...)
		return
	}
	extra := map[string]any{"from_state": from.String(), "to_state": to.String()}
	if exit != nil {
		code, _ := decodeWaitStatus(exit.ws)
		extra["exit_status"] = code
		if exit.ws.Signaled() {
			extra["signal"] = config.SignalName(exit.ws.Signal())
		}
		extra["expected"] = exit.expected
	}
	logProc(m.log, p, pid, level, extra, format, args...)
}
