package rpc

import (
	"context"
	"fmt"

	"gosupervisor/internal/protocol"
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
	// State is supervisord's own state.
	State() protocol.SupervisorState
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

// ProcessInfo is the struct getProcessInfo returns.
type ProcessInfo struct {
	Name          string
	Group         string
	Description   string
	Start         int64 // epoch seconds, 0 = never
	Stop          int64
	Now           int64
	State         protocol.ProcessState
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
	Status      protocol.FaultCode // protocol.FaultSuccess or a fault code
	Description string             // "OK" or the fault text
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

// Fault is an XML-RPC fault with Supervisor's code. Its String is the
// fault name, or "NAME: extra" as the reference formats it.
type Fault struct {
	Code   protocol.FaultCode
	String string
}

// NewFault builds the fault the reference would send for code, with an
// optional extra text ("BAD_NAME: foo").
func NewFault(code protocol.FaultCode, extra string) *Fault {
	return &Fault{Code: code, String: protocol.FaultString(code, extra)}
}

func (f *Fault) Error() string { return fmt.Sprintf("%d %s", f.Code, f.String) }
