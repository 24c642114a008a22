package engine

import (
	"time"

	"gosupervisor/internal/protocol"
)

// Log files are read outside the loop (through logrot, by path); the
// loop only says which files are current and clears or reopens writers.

// MainLogPath is the main log file, "" when there is none.
func (e *Engine) MainLogPath() string {
	if e.opts.MainLog == nil {
		return ""
	}
	return e.opts.MainLog.Path()
}

// ClearMainLog empties the main log (clearLog).
func (e *Engine) ClearMainLog() error {
	if e.MainLogPath() == "" {
		return fail(ErrNoLog, "")
	}
	// The reference logs this line just before it reopens, so the line
	// goes to the file being removed and the new log starts empty.
	e.log.Logf(protocol.LevelInfo, "reopening log file")
	if err := e.opts.MainLog.Clear(); err != nil {
		return fail(ErrFailed, "")
	}
	return nil
}

// LogFile is the current log file of a process's channel, "" when the
// channel has none.
func (e *Engine) LogFile(name string, ch protocol.Channel) (string, error) {
	var path string
	var err error
	if cerr := e.call(func(time.Time) {
		var p *process
		if p, err = e.lookup(name); err == nil {
			path = p.logPath(ch)
		}
	}); cerr != nil {
		return "", cerr
	}
	return path, err
}

// ClearProcessLogs empties a process's log files (backups are kept).
func (e *Engine) ClearProcessLogs(name string) error {
	var writers []logWriter
	var err error
	if cerr := e.call(func(time.Time) {
		var p *process
		if p, err = e.lookup(name); err == nil {
			writers = e.processWriters(p)
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	return clearWriters(writers, name)
}

// ClearAllProcessLogs empties every process's logs, in priority order
// (groups, then the processes of each).
func (e *Engine) ClearAllProcessLogs() []Outcome {
	type entry struct {
		outcome  Outcome
		namespec string
		writers  []logWriter
	}
	var entries []entry
	_ = e.call(func(time.Time) {
		for _, g := range e.order {
			for _, p := range g.byPriority() {
				entries = append(entries, entry{outcome(p, nil), p.namespec(), e.processWriters(p)})
			}
		}
	})
	out := make([]Outcome, 0, len(entries))
	for _, en := range entries {
		en.outcome.Err = clearWriters(en.writers, en.namespec)
		out = append(out, en.outcome)
	}
	return out
}

// processWriters opens (if needed) and returns a process's log writers.
func (e *Engine) processWriters(p *process) []logWriter {
	e.openLogs(p)
	return p.writers()
}

func clearWriters(writers []logWriter, name string) error {
	for _, w := range writers {
		if err := w.Clear(); err != nil {
			return fail(ErrFailed, name)
		}
	}
	return nil
}

// ReopenLogs reopens every child log file (SIGUSR2).
func (e *Engine) ReopenLogs() {
	var writers []logWriter
	_ = e.call(func(time.Time) { writers = e.allWriters() })
	for _, w := range writers {
		if err := w.Reopen(); err != nil {
			e.log.Logf(protocol.LevelWarn, "could not reopen %s: %v", w.Path(), err)
		}
	}
}
