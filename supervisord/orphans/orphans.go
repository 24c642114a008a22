// Package orphans keeps a record of the daemon's children in a state file
// beside its pidfile, so that a daemon started after one that died without
// stopping them (SIGKILL, OOM kill, a crash; Supervisor issue #1101) can
// find the children still running and stop or report them.
//
// A pid alone names nothing once its process is gone: the kernel hands it
// to the next process. Each record therefore also holds the process's
// start time (field 22 of /proc/<pid>/stat, in clock ticks since boot),
// and the file holds the boot id and the pid namespace it was written in.
// A survivor is a recorded pid whose process has the recorded start time,
// in the same boot and namespace, while the daemon that wrote the file is
// gone (a daemon that still runs keeps its children). Before a survivor
// is signalled a pidfd pins it and its start time is checked again, so the
// signal cannot reach a process that took over the pid meanwhile.
package orphans

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"gosupervisor/internal/safefs"
)

// Suffix is added to the pidfile's name to name the state file.
const Suffix = ".children"

// header is the state file's first line (its format's name and version).
const header = "gosupervisor children 1"

// Child is one process a daemon started.
type Child struct {
	PID int
	// StartTime is the process's start time in clock ticks since boot.
	StartTime uint64
	// Group and Name are the process's group and name in the config.
	Group, Name string
}

// identity is what tells one daemon run from another.
type identity struct {
	pid       int
	startTime uint64
	boot      string
	pidNS     string
}

// Recorder keeps the state file of one daemon up to date. It is not safe
// for concurrent use: the engine's loop owns it.
type Recorder struct {
	path     string
	self     identity
	children map[int]Child
	dirty    bool
}

// NewRecorder records the children of this process in path (the pidfile's
// name plus Suffix). Nothing is written before the first Flush.
func NewRecorder(path string) (*Recorder, error) {
	self, err := selfIdentity()
	if err != nil {
		return nil, err
	}
	return &Recorder{path: path, self: self, children: map[int]Child{}, dirty: true}, nil
}

// Started records a child just spawned. The child is not yet reaped, so
// its /proc entry is there to read the start time from.
func (r *Recorder) Started(pid int, group, name string) error {
	st, err := readStat(pid)
	if err != nil {
		return err
	}
	r.children[pid] = Child{PID: pid, StartTime: st.startTime, Group: group, Name: name}
	r.dirty = true
	return nil
}

// Ended forgets a child once it has been reaped.
func (r *Recorder) Ended(pid int) {
	if _, ok := r.children[pid]; ok {
		delete(r.children, pid)
		r.dirty = true
	}
}

