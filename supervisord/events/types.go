// Package events is the pure core of Supervisor's event system: the event
// types and their hierarchy, payload and envelope serialisation, the event
// listener protocol parser, pool buffers with their serials, and the
// capture-mode splitter. It starts no goroutines and does no I/O; the
// engine owns every value and calls it from its loop (or, for Capture,
// from one output pump).
//
// The wire formats are Supervisor 4.2.5's, as superlance-style listeners
// (supervisor.childutils) parse them.
package events

import "strings"

// Type is an event type. Abstract types (Event, ProcessState, ...) are
// never emitted; subscribing to one subscribes to all its descendants.
type Type int

// The event types of Supervisor 4.2.5 (supervisor.events.EventTypes).
const (
	Event Type = iota
	ProcessState
	ProcessStateStopped
	ProcessStateExited
	ProcessStateStarting
	ProcessStateStopping
	ProcessStateBackoff
	ProcessStateFatal
	ProcessStateRunning
	ProcessStateUnknown
	ProcessLog
	ProcessLogStdout
	ProcessLogStderr
	ProcessCommunication
	ProcessCommunicationStdout
	ProcessCommunicationStderr
	RemoteCommunication
	SupervisorStateChange
	SupervisorStateChangeRunning
	SupervisorStateChangeStopping
	Tick
	Tick5
	Tick60
	Tick3600
	ProcessGroup
	ProcessGroupAdded
	ProcessGroupRemoved

	// gosupervisor's own types (sd_notify, health checks, resources and
	// crash records, upgrades in place). Their roots are not EVENT: they
	// reach only listeners that name them (or their root), never a stock
	// listener subscribed to EVENT, which could not parse their payloads.
	ProcessNotify
	ProcessNotifyReady
	ProcessNotifyStatus
	ProcessNotifyWatchdog
	ProcessHealth
	ProcessHealthHealthy
	ProcessHealthUnhealthy
	ProcessResource
	ProcessResourceOOM
	ProcessResourceRSSLimit
	ProcessExitRecord
	SupervisorUpgrade
	SupervisorUpgradeSucceeded
	SupervisorUpgradeFailed
	numTypes
)

