// Package cgroup gives programs a cgroup each, with memory, CPU and task
// limits written before the program runs: cgroup v2 first (the program
// is created in its leaf by clone3's CLONE_INTO_CGROUP), cgroup v1
// per-controller directories as the fallback (the exec shim joins them
// before exec). It also reads what the kernel reports back: OOM kills
// (memory.events, v1 memory.oom_control) and memory in use.
//
// Leaves are created under the daemon's own cgroup, read from
// /proc/self/cgroup, one per process, named <group>.<process>. On v2 the
// daemon first moves itself into <own>/supervisord, since a cgroup whose
// controllers are enabled for its children may hold no process itself.
//
// All file access goes through FS, so tests run against a fake cgroupfs
// in a temporary directory as well as the real one.
package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"gosupervisor/config"
	"gosupervisor/internal/procfs"
)

// The controllers a program's limits need.
const (
	Memory = "memory"
	CPU    = "cpu"
	Pids   = "pids"
)

// cpuPeriod is the CFS period written with every quota (µs), the
// kernel's default.
const cpuPeriod = 100000

// FS is the file operations the package performs on cgroup filesystems.
type FS interface {
	// Mkdir creates a cgroup directory (an existing one is no error).
	Mkdir(path string) error
	// Rmdir removes an empty cgroup directory.
	Rmdir(path string) error
	// WriteFile writes value to an existing file in one write(2).
	WriteFile(path, value string) error
	ReadFile(path string) ([]byte, error)
}

// OSFS is FS on the real filesystem.
type OSFS struct{}

// Mkdir creates path; an existing directory is no error.
func (OSFS) Mkdir(path string) error {
	if err := syscall.Mkdir(path, 0o755); err != nil && !errors.Is(err, syscall.EEXIST) {
		return &os.PathError{Op: "mkdir", Path: path, Err: err}
	}
	return nil
}

// Rmdir removes the directory path.
func (OSFS) Rmdir(path string) error {
	if err := syscall.Rmdir(path); err != nil {
		return &os.PathError{Op: "rmdir", Path: path, Err: err}
	}
	return nil
}

// WriteFile writes value to the existing file path in one write.
func (OSFS) WriteFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(value))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadFile reads the file path.
func (OSFS) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

// Host is what Detect reads about the running process: its
// /proc/self/cgroup and /proc/self/mountinfo, the file system, and the
// daemon's pid (moved into <own>/supervisord on v2).
type Host struct {
	FS        FS
	Cgroup    []byte // /proc/self/cgroup
	Mountinfo []byte // /proc/self/mountinfo
	PID       int
}

// ThisHost is the running process's Host on the real filesystem.
func ThisHost() (Host, error) {
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return Host{}, err
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return Host{}, err
	}
	return Host{FS: OSFS{}, Cgroup: cg, Mountinfo: mi, PID: os.Getpid()}, nil
}

// Hierarchy is where the daemon creates its programs' cgroups: for each
// controller, a cgroup v2 directory (shared by all controllers) or a v1
// directory (the daemon's own cgroup in that controller's hierarchy).
type Hierarchy struct {
	fs FS
	// v2 is <mount><own> on cgroup2, "" when v2 gives no controller.
	v2 string
	// v1 is each v1 controller's directory for the daemon's own cgroup.
	v1 map[string]string
	// on says where each usable controller is: v2 or v1.
	on map[string]bool // controller → true for v2
}

