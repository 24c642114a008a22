package engine

import (
	"fmt"

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
