package logrot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"gosupervisor/internal/protocol"

	"github.com/sirupsen/logrus"
)

// Format is how the main log writes its records.
type Format int

const (
	// FormatText is the reference's line, byte for byte:
	// "2026-11-30 02:14:28,123 INFO spawned: 'x' with pid 123\n". Fields
	// are not shown, as the reference has none.
	FormatText Format = iota
	// FormatJSON is one JSON object per line: "time" (RFC 3339, local,
	// milliseconds), "level" (its loglevel= name), "message", then the
	// record's fields in key order.
	FormatJSON
)

// Fields are structured data attached to one record (LogFields).
type Fields map[string]any

// MainLogOptions configures supervisord's activity log.
type MainLogOptions struct {
	// Path is the log file; "" means no file.
	Path string
	// MaxBytes and Backups rotate the file as child logs rotate.
	MaxBytes int64
	Backups  int
	// Level is the least level logged; the zero value logs everything.
	Level protocol.Level
	// Format is the file's and the stdout copy's record format (syslog
	// always gets text lines).
	Format Format
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

// MainLog is supervisord's activity log, a logrus logger: logrus filters
// by level, formats (the reference's text line or JSON), serializes
// writes to the sinks (a rotating file and/or a stdout copy) and fires the
// syslog hook. The time is Now's, milliseconds truncated. It is safe for
// concurrent use.
type MainLog struct {
	// mu makes stamping and logging one step, so records land in the
	// order of their stamps when several goroutines log at once (the
	// reference, single-threaded, never writes them out of order).
	mu     sync.Mutex
	opts   MainLogOptions
	file   *Writer
	logger *logrus.Logger
	syslog *Syslog // nil unless opts.Syslog
}

// NewMainLog opens the activity log described by o.
func NewMainLog(o MainLogOptions) (*MainLog, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &MainLog{opts: o}
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
	var formatter logrus.Formatter = textFormatter{}
	if o.Format == FormatJSON {
		formatter = jsonFormatter{}
	}
	// Records are logged with Entry.Log/Logf only, which never exit or
	// panic whatever the level, so ExitFunc is never called.
	l.logger = &logrus.Logger{
		Out:       &teeWriter{sinks: sinks},
		Formatter: formatter,
		Hooks:     make(logrus.LevelHooks),
		Level:     toLogrus(o.Level),
	}
	if o.Syslog {
		l.syslog = NewSyslog(o.SyslogSend)
		l.logger.AddHook(syslogHook{l.syslog})
	}
	return l, nil
}

// Supervisor's seven levels map one to one onto logrus's, so that logrus
// does the filtering and hooks can pick levels: CRIT is logrus's Fatal
// (logged with Entry.Log, which never exits), TRAC its Trace, and BLAT one
// step more verbose than Trace (logrus compares levels as numbers; only
// our formatters name them).
const blatherLevel = logrus.TraceLevel + 1

// toLogrus maps a Supervisor level to logrus's; a number between two
// levels counts as the lower one, as Supervisor compares them.
func toLogrus(l protocol.Level) logrus.Level {
	switch {
	case l >= protocol.LevelCritical:
		return logrus.FatalLevel
	case l >= protocol.LevelError:
		return logrus.ErrorLevel
	case l >= protocol.LevelWarn:
		return logrus.WarnLevel
	case l >= protocol.LevelInfo:
		return logrus.InfoLevel
	case l >= protocol.LevelDebug:
		return logrus.DebugLevel
	case l >= protocol.LevelTrace:
		return logrus.TraceLevel
	}
	return blatherLevel
}

// fromLogrus is toLogrus's inverse.
func fromLogrus(l logrus.Level) protocol.Level {
	switch l {
	case logrus.PanicLevel, logrus.FatalLevel:
		return protocol.LevelCritical
	case logrus.ErrorLevel:
		return protocol.LevelError
	case logrus.WarnLevel:
		return protocol.LevelWarn
	case logrus.InfoLevel:
		return protocol.LevelInfo
	case logrus.DebugLevel:
		return protocol.LevelDebug
	case logrus.TraceLevel:
		return protocol.LevelTrace
	}
	return protocol.LevelBlather
}

// Enabled reports whether a message at level would be logged, so callers
// can skip building expensive messages.
func (l *MainLog) Enabled(level protocol.Level) bool { return l.logger.IsLevelEnabled(toLogrus(level)) }

// Logf logs a message at level. With no args, format is the message as is
// (a literal '%' stays). Multi-line messages are written as they are.
func (l *MainLog) Logf(level protocol.Level, format string, args ...any) {
	lv := toLogrus(level)
	if !l.logger.IsLevelEnabled(lv) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := &logrus.Entry{Logger: l.logger, Time: l.opts.Now()}
	if len(args) == 0 {
		e.Log(lv, format)
		return
	}
	e.Logf(lv, format, args...)
}

// LogFields logs msg at level with structured fields. The text format
// shows the message only, as the reference's lines do; JSON adds the
// fields.
func (l *MainLog) LogFields(level protocol.Level, fields Fields, msg string) {
	lv := toLogrus(level)
	if !l.logger.IsLevelEnabled(lv) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := &logrus.Entry{Logger: l.logger, Time: l.opts.Now(), Data: logrus.Fields(fields)}
	e.Log(lv, msg)
}

// textFormatter renders the reference's '%(asctime)s %(levelname)s
// %(message)s\n'.
type textFormatter struct{}

// Format implements logrus.Formatter.
func (textFormatter) Format(e *logrus.Entry) ([]byte, error) {
	b := entryBuffer(e)
	b.Write(appendLine(b.AvailableBuffer(), e.Time, fromLogrus(e.Level), e.Message))
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

// jsonFormatter renders FormatJSON. A field named like one of the fixed
// keys is written as "fields.<name>", as logrus's own JSON formatter does.
type jsonFormatter struct{}

// Format implements logrus.Formatter.
func (jsonFormatter) Format(e *logrus.Entry) ([]byte, error) {
	b := entryBuffer(e)
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	// encode writes v as JSON; Encode's newline is taken back.
	encode := func(v any) {
		if err := enc.Encode(v); err != nil {
			_ = enc.Encode(fmt.Sprint(v)) // a value JSON cannot hold goes as its text
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteString(`{"time":"`)
	b.Write(e.Time.AppendFormat(b.AvailableBuffer(), "2006-01-02T15:04:05.000Z07:00"))
	b.WriteString(`","level":"`)
	b.WriteString(fromLogrus(e.Level).Name())
	b.WriteString(`","message":`)
	encode(e.Message)
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteByte(',')
		name := k
		if k == "time" || k == "level" || k == "message" {
			name = "fields." + k
		}
		encode(name)
		b.WriteByte(':')
		encode(e.Data[k])
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// entryBuffer is the buffer logrus lends the entry, or a new one.
func entryBuffer(e *logrus.Entry) *bytes.Buffer {
	if e.Buffer != nil {
		return e.Buffer
	}
	return &bytes.Buffer{}
}

// syslogHook sends every record to syslog, each line of its message on
// its own as a text line (time and level included), as the reference's
// SyslogHandler does.
type syslogHook struct{ s *Syslog }

// Levels implements logrus.Hook: all of them.
func (syslogHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel,
		logrus.InfoLevel, logrus.DebugLevel, logrus.TraceLevel, blatherLevel}
}

// Fire implements logrus.Hook; sending never fails (Syslog drops what it
// cannot send).
func (h syslogHook) Fire(e *logrus.Entry) error {
	level := fromLogrus(e.Level)
	for _, line := range strings.Split(strings.TrimRight(e.Message, "\n"), "\n") {
		h.s.sendLine(string(appendLine(nil, e.Time, level, line)))
	}
	return nil
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
