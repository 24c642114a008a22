package ctl

import (
	"fmt"
	"strings"

	"gosupervisor/internal/protocol"
)

// startResult renders one start result; a code the reference does not
// know is an unknownResult error (it raises ValueError then).
func startResult(r callResult) (string, error) {
	name := makeNamespec(r.Group, r.Name)
	reasons := map[protocol.FaultCode]string{
		protocol.FaultBadName:             "no such process",
		protocol.FaultNoFile:              "no such file",
		protocol.FaultNotExecutable:       "file is not executable",
		protocol.FaultAlreadyStarted:      "already started",
		protocol.FaultSpawnError:          "spawn error",
		protocol.FaultAbnormalTermination: "abnormal termination",
	}
	if r.Status == protocol.FaultSuccess {
		return name + ": started", nil
	}
	if reason, ok := reasons[r.Status]; ok {
		return name + ": ERROR (" + reason + ")", nil
	}
	return "", unknownResult{r.Status, name}
}

// unknownResult is the reference's ValueError for a result code it does
// not expect.
type unknownResult struct {
	code protocol.FaultCode
	name string
}

func (e unknownResult) Error() string {
	return fmt.Sprintf("Unknown result code %d for %s", e.code, e.name)
}

// printResults prints each result with render and folds its status into
// the exit status.
func (c *controller) printResults(results []callResult, render func(callResult) (string, error), ignored protocol.FaultCode) error {
	for _, r := range results {
		line, err := render(r)
		if err != nil {
			return err
		}
		c.output(line)
		c.setExitFromFault(r.Status, ignored)
	}
	return nil
}

// processAction describes one of the commands that act on processes by
// name, by group ("g:*") or on all of them: start, stop and signal. They
// share one loop (actOnProcesses); what differs is this row.
type processAction struct {
	one, group, all string // the methods for a name, a group and "all"
	// withSignal: the first argument is a signal, passed after the name.
	withSignal bool
	// missing is printed (with the command's help) when names are missing;
	// missingExit is the exit status then.
	missing     string
	missingExit int
	render      func(callResult) (string, error)
	// ignored is the fault that leaves the exit status alone ("already
	// started" for start, "not running" for stop).
	ignored protocol.FaultCode
	// groupBadName is the exit status when a group is unknown. Any other
	// failure ends the command with an error, which onecmd reports (exit
	// status 1).
	groupBadName int
}

// processActions are the rows of start, stop and signal, with the exit
// statuses the reference's client sets on each path.
var processActions = map[string]processAction{
	"start": {
		one: "startProcess", group: "startProcessGroup", all: "startAllProcesses",
		missing: "Error: start requires a process name", missingExit: exitInvalidArgs,
		render: startResult, ignored: protocol.FaultAlreadyStarted,
		groupBadName: exitInvalidArgs,
	},
	"stop": {
		one: "stopProcess", group: "stopProcessGroup", all: "stopAllProcesses",
		missing: "Error: stop requires a process name", missingExit: exitGeneric,
		render: signalResult("stopped"), ignored: protocol.FaultNotRunning,
		groupBadName: exitGeneric,
	},
	"signal": {
		one: "signalProcess", group: "signalProcessGroup", all: "signalAllProcesses",
		withSignal: true,
		missing:    "Error: signal requires a signal name and a process name", missingExit: exitGeneric,
		render: signalResult("signalled"), ignored: noIgnoredFault,
		groupBadName: exitGeneric,
	},
}

func (c *controller) doStart(arg string) error  { return c.actOnProcesses("start", arg) }
func (c *controller) doStop(arg string) error   { return c.actOnProcesses("stop", arg) }
func (c *controller) doSignal(arg string) error { return c.actOnProcesses("signal", arg) }

