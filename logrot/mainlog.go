package logrot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"gosupervisor/internal/protocol"
)

// MainLogOptions configures supervisord's activity log.
type MainLogOptions struct {
	// Path is the log file; "" means no file.
	Path string
	// MaxBytes and Backups rotate the file as child logs rotate.
	MaxBytes int64
	Backups  int
	// Level is the least level logged; the zero value logs everything.
	Level protocol.Level
	// Syslog sends each line to syslog (facility USER, priority INFO,
	// ident = program name) as logfile=syslog does; Path is then "".
	Syslog bool
	// SyslogSend replaces the system syslog when set (tests).
	SyslogSend func(line string) error
	// Stdout, when set (nodaemon and not silent), gets a copy of each line.
	Stdout io.Writer
	// Now is the clock stamped on lines; nil means time.Now.
	Now func() time.Time
	// OnError is told once about file failures (see WithOnError).
	OnError func(error)
}

// MainLog is supervisord's activity log: lines formatted like
// "2026-11-30 02:14:28,123 INFO spawned: 'x' with pid 123\n" (the time as
// Now gives it, milliseconds truncated) going to a rotating file, syslog
// and/or a stdout copy. It is safe for concurrent use.
type MainLog struct {
	// mu makes stamping and writing one step, so records land in the
	// order of their stamps when several goroutines log at once (the
	// reference, single-threaded, never writes them out of order).
	mu     sync.Mutex
	opts   MainLogOptions
	file   *Writer
	logger *logrus.Logger // formats and serializes writes to the sinks
	syslog *Syslog        // nil unless opts.Syslog
}

// levelKey carries the Supervisor level through logrus to the formatter.
const levelKey = "supervisor_level"

// NewMainLog opens the activity log described by o.
func NewMainLog(o MainLogOptions) (*MainLog, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &MainLog{opts: o}
	if o.Syslog {
		l.syslog = NewSyslog(o.SyslogSend)
	}
	var sinks []io.Writer
	if o.Path != "" {
		var opts []Option
		if o.OnError != nil {
			opts = append(opts, WithOnError(o.OnError))
		}
		w, err := Open(o.Path, o.MaxBytes, o.Backups, opts...)
		if err != nil {
			return nil, fmt.Errorf("main log: %w", err)
		}
		l.file = w
		sinks = append(sinks, w)
	}
	if o.Stdout != nil {
		sinks = append(sinks, o.Stdout)
	}
	l.logger = &logrus.Logger{
		Out:       &teeWriter{sinks: sinks},
		Formatter: lineFormatter{},
		Hooks:     make(logrus.LevelHooks),
		Level:     logrus.TraceLevel,
		ExitFunc:  os.Exit,
	}
	return l, nil
}

// Enabled reports whether a message at level would be logged, so callers
// can skip building expensive messages.
func (l *MainLog) Enabled(level protocol.Level) bool { return level >= l.opts.Level }

// Logf logs a message at level. With no args, format is the message as is
// (a literal '%' stays). Multi-line messages are written as they are.
func (l *MainLog) Logf(level protocol.Level, format string, args ...any) {
	if !l.Enabled(level) {
		return
	}
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	if l.syslog != nil {
		l.sendSyslog(now, level, msg)
	}
	if l.file == nil && l.opts.Stdout == nil {
		return
	}
	entry := logrus.NewEntry(l.logger)
	entry.Time = now
	entry.Data = logrus.Fields{levelKey: level}
	entry.Log(logrusLevel(level), msg)
}

// logrusLevel maps Supervisor's seven levels onto logrus's (for hooks);
// the line itself shows the Supervisor level.
func logrusLevel(l protocol.Level) logrus.Level {
	switch {
	case l >= protocol.LevelError:
		return logrus.ErrorLevel
	case l >= protocol.LevelWarn:
		return logrus.WarnLevel
	case l >= protocol.LevelInfo:
		return logrus.InfoLevel
	case l >= protocol.LevelDebug:
		return logrus.DebugLevel
	}
	return logrus.TraceLevel
}

// lineFormatter renders the reference's '%(asctime)s %(levelname)s
// %(message)s\n'.
type lineFormatter struct{}

// Format implements logrus.Formatter.
func (lineFormatter) Format(e *logrus.Entry) ([]byte, error) {
	level, _ := e.Data[levelKey].(protocol.Level)
	b := e.Buffer
	if b == nil {
		b = &bytes.Buffer{}
	}
	b.Write(appendLine(b.AvailableBuffer(), e.Time, level, e.Message))
	return b.Bytes(), nil
}

func appendLine(dst []byte, t time.Time, level protocol.Level, msg string) []byte {
	dst = t.AppendFormat(dst, "2006-01-02 15:04:05,000")
	dst = append(dst, ' ')
	dst = append(dst, level.String()...)
	dst = append(dst, ' ')
	dst = append(dst, msg...)
	return append(dst, '\n')
}

// sendSyslog sends each line of msg formatted on its own (time and level
// included), as the reference's SyslogHandler does.
func (l *MainLog) sendSyslog(now time.Time, level protocol.Level, msg string) {
	for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		l.syslog.sendLine(string(appendLine(nil, now, level, line)))
	}
}

// Dropped is the number of bytes the log file failed to take.
func (l *MainLog) Dropped() int64 {
	if l.file == nil {
		return 0
	}
	return l.file.Dropped()
}

// Path is the log file, "" when there is none.
func (l *MainLog) Path() string { return l.opts.Path }

// Reopen reopens the file for SIGUSR2; without a file it does nothing.
func (l *MainLog) Reopen() error {
	if l.file == nil {
		return nil
	}
	return l.file.Reopen()
}

// Clear removes the log file and starts an empty one (clearLog). Without a
// file it is ErrNoFile.
func (l *MainLog) Clear() error {
	if l.file == nil {
		return fmt.Errorf("clear main log: %w", ErrNoFile)
	}
	return l.file.Clear()
}

// Close closes the file and the syslog connection.
func (l *MainLog) Close() error {
	var errs []error
	if l.file != nil {
		errs = append(errs, l.file.Close())
	}
	if l.syslog != nil {
		errs = append(errs, l.syslog.Close())
	}
	return errors.Join(errs...)
}

// teeWriter copies each formatted line to every sink. Failures are the
// sinks' business (the Writer counts and reports them; a closed stdout is
// ignored), so logrus never prints to stderr on our behalf.
type teeWriter struct{ sinks []io.Writer }

// Write copies p to every sink and always succeeds.
func (t *teeWriter) Write(p []byte) (int, error) {
	for _, s := range t.sinks {
		_, _ = s.Write(p)
	}
	return len(p), nil
}
