package engine

// ProcessState is a process's state with Supervisor's numbering.
type ProcessState int

// The process states (supervisor.states.ProcessStates).
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

// String is the upper-case name clients display.
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

// isStopped is the reference's STOPPED_STATES.
func (s ProcessState) isStopped() bool {
	return s == StateStopped || s == StateExited || s == StateFatal || s == StateUnknown
}

// isRunning is the reference's RUNNING_STATES (BACKOFF counts as running).
func (s ProcessState) isRunning() bool {
	return s == StateRunning || s == StateBackoff || s == StateStarting
}

// isSignallable is the reference's SIGNALLABLE_STATES.
func (s ProcessState) isSignallable() bool {
	return s == StateRunning || s == StateStarting || s == StateStopping
}

// allowedMoves is every transition the state machine may make. Anything
// else is a bug in the engine and is refused by changeState.
var allowedMoves = map[ProcessState][]ProcessState{
	StateStopped:  {StateStarting},
	StateStarting: {StateRunning, StateBackoff, StateStopping, StateUnknown},
	StateRunning:  {StateStopping, StateExited, StateUnknown},
	StateBackoff:  {StateStarting, StateFatal, StateStopped},
	StateStopping: {StateStopped, StateUnknown},
	StateExited:   {StateStarting},
	StateFatal:    {StateStarting},
	StateUnknown:  {StateStopped, StateExited},
}

func moveAllowed(from, to ProcessState) bool {
	for _, s := range allowedMoves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Mood is supervisord's own state as getState reports it.
type Mood int

// supervisord's states (supervisor.states.SupervisorStates).
const (
	MoodShutdown   Mood = -1
	MoodRestarting Mood = 0
	MoodRunning    Mood = 1
)

// String is the name getState reports.
func (m Mood) String() string {
	switch m {
	case MoodShutdown:
		return "SHUTDOWN"
	case MoodRestarting:
		return "RESTARTING"
	case MoodRunning:
		return "RUNNING"
	}
	return "FATAL"
}
