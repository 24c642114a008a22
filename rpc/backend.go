package rpc

import (
	"context"
	"fmt"
)

// Backend is what the XML-RPC and HTTP handlers need from the daemon.
// supervisord's engine satisfies it. Every method is safe for concurrent
// use; methods that wait (start/stop with wait=true) honour ctx and never
// block the daemon itself.
//
// Names passed in are plain process names or "group:proc"; group-wide
// calls take a group name. Namespec parsing ("g:*", "g:") happens in rpc.
// Errors are *Fault values carrying Supervisor's codes.
type Backend interface {
	// State is supervisord's own state (RUNNING 1, RESTARTING 0, SHUTDOWN -1).
	State() State
	PID() int
	Identification() string
	// MainLogPath is the main log file, "" when there is none (or syslog).
	MainLogPath() string
	ClearMainLog() error
	Shutdown() error
	Restart() error

	ReloadConfig() (added, changed, removed []string, err error)
	AddProcessGroup(name string) error
	RemoveProcessGroup(name string) error

	// ProcessInfo returns a snapshot of one process. name is "proc" or "group:proc".
	ProcessInfo(name string) (ProcessInfo, error)
	// AllProcessInfo is sorted by group name, then process name.
	AllProcessInfo() []ProcessInfo
	// AllConfigInfo is one entry per configured process, active or not.
	AllConfigInfo() []ConfigInfo
	// GroupExists reports whether an active group of that name exists.
	GroupExists(group string) bool

	StartProcess(ctx context.Context, name string, wait bool) error
	StartProcessGroup(ctx context.Context, group string, wait bool) ([]Result, error)
	StartAllProcesses(ctx context.Context, wait bool) ([]Result, error)
	StopProcess(ctx context.Context, name string, wait bool) error
	StopProcessGroup(ctx context.Context, group string, wait bool) ([]Result, error)
	StopAllProcesses(ctx context.Context, wait bool) ([]Result, error)
	SignalProcess(name, signal string) error
	SignalProcessGroup(group, signal string) ([]Result, error)
	SignalAllProcesses(signal string) ([]Result, error)

	SendProcessStdin(name string, data []byte) error
	SendRemoteCommEvent(typ, data string) error

	// LogFile returns the current log file of a process channel
	// ("stdout" or "stderr"); "" with no error when the channel has no file.
	LogFile(name, channel string) (string, error)
	ClearProcessLogs(name string) error
	ClearAllProcessLogs() []Result
}

// State is supervisord's state as getState reports it.
type State struct {
	Code int
	Name string
}

// ProcessInfo is the struct getProcessInfo returns.
type ProcessInfo struct {
	Name          string
	Group         string
	Description   string
	Start         int64 // epoch seconds, 0 = never
	Stop          int64
	Now           int64
	State         int
	StateName     string
	SpawnErr      string
	ExitStatus    int
	Logfile       string
	StdoutLogfile string
	StderrLogfile string
	PID           int
}

// Result is one entry of the arrays the group and "all" calls return.
type Result struct {
	Name        string
	Group       string
	Status      int    // FaultSuccess or a fault code
	Description string // "OK" or the fault text
}

// ConfigInfo is one entry of getAllConfigInfo. Values the reference sends
// as the string 'none' or 'auto' are carried as strings here too.
type ConfigInfo struct {
	Autostart             bool
	Command               string
	Directory             string // "none" when unset
	ExitCodes             []int
	Group                 string
	GroupPrio             int
	InUse                 bool
	KillAsGroup           bool
	Name                  string
	ProcessPrio           int
	RedirectStderr        bool
	ServerURL             string
	StartRetries          int
	StartSecs             int
	StderrCaptureMaxBytes int64
	StderrEventsEnabled   bool
	StderrLogfile         string
	StderrLogfileBackups  int
	StderrLogfileMaxBytes int64
	StderrSyslog          bool
	StdoutCaptureMaxBytes int64
	StdoutEventsEnabled   bool
	StdoutLogfile         string
	StdoutLogfileBackups  int
	StdoutLogfileMaxBytes int64
	StdoutSyslog          bool
	StopSignal            int
	StopWaitSecs          int
	UID                   string // "none" or the uid as the reference prints it
}

// Supervisor's fault codes (supervisor.xmlrpc.Faults).
const (
	FaultUnknownMethod        = 1
	FaultIncorrectParameters  = 2
	FaultBadArguments         = 3
	FaultSignatureUnsupported = 4
	FaultShutdownState        = 6
	FaultBadName              = 10
	FaultBadSignal            = 11
	FaultNoFile               = 20
	FaultNotExecutable        = 21
	FaultFailed               = 30
	FaultAbnormalTermination  = 40
	FaultSpawnError           = 50
	FaultAlreadyStarted       = 60
	FaultNotRunning           = 70
	FaultSuccess              = 80
	FaultAlreadyAdded         = 90
	FaultStillRunning         = 91
	FaultCantReread           = 92
)

var faultNames = map[int]string{
	FaultUnknownMethod:        "UNKNOWN_METHOD",
	FaultIncorrectParameters:  "INCORRECT_PARAMETERS",
	FaultBadArguments:         "BAD_ARGUMENTS",
	FaultSignatureUnsupported: "SIGNATURE_UNSUPPORTED",
	FaultShutdownState:        "SHUTDOWN_STATE",
	FaultBadName:              "BAD_NAME",
	FaultBadSignal:            "BAD_SIGNAL",
	FaultNoFile:               "NO_FILE",
	FaultNotExecutable:        "NOT_EXECUTABLE",
	FaultFailed:               "FAILED",
	FaultAbnormalTermination:  "ABNORMAL_TERMINATION",
	FaultSpawnError:           "SPAWN_ERROR",
	FaultAlreadyStarted:       "ALREADY_STARTED",
	FaultNotRunning:           "NOT_RUNNING",
	FaultSuccess:              "SUCCESS",
	FaultAlreadyAdded:         "ALREADY_ADDED",
	FaultStillRunning:         "STILL_RUNNING",
	FaultCantReread:           "CANT_REREAD",
}

// Fault is an XML-RPC fault with Supervisor's code. Its String is the
// fault name, or "NAME: extra" as the reference formats it.
type Fault struct {
	Code   int
	String string
}

// NewFault builds the fault the reference would send for code, with an
// optional extra text ("BAD_NAME: foo").
func NewFault(code int, extra string) *Fault {
	name := faultNames[code]
	if name == "" {
		name = fmt.Sprintf("FAULT_%d", code)
	}
	if extra != "" {
		name += ": " + extra
	}
	return &Fault{Code: code, String: name}
}

// NewFaultFor builds the fault for a client's value, which the reference
// appends even when it is empty ("BAD_NAME: " for the name "").
func NewFaultFor(code int, value string) *Fault {
	f := NewFault(code, "")
	f.String += ": " + value
	return f
}

func (f *Fault) Error() string { return fmt.Sprintf("%d %s", f.Code, f.String) }