// Detect finds, for the controllers wanted (Memory, CPU, Pids), a
// writable place for leaves: v2 when its hierarchy offers the
// controller, else v1. On v2 it enables the controllers for the
// daemon's children (moving the daemon into <own>/supervisord first).
// Missing lists each wanted controller found nowhere, with the reasons,
// for one start-up warning; the returned Hierarchy serves the others.
func Detect(h Host, wanted []string) (hier *Hierarchy, missing []string, reasons []string) {
	hier = &Hierarchy{fs: h.FS, v1: map[string]string{}, on: map[string]bool{}}
	own := parseProcCgroup(h.Cgroup)
	mounts := parseMountinfo(h.Mountinfo)
	var todo []string
	for _, c := range wanted {
		if !slices.Contains(todo, c) {
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 {
		return hier, nil, nil
	}
	if v2, ok := mounts.v2, own.v2 != ""; v2 != "" && ok {
		dir := filepath.Join(v2, own.v2)
		got, err := hier.enableV2(h, dir, todo)
		if err != nil {
			reasons = append(reasons, "cgroup2 at "+v2+": "+err.Error())
		}
		if len(got) > 0 {
			hier.v2 = dir
			for _, c := range got {
				hier.on[c] = true
			}
		}
	} else {
		reasons = append(reasons, "no cgroup2 hierarchy")
	}
	for _, c := range todo {
		if hier.on[c] {
			continue
		}
		mount, path := mounts.v1[c], own.v1[c]
		if mount == "" || path == "" {
			continue // v2's reason stands
		}
		dir := filepath.Join(mount, path)
		if err := probe(h.FS, dir); err != nil {
			reasons = append(reasons, "cgroup v1 "+c+": "+err.Error())
			continue
		}
		hier.v1[c] = dir
		hier.on[c] = false
	}
	for _, c := range todo {
		if _, ok := hier.on[c]; !ok {
			missing = append(missing, c)
		}
	}
	return hier, missing, reasons
}

// enableV2 makes the wanted controllers that dir's cgroup.controllers
// offers available to leaves under dir, and returns them.
func (hier *Hierarchy) enableV2(h Host, dir string, wanted []string) ([]string, error) {
	b, err := h.FS.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	offered := strings.Fields(string(b))
	var use []string
	for _, c := range wanted {
		if slices.Contains(offered, c) {
			use = append(use, c)
		}
	}
	if len(use) == 0 {
		return nil, fmt.Errorf("controllers %s not offered (cgroup.controllers: %q)", strings.Join(wanted, ", "), strings.TrimSpace(string(b)))
	}
	b, err = h.FS.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return nil, err
	}
	enabled := strings.Fields(string(b))
	var enable []string
	for _, c := range use {
		if !slices.Contains(enabled, c) {
			enable = append(enable, "+"+c)
		}
	}
	if len(enable) == 0 {
		return use, nil
	}
	// No internal processes: the daemon leaves dir for a leaf of its own
	// before dir's controllers are enabled for its children.
	self := filepath.Join(dir, "supervisord")
	if err := h.FS.Mkdir(self); err != nil {
		return nil, err
	}
	if err := h.FS.WriteFile(filepath.Join(self, "cgroup.procs"), strconv.Itoa(h.PID)); err != nil {
		return nil, fmt.Errorf("moving supervisord into %s: %w", self, err)
	}
	if err := h.FS.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), strings.Join(enable, " ")); err != nil {
		return nil, fmt.Errorf("enabling %s in %s: %w (processes other than supervisord left in it?)", strings.Join(enable, " "), dir, err)
	}
	return use, nil
}

// probe checks that leaves can be made in dir.
func probe(fs FS, dir string) error {
	test := filepath.Join(dir, fmt.Sprintf("gosupervisor-probe.%d", os.Getpid()))
	if err := fs.Mkdir(test); err != nil {
		return err
	}
	return fs.Rmdir(test)
}

// Version reports where a controller's limits go: 2, 1, or 0 when the
// controller is unavailable.
func (hier *Hierarchy) Version(controller string) int {
	v2, ok := hier.on[controller]
	switch {
	case !ok:
		return 0
	case v2:
		return 2
	}
	return 1
}

// Leaf is one process's cgroup: a v2 directory, v1 directories, or both
// (controllers split between the versions).
type Leaf struct {
	fs FS
	// Name is the leaf's directory name.
	Name string
	// Dir is the v2 leaf the process is created in ("" = none).
	Dir string
	// Procs are the v1 leaves' cgroup.procs files the process joins
	// before exec.
	Procs []string
	// memory is the directory whose memory files report on the
	// process; memV2 says which version's files it has.
	memory string
	memV2  bool
	// dirs are every directory of the leaf.
	dirs []string
	// Ignored lists limits this hierarchy cannot apply (e.g.
	// cgroup_memory_high on v1), for a warning.
	Ignored []string
}