// typeInfo is each type's wire name and parent (a root, such as Event,
// is its own parent).
var typeInfo = [numTypes]struct {
	name     string
	parent   Type
	abstract bool
}{
	Event:                         {"EVENT", Event, true},
	ProcessState:                  {"PROCESS_STATE", Event, true},
	ProcessStateStopped:           {"PROCESS_STATE_STOPPED", ProcessState, false},
	ProcessStateExited:            {"PROCESS_STATE_EXITED", ProcessState, false},
	ProcessStateStarting:          {"PROCESS_STATE_STARTING", ProcessState, false},
	ProcessStateStopping:          {"PROCESS_STATE_STOPPING", ProcessState, false},
	ProcessStateBackoff:           {"PROCESS_STATE_BACKOFF", ProcessState, false},
	ProcessStateFatal:             {"PROCESS_STATE_FATAL", ProcessState, false},
	ProcessStateRunning:           {"PROCESS_STATE_RUNNING", ProcessState, false},
	ProcessStateUnknown:           {"PROCESS_STATE_UNKNOWN", ProcessState, false},
	ProcessLog:                    {"PROCESS_LOG", Event, true},
	ProcessLogStdout:              {"PROCESS_LOG_STDOUT", ProcessLog, false},
	ProcessLogStderr:              {"PROCESS_LOG_STDERR", ProcessLog, false},
	ProcessCommunication:          {"PROCESS_COMMUNICATION", Event, true},
	ProcessCommunicationStdout:    {"PROCESS_COMMUNICATION_STDOUT", ProcessCommunication, false},
	ProcessCommunicationStderr:    {"PROCESS_COMMUNICATION_STDERR", ProcessCommunication, false},
	RemoteCommunication:           {"REMOTE_COMMUNICATION", Event, false},
	SupervisorStateChange:         {"SUPERVISOR_STATE_CHANGE", Event, true},
	SupervisorStateChangeRunning:  {"SUPERVISOR_STATE_CHANGE_RUNNING", SupervisorStateChange, false},
	SupervisorStateChangeStopping: {"SUPERVISOR_STATE_CHANGE_STOPPING", SupervisorStateChange, false},
	Tick:                          {"TICK", Event, true},
	Tick5:                         {"TICK_5", Tick, false},
	Tick60:                        {"TICK_60", Tick, false},
	Tick3600:                      {"TICK_3600", Tick, false},
	ProcessGroup:                  {"PROCESS_GROUP", Event, true},
	ProcessGroupAdded:             {"PROCESS_GROUP_ADDED", ProcessGroup, false},
	ProcessGroupRemoved:           {"PROCESS_GROUP_REMOVED", ProcessGroup, false},
	ProcessNotify:                 {"PROCESS_NOTIFY", ProcessNotify, true},
	ProcessNotifyReady:            {"PROCESS_NOTIFY_READY", ProcessNotify, false},
	ProcessNotifyStatus:           {"PROCESS_NOTIFY_STATUS", ProcessNotify, false},
	ProcessNotifyWatchdog:         {"PROCESS_NOTIFY_WATCHDOG", ProcessNotify, false},
	ProcessHealth:                 {"PROCESS_HEALTH", ProcessHealth, true},
	ProcessHealthHealthy:          {"PROCESS_HEALTH_HEALTHY", ProcessHealth, false},
	ProcessHealthUnhealthy:        {"PROCESS_HEALTH_UNHEALTHY", ProcessHealth, false},
	ProcessResource:               {"PROCESS_RESOURCE", ProcessResource, true},
	ProcessResourceOOM:            {"PROCESS_RESOURCE_OOM", ProcessResource, false},
	ProcessResourceRSSLimit:       {"PROCESS_RESOURCE_RSS_LIMIT", ProcessResource, false},
	ProcessExitRecord:             {"PROCESS_EXIT_RECORD", ProcessExitRecord, false},
	SupervisorUpgrade:             {"SUPERVISOR_UPGRADE", SupervisorUpgrade, true},
	SupervisorUpgradeSucceeded:    {"SUPERVISOR_UPGRADE_SUCCEEDED", SupervisorUpgrade, false},
	SupervisorUpgradeFailed:       {"SUPERVISOR_UPGRADE_FAILED", SupervisorUpgrade, false},
}

// String is the wire name (eventname: in the envelope).
func (t Type) String() string {
	if t < 0 || t >= numTypes {
		return "UNKNOWN_EVENT_TYPE"
	}
	return typeInfo[t].name
}

// Abstract reports whether t is only a subscription category.
func (t Type) Abstract() bool { return t >= 0 && t < numTypes && typeInfo[t].abstract }

// Is reports whether an event of type t is delivered to a subscriber of
// super: t is super or one of its descendants (Python's isinstance).
func (t Type) Is(super Type) bool {
	if t < 0 || t >= numTypes {
		return false
	}
	for {
		if t == super {
			return true
		}
		parent := typeInfo[t].parent
		if parent == t {
			return false
		}
		t = parent
	}
}

// ParseType resolves an event type name, case-insensitively as the
// reference reads events= lines.
func ParseType(name string) (Type, bool) {
	name = strings.ToUpper(strings.TrimSpace(name))
	for t := range numTypes {
		if typeInfo[t].name == name {
			return t, true
		}
	}
	return 0, false
}

// TickTypes are the periodic events with their periods in seconds.
var TickTypes = []struct {
	Type   Type
	Period int64
}{{Tick5, 5}, {Tick60, 60}, {Tick3600, 3600}}

// ForProcessState maps a process state name (STOPPED, RUNNING, ...) to
// its PROCESS_STATE_* event type.
func ForProcessState(state string) (Type, bool) {
	t, ok := ParseType("PROCESS_STATE_" + state)
	if !ok || !t.Is(ProcessState) || t == ProcessState {
		return 0, false
	}
	return t, true
}