// Flush writes the file if anything changed since the last Flush: a new
// file renamed over the old one, so a reader never sees half of it.
func (r *Recorder) Flush() error {
	if !r.dirty {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n", header)
	fmt.Fprintf(&b, "daemon %d %d %s %s\n", r.self.pid, r.self.startTime, r.self.boot, r.self.pidNS)
	pids := make([]int, 0, len(r.children))
	for pid := range r.children {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	for _, pid := range pids {
		c := r.children[pid]
		fmt.Fprintf(&b, "child %d %d %s %s\n", c.PID, c.StartTime, strconv.Quote(c.Group), strconv.Quote(c.Name))
	}
	dir, err := safefs.OpenDir(filepath.Dir(r.path))
	if err != nil {
		return err
	}
	defer dir.Close()
	f, tmp, err := dir.CreateTemp("."+filepath.Base(r.path)+".", 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b.Bytes())
	err = errors.Join(err, f.Close())
	if err == nil {
		err = dir.Rename(tmp, filepath.Base(r.path))
	}
	if err != nil {
		_ = dir.Remove(tmp)
		return err
	}
	r.dirty = false
	return nil
}

// Close removes the file: the daemon stopped its children itself.
func (r *Recorder) Close() error {
	dir, err := safefs.OpenDir(filepath.Dir(r.path))
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := dir.Remove(filepath.Base(r.path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Survivors reads the state file at path and returns the children it
// lists that still run. A missing file means none; a file another user
// could have written is refused (its pids would be signalled as root).
// When the daemon that wrote the file is still running, its children are
// its own business: none is returned.
func Survivors(path string) ([]Child, error) {
	data, err := readTrusted(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	writer, children, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	self, err := selfIdentity()
	if err != nil {
		return nil, err
	}
	if writer.boot != self.boot || writer.pidNS != self.pidNS {
		return nil, nil // written before a reboot or in another namespace
	}
	if writer.pid != self.pid && alive(writer.pid, writer.startTime) {
		return nil, nil
	}
	var out []Child
	for _, c := range children {
		if c.PID != self.pid && alive(c.PID, c.StartTime) {
			out = append(out, c)
		}
	}
	return out, nil
}

// readTrusted reads the state file if root or this process's user owns
// it, nobody else may write it and it has no second name.
func readTrusted(path string) ([]byte, error) {
	f, err := safefs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Errorf("%s: not a regular file", path)
	case st.Uid != 0 && int(st.Uid) != os.Geteuid():
		return nil, fmt.Errorf("%s: owned by uid %d, not by root or this daemon's user", path, st.Uid)
	case st.Mode&0o022 != 0:
		return nil, fmt.Errorf("%s: others may write it (mode %#o)", path, st.Mode&0o777)
	case st.Nlink != 1:
		return nil, fmt.Errorf("%s: it has %d hard links", path, st.Nlink)
	}
	return io.ReadAll(io.LimitReader(f, 16<<20))
}

// parse reads a state file's text.
func parse(data []byte) (identity, []Child, error) {
	var (
		writer   identity
		children []Child
		sawSelf  bool
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			if line != header {
				return writer, nil, fmt.Errorf("not a state file of this version (first line %q)", line)
			}
			continue
		}
		f := strings.Fields(line)
		bad := fmt.Errorf("line %d: malformed: %q", n, line)
		switch {
		case len(f) == 5 && f[0] == "daemon":
			pid, err1 := strconv.Atoi(f[1])
			start, err2 := strconv.ParseUint(f[2], 10, 64)
			if err1 != nil || err2 != nil || pid <= 0 {
				return writer, nil, bad
			}
			writer, sawSelf = identity{pid: pid, startTime: start, boot: f[3], pidNS: f[4]}, true
		case len(f) == 5 && f[0] == "child":
			pid, err1 := strconv.Atoi(f[1])
			start, err2 := strconv.ParseUint(f[2], 10, 64)
			group, err3 := strconv.Unquote(f[3])
			name, err4 := strconv.Unquote(f[4])
			if errors.Join(err1, err2, err3, err4) != nil || pid <= 1 {
				return writer, nil, bad
			}
			children = append(children, Child{PID: pid, StartTime: start, Group: group, Name: name})
		default:
			return writer, nil, bad
		}
	}
	if err := sc.Err(); err != nil {
		return writer, nil, err
	}
	if !sawSelf {
		return writer, nil, errors.New("no daemon line")
	}
	return writer, children, nil
}

// stat is what the state file needs of /proc/<pid>/stat.
type stat struct {
	startTime uint64
	pgrp      int
}

// readStat reads /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so the fields are counted after its last ')'.
func readStat(pid int) (stat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	// After ")": state(3) ppid(4) pgrp(5) … starttime(22).
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return stat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return stat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return stat{startTime: start, pgrp: pgrp}, nil
}

// alive reports whether pid is the process that started at startTime
// (and has not exited: a zombie has ended).
func alive(pid int, startTime uint64) bool {
	st, err := readStat(pid)
	return err == nil && st.startTime == startTime && !zombie(pid)
}

func zombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(data, ')')
	return i < 0 || i+2 >= len(data) || data[i+2] == 'Z' || data[i+2] == 'X'
}

// selfIdentity is this process's identity.
func selfIdentity() (identity, error) {
	st, err := readStat(os.Getpid())
	if err != nil {
		return identity{}, err
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return identity{}, err
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return identity{}, err
	}
	return identity{pid: os.Getpid(), startTime: st.startTime, boot: strings.TrimSpace(string(boot)), pidNS: ns}, nil
}
