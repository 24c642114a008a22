package ctl

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"gosupervisor/internal/protocol"
)

// noIgnoredFault is passed to setExitFromFault when no fault is tolerated.
const noIgnoredFault protocol.FaultCode = -1

func asFault(err error) (*Fault, bool) {
	var f *Fault
	ok := errors.As(err, &f)
	return f, ok
}

func (c *controller) help(name string) {
	fmt.Fprint(c.out, helpTopics[name].render())
}

func (c *controller) doHelp(arg string) error {
	switch {
	case arg == "help":
		fmt.Fprint(c.out, helpOnHelp.render())
	case arg == "":
		fmt.Fprint(c.out, topicList(listedCommands()))
	default:
		if t, ok := helpTopics[arg]; ok {
			fmt.Fprint(c.out, t.render())
		} else {
			c.output("*** No help on " + arg)
		}
	}
	return nil
}

func (c *controller) doEOF(string) error {
	c.output("")
	return nil
}

func (c *controller) doStatus(arg string) error {
	up, err := c.upcheck()
	if !up {
		c.exitStatus = statusUnknown
		return err
	}
	var all []processInfo
	if err := c.call("getAllProcessInfo", &all); err != nil {
		return err
	}
	names := strings.Fields(arg)
	matching := all
	if len(names) > 0 && !contains(names, "all") {
		matching = nil
		for _, name := range names {
			group, process, whole := splitNamespec(name)
			bad := true
			for _, info := range all {
				if info.Group == group && (whole || info.Name == process) {
					bad = false
					matching = append(matching, info)
				}
			}
			if bad {
				if whole {
					c.output(group + ": ERROR (no such group)")
				} else {
					c.output(name + ": ERROR (no such process)")
				}
				c.exitStatus = statusUnknown
			}
		}
	}
	c.showStatuses(matching)
	for _, info := range matching {
		if info.State.IsStopped() { // status exits 3 for these
			c.exitStatus = statusNotRunning
		}
	}
	return nil
}

