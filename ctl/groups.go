package ctl

import (
	"fmt"
	"sort"
	"strings"

	"gosupervisor/internal/protocol"
)

func (c *controller) doAvail(arg string) error {
	if c.refuseArgs("avail", arg) {
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
	if c.refuseArgs("reread", arg) {
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
