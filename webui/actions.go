package webui

import (
	"context"
	"fmt"

	"gosupervisor/internal/protocol"
)

// ctimeLayout is Python's time.ctime() format, used in the reference's
// "Page refreshed at ..." messages.
const ctimeLayout = "Mon Jan _2 15:04:05 2006"

// runAction performs a UI action and returns the message the status page
// shows afterwards, worded as the reference words it. The error is for
// requests the reference cannot handle either (unknown action, or a
// per-process action without a name): they become 400, not a redirect.
func (h *Handler) runAction(ctx context.Context, action, name string) (string, error) {
	b := h.backend
	switch action {
	case "refresh":
		return "Page refreshed at " + h.now().Format(ctimeLayout), nil
	case "stopall":
		_, _ = b.StopAllProcesses(ctx, true) // per-process outcomes show in the table
		return "All stopped at " + h.now().Format(ctimeLayout), nil
	case "restartall":
		_, _ = b.StopAllProcesses(ctx, true)
		_, _ = b.StartAllProcesses(ctx, true)
		return "All restarted at " + h.now().Format(ctimeLayout), nil
	case "start", "stop", "restart", "clearlog":
	default:
		return "", fmt.Errorf("webui: unknown action %q", action)
	}
	if name == "" {
		return "", fmt.Errorf("webui: action %q needs a processname", action)
	}
	if _, err := b.Process(name); err != nil {
		return "No such process named " + name, nil
	}
	switch action {
	case "start":
		if err := b.StartProcess(ctx, name, true); err != nil {
			return fmt.Sprintf("ERROR: Process %s: %s", name, h.startError(err)), nil
		}
		return fmt.Sprintf("Process %s started", name), nil
	case "stop":
		if err := b.StopProcess(ctx, name, true); err != nil {
			return h.unexpectedFault(err), nil
		}
		return fmt.Sprintf("Process %s stopped", name), nil
	case "restart":
		// Like the reference, a process that was not running is simply
		// started; unlike it, a failed start is reported, not hidden.
		_ = b.StopProcess(ctx, name, true)
		if err := b.StartProcess(ctx, name, true); err != nil {
			return fmt.Sprintf("ERROR: Process %s: %s", name, h.startError(err)), nil
		}
		return fmt.Sprintf("Process %s restarted", name), nil
	default: // clearlog
		if err := b.ClearProcessLogs(name); err != nil {
			return h.unexpectedFault(err), nil
		}
		return fmt.Sprintf("Log for %s cleared", name), nil
	}
}

// startError words a failed start as the reference's UI does.
func (h *Handler) startError(err error) string {
	code, _ := h.fault(err)
	switch code {
	case protocol.FaultNoFile:
		return "no such file"
	case protocol.FaultNotExecutable:
		return "file not executable"
	case protocol.FaultAlreadyStarted:
		return "already started"
	case protocol.FaultSpawnError:
		return "spawn error"
	case protocol.FaultAbnormalTermination:
		return "abnormal termination"
	}
	return h.unexpectedFault(err)
}

// unexpectedFault is the reference's text for any other fault.
func (h *Handler) unexpectedFault(err error) string {
	code, text := h.fault(err)
	return fmt.Sprintf("unexpected rpc fault [%d] %s", code, text)
}