// actOnProcesses runs the command of processActions[cmd] on the names in
// arg: "all" (anywhere) means one call for every process, "g:*" one call
// for group g, anything else one call per process.
func (c *controller) actOnProcesses(cmd, arg string) error {
	a := processActions[cmd]
	if up, err := c.upcheck(); !up {
		return err
	}
	names := strings.Fields(arg)
	var extra []any
	if a.withSignal && len(names) > 0 {
		extra, names = []any{names[0]}, names[1:]
	}
	if len(names) == 0 {
		c.output(a.missing)
		c.exitStatus = a.missingExit
		c.help(cmd)
		return nil
	}
	if contains(names, "all") {
		var results []callResult
		if err := c.call(a.all, &results, extra...); err != nil {
			return err
		}
		return c.printResults(results, a.render, a.ignored)
	}
	for _, name := range names {
		group, process, whole := splitNamespec(name)
		if whole {
			var results []callResult
			if err := c.call(a.group, &results, append([]any{group}, extra...)...); err != nil {
				if f, ok := asFault(err); ok && f.Code == protocol.FaultBadName {
					c.output(group + ": ERROR (no such group)")
					c.exitStatus = a.groupBadName
					continue
				}
				return err
			}
			if err := c.printResults(results, a.render, a.ignored); err != nil {
				return err
			}
			continue
		}
		r := callResult{Name: process, Group: group, Status: protocol.FaultSuccess}
		var ok bool
		if err := c.call(a.one, &ok, append([]any{name}, extra...)...); err != nil {
			f, isFault := asFault(err)
			if !isFault {
				return err
			}
			r.Status, r.Description = f.Code, f.String
		}
		if err := c.printResults([]callResult{r}, a.render, a.ignored); err != nil {
			return err
		}
	}
	return nil
}

// signalResult renders a signal (or, with success "stopped", a stop)
// result.
func signalResult(success string) func(callResult) (string, error) {
	return func(r callResult) (string, error) {
		name := makeNamespec(r.Group, r.Name)
		switch r.Status {
		case protocol.FaultBadName:
			return name + ": ERROR (no such process)", nil
		case protocol.FaultBadSignal:
			return name + ": ERROR (bad signal name)", nil
		case protocol.FaultNotRunning:
			return name + ": ERROR (not running)", nil
		case protocol.FaultSuccess:
			return name + ": " + success, nil
		case protocol.FaultFailed:
			return r.Description, nil
		}
		return "", unknownResult{r.Status, name}
	}
}

func (c *controller) doRestart(arg string) error {
	if up, err := c.upcheck(); !up {
		return err
	}
	if len(strings.Fields(arg)) == 0 {
		c.output("Error: restart requires a process name")
		c.exitStatus = exitGeneric
		c.help("restart")
		return nil
	}
	if err := c.doStop(arg); err != nil {
		return err
	}
	return c.doStart(arg)
}

func clearResult(r callResult) (string, error) {
	name := makeNamespec(r.Group, r.Name)
	switch r.Status {
	case protocol.FaultBadName:
		return name + ": ERROR (no such process)", nil
	case protocol.FaultFailed:
		return name + ": ERROR (failed)", nil
	case protocol.FaultSuccess:
		return name + ": cleared", nil
	}
	return "", unknownResult{r.Status, name}
}

func (c *controller) doClear(arg string) error {
	if up, err := c.upcheck(); !up {
		return err
	}
	names := strings.Fields(arg)
	if len(names) == 0 {
		c.output("Error: clear requires a process name")
		c.exitStatus = exitGeneric
		c.help("clear")
		return nil
	}
	if contains(names, "all") {
		var results []callResult
		if err := c.call("clearAllProcessLogs", &results); err != nil {
			return err
		}
		return c.printResults(results, clearResult, noIgnoredFault)
	}
	for _, name := range names {
		group, process, _ := splitNamespec(name)
		if err := c.call("clearProcessLogs", nil, name); err != nil {
			f, isFault := asFault(err)
			if !isFault {
				return err
			}
			line, rerr := clearResult(callResult{Name: process, Group: group, Status: f.Code, Description: f.String})
			if rerr != nil {
				return rerr
			}
			c.output(line)
			c.setExitFromFault(f.Code, noIgnoredFault)
			continue
		}
		c.output(makeNamespec(group, process) + ": cleared")
	}
	return nil
}
