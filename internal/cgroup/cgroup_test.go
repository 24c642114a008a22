package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"gosupervisor/config"
)

// fakeFS is a cgroupfs in a temporary directory: a directory made under
// a hierarchy's mount gets that version's interface files, as the kernel
// makes them, and removing one that holds processes fails with EBUSY.
type fakeFS struct {
	OSFS
	t *testing.T
	// files are the interface files of a new directory, by mount point.
	files map[string][]string
	// refuse makes writes to files with this base name fail (EACCES).
	refuse string
}

var (
	v2Files       = []string{"cgroup.procs", "cgroup.events", "cgroup.controllers", "cgroup.subtree_control", "memory.max", "memory.high", "memory.oom.group", "memory.events", "memory.current", "cpu.max", "pids.max"}
	v1MemoryFiles = []string{"cgroup.procs", "memory.limit_in_bytes", "memory.oom_control", "memory.usage_in_bytes"}
	v1CPUFiles    = []string{"cgroup.procs", "cpu.cfs_period_us", "cpu.cfs_quota_us"}
	v1PidsFiles   = []string{"cgroup.procs", "pids.max"}
)

func (f *fakeFS) Mkdir(path string) error {
	if err := f.OSFS.Mkdir(path); err != nil {
		return err
	}
	for mount, files := range f.files {
		if strings.HasPrefix(path, mount+"/") {
			for _, name := range files {
				content := ""
				switch name {
				case "memory.events":
					content = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"
				case "memory.oom_control":
					content = "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"
				}
				f.put(filepath.Join(path, name), content)
			}
		}
	}
	return nil
}

func (f *fakeFS) put(path, content string) {
	f.t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeFS) WriteFile(path, value string) error {
	if filepath.Base(path) == f.refuse {
		return &os.PathError{Op: "write", Path: path, Err: syscall.EACCES}
	}
	if _, err := os.Stat(path); err != nil {
		return err // the kernel makes the files; nothing creates one
	}
	return os.WriteFile(path, []byte(value), 0o644)
}

func (f *fakeFS) Rmdir(path string) error {
	if b, _ := os.ReadFile(filepath.Join(path, "cgroup.procs")); len(strings.TrimSpace(string(b))) > 0 {
		return &os.PathError{Op: "rmdir", Path: path, Err: syscall.EBUSY}
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			os.Remove(filepath.Join(path, e.Name()))
		}
	}
	return f.OSFS.Rmdir(path)
}

func (f *fakeFS) read(path string) string {
	f.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatalf("%s: %v", path, err)
	}
	return string(b)
}

// fakeHost lays out a host: a cgroup2 mount at <root>/unified with own
// cgroup /svc offering v2ctl, and v1 mounts for v1ctl with own cgroup
// /svc in each.
func fakeHost(t *testing.T, v2ctl string, v1ctl ...string) (Host, *fakeFS, string) {
	t.Helper()
	root := t.TempDir()
	fs := &fakeFS{t: t, files: map[string][]string{}}
	cg := "0::/svc\n"
	mi := "30 1 0:30 / /proc rw - proc proc rw\n"
	unified := filepath.Join(root, "unified")
	fs.files[unified] = v2Files
	os.MkdirAll(filepath.Join(unified, "svc"), 0o755)
	fs.put(filepath.Join(unified, "svc", "cgroup.controllers"), v2ctl+"\n")
	fs.put(filepath.Join(unified, "svc", "cgroup.subtree_control"), "")
	fs.put(filepath.Join(unified, "svc", "cgroup.procs"), "4242\n")
	mi += "41 31 0:38 / " + unified + " rw,relatime - cgroup2 cgroup2 rw\n"
	for i, c := range v1ctl {
		mount := filepath.Join(root, c)
		switch c {
		case Memory:
			fs.files[mount] = v1MemoryFiles
		case CPU:
			fs.files[mount] = v1CPUFiles
		case Pids:
			fs.files[mount] = v1PidsFiles
		}
		os.MkdirAll(filepath.Join(mount, "svc"), 0o755)
		mi += "50 31 0:5" + string(rune('0'+i)) + " / " + mount + " rw,relatime - cgroup cgroup rw," + c + "\n"
		cg = string(rune('1'+i)) + ":" + c + ":/svc\n" + cg
	}
	return Host{FS: fs, Cgroup: []byte(cg), Mountinfo: []byte(mi), PID: 4242}, fs, root
}

var allLimits = config.CgroupLimits{MemoryMax: 32 << 20, MemoryHigh: 24 << 20, CPUQuotaPercent: 150, PidsMax: 5, OOMGroup: true}

