package ctl

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gosupervisor/internal/protocol"
)

// top is gosupervisor's own command (the reference has none): a table of
// each process's CPU and memory, refreshed until Ctrl-C, from
// gosupervisor.getAllProcessResources. Its help is not in the reference's
// command list (extensionTopics), so "help" prints what the reference
// prints.

// processResources is one entry of gosupervisor.getAllProcessResources.
type processResources struct {
	Name       string                `xmlrpc:"name"`
	Group      string                `xmlrpc:"group"`
	PID        int                   `xmlrpc:"pid"`
	State      protocol.ProcessState `xmlrpc:"state"`
	StateName  string                `xmlrpc:"statename"`
	Processes  int                   `xmlrpc:"processes"`
	CPUSeconds float64               `xmlrpc:"cpu_seconds"`
	CPUPercent float64               `xmlrpc:"cpu_percent"`
	RSSKB      int                   `xmlrpc:"rss_kb"`
	RSSLimitKB int                   `xmlrpc:"rss_limit_kb"`
	CgroupKB   int                   `xmlrpc:"cgroup_memory_kb"`
}

// topDefaultDelay is the refresh interval without -d.
const topDefaultDelay = 2 * time.Second

func (c *controller) doTop(arg string) error {
	if up, err := c.upcheck(); !up {
		return err
	}
	count, delay, names, err := parseTopArgs(strings.Fields(arg))
	if err != nil {
		c.output("Error: " + err.Error())
		c.exitStatus = exitGeneric
		c.help("top")
		return nil
	}
	for n := 0; count == 0 || n < count; n++ {
		if n > 0 {
			select {
			case <-c.interrupts:
				c.output("")
				return nil
			case <-time.After(delay):
			}
		}
		var all []processResources
		if err := c.call("gosupervisor.getAllProcessResources", &all); err != nil {
			if f, ok := asFault(err); ok && f.Code == protocol.FaultUnknownMethod {
				c.output("Error: the server has no gosupervisor.getAllProcessResources (not gosupervisor?)")
				c.exitStatus = exitGeneric
				return nil
			}
			return err
		}
		shown, bad := selectResources(all, names)
		for _, name := range bad {
			c.output(name + ": ERROR (no such process)")
			c.exitStatus = exitGeneric
		}
		if count != 1 {
			// Home and clear, as top(1) redraws; a single table is plain.
			fmt.Fprint(c.out, "\x1b[H\x1b[2J")
		}
		fmt.Fprint(c.out, formatTop(shown))
	}
	return nil
}

// parseTopArgs reads [-n COUNT] [-d SECONDS] [name ...]; count 0 means
// until interrupted.
func parseTopArgs(args []string) (count int, delay time.Duration, names []string, err error) {
	delay = topDefaultDelay
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-n", "-d":
			if i+1 == len(args) {
				return 0, 0, nil, fmt.Errorf("%s needs a value", a)
			}
			i++
			v := args[i]
			if a == "-n" {
				n, e := strconv.Atoi(v)
				if e != nil || n < 1 {
					return 0, 0, nil, fmt.Errorf("bad count %s", v)
				}
				count = n
			} else {
				f, e := strconv.ParseFloat(v, 64)
				if e != nil || f < 0.1 || f > 3600 {
					return 0, 0, nil, fmt.Errorf("bad delay %s", v)
				}
				delay = time.Duration(f * float64(time.Second))
			}
		default:
			names = append(names, a)
		}
	}
	return count, delay, names, nil
}

// selectResources keeps the processes names designate ("name",
// "group:name", "group:*"; none = all) and lists names that match none.
func selectResources(all []processResources, names []string) (shown []processResources, bad []string) {
	if len(names) == 0 || contains(names, "all") {
		return all, nil
	}
	for _, name := range names {
		group, process, whole := splitNamespec(name)
		found := false
		for _, r := range all {
			if r.Group == group && (whole || r.Name == process) {
				shown = append(shown, r)
				found = true
			}
		}
		if !found {
			bad = append(bad, name)
		}
	}
	return shown, bad
}

// formatTop renders the table: one row per process, figures for its
// whole process tree.
func formatTop(rows []processResources) string {
	width := len("NAME")
	specs := make([]string, len(rows))
	for i, r := range rows {
		specs[i] = makeNamespec(r.Group, r.Name)
		width = max(width, len([]rune(specs[i])))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-9s %7s %5s %6s %11s %9s %9s %9s\n", ljust("NAME", width), "STATE", "PID", "PROCS", "CPU%", "CPU TIME", "RSS", "RSS LIMIT", "CGROUP")
	for i, r := range rows {
		pid, procs, pct, cpu, rss := "-", "-", "-", "-", "-"
		if r.PID > 0 {
			pid, procs = strconv.Itoa(r.PID), strconv.Itoa(r.Processes)
			cpu, rss = cpuTime(r.CPUSeconds), kb(r.RSSKB)
			if r.CPUPercent >= 0 {
				pct = strconv.FormatFloat(r.CPUPercent, 'f', 1, 64)
			}
		}
		limit, cg := "-", "-"
		if r.RSSLimitKB > 0 {
			limit = kb(r.RSSLimitKB)
		}
		if r.CgroupKB >= 0 {
			cg = kb(r.CgroupKB)
		}
		fmt.Fprintf(&b, "%s %-9s %7s %5s %6s %11s %9s %9s %9s\n", ljust(specs[i], width), r.StateName, pid, procs, pct, cpu, rss, limit, cg)
	}
	return b.String()
}

// cpuTime is h:mm:ss.ss.
func cpuTime(secs float64) string {
	h := int(secs) / 3600
	m := int(secs) / 60 % 60
	s := secs - float64(h*3600+m*60)
	return fmt.Sprintf("%d:%02d:%05.2f", h, m, s)
}

// kb is a size in KiB in the largest unit that keeps it readable.
func kb(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "G"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + "M"
	}
	return strconv.Itoa(n) + "K"
}
