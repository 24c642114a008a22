package supervisord

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
)

// detachEnv names the environment variable that tells a re-executed
// supervisord it is the daemon half of a detach, and which descriptor is
// the status pipe to the waiting parent.
const detachEnv = "GOSUPERVISOR_DETACH_FD"

// Go cannot fork, so daemonizing re-executes this binary in a new session
// with the same arguments. The child runs the whole startup sequence with
// the terminal still attached, so every startup error (config, ports,
// privileges, log files) still reaches the terminal, and reports on a
// status pipe: "ok" once detached (the parent exits 0), or "exit N" when
// it fails (the parent exits N). This reports more than the reference,
// whose post-fork errors are lost.

// detachedParent returns the status pipe when this process is the daemon
// half of a detach, and clears the variable so children do not inherit it.
func detachedParent() *os.File {
	v, ok := os.LookupEnv(detachEnv)
	if !ok {
		return nil
	}
	_ = os.Unsetenv(detachEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "detach-status")
}

// detach starts the daemon half and waits until it has detached or failed.
func (d *daemon) detach() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 2, fmt.Errorf("daemonize: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 2, fmt.Errorf("daemonize: %w", err)
	}
	defer r.Close()
	proc, err := os.StartProcess(exe, append([]string{d.progname}, d.args...), &os.ProcAttr{
		Env:   append(os.Environ(), detachEnv+"=3"),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr, w},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	w.Close()
	if err != nil {
		return 2, fmt.Errorf("daemonize: %w", err)
	}
	// The daemon is reparented to init when we exit; nobody waits for it here.
	_ = proc.Release()
	status, _ := io.ReadAll(r)
	return parseDetachStatus(string(status)), nil
}

// parseDetachStatus maps the child's report to the parent's exit status.
func parseDetachStatus(s string) int {
	s = strings.TrimSpace(s)
	if s == "ok" {
		return 0
	}
	if n, ok := strings.CutPrefix(s, "exit "); ok {
		if code, err := strconv.Atoi(n); err == nil {
			return code
		}
	}
	// The child died without a word (it printed its panic on our stderr).
	return 2
}

// parentLink is the status pipe to the parent of a detach; f is nil in the
// foreground, in the parent itself, and once the report is sent.
type parentLink struct{ f *os.File }

// waiting reports whether a parent still waits for our report.
func (p *parentLink) waiting() bool { return p.f != nil }

// report tells a waiting parent how startup ended; later calls do nothing.
func (p *parentLink) report(status string) {
	if p.f == nil {
		return
	}
	_, _ = io.WriteString(p.f, status+"\n")
	_ = p.f.Close()
	p.f = nil
}

// finishDetach is the daemon half's daemonize step, at the point where the
// reference forks: chdir to directory, stdio to /dev/null, umask. The
// parent is released once the pidfile is written.
func (d *daemon) finishDetach(cfg *config.Config, log mainLogger) {
	log.Logf(protocol.LevelBlather, "supervisord forked; parent exiting")
	log.Logf(protocol.LevelInfo, "daemonizing the supervisord process")
	if dir := cfg.Supervisord.Directory; dir != "" {
		if err := os.Chdir(dir); err != nil {
			log.Logf(protocol.LevelCritical, "can't chdir into %s: %s", pyrepr.Str(dir), pyOSError(err, dir))
		} else {
			log.Logf(protocol.LevelInfo, "set current directory: %s", pyrepr.Str(dir))
		}
	}
	if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
		for fd := 0; fd <= 2; fd++ {
			_ = unix.Dup2(int(null.Fd()), fd)
		}
		null.Close()
	}
	syscall.Umask(int(cfg.Supervisord.Umask))
}

// pyOSError formats err as Python's str(OSError) for a path.
func pyOSError(err error, path string) string {
	var errno syscall.Errno
	if pe, ok := err.(*os.PathError); ok {
		if e, ok := pe.Err.(syscall.Errno); ok {
			errno = e
		}
	}
	if errno == 0 {
		return err.Error()
	}
	msg := errno.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return fmt.Sprintf("[Errno %d] %s: %s", int(errno), msg, pyrepr.Str(path))
}
