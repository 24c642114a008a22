package rpc

import (
	"context"
	"time"

	"gosupervisor/config"
	"gosupervisor/supervisord/engine"
)

// The gosupervisor.* methods of issue 16: process trees' CPU and memory,
// and crash records. Stock clients never call them; no supervisor.*
// answer changes.

// resourceReader is what they use.
type resourceReader interface {
	// Resources is every process with its tree's usage, from a sample at
	// most maxAge old (taken on the caller's goroutine when older).
	Resources(maxAge time.Duration) ([]engine.ProcessResources, error)
	ProcessResources(name string, maxAge time.Duration) (engine.ProcessResources, error)
	// ProcessExits are a process's last exits, newest first.
	ProcessExits(name string) ([]engine.ExitRecord, error)
}

// resourceMaxAge is how old a sample the methods accept: callers polling
// every second or two (supervisorctl top) share samples, each still
// recent.
const resourceMaxAge = time.Second

const resourcesStruct = "{name, group, pid, state, statename, processes, cpu_seconds,\n" +
	"cpu_total_seconds, cpu_percent, rss_kb, rss_limit_kb, cgroup_memory_kb, sampled}"

// addResourceMethods adds the methods to r.
func addResourceMethods(r *registry, b Backend) {
	r.add(&method{name: "gosupervisor.getProcessResources", guarded: true, params: 1, required: 1,
		help: "Report the CPU and memory of a process and all its descendants:\n" + resourcesStruct + ".\n" +
			"cpu_seconds is the current instance's tree, cpu_total_seconds every instance's;\n" +
			"cpu_percent is over the interval since the previous sample (-1: none yet);\n" +
			"sizes are in KiB, cgroup_memory_kb is -1 without a cgroup; sampled is the\n" +
			"sample's epoch time. The sample is at most a second old.\n" +
			"@param string name  the process (\"name\" or \"group:name\")\n" +
			"@return struct result  the resources struct",
		call: func(_ context.Context, a args) (any, error) {
			name, err := oneProcess(a[0])
			if err != nil {
				return nil, err
			}
			res, err := b.ProcessResources(name, resourceMaxAge)
			if err != nil {
				return nil, err
			}
			return resourcesValue(&res), nil
		}})
	r.add(&method{name: "gosupervisor.getAllProcessResources", guarded: true,
		help: "Report every process's CPU and memory, sorted by group name and then\n" +
			"process name, as gosupervisor.getProcessResources does for one.\n" +
			"@return array result  one resources struct per process",
		call: func(context.Context, args) (any, error) {
			all, err := b.Resources(resourceMaxAge)
			if err != nil {
				return nil, err
			}
			out := make([]any, len(all))
			for i := range all {
				out[i] = resourcesValue(&all[i])
			}
			return out, nil
		}})
	r.add(&method{name: "gosupervisor.getProcessExits", guarded: true, params: 1, required: 1,
		help: "Report a process's last exits (crash records), newest first: {time, pid,\n" +
			"uptime, exitstatus, signal, core_dumped, how, expected, stopped, reason, stdout,\n" +
			"stderr}. time is epoch seconds, uptime seconds; signal is its name (\"\" for an\n" +
			"exit); reason is oom-kill, possible oom-kill, rss-limit, watchdog, health or\n" +
			"ready-timeout when known; stdout and stderr are the last lines of output.\n" +
			"@param string name  the process (\"name\" or \"group:name\")\n" +
			"@return array result  one struct per exit",
		call: func(_ context.Context, a args) (any, error) {
			name, err := oneProcess(a[0])
			if err != nil {
				return nil, err
			}
			exits, err := b.ProcessExits(name)
			if err != nil {
				return nil, err
			}
			out := make([]any, len(exits))
			for i := range exits {
				out[i] = exitValue(&exits[i])
			}
			return out, nil
		}})
}

// kib is a byte count in KiB as an XML-RPC int (clamped to 32 bits).
func kib(n uint64) int {
	return int(capInt32(int64(min(n>>10, 1<<40))))
}

func resourcesValue(r *engine.ProcessResources) Struct {
	u := r.Usage
	cg := -1
	if u.CgroupMemory >= 0 {
		cg = kib(uint64(u.CgroupMemory))
	}
	return Struct{
		{"name", r.Name},
		{"group", r.Group},
		{"pid", r.PID},
		{"state", int(r.State)},
		{"statename", r.State.String()},
		{"processes", u.Processes},
		{"cpu_seconds", u.CPU.Seconds()},
		{"cpu_total_seconds", u.CPUTotal.Seconds()},
		{"cpu_percent", u.CPUPercent},
		{"rss_kb", kib(u.RSS)},
		{"rss_limit_kb", kib(uint64(r.RSSLimit))},
		{"cgroup_memory_kb", cg},
		{"sampled", int(capInt32(unixOrZero(u.Sampled)))},
	}
}

func exitValue(x *engine.ExitRecord) Struct {
	signal := ""
	if x.Signal != 0 {
		signal = config.SignalName(x.Signal)
	}
	lines := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return Struct{
		{"time", int(capInt32(unixOrZero(x.Time)))},
		{"pid", x.PID},
		{"uptime", int(capInt32(int64(x.Uptime.Seconds())))},
		{"exitstatus", x.ExitStatus},
		{"signal", signal},
		{"core_dumped", x.CoreDumped},
		{"how", x.How},
		{"expected", x.Expected},
		{"stopped", x.Stopped},
		{"reason", string(x.Reason)},
		{"stdout", lines(x.Stdout)},
		{"stderr", lines(x.Stderr)},
	}
}