func (c *controller) showStatuses(infos []processInfo) {
	width := 30
	specs := make([]string, len(infos))
	for i, info := range infos {
		specs[i] = makeNamespec(info.Group, info.Name)
		width = max(width, len([]rune(specs[i])))
	}
	for i, info := range infos {
		c.output(ljust(specs[i], width+3) + ljust(info.StateName, 10) + info.Description)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (c *controller) doPid(arg string) error {
	if up, err := c.upcheck(); !up {
		return err
	}
	names := strings.Fields(arg)
	switch {
	case len(names) == 0:
		var pid int
		if err := c.call("getPID", &pid); err != nil {
			return err
		}
		c.output(strconv.Itoa(pid))
	case contains(names, "all"):
		var all []processInfo
		if err := c.call("getAllProcessInfo", &all); err != nil {
			return err
		}
		for _, info := range all {
			c.output(strconv.Itoa(info.PID))
		}
	default:
		for _, name := range names {
			var info processInfo
			if err := c.call("getProcessInfo", &info, name); err != nil {
				c.exitStatus = exitGeneric
				if f, ok := asFault(err); ok && f.Code == protocol.FaultBadName {
					c.output("No such process " + name)
					continue
				}
				return err
			}
			c.output(strconv.Itoa(info.PID))
			if info.PID == 0 {
				c.exitStatus = exitNotRunning
			}
		}
	}
	return nil
}

// startResult renders one start result; ok is false for a code the
// reference does not know (it raises ValueError then).
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

func (c *controller) doStart(arg string) error {
	if up, err := c.upcheck(); !up {
		return err
	}
	names := strings.Fields(arg)
	if len(names) == 0 {
		c.output("Error: start requires a process name")
		c.exitStatus = exitInvalidArgs
		c.help("start")
		return nil
	}
	if contains(names, "all") {
		var results []callResult
		if err := c.call("startAllProcesses", &results); err != nil {
			return err
		}
		return c.printResults(results, startResult, protocol.FaultAlreadyStarted)
	}
	for _, name := range names {
		group, process, whole := splitNamespec(name)
		if whole {
			var results []callResult
			if err := c.call("startProcessGroup", &results, group); err != nil {
				if f, ok := asFault(err); ok && f.Code == protocol.FaultBadName {
					c.output(group + ": ERROR (no such group)")
					c.exitStatus = exitInvalidArgs
					continue
				}
				c.exitStatus = exitGeneric
				return err
			}
			if err := c.printResults(results, startResult, protocol.FaultAlreadyStarted); err != nil {
				return err
			}
			continue
		}
		var ok bool
		if err := c.call("startProcess", &ok, name); err != nil {
			f, isFault := asFault(err)
			if !isFault {
				return err
			}
			line, rerr := startResult(callResult{Name: process, Group: group, Status: f.Code, Description: f.String})
			if rerr != nil {
				return rerr
			}
			c.output(line)
			c.setExitFromFault(f.Code, protocol.FaultAlreadyStarted)
			continue
		}
		c.output(makeNamespec(group, process) + ": started")
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

func (c *controller) doStop(arg string) error {
	if up, err := c.upcheck(); !up {
		return err
	}
	names := strings.Fields(arg)
	if len(names) == 0 {
		c.output("Error: stop requires a process name")
		c.exitStatus = exitGeneric
		c.help("stop")
		return nil
	}
	render := signalResult("stopped")
	if contains(names, "all") {
		var results []callResult
		if err := c.call("stopAllProcesses", &results); err != nil {
			return err
		}
		return c.printResults(results, render, protocol.FaultNotRunning)
	}
	for _, name := range names {
		group, process, whole := splitNamespec(name)
		if whole {
			var results []callResult
			if err := c.call("stopProcessGroup", &results, group); err != nil {
				c.exitStatus = exitGeneric
				if f, ok := asFault(err); ok && f.Code == protocol.FaultBadName {
					c.output(group + ": ERROR (no such group)")
					continue
				}
				return err
			}
			if err := c.printResults(results, render, protocol.FaultNotRunning); err != nil {
				return err
			}
			continue
		}
		var ok bool
		if err := c.call("stopProcess", &ok, name); err != nil {
			f, isFault := asFault(err)
			if !isFault {
				return err
			}
			line, rerr := render(callResult{Name: process, Group: group, Status: f.Code, Description: f.String})
			if rerr != nil {
				return rerr
			}
			c.output(line)
			c.setExitFromFault(f.Code, protocol.FaultNotRunning)
			continue
		}
		c.output(makeNamespec(group, process) + ": stopped")
	}
	return nil
}

func (c *controller) doSignal(arg string) error {
	if up, err := c.upcheck(); !up {
		return err
	}
	args := strings.Fields(arg)
	if len(args) < 2 {
		c.output("Error: signal requires a signal name and a process name")
		c.help("signal")
		c.exitStatus = exitGeneric
		return nil
	}
	sig, names := args[0], args[1:]
	render := signalResult("signalled")
	if contains(names, "all") {
		var results []callResult
		if err := c.call("signalAllProcesses", &results, sig); err != nil {
			return err
		}
		return c.printResults(results, render, noIgnoredFault)
	}
	for _, name := range names {
		group, process, whole := splitNamespec(name)
		if whole {
			var results []callResult
			if err := c.call("signalProcessGroup", &results, group, sig); err != nil {
				if f, ok := asFault(err); ok && f.Code == protocol.FaultBadName {
					c.output(group + ": ERROR (no such group)")
					c.exitStatus = exitGeneric
					continue
				}
				return err
			}
			if err := c.printResults(results, render, noIgnoredFault); err != nil {
				return err
			}
			continue
		}
		var ok bool
		if err := c.call("signalProcess", &ok, name, sig); err != nil {
			f, isFault := asFault(err)
			if !isFault {
				return err
			}
			line, rerr := render(callResult{Name: process, Group: group, Status: f.Code, Description: f.String})
			if rerr != nil {
				return rerr
			}
			c.output(line)
			c.setExitFromFault(f.Code, noIgnoredFault)
			continue
		}
		c.output(makeNamespec(group, process) + ": signalled")
	}
	return nil
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

// confirm asks a y/N question in interactive mode; elsewhere the answer
// is yes.
func (c *controller) confirm(question string) (bool, error) {
	if !c.opts.interactive {
		return true, nil
	}
	answer, err := c.input.ReadLine(question)
	if err != nil {
		return false, err
	}
	return strings.HasPrefix(strings.ToLower(answer), "y"), nil
}

func (c *controller) doShutdown(arg string) error {
	if arg != "" {
		c.output("Error: shutdown accepts no arguments")
		c.exitStatus = exitGeneric
		c.help("shutdown")
		return nil
	}
	really, err := c.confirm("Really shut the remote supervisord process down y/N? ")
	if err != nil || !really {
		return err
	}
	err = c.call("shutdown", nil)
	if err == nil {
		c.output("Shut down")
		return nil
	}
	if f, ok := asFault(err); ok {
		if f.Code == protocol.FaultShutdownState {
			c.output("ERROR: already shutting down")
			return nil
		}
		c.exitStatus = exitGeneric
		return err
	}
	if isOSError(err) {
		c.exitStatus = exitGeneric
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			c.output("ERROR: " + c.opts.serverURL + " refused connection (already shut down?)")
			return nil
		case errors.Is(err, syscall.ENOENT):
			c.output("ERROR: " + c.opts.serverURL + " no such file (already shut down?)")
			return nil
		}
	}
	return err
}

func (c *controller) doReload(arg string) error {
	if arg != "" {
		c.output("Error: reload accepts no arguments")
		c.exitStatus = exitGeneric
		c.help("reload")
		return nil
	}
	really, err := c.confirm("Really restart the remote supervisord process y/N? ")
	if err != nil || !really {
		return err
	}
	if err := c.call("restart", nil); err != nil {
		c.exitStatus = exitGeneric
		if f, ok := asFault(err); ok && f.Code == protocol.FaultShutdownState {
			c.output("ERROR: already shutting down")
			return nil
		}
		return err
	}
	c.output("Restarted supervisord")
	return nil
}

func (c *controller) doAvail(arg string) error {
	if arg != "" {
		c.output("Error: avail accepts no arguments")
		c.exitStatus = exitGeneric
		c.help("avail")
		return nil
	}
	var infos []configInfo
	if err := c.call("getAllConfigInfo", &infos); err != nil {
		c.exitStatus = exitGeneric
		if f, ok := asFault(err); ok && f.Code == protocol.FaultShutdownState {
			c.output("ERROR: supervisor shutting down")
			return nil
		}
		return err
	}
	for _, info := range infos {
		inuse, auto := "avail", "manual"
		if info.InUse {
			inuse = "in use"
		}
		if info.Autostart {
			auto = "auto"
		}
		c.output(fmt.Sprintf("%s %s %s %d:%d", ljust(makeNamespec(info.Group, info.Name), 32),
			ljust(inuse, 9), ljust(auto, 9), info.GroupPrio, info.ProcessPrio))
	}
	return nil
}

// reloadResult is reloadConfig's [[added, changed, removed]].
type reloadResult [][][]string

func (r reloadResult) lists() (added, changed, removed []string) {
	if len(r) == 0 || len(r[0]) < 3 {
		return nil, nil, nil
	}
	return r[0][0], r[0][1], r[0][2]
}

func (c *controller) doReread(arg string) error {
	if arg != "" {
		c.output("Error: reread accepts no arguments")
		c.exitStatus = exitGeneric
		c.help("reread")
		return nil
	}
	var result reloadResult
	if err := c.call("reloadConfig", &result); err != nil {
		c.exitStatus = exitGeneric
		if f, ok := asFault(err); ok {
			switch f.Code {
			case protocol.FaultShutdownState:
				c.output("ERROR: supervisor shutting down")
				return nil
			case protocol.FaultCantReread:
				c.output("ERROR: " + f.String)
				return nil
			}
		}
		return err
	}
	added, changed, removed := result.lists()
	changes := map[string]string{}
	for _, set := range []struct {
		names []string
		what  string
	}{{added, "available"}, {changed, "changed"}, {removed, "disappeared"}} {
		for _, n := range set.names {
			changes[n] = set.what
		}
	}
	if len(changes) == 0 {
		c.output("No config updates to processes")
		return nil
	}
	names := make([]string, 0, len(changes))
	for n := range changes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c.output(n + ": " + changes[n])
	}
	return nil
}

func (c *controller) doAdd(arg string) error {
	for _, name := range strings.Fields(arg) {
		var ok bool
		err := c.call("addProcessGroup", &ok, name)
		if err == nil {
			c.output(name + ": added process group")
			continue
		}
		f, isFault := asFault(err)
		switch {
		case isFault && f.Code == protocol.FaultShutdownState:
			c.output("ERROR: shutting down")
			c.exitStatus = exitGeneric
		case isFault && f.Code == protocol.FaultAlreadyAdded:
			c.output("ERROR: process group already active")
		case isFault && f.Code == protocol.FaultBadName:
			c.output("ERROR: no such process/group: " + name)
			c.exitStatus = exitGeneric
		default:
			c.exitStatus = exitGeneric
			return err
		}
	}
	return nil
}

func (c *controller) doRemove(arg string) error {
	for _, name := range strings.Fields(arg) {
		var ok bool
		err := c.call("removeProcessGroup", &ok, name)
		if err == nil {
			c.output(name + ": removed process group")
			continue
		}
		c.exitStatus = exitGeneric
		f, isFault := asFault(err)
		switch {
		case isFault && f.Code == protocol.FaultStillRunning:
			c.output("ERROR: process/group still running: " + name)
		case isFault && f.Code == protocol.FaultBadName:
			c.output("ERROR: no such process/group: " + name)
		default:
			return err
		}
	}
	return nil
}

func (c *controller) doUpdate(arg string) error {
	var result reloadResult
	if err := c.call("reloadConfig", &result); err != nil {
		c.exitStatus = exitGeneric
		if f, ok := asFault(err); ok && f.Code == protocol.FaultShutdownState {
			c.output("ERROR: already shutting down")
			return nil
		}
		return err
	}
	added, changed, removed := result.lists()
	valid := map[string]bool{}
	for _, n := range strings.Fields(arg) {
		valid[n] = true
	}
	if valid["all"] {
		valid = map[string]bool{}
	}
	if len(valid) > 0 {
		var all []processInfo
		if err := c.call("getAllProcessInfo", &all); err != nil {
			return err
		}
		groups := map[string]bool{}
		for _, info := range all {
			groups[info.Group] = true
		}
		for _, g := range added {
			groups[g] = true
		}
		// The reference walks a Python set here; sorting keeps our order
		// stable.
		names := make([]string, 0, len(valid))
		for n := range valid {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if !groups[n] {
				c.output("ERROR: no such group: " + n)
				c.exitStatus = exitGeneric
			}
		}
	}
	skip := func(g string) bool { return len(valid) > 0 && !valid[g] }
	for _, g := range removed {
		if skip(g) {
			continue
		}
		var results []callResult
		if err := c.call("stopProcessGroup", &results, g); err != nil {
			return err
		}
		c.output(g + ": stopped")
		failed := false
		for _, r := range results {
			failed = failed || r.Status == protocol.FaultFailed
		}
		if failed {
			c.output(g + ": has problems; not removing")
			c.exitStatus = exitGeneric
			continue
		}
		if err := c.call("removeProcessGroup", nil, g); err != nil {
			return err
		}
		c.output(g + ": removed process group")
	}
	for _, g := range changed {
		if skip(g) {
			continue
		}
		if err := c.call("stopProcessGroup", nil, g); err != nil {
			return err
		}
		c.output(g + ": stopped")
		if err := c.call("removeProcessGroup", nil, g); err != nil {
			return err
		}
		if err := c.call("addProcessGroup", nil, g); err != nil {
			return err
		}
		c.output(g + ": updated process group")
	}
	for _, g := range added {
		if skip(g) {
			continue
		}
		if err := c.call("addProcessGroup", nil, g); err != nil {
			return err
		}
		c.output(g + ": added process group")
	}
	return nil
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

func (c *controller) doOpen(arg string) error {
	u := strings.TrimSpace(arg)
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "unix" && parsed.Scheme != "http") {
		c.output("ERROR: url must be http:// or unix://")
		c.exitStatus = exitGeneric
		return nil
	}
	c.opts.serverURL = u
	old := c.exitStatus
	err = c.doStatus("")
	c.exitStatus = old
	return err
}

func (c *controller) doVersion(arg string) error {
	if arg != "" {
		c.output("Error: version accepts no arguments")
		c.exitStatus = exitGeneric
		c.help("version")
		return nil
	}
	if up, err := c.upcheck(); !up {
		return err
	}
	var v string
	if err := c.call("getSupervisorVersion", &v); err != nil {
		return err
	}
	c.output(v)
	return nil
}
