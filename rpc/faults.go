package rpc

import (
	"context"
	"errors"
	"fmt"

	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/engine"
)

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

// NewFaultFor builds the fault for a client's value, which the reference
// appends even when it is empty ("BAD_NAME: " for the name "").
func NewFaultFor(code protocol.FaultCode, value string) *Fault {
	return &Fault{Code: code, String: code.String() + ": " + value}
}

// Error is the code and the fault string.
func (f *Fault) Error() string { return fmt.Sprintf("%d %s", f.Code, f.String) }

// engineFaults is the one table from the engine's error kinds to
// Supervisor's faults. The engine's Detail becomes the fault's extra
// text; where it is a client's value (value set), the reference appends
// it even when empty; where the kind itself must be said (named set, for
// kinds the reference has no fault of its own for), the extra text is
// the whole error.
var engineFaults = []struct {
	kind  error
	code  protocol.FaultCode
	value bool
	named bool
}{
	{engine.ErrNoSuchName, protocol.FaultBadName, true, false},
	{engine.ErrBadSignal, protocol.FaultBadSignal, true, false},
	{engine.ErrNoCommand, protocol.FaultNoFile, false, false},
	{engine.ErrNotExecutable, protocol.FaultNotExecutable, false, false},
	{engine.ErrSpawn, protocol.FaultSpawnError, false, false},
	{engine.ErrExitedEarly, protocol.FaultAbnormalTermination, false, false},
	{engine.ErrAlreadyStarted, protocol.FaultAlreadyStarted, false, false},
	{engine.ErrNotRunning, protocol.FaultNotRunning, false, false},
	{engine.ErrNoStdin, protocol.FaultNoFile, false, false},
	{engine.ErrStdinFull, protocol.FaultFailed, false, false},
	{engine.ErrNoLog, protocol.FaultNoFile, false, false},
	{engine.ErrAlreadyActive, protocol.FaultAlreadyAdded, false, false},
	{engine.ErrStillRunning, protocol.FaultStillRunning, false, false},
	{engine.ErrReread, protocol.FaultCantReread, false, false},
	{engine.ErrShutdown, protocol.FaultShutdownState, false, false},
	{engine.ErrUpgrading, protocol.FaultFailed, false, true},
	{engine.ErrFailed, protocol.FaultFailed, false, false},
}

// FaultOf is the fault a client gets for err: a *Fault as it is, an
// engine error through engineFaults, a request abandoned by its client
// or any other error as FAILED with the error's text. The web UI words
// its messages with it, as the reference's UI words RPC faults.
func FaultOf(err error) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	var ee *engine.Error
	if errors.As(err, &ee) {
		for _, row := range engineFaults {
			switch {
			case ee.Kind != row.kind:
			case row.value:
				return NewFaultFor(row.code, ee.Detail)
			case row.named:
				return NewFault(row.code, ee.Error())
			default:
				return NewFault(row.code, ee.Detail)
			}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return NewFault(protocol.FaultFailed, "request abandoned: "+err.Error())
	}
	return NewFault(protocol.FaultFailed, err.Error())
}