// TestV2: the daemon moves into <own>/supervisord, enables the
// controllers for its children, and a leaf gets every limit in v2's
// files and formats; the process is placed by CLONE_INTO_CGROUP (Dir),
// nothing for the shim to join.
func TestV2(t *testing.T) {
	h, fs, root := fakeHost(t, "cpuset cpu io memory pids")
	hier, missing, reasons := Detect(h, []string{Memory, CPU, Pids, Memory})
	if len(missing) != 0 {
		t.Fatalf("missing %v: %v", missing, reasons)
	}
	own := filepath.Join(root, "unified", "svc")
	if got := fs.read(filepath.Join(own, "supervisord", "cgroup.procs")); got != "4242" {
		t.Errorf("supervisord's leaf holds %q, want the daemon's pid", got)
	}
	if got := fs.read(filepath.Join(own, "cgroup.subtree_control")); got != "+memory +cpu +pids" {
		t.Errorf("subtree_control %q", got)
	}
	leaf, err := hier.Prepare(LeafName("web", "web_0"), allLimits)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(own, "web.web_0")
	if leaf.Dir != dir || len(leaf.Procs) != 0 || len(leaf.Ignored) != 0 {
		t.Errorf("leaf %+v, want Dir %s and nothing to join or ignore", leaf, dir)
	}
	for file, want := range map[string]string{
		"memory.max": "33554432", "memory.high": "25165824", "memory.oom.group": "1",
		"cpu.max": "150000 100000", "pids.max": "5",
	} {
		if got := fs.read(filepath.Join(dir, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	fs.put(filepath.Join(dir, "memory.events"), "low 0\nhigh 3\nmax 9\noom 1\noom_kill 1\noom_group_kill 0\n")
	fs.put(filepath.Join(dir, "memory.current"), "1234\n")
	if n, err := leaf.OOMKills(); n != 1 || err != nil {
		t.Errorf("OOMKills = %d, %v; want 1", n, err)
	}
	if n, err := leaf.MemoryCurrent(); n != 1234 || err != nil {
		t.Errorf("MemoryCurrent = %d, %v; want 1234", n, err)
	}
	checkRemove(t, fs, leaf, dir)
}

// checkRemove: a leaf holding a process is not removed (EBUSY) and can be
// removed once it is empty.
func checkRemove(t *testing.T, fs *fakeFS, leaf *Leaf, dirs ...string) {
	t.Helper()
	fs.put(filepath.Join(dirs[0], "cgroup.procs"), "77\n")
	if err := leaf.Remove(); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("Remove with a process left: %v, want EBUSY", err)
	}
	if got := leaf.Pids(); !slices.Equal(got, []int{77}) {
		t.Errorf("Pids = %v, want [77]", got)
	}
	fs.put(filepath.Join(dirs[0], "cgroup.procs"), "")
	if err := leaf.Remove(); err != nil {
		t.Errorf("Remove: %v", err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists: %v", d, err)
		}
	}
}

// TestV1: on a hybrid host whose cgroup2 offers no controllers (this
// project's test machine), each controller's leaf is a v1 directory the
// shim joins, with v1's files and formats; memory.high and
// memory.oom.group have no v1 file and are reported ignored.
func TestV1(t *testing.T) {
	h, fs, root := fakeHost(t, "", Memory, CPU, Pids)
	hier, missing, reasons := Detect(h, []string{Memory, CPU, Pids})
	if len(missing) != 0 {
		t.Fatalf("missing %v: %v", missing, reasons)
	}
	for _, c := range []string{Memory, CPU, Pids} {
		if hier.Version(c) != 1 {
			t.Errorf("%s on v%d, want v1", c, hier.Version(c))
		}
	}
	if _, err := os.Stat(filepath.Join(root, "unified", "svc", "supervisord")); err == nil {
		t.Errorf("the daemon moved on v2 though v2 offers no controller")
	}
	leaf, err := hier.Prepare(LeafName("memory", "x"), allLimits)
	if err != nil {
		t.Fatal(err)
	}
	name := "_memory.x" // escaped: memory.x would look like an interface file
	mem, cpu, pids := filepath.Join(root, "memory", "svc", name), filepath.Join(root, "cpu", "svc", name), filepath.Join(root, "pids", "svc", name)
	wantProcs := []string{mem + "/cgroup.procs", cpu + "/cgroup.procs", pids + "/cgroup.procs"}
	if leaf.Dir != "" || !slices.Equal(leaf.Procs, wantProcs) {
		t.Errorf("leaf Dir %q Procs %v, want no v2 dir and %v", leaf.Dir, leaf.Procs, wantProcs)
	}
	for path, want := range map[string]string{
		mem + "/memory.limit_in_bytes": "33554432",
		cpu + "/cpu.cfs_period_us":     "100000",
		cpu + "/cpu.cfs_quota_us":      "150000",
		pids + "/pids.max":             "5",
	} {
		if got := fs.read(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	wantIgnored := []string{"cgroup_memory_high (cgroup v1 has no memory.high)", "cgroup_oom_group (cgroup v1 has no memory.oom.group)"}
	if !slices.Equal(leaf.Ignored, wantIgnored) {
		t.Errorf("Ignored %q, want %q", leaf.Ignored, wantIgnored)
	}
	fs.put(mem+"/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
	fs.put(mem+"/memory.usage_in_bytes", "4096\n")
	if n, err := leaf.OOMKills(); n != 2 || err != nil {
		t.Errorf("OOMKills = %d, %v; want 2", n, err)
	}
	if n, err := leaf.MemoryCurrent(); n != 4096 || err != nil {
		t.Errorf("MemoryCurrent = %d, %v; want 4096", n, err)
	}
	checkRemove(t, fs, leaf, mem, cpu, pids)
}

// TestSplit: controllers v2 offers go there, the others to v1.
func TestSplit(t *testing.T) {
	h, _, root := fakeHost(t, "memory", Pids)
	hier, missing, _ := Detect(h, []string{Memory, Pids})
	if len(missing) != 0 || hier.Version(Memory) != 2 || hier.Version(Pids) != 1 {
		t.Fatalf("missing %v, memory v%d, pids v%d", missing, hier.Version(Memory), hier.Version(Pids))
	}
	leaf, err := hier.Prepare("a.a", config.CgroupLimits{MemoryMax: 1 << 20, PidsMax: 3})
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Dir != filepath.Join(root, "unified", "svc", "a.a") || !slices.Equal(leaf.Procs, []string{filepath.Join(root, "pids", "svc", "a.a", "cgroup.procs")}) {
		t.Errorf("leaf %+v", leaf)
	}
}

// TestNothingWritable: each wanted controller that no hierarchy serves
// is missing, with the reasons for the warning.
func TestNothingWritable(t *testing.T) {
	tests := []struct {
		name        string
		v2          string
		v1          []string
		refuse      string
		wantMissing []string
		wantReason  string
	}{
		{"no controllers anywhere", "", nil, "", []string{Memory, Pids}, "cgroup2 at "},
		{"subtree_control refused", "memory pids", nil, "cgroup.subtree_control", []string{Memory, Pids}, "enabling +memory +pids in "},
		{"v1 not writable", "", []string{Memory}, "", []string{Pids}, "controllers memory, pids not offered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fs, _ := fakeHost(t, tt.v2, tt.v1...)
			fs.refuse = tt.refuse
			_, missing, reasons := Detect(h, []string{Memory, Pids})
			if !slices.Equal(missing, tt.wantMissing) {
				t.Errorf("missing %v, want %v", missing, tt.wantMissing)
			}
			if !strings.Contains(strings.Join(reasons, "; "), tt.wantReason) {
				t.Errorf("reasons %q lack %q", reasons, tt.wantReason)
			}
		})
	}
}

// TestPrepareFailureRemovesLeaf: a limit that cannot be written fails
// Prepare with the file and value, and leaves nothing behind.
func TestPrepareFailureRemovesLeaf(t *testing.T) {
	h, fs, root := fakeHost(t, "", Memory, Pids)
	hier, _, _ := Detect(h, []string{Memory, Pids})
	fs.refuse = "pids.max"
	_, err := hier.Prepare("p.p", allLimits)
	if err == nil || !strings.Contains(err.Error(), "writing 5 to "+filepath.Join(root, "pids", "svc", "p.p", "pids.max")) {
		t.Fatalf("Prepare: %v", err)
	}
	for _, c := range []string{Memory, Pids} {
		if _, err := os.Stat(filepath.Join(root, c, "svc", "p.p")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s leaf left behind: %v", c, err)
		}
	}
}

func TestLeafName(t *testing.T) {
	for _, tt := range []struct{ group, process, want string }{
		{"web", "web", "web.web"},
		{"cgroup", "procs", "_cgroup.procs"},
		{"memory", "max", "_memory.max"},
		{"pids", "x", "_pids.x"},
		{"_x", "y", "__x.y"},
		{"tasks", "a", "_tasks.a"},
		{"cpux", "a", "cpux.a"},
	} {
		if got := LeafName(tt.group, tt.process); got != tt.want {
			t.Errorf("LeafName(%q, %q) = %q, want %q", tt.group, tt.process, got, tt.want)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	mi := `36 25 0:31 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
37 25 0:32 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
38 25 0:33 /sub /mnt/bind rw - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified\040dir rw,relatime - cgroup2 cgroup2 rw
`
	m := parseMountinfo([]byte(mi))
	if m.v2 != "/sys/fs/cgroup/unified dir" || m.v1["memory"] != "/sys/fs/cgroup/memory" || m.v1["cpu"] != "/sys/fs/cgroup/cpu,cpuacct" || m.v1["pids"] != "" {
		t.Errorf("parsed %+v", m)
	}
	pc := parseProcCgroup([]byte("4:memory:/process_api/x\n2:cpu,cpuacct:/\n0::/\n"))
	if pc.v2 != "/" || pc.v1["memory"] != "/process_api/x" || pc.v1["cpuacct"] != "/" {
		t.Errorf("parsed %+v", pc)
	}
}
