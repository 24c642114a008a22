package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is Linux's USER_HZ (CLK_TCK), the unit of the utime and stime
// fields of /proc/<pid>/stat. It has been 100 on every Linux ABI Go supports.
const clockTicks = 100

// Usage is one reading of a process's resource counters.
type Usage struct {
	// CPU is utime+stime: the process's own CPU time, all threads, not its
	// reaped children (a daemon's children are not the daemon's cost).
	CPU time.Duration
	// RSS and HWM are VmRSS and VmHWM (peak RSS) in bytes.
	RSS, HWM int64
}

// ReadUsage reads the CPU time and memory of pid from /proc.
func ReadUsage(pid int) (Usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Usage{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	cpu, err := ParseStatCPU(stat)
	if err != nil {
		return Usage{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Usage{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	rss, hwm, err := ParseStatusMemory(status)
	if err != nil {
		return Usage{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	return Usage{CPU: cpu, RSS: rss, HWM: hwm}, nil
}

// ParseStatCPU returns utime+stime from the contents of /proc/<pid>/stat.
// The command name (field 2) may hold spaces and parentheses, so fields
// are counted from the last ')'.
func ParseStatCPU(stat []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("stat %q: no command name", truncate(string(stat), 60))
	}
	// After ")": state(3) ppid(4) ... utime(14) stime(15).
	fields := strings.Fields(string(stat[end+1:]))
	const utimeIdx, stimeIdx = 14 - 3, 15 - 3
	if len(fields) <= stimeIdx {
		return 0, fmt.Errorf("stat: %d fields after the command name, want > %d", len(fields), stimeIdx)
	}
	var ticks int64
	for _, i := range []int{utimeIdx, stimeIdx} {
		n, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat field %d: %w", i+3, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// ParseStatusMemory returns VmRSS and VmHWM in bytes from the contents of
// /proc/<pid>/status.
func ParseStatusMemory(status []byte) (rss, hwm int64, err error) {
	found := 0
	for _, line := range strings.Split(string(status), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("status %s: unexpected value %q", key, value)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("status %s: %w", key, err)
		}
		if key == "VmRSS" {
			rss = kb * 1024
		} else {
			hwm = kb * 1024
		}
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("status: VmRSS or VmHWM missing (a zombie or kernel thread?)")
	}
	return rss, hwm, nil
}

// procStartTime returns field 22 of /proc/<pid>/stat (start time in ticks
// since boot), which tells a process from a later one that reuses its pid.
func procStartTime(pid int) (int64, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	const startIdx = 22 - 3
	if len(f) <= startIdx {
		return 0, fmt.Errorf("stat of pid %d: too few fields", pid)
	}
	return strconv.ParseInt(f[startIdx], 10, 64)
}

// isZombie reports whether pid has exited and awaits its parent's wait.
func isZombie(pid int) bool {
	f, err := statFields(pid)
	return err == nil && len(f) > 0 && f[0] == "Z"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// procChild is a process identified beyond its pid by its start time.
type procChild struct {
	pid   int
	start int64
}

// childrenOf lists the processes whose parent is ppid, from /proc.
func childrenOf(ppid int) ([]procChild, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []procChild
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := statFields(pid)
		if err != nil || len(f) <= 22-3 {
			continue // gone meanwhile
		}
		if parent, err := strconv.Atoi(f[4-3]); err != nil || parent != ppid {
			continue
		}
		if start, err := strconv.ParseInt(f[22-3], 10, 64); err == nil {
			out = append(out, procChild{pid, start})
		}
	}
	return out, nil
}

// statFields returns the fields of /proc/<pid>/stat after the command
// name: index 0 is field 3 (state).
func statFields(pid int) ([]string, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return nil, fmt.Errorf("stat of pid %d: no command name", pid)
	}
	return strings.Fields(string(stat[end+1:])), nil
}

// ReadWakeups returns how many times pid's threads have been switched
// to so far (voluntary and involuntary context switches): a daemon that
// never polls leaves it still while idle.
func ReadWakeups(pid int) (int64, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w", pid, err)
	}
	var total int64
	for _, t := range tasks {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
		if err != nil {
			continue // the thread ended
		}
		n, err := parseSwitches(status)
		if err != nil {
			return 0, fmt.Errorf("pid %d task %s: %w", pid, t.Name(), err)
		}
		total += n
	}
	return total, nil
}

// parseSwitches sums voluntary_ctxt_switches and nonvoluntary_ctxt_switches
// in the contents of a /proc status file.
func parseSwitches(status []byte) (int64, error) {
	var total int64
	found := 0
	for _, line := range strings.Split(string(status), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok || (key != "voluntary_ctxt_switches" && key != "nonvoluntary_ctxt_switches") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status %s: %w", key, err)
		}
		total += n
		found++
	}
	if found != 2 {
		return 0, fmt.Errorf("status: context switch counts missing")
	}
	return total, nil
}
