// Package protocol is Supervisor 4.2.5's fixed vocabulary as its clients,
// config files and logs show it: process and supervisord state codes and
// names, XML-RPC fault codes and names, log level codes and names, and
// the version strings.
//
// It imports nothing but the standard library, so the daemon, the web UI,
// supervisorctl, the bench driver and the soak test all share it. Nothing
// else in the module defines these values (TestOneDefinition checks).
package protocol

import "strconv"

// Version is the Supervisor release whose behaviour we reproduce:
// getSupervisorVersion, supervisord --version and the web UI's footer
// report it.
const Version = "4.2.5"

// APIVersion is the XML-RPC API version (getAPIVersion); supervisorctl
// refuses to talk to a server that reports another one.
const APIVersion = "3.0"

// ProcessState is a process's state with Supervisor's numbering
// (supervisor.states.ProcessStates), as getProcessInfo's "state" carries it.
type ProcessState int

// The process states.
const (
	StateStopped  ProcessState = 0
	StateStarting ProcessState = 10
	StateRunning  ProcessState = 20
	StateBackoff  ProcessState = 30
	StateStopping ProcessState = 40
	StateExited   ProcessState = 100
	StateFatal    ProcessState = 200
	StateUnknown  ProcessState = 1000
)

// ProcessStates lists every process state in numeric order.
var ProcessStates = [...]ProcessState{
	StateStopped, StateStarting, StateRunning, StateBackoff,
	StateStopping, StateExited, StateFatal, StateUnknown,
}

// String is the upper-case name clients display ("RUNNING"); a code
// outside the table is "UNKNOWN".
func (s ProcessState) String() string {
	switch s {
	case StateStopped:
		return "STOPPED"
	case StateStarting:
		return "STARTING"
	case StateRunning:
		return "RUNNING"
	case StateBackoff:
		return "BACKOFF"
	case StateStopping:
		return "STOPPING"
	case StateExited:
		return "EXITED"
	case StateFatal:
		return "FATAL"
	}
	return "UNKNOWN"
}

// IsStopped is the reference's STOPPED_STATES: nothing runs and nothing
// will without a start (supervisorctl status exits 3 for these).
func (s ProcessState) IsStopped() bool {
	return s == StateStopped || s == StateExited || s == StateFatal || s == StateUnknown
}

// IsRunning is the reference's RUNNING_STATES; BACKOFF counts as running
// (a start is refused, a stop is accepted).
func (s ProcessState) IsRunning() bool {
	return s == StateRunning || s == StateBackoff || s == StateStarting
}

// IsSignallable is the reference's SIGNALLABLE_STATES: there is a pid.
func (s ProcessState) IsSignallable() bool {
	return s == StateRunning || s == StateStarting || s == StateStopping
}

// SupervisorState is supervisord's own state as getState reports it
// (supervisor.states.SupervisorStates).
type SupervisorState int

// supervisord's states.
const (
	SupervisorFatal      SupervisorState = 2
	SupervisorRunning    SupervisorState = 1
	SupervisorRestarting SupervisorState = 0
	SupervisorShutdown   SupervisorState = -1
)

// String is the name getState reports ("RUNNING").
func (s SupervisorState) String() string {
	switch s {
	case SupervisorFatal:
		return "FATAL"
	case SupervisorRunning:
		return "RUNNING"
	case SupervisorRestarting:
		return "RESTARTING"
	case SupervisorShutdown:
		return "SHUTDOWN"
	}
	return "UNKNOWN"
}

// FaultCode is an XML-RPC fault code (supervisor.xmlrpc.Faults); the
// group calls also use it as each result's status.
type FaultCode int

