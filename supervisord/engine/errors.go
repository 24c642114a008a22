package engine

import "errors"

// The kinds of failure an engine operation reports. Every error the
// exported methods return for a refused or failed operation is an *Error
// whose Kind is one of these, so callers test with errors.Is; the rpc
// package turns each kind into a Supervisor fault in one table.
var (
	// ErrNoSuchName: no active process or group of that name.
	ErrNoSuchName = errors.New("no such process or group")
	// ErrBadSignal: not a signal name or number.
	ErrBadSignal = errors.New("unknown signal")
	// ErrNoCommand: the program's command does not exist.
	ErrNoCommand = errors.New("command not found")
	// ErrNotExecutable: the command exists but cannot be run (a
	// directory, no execute permission, an unparsable command line).
	ErrNotExecutable = errors.New("command not executable")
	// ErrSpawn: the process could not be spawned, or it exited before
	// startsecs and is backing off.
	ErrSpawn = errors.New("spawn failed")
	// ErrExitedEarly: a start that waited saw the process leave STARTING
	// other than for RUNNING.
	ErrExitedEarly = errors.New("exited before it was running")
	// ErrAlreadyStarted: the process is already starting or running.
	ErrAlreadyStarted = errors.New("already started")
	// ErrNotRunning: the process has no running instance to act on.
	ErrNotRunning = errors.New("not running")
	// ErrNoStdin: the process has no stdin to write to (an fcgi program,
	// or its stdin is closed).
	ErrNoStdin = errors.New("stdin not available")
	// ErrStdinFull: the program lags too far behind reading its stdin.
	ErrStdinFull = errors.New("stdin queue full")
	// ErrNoLog: there is no main log file.
	ErrNoLog = errors.New("no log file")
	// ErrAlreadyActive: the group to add is active already.
	ErrAlreadyActive = errors.New("group already active")
	// ErrStillRunning: the group to remove has processes not stopped.
	ErrStillRunning = errors.New("group has processes not stopped")
	// ErrReread: the config file could not be read again.
	ErrReread = errors.New("cannot re-read the configuration")
	// ErrShutdown: the engine is shutting down or has stopped.
	ErrShutdown = errors.New("shutting down")
	// ErrUpgrading: supervisord is being upgraded in place: the
	// operation would change what is being handed over (a reread, a
	// group added or removed), or a wait was cut short by the handover.
	ErrUpgrading = errors.New("supervisord is being upgraded")
	// ErrFailed: the operation was attempted and failed (a signal that
	// could not be sent, a log that could not be cleared, a group whose
	// socket could not be created, a process in the UNKNOWN state).
	ErrFailed = errors.New("operation failed")
)

// Error is a refused or failed engine operation.
type Error struct {
	// Kind is one of the Err values of this package.
	Kind error
	// Detail says what the failure concerns, in the words clients show
	// after the fault name: the process, group or signal named, or the
	// reason ("can't find command 'x'"); "" when there is nothing to add.
	Detail string
}

// Error is the kind, then the detail when there is one.
func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Detail
}

// Unwrap lets errors.Is match the Kind.
func (e *Error) Unwrap() error { return e.Kind }

// fail builds an *Error of a kind.
func fail(kind error, detail string) *Error { return &Error{Kind: kind, Detail: detail} }

// errStopped is what callers get once Run has returned for a shutdown
// or restart; errHandedOver once it has returned for a handover.
var (
	errStopped    = fail(ErrShutdown, "")
	errHandedOver = fail(ErrUpgrading, "the daemon's state is being handed to the new binary")
)
