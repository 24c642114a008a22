package logrot

import (
	"bytes"
	"log/syslog"
	"os"
	"path/filepath"
	"sync"
)

// Syslog sends lines to the system syslog as the reference's
// SyslogHandler does: one message per line, facility USER, priority INFO,
// ident the program name. The connection is made on first use and retried
// after a failure, so a missing /dev/log never stops the daemon; lines
// that cannot be sent are dropped. It is safe for concurrent use.
type Syslog struct {
	send func(line string) error // replaces the system syslog when set

	mu sync.Mutex
	w  *syslog.Writer
}

// NewSyslog returns a sender; send replaces the system syslog when non-nil
// (tests).
func NewSyslog(send func(line string) error) *Syslog { return &Syslog{send: send} }

// SendLines sends each line of text, without its trailing newlines, as
// prefix followed by the line: the child-log form is
// SendLines(name+" ", chunk) (stdout_syslog=true).
func (s *Syslog) SendLines(prefix string, text []byte) {
	for line := range bytes.SplitSeq(bytes.TrimRight(text, "\n"), []byte("\n")) {
		s.sendLine(prefix + string(line))
	}
}

func (s *Syslog) sendLine(line string) {
	if s.send != nil {
		_ = s.send(line)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		w, err := syslog.New(syslog.LOG_INFO|syslog.LOG_USER, filepath.Base(os.Args[0]))
		if err != nil {
			return
		}
		s.w = w
	}
	if err := s.w.Info(line); err != nil {
		s.w.Close()
		s.w = nil
	}
}

// Close closes the connection; a later send reconnects.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return nil
	}
	err := s.w.Close()
	s.w = nil
	return err
}