// controllersFor lists the controllers limits need.
func controllersFor(l config.CgroupLimits) []string {
	var cs []string
	if l.MemoryMax > 0 || l.MemoryHigh > 0 || l.OOMGroup {
		cs = append(cs, Memory)
	}
	if l.CPUQuotaPercent > 0 {
		cs = append(cs, CPU)
	}
	if l.PidsMax > 0 {
		cs = append(cs, Pids)
	}
	return cs
}

// Controllers lists the controllers a program's cgroup_* keys need.
func Controllers(l config.CgroupLimits) []string { return controllersFor(l) }

// kernelPrefixes are the names of cgroup interface files: a leaf whose
// name starts with one gets a "_" in front, as systemd escapes unit
// names, so it never shadows or collides with a file of its parent.
var kernelPrefixes = []string{"cgroup.", "cpu.", "cpuacct.", "cpuset.", "io.", "blkio.", "memory.", "devices.",
	"freezer.", "net_cls.", "net_prio.", "perf_event.", "hugetlb.", "pids.", "rdma.", "misc.", "notify_on_release",
	"release_agent", "tasks", "_"}

// LeafName is the directory name of a process's leaf.
func LeafName(group, process string) string {
	name := group + "." + process
	for _, p := range kernelPrefixes {
		if strings.HasPrefix(name, p) {
			return "_" + name
		}
	}
	return name
}

// Prepare creates the leaf of a process (or takes over an existing one)
// and writes its limits, before the process exists.
func (hier *Hierarchy) Prepare(name string, lim config.CgroupLimits) (*Leaf, error) {
	leaf := &Leaf{fs: hier.fs, Name: name}
	mkdir := func(dir string) error {
		if slices.Contains(leaf.dirs, dir) {
			return nil
		}
		if err := hier.fs.Mkdir(dir); err != nil {
			return err
		}
		leaf.dirs = append(leaf.dirs, dir)
		return nil
	}
	place := func(c string) (string, bool, error) {
		switch hier.Version(c) {
		case 2:
			dir := filepath.Join(hier.v2, name)
			leaf.Dir = dir
			return dir, true, mkdir(dir)
		case 1:
			dir := filepath.Join(hier.v1[c], name)
			if err := mkdir(dir); err != nil {
				return "", false, err
			}
			procs := filepath.Join(dir, "cgroup.procs")
			if !slices.Contains(leaf.Procs, procs) {
				leaf.Procs = append(leaf.Procs, procs)
			}
			return dir, false, nil
		}
		return "", false, nil
	}
	write := func(dir, file, value string) error {
		if err := hier.fs.WriteFile(filepath.Join(dir, file), value); err != nil {
			return fmt.Errorf("writing %s to %s: %w", value, filepath.Join(dir, file), err)
		}
		return nil
	}
	fail := func(err error) (*Leaf, error) {
		leaf.Remove()
		return nil, err
	}
	for _, c := range controllersFor(lim) {
		dir, v2, err := place(c)
		if err != nil {
			return fail(err)
		}
		if dir == "" {
			continue // Detect's one warning named it
		}
		for _, w := range limitFiles(c, v2, lim) {
			if w.file == "" {
				leaf.Ignored = append(leaf.Ignored, w.value)
				continue
			}
			if err := write(dir, w.file, w.value); err != nil {
				return fail(err)
			}
		}
		if c == Memory {
			leaf.memory, leaf.memV2 = dir, v2
		}
	}
	return leaf, nil
}

// limitWrite is one value for one interface file; a write without a file
// is a limit the version cannot apply (value says which).
type limitWrite struct{ file, value string }

