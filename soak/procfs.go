package soak

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ProcFigures are the kernel's view of one process's resources.
type ProcFigures struct {
	FDs     int   // entries of /proc/<pid>/fd
	Threads int   // Threads: in /proc/<pid>/status
	RSSKiB  int64 // VmRSS: in /proc/<pid>/status
}

// ReadProcFigures reads pid's descriptor count, thread count and RSS.
func ReadProcFigures(pid int) (ProcFigures, error) {
	var f ProcFigures
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return f, fmt.Errorf("pid %d: %w", pid, err)
	}
	f.FDs = len(fds)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return f, fmt.Errorf("pid %d: %w", pid, err)
	}
	if f.Threads, f.RSSKiB, err = parseStatus(status); err != nil {
		return f, fmt.Errorf("pid %d: %w", pid, err)
	}
	return f, nil
}

// parseStatus extracts Threads and VmRSS (kB) from /proc/<pid>/status.
func parseStatus(status []byte) (threads int, rssKiB int64, err error) {
	var gotThreads, gotRSS bool
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		switch key {
		case "Threads":
			threads, err = strconv.Atoi(fields[0])
			gotThreads = err == nil
		case "VmRSS":
			rssKiB, err = strconv.ParseInt(fields[0], 10, 64)
			gotRSS = err == nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("status line %q: %w", sc.Text(), err)
		}
	}
	if !gotThreads || !gotRSS {
		return 0, 0, errors.New("status has no Threads or VmRSS line")
	}
	return threads, rssKiB, nil
}

// FDKinds counts pid's descriptors by what they point at: "pipe",
// "socket", "anon_inode:[pidfd]"-like kinds, and "file <dir>" for paths
// (by directory, so rotated logs of one program count together). It
// explains a descriptor difference when a bound fails.
func FDKinds(pid int) (map[string]int, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	kinds := map[string]int{}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		kinds[fdKind(target)]++
	}
	return kinds, nil
}

// fdKind names the kind of one /proc/<pid>/fd link target.
func fdKind(target string) string {
	switch {
	case strings.HasPrefix(target, "pipe:"):
		return "pipe"
	case strings.HasPrefix(target, "socket:"):
		return "socket"
	case strings.HasPrefix(target, "anon_inode:"):
		return target
	case strings.HasPrefix(target, "/"):
		return "file " + filepath.Dir(target)
	default:
		return target
	}
}

// DiffKinds describes how two FDKinds counts differ, e.g. "pipe +2".
func DiffKinds(before, after map[string]int) string {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if d := after[k] - before[k]; d != 0 {
			out = append(out, fmt.Sprintf("%s %+d", k, d))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "no difference"
	}
	return strings.Join(out, ", ")
}

// ProcStat is the part of /proc/<pid>/stat the test reads.
type ProcStat struct {
	PID   int
	Comm  string
	State byte // R, S, D, Z, ...
	PPID  int
	PGID  int
}

// parseStat parses one /proc/<pid>/stat line. The command name sits in
// parentheses and may itself hold spaces and parentheses, so the fields
// after it are found from the last ')'.
func parseStat(line string) (ProcStat, error) {
	open := strings.IndexByte(line, '(')
	end := strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return ProcStat{}, fmt.Errorf("stat %q: no command name", line)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return ProcStat{}, fmt.Errorf("stat %q: pid: %w", line, err)
	}
	rest := strings.Fields(line[end+1:])
	if len(rest) < 4 || len(rest[0]) != 1 {
		return ProcStat{}, fmt.Errorf("stat %q: too few fields", line)
	}
	ppid, err := strconv.Atoi(rest[1])
	if err != nil {
		return ProcStat{}, fmt.Errorf("stat %q: ppid: %w", line, err)
	}
	pgid, err := strconv.Atoi(rest[2])
	if err != nil {
		return ProcStat{}, fmt.Errorf("stat %q: pgid: %w", line, err)
	}
	return ProcStat{PID: pid, Comm: line[open+1 : end], State: rest[0][0], PPID: ppid, PGID: pgid}, nil
}

// AllProcs returns the stat of every process now in /proc. Processes
// that end during the scan are left out.
func AllProcs() ([]ProcStat, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("scan /proc: %w", err)
	}
	var out []ProcStat
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // the process ended during the scan
		}
		st, err := parseStat(strings.TrimSpace(string(data)))
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Zombies returns the children of ppid in state Z.
func Zombies(procs []ProcStat, ppid int) []ProcStat {
	var out []ProcStat
	for _, p := range procs {
		if p.PPID == ppid && p.State == 'Z' {
			out = append(out, p)
		}
	}
	return out
}

// Descendants returns every process below root (children, their
// children, ...), found through parent links.
func Descendants(procs []ProcStat, root int) []ProcStat {
	children := map[int][]ProcStat{}
	for _, p := range procs {
		children[p.PPID] = append(children[p.PPID], p)
	}
	var out []ProcStat
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out
}
