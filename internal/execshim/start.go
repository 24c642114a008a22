package execshim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"
)

// SelfPath is the shim's executable for the daemon: its own binary, as
// the kernel knows it (valid even if the file was replaced on disk).
const SelfPath = "/proc/self/exe"

// DefaultTimeout bounds how long Start waits for the shim to reach the
// program's execve (a Go binary's start-up plus a few system calls; the
// bound only matters when the machine is starved).
const DefaultTimeout = 30 * time.Second

// Start spawns spec's program through the shim at shimPath and returns its
// pid once the program's execve has succeeded or the shim has failed, in
// which case the error is an *Error (or what os.StartProcess returned).
//
// attr is used as os.StartProcess uses it, except that the shim does the
// directory change, umask and credential switch itself (after setting
// limits and joining cgroups, which need root): attr.Dir and
// attr.Sys.Credential must be unset, spec carries them. attr.Sys may ask
// for CLONE_INTO_CGROUP (UseCgroupFD); the program is the same process,
// so it starts in that cgroup.
//
// Start never waits for the process: the caller's reaper owns its exit
// status, including the status 127 of a shim that failed (Start may have
// killed it with SIGKILL when it did not report within timeout).
func Start(shimPath string, spec Spec, attr *os.ProcAttr, timeout time.Duration) (int, error) {
	if attr.Dir != "" || (attr.Sys != nil && attr.Sys.Credential != nil) {
		return 0, errors.New("exec shim: directory and credential belong in the spec")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("exec shim: error pipe: %w", err)
	}
	defer r.Close()
	spec.ErrFD = len(attr.Files)
	arg, err := encodeSpec(&spec)
	if err != nil {
		w.Close()
		return 0, err
	}
	shimAttr := *attr
	shimAttr.Files = append(append([]*os.File(nil), attr.Files...), w)
	p, err := os.StartProcess(shimPath, []string{Arg0, strconv.Itoa(spec.ErrFD), arg}, &shimAttr)
	w.Close()
	if err != nil {
		return 0, err
	}
	pid := p.Pid
	// Only the pid is kept; waiting belongs to the caller's reaper.
	_ = p.Release()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	_ = r.SetReadDeadline(time.Now().Add(timeout))
	report, err := io.ReadAll(io.LimitReader(r, 4096))
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return 0, &Error{Stage: StageSetup, What: fmt.Sprintf("exec shim did not reach exec within %v", timeout)}
	case err != nil:
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return 0, fmt.Errorf("exec shim: reading its report: %w", err)
	case len(report) > 0:
		return 0, decodeError(report)
	}
	return pid, nil
}
