package ctl

import (
	"strconv"
	"strings"

	"gosupervisor/internal/protocol"
)

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
