package engine

import (
	"os"
	"syscall"
	"time"

	"gosupervisor/internal/execshim"
)

// OS is the engine's narrow window on child processes. It exists so that
// exactly one goroutine (the engine loop) spawns, signals and reaps: no
// code in the daemon may call exec.Cmd.Wait or os.Process.Wait, which would
// race the wait4(-1) reaper for exit statuses.
type OS interface {
	// Start spawns a child and returns once exec has succeeded or failed,
	// so a spawn error is known synchronously. The caller owns spec.Files
	// and closes its copies after Start returns.
	Start(spec *SpawnSpec) (pid int, err error)
	// Kill sends sig to pid; a negative pid names a process group.
	Kill(pid int, sig syscall.Signal) error
	// Reap returns one exited child without blocking; ok is false when no
	// exited child is left (wait4 returned 0 or ECHILD).
	Reap() (r Reaped, ok bool)
	// ChildExited receives a value (coalesced) whenever a child may have
	// exited. Notification starts when the OS value is created, before the
	// first spawn.
	ChildExited() <-chan struct{}
	// Close stops the notifications.
	Close()
	// Survivors lists the live processes (zombies left out) of process
	// group pgid and among also (a cgroup's members), by pid, for the
	// warning about a program that daemonizes itself.
	Survivors(pgid int, also []int) []Survivor
}

// Survivor is a process a program left behind.
type Survivor struct {
	PID  int
	Name string // the kernel's command name (comm)
}

// Reaped is one child's exit as wait4 reports it.
type Reaped struct {
	PID    int
	Status syscall.WaitStatus
	// CPU is the child's user and system time, its waited-for
	// descendants' included (wait4's rusage).
	CPU time.Duration
}

// SpawnSpec is everything needed to start one child.
type SpawnSpec struct {
	Path  string
	Argv  []string
	Env   []string
	Dir   string // "" = inherit
	Umask int    // -1 = inherit
	// Files become the child's fds 0, 1, 2.
	Files []*os.File
	// Credential is nil unless the child must switch user.
	Credential *syscall.Credential

	// What the child needs set up between fork and exec, which Go
	// cannot do itself: when any of Rlimits, CgroupProcs or WatchdogPID
	// is set, the child starts through the exec shim (package execshim),
	// which does them, the user switch, chdir and umask, then execs Path
	// in place (same pid).
	//
	// Rlimits are set in order, as root.
	Rlimits []execshim.Rlimit
	// CgroupProcs are cgroup.procs files (cgroup v1 leaves) the child
	// joins before anything else.
	CgroupProcs []string
	// WatchdogPID sets WATCHDOG_PID to the child's own pid.
	WatchdogPID bool
	// CgroupDir is a cgroup v2 leaf the child is created in
	// (clone3 CLONE_INTO_CGROUP); "" = none. Where clone3 cannot place
	// it (ENOSYS from an old kernel or a seccomp filter), and for a child
	// that starts through the shim anyway, the shim joins the leaf
	// instead, just before exec.
	CgroupDir string
}

// needsShim reports whether spec asks for set-up only the exec shim can
// do.
func (spec *SpawnSpec) needsShim() bool {
	return len(spec.Rlimits) > 0 || len(spec.CgroupProcs) > 0 || spec.WatchdogPID
}
