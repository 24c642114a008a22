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

func (f *Fault) Error() string { return fmt.Sprintf("%d %s", f.Code, f.String) }

// engineFaults is the one table from the engine's error kinds to
// Supervisor's faults; the engine's Detail becomes the fault's extra
// text.
var engineFaults = []struct {
	kind error
	code protocol.FaultCode
}{
	{engine.ErrNoSuchName, protocol.FaultBadName},
	{engine.ErrBadSignal, protocol.FaultBadSignal},
	{engine.ErrNoCommand, protocol.FaultNoFile},
	{engine.ErrNotExecutable, protocol.FaultNotExecutable},
	{engine.ErrSpawn, protocol.FaultSpawnError},
	{engine.ErrExitedEarly, protocol.FaultAbnormalTermination},
	{engine.ErrAlreadyStarted, protocol.FaultAlreadyStarted},
	{engine.ErrNotRunning, protocol.FaultNotRunning},
	{engine.ErrNoStdin, protocol.FaultNoFile},
	{engine.ErrNoLog, protocol.FaultNoFile},
	{engine.ErrAlreadyActive, protocol.FaultAlreadyAdded},
	{engine.ErrStillRunning, protocol.FaultStillRunning},
	{engine.ErrReread, protocol.FaultCantReread},
	{engine.ErrShutdown, protocol.FaultShutdownState},
	{engine.ErrFailed, protocol.FaultFailed},
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
			if ee.Kind == row.kind {
				return NewFault(row.code, ee.Detail)
			}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return NewFault(protocol.FaultFailed, "request abandoned: "+err.Error())
	}
	return NewFault(protocol.FaultFailed, err.Error())
}
