package engine

import (
	"slices"

	"gosupervisor/internal/protocol"
)

// allowedMoves is every transition the state machine may make. Anything
// else is a bug in the engine and is refused by changeState.
var allowedMoves = map[protocol.ProcessState][]protocol.ProcessState{
	protocol.StateStopped:  {protocol.StateStarting},
	protocol.StateStarting: {protocol.StateRunning, protocol.StateBackoff, protocol.StateStopping, protocol.StateUnknown},
	protocol.StateRunning:  {protocol.StateStopping, protocol.StateExited, protocol.StateUnknown},
	protocol.StateBackoff:  {protocol.StateStarting, protocol.StateFatal, protocol.StateStopped},
	protocol.StateStopping: {protocol.StateStopped, protocol.StateUnknown},
	protocol.StateExited:   {protocol.StateStarting},
	protocol.StateFatal:    {protocol.StateStarting},
	protocol.StateUnknown:  {protocol.StateStopped, protocol.StateExited},
}

func moveAllowed(from, to protocol.ProcessState) bool {
	return slices.Contains(allowedMoves[from], to)
}
