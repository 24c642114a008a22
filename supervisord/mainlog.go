package supervisord

import (
	"fmt"
	"io"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/logrot"
)

// mainLogger adapts the main log to engine.Logger (config levels).
type mainLogger struct{ log *logrot.MainLog }

// Logf writes one line at level.
func (m mainLogger) Logf(level protocol.Level, format string, args ...any) {
	m.log.Logf(level, format, args...)
}

// LogFields writes one record with structured fields (shown by
// logfile_format=json; the text format shows the message only).
func (m mainLogger) LogFields(level protocol.Level, fields map[string]any, msg string) {
	m.log.LogFields(level, logrot.Fields(fields), msg)
}

// Enabled reports whether lines at level are written.
func (m mainLogger) Enabled(level protocol.Level) bool {
	return m.log.Enabled(level)
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
