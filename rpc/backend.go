package rpc

import (
	"context"

	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/engine"
)

// Backend is everything the handler reaches in the daemon: the small
// interfaces below, each for one family of methods. *engine.Engine
// satisfies it. Every method is safe for concurrent use; methods that
// wait (start and stop with wait) honour ctx and never block the daemon.
//
// Names passed in are "name" or "group:name"; group-wide calls take a
// group name. Namespec parsing ("g:*", "g:") happens here, and so does
// every wire string: engine errors become faults through FaultOf,
// snapshots become structs in encode_info.go.
type Backend interface {
	daemonControl
	configControl
	processReader
	processControl
	processLogs
	resourceReader
}

// daemonControl is what the methods about supervisord itself use.
type daemonControl interface {
	// State is supervisord's own state; calls other than a few fault
	// SHUTDOWN_STATE unless it is RUNNING.
	State() protocol.SupervisorState
	PID() int
	Identification() string
	Shutdown() error
	Restart() error
	SendRemoteCommEvent(typ, data string) error
}

// configControl is what reloadConfig, addProcessGroup,
// removeProcessGroup and getAllConfigInfo use.
type configControl interface {
	ReloadConfig() (added, changed, removed []string, err error)
	AddProcessGroup(name string) error
	RemoveProcessGroup(name string) error
	ConfiguredProcesses() []engine.ConfiguredProcess
}

// processReader is what the read-only process methods use.
type processReader interface {
	Process(name string) (engine.ProcessStatus, error)
	// Processes is sorted by group name, then process name.
	Processes() ([]engine.ProcessStatus, error)
	HasGroup(group string) bool
}

// processControl is what the start, stop, signal and stdin methods use.
type processControl interface {
	StartProcess(ctx context.Context, name string, wait bool) error
	StartProcessGroup(ctx context.Context, group string, wait bool) ([]engine.Outcome, error)
	StartAllProcesses(ctx context.Context, wait bool) ([]engine.Outcome, error)
	StopProcess(ctx context.Context, name string, wait bool) error
	StopProcessGroup(ctx context.Context, group string, wait bool) ([]engine.Outcome, error)
	StopAllProcesses(ctx context.Context, wait bool) ([]engine.Outcome, error)
	SignalProcess(name, signal string) error
	SignalProcessGroup(group, signal string) ([]engine.Outcome, error)
	SignalAllProcesses(signal string) ([]engine.Outcome, error)
	SendProcessStdin(name string, data []byte) error
}

// processLogs is what the log methods and the /logtail streams use.
type processLogs interface {
	// MainLogPath is the main log file, "" when there is none (or syslog).
	MainLogPath() string
	ClearMainLog() error
	// LogFile is the current log file of a process's channel; "" with
	// no error when the channel has no file.
	LogFile(name string, ch protocol.Channel) (string, error)
	ClearProcessLogs(name string) error
	ClearAllProcessLogs() []engine.Outcome
}