// limitFiles are the writes controller c needs for lim, in order.
func limitFiles(c string, v2 bool, lim config.CgroupLimits) []limitWrite {
	var out []limitWrite
	switch c {
	case Memory:
		if lim.MemoryMax > 0 {
			if v2 {
				out = append(out, limitWrite{"memory.max", strconv.FormatInt(lim.MemoryMax, 10)})
			} else {
				out = append(out, limitWrite{"memory.limit_in_bytes", strconv.FormatInt(lim.MemoryMax, 10)})
			}
		}
		if lim.MemoryHigh > 0 {
			if v2 {
				out = append(out, limitWrite{"memory.high", strconv.FormatInt(lim.MemoryHigh, 10)})
			} else {
				out = append(out, limitWrite{"", "cgroup_memory_high (cgroup v1 has no memory.high)"})
			}
		}
		if lim.OOMGroup {
			if v2 {
				out = append(out, limitWrite{"memory.oom.group", "1"})
			} else {
				out = append(out, limitWrite{"", "cgroup_oom_group (cgroup v1 has no memory.oom.group)"})
			}
		}
	case CPU:
		quota := strconv.FormatInt(int64(math.Round(lim.CPUQuotaPercent*cpuPeriod/100)), 10)
		if v2 {
			out = append(out, limitWrite{"cpu.max", quota + " " + strconv.Itoa(cpuPeriod)})
		} else {
			// The period first: a quota is checked against it.
			out = append(out, limitWrite{"cpu.cfs_period_us", strconv.Itoa(cpuPeriod)}, limitWrite{"cpu.cfs_quota_us", quota})
		}
	case Pids:
		out = append(out, limitWrite{"pids.max", strconv.Itoa(lim.PidsMax)})
	}
	return out
}

// HasMemory reports whether the leaf reports on memory (OOM kills and
// memory in use).
func (l *Leaf) HasMemory() bool { return l.memory != "" }

// OOMKills is the leaf's count of processes the OOM killer killed in it
// (v2 memory.events, v1 memory.oom_control, field oom_kill).
func (l *Leaf) OOMKills() (uint64, error) {
	if l.memory == "" {
		return 0, errors.New("no memory controller")
	}
	file := "memory.oom_control"
	if l.memV2 {
		file = "memory.events"
	}
	b, err := l.fs.ReadFile(filepath.Join(l.memory, file))
	if err != nil {
		return 0, err
	}
	v, ok := field(b, "oom_kill")
	if !ok {
		return 0, fmt.Errorf("%s has no oom_kill (kernel before 4.13?)", filepath.Join(l.memory, file))
	}
	return v, nil
}

// MemoryCurrent is the memory charged to the leaf, in bytes (v2
// memory.current, v1 memory.usage_in_bytes).
func (l *Leaf) MemoryCurrent() (uint64, error) {
	if l.memory == "" {
		return 0, errors.New("no memory controller")
	}
	file := "memory.usage_in_bytes"
	if l.memV2 {
		file = "memory.current"
	}
	b, err := l.fs.ReadFile(filepath.Join(l.memory, file))
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// Pids are the processes still in the leaf.
func (l *Leaf) Pids() []int {
	var pids []int
	for _, dir := range l.dirs {
		b, err := l.fs.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil && !slices.Contains(pids, n) {
				pids = append(pids, n)
			}
		}
	}
	return pids
}

// Remove removes the leaf's directories; it fails (EBUSY) while
// processes are left in them, and then may be called again.
func (l *Leaf) Remove() error {
	var errs []error
	var kept []string
	for _, dir := range l.dirs {
		if err := l.fs.Rmdir(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			kept = append(kept, dir)
		}
	}
	l.dirs = kept
	return errors.Join(errs...)
}

// field reads "name value" from a flat-keyed cgroup file.
func field(b []byte, name string) (uint64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == name {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// procCgroup is /proc/self/cgroup: the v2 path and each v1 controller's.
type procCgroup struct {
	v2 string
	v1 map[string]string
}

func parseProcCgroup(b []byte) procCgroup {
	pc := procCgroup{v1: map[string]string{}}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			pc.v2 = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c != "" {
				pc.v1[c] = parts[2]
			}
		}
	}
	return pc
}

// mounts are the cgroup mount points in /proc/self/mountinfo.
type mounts struct {
	v2 string
	v1 map[string]string // controller → mount point
}

func parseMountinfo(b []byte) mounts {
	m := mounts{v1: map[string]string{}}
	for _, mt := range procfs.ParseMountinfo(string(b)) {
		// A bind mount of a sub-cgroup (root other than "/") is not the
		// hierarchy's root: /proc/self/cgroup paths do not apply.
		if mt.Root != "/" {
			continue
		}
		switch mt.Type {
		case "cgroup2":
			if m.v2 == "" {
				m.v2 = mt.Point
			}
		case "cgroup":
			for _, opt := range strings.Split(mt.SuperOptions, ",") {
				if _, seen := m.v1[opt]; !seen {
					m.v1[opt] = mt.Point
				}
			}
		}
	}
	return m
}