// Supervisor's fault codes.
const (
	FaultUnknownMethod        FaultCode = 1
	FaultIncorrectParameters  FaultCode = 2
	FaultBadArguments         FaultCode = 3
	FaultSignatureUnsupported FaultCode = 4
	FaultShutdownState        FaultCode = 6
	FaultBadName              FaultCode = 10
	FaultBadSignal            FaultCode = 11
	FaultNoFile               FaultCode = 20
	FaultNotExecutable        FaultCode = 21
	FaultFailed               FaultCode = 30
	FaultAbnormalTermination  FaultCode = 40
	FaultSpawnError           FaultCode = 50
	FaultAlreadyStarted       FaultCode = 60
	FaultNotRunning           FaultCode = 70
	FaultSuccess              FaultCode = 80
	FaultAlreadyAdded         FaultCode = 90
	FaultStillRunning         FaultCode = 91
	FaultCantReread           FaultCode = 92
)

// String is the fault's name as fault strings start with it
// ("BAD_NAME"); a code outside the table is "FAULT_<n>".
func (c FaultCode) String() string {
	switch c {
	case FaultUnknownMethod:
		return "UNKNOWN_METHOD"
	case FaultIncorrectParameters:
		return "INCORRECT_PARAMETERS"
	case FaultBadArguments:
		return "BAD_ARGUMENTS"
	case FaultSignatureUnsupported:
		return "SIGNATURE_UNSUPPORTED"
	case FaultShutdownState:
		return "SHUTDOWN_STATE"
	case FaultBadName:
		return "BAD_NAME"
	case FaultBadSignal:
		return "BAD_SIGNAL"
	case FaultNoFile:
		return "NO_FILE"
	case FaultNotExecutable:
		return "NOT_EXECUTABLE"
	case FaultFailed:
		return "FAILED"
	case FaultAbnormalTermination:
		return "ABNORMAL_TERMINATION"
	case FaultSpawnError:
		return "SPAWN_ERROR"
	case FaultAlreadyStarted:
		return "ALREADY_STARTED"
	case FaultNotRunning:
		return "NOT_RUNNING"
	case FaultSuccess:
		return "SUCCESS"
	case FaultAlreadyAdded:
		return "ALREADY_ADDED"
	case FaultStillRunning:
		return "STILL_RUNNING"
	case FaultCantReread:
		return "CANT_REREAD"
	}
	return "FAULT_" + strconv.Itoa(int(c))
}

// FaultString is a fault's text as the reference builds it: the name,
// then ": " and extra when there is one ("BAD_NAME: foo").
func FaultString(c FaultCode, extra string) string {
	if extra == "" {
		return c.String()
	}
	return c.String() + ": " + extra
}

// Level is a log level with Supervisor's numbering: a line is logged when
// its level is at least the configured one.
type Level int

// Supervisor's log levels (loglevel= critical … blather).
const (
	LevelBlather  Level = 3
	LevelTrace    Level = 5
	LevelDebug    Level = 10
	LevelInfo     Level = 20
	LevelWarn     Level = 30
	LevelError    Level = 40
	LevelCritical Level = 50
)

// levels pairs each level with its config name and its code in log lines.
var levels = [...]struct {
	level      Level
	name, code string
}{
	{LevelCritical, "critical", "CRIT"},
	{LevelError, "error", "ERRO"},
	{LevelWarn, "warn", "WARN"},
	{LevelInfo, "info", "INFO"},
	{LevelDebug, "debug", "DEBG"},
	{LevelTrace, "trace", "TRAC"},
	{LevelBlather, "blather", "BLAT"},
}

// String is the four-letter code main-log lines carry ("INFO"); a value
// outside the table is "LEVEL<n>".
func (l Level) String() string {
	for _, e := range levels {
		if e.level == l {
			return e.code
		}
	}
	return "LEVEL" + strconv.Itoa(int(l))
}

// Name is the level's name in loglevel= ("info"); "" outside the table.
func (l Level) Name() string {
	for _, e := range levels {
		if e.level == l {
			return e.name
		}
	}
	return ""
}

// ParseLevel maps a loglevel= value (critical, error, warn, info, debug,
// trace, blather; any case) to its Level.
func ParseLevel(name string) (Level, bool) {
	for _, e := range levels {
		if len(name) == len(e.name) && equalFoldASCII(name, e.name) {
			return e.level, true
		}
	}
	return 0, false
}

// equalFoldASCII compares ASCII case-insensitively, as Python's lower()
// does for these names (a non-ASCII letter never matches).
func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
