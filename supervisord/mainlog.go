package supervisord

import (
	"fmt"
	"io"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/logrot"
	"gosupervisor/supervisord/engine"
)

// mainLogger adapts the main log to engine.Logger (config levels).
type mainLogger struct{ log *logrot.MainLog }

// Logf writes one line at level.
func (m mainLogger) Logf(level protocol.Level, format string, args ...any) {
	m.log.Logf(level, format, args...)
}

// Enabled reports whether lines at level are written.
func (m mainLogger) Enabled(level protocol.Level) bool {
	return m.log.Enabled(level)
}

// fieldLogger is the engine's logger with logfile_format=json: lines
// about a process carry structured fields. The text format shows only
// the message, so the engine gets a plain mainLogger then and builds no
// fields at all.
type fieldLogger struct{ mainLogger }

// LogFields writes one record with structured fields.
func (m fieldLogger) LogFields(level protocol.Level, fields map[string]any, msg string) {
	m.log.LogFields(level, logrot.Fields(fields), msg)
}

// engineLogger is the logger the engine writes the main log through.
func engineLogger(cfg *config.Config, log *logrot.MainLog) engine.Logger {
	if cfg.Supervisord.LogfileFormat == config.LogFormatJSON {
		return fieldLogger{mainLogger{log}}
	}
	return mainLogger{log}
}

// openMainLog opens the activity log as the reference's make_logger does:
// to the file (or syslog), and copied to stdout when running in the
// foreground and not silent.
func openMainLog(cfg *config.Config, stdout io.Writer) (*logrot.MainLog, error) {
	s := cfg.Supervisord
	opts := logrot.MainLogOptions{
		Path:     s.Logfile,
		MaxBytes: s.LogfileMaxBytes,
		Backups:  s.LogfileBackups,
		Level:    s.LogLevel,
		Syslog:   s.LogfileSyslog,
	}
	if s.LogfileFormat == config.LogFormatJSON {
		opts.Format = logrot.FormatJSON
	}
	if s.Nodaemon && !s.Silent {
		opts.Stdout = stdout
	}
	log, err := logrot.NewMainLog(opts)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("could not open the log file %s: %v", s.Logfile, err)}
	}
	return log, nil
}
