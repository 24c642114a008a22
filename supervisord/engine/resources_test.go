package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/cgroup"
	"gosupervisor/internal/procfs"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
)

// growScript grows a bytearray by 8 MiB every 100 ms (touching every
// page, so it is resident) up to 200 MiB, printing its size; with "fork"
// a forked child does the growing while the parent sleeps.
const growScript = `import os, sys, time
if len(sys.argv) > 1 and sys.argv[1] == "fork" and os.fork() != 0:
    print("parent waits", flush=True)
    time.sleep(600)
b = bytearray()
while len(b) < 200 << 20:
    chunk = bytearray(8 << 20)
    for i in range(0, len(chunk), 4096):
        chunk[i] = 1
    b += chunk
    print("grown to", len(b) >> 20, "MiB", flush=True)
    time.sleep(0.1)
time.sleep(600)
`

// TestRealRSSLimitRestart: a Python program whose tree grows past
// rss_limit=64MB is restarted (stop, then start) within two
// rss_check_secs intervals, with the log line naming both figures and
// the counter; also when a forked child does the growing (the tree's RSS
// counts).
func TestRealRSSLimitRestart(t *testing.T) {
	for _, mode := range []string{"self", "fork"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, childProgram(t, dir, "grow", 1, nil, func(c *config.Process) {
				c.Argv = []string{testenv.Python3, "-c", growScript, mode}
				c.StartSecs = 0
				c.StopAsGroup, c.KillAsGroup = true, true
				c.Resources.RSSLimit = 64 << 20
				c.Resources.RSSCheckSecs = 1
			}), bufferingPool(t, "resources", "PROCESS_RESOURCE"), bufferingPool(t, "stock", "EVENT"))
			e := startReal(t, cfg)
			first := waitState(t, e, "grow", "RUNNING")
			// Timed from when the program reports 64 MiB grown (its tree
			// is past the limit a little earlier: the interpreter's own
			// pages count too), not from its start: on a loaded machine
			// Python takes seconds to get there.
			var crossed, restarted time.Time
			testenv.Eventually(t, 60*time.Second, func() error {
				if crossed.IsZero() {
					if out, _ := os.ReadFile(filepath.Join(dir, "grow.out")); grownPast(string(out), 64) {
						crossed = time.Now()
					}
				}
				if !e.log.find("WARN grow: RSS ") {
					return fmt.Errorf("no restart yet")
				}
				restarted = time.Now()
				return nil
			})
			if crossed.IsZero() {
				crossed = restarted // the restart came before the report was seen
			}
			took := restarted.Sub(crossed)
			if took > 2*time.Second+250*time.Millisecond {
				t.Errorf("restart %v after the tree passed 64 MiB; want within two 1 s intervals", took)
			}
			line := regexp.MustCompile(`WARN grow: RSS ([0-9.]+)MB exceeds rss_limit 64MB, restarting`)
			var got string
			for _, l := range e.log.snapshot() {
				if m := line.FindStringSubmatch(l); m != nil {
					got = m[0]
				}
			}
			if got == "" {
				t.Fatalf("no rss line in:\n%s", strings.Join(e.log.snapshot(), "\n"))
			}
			waitLog(t, e, "stopped: grow (terminated by SIGTERM)")
			testenv.Eventually(t, 10*time.Second, func() error {
				st, err := e.Process("grow")
				if err != nil || st.PID == 0 || st.PID == first.PID || st.State != protocol.StateRunning {
					return fmt.Errorf("not restarted: %+v %v", st, err)
				}
				if st.Counters.RSSRestarts < 1 || st.Counters.Spawns < 2 {
					return fmt.Errorf("counters %+v", st.Counters)
				}
				return nil
			})
			exits, err := e.ProcessExits("grow")
			if err != nil || len(exits) == 0 || exits[0].Reason != ExitRSSLimit || !exits[0].Stopped {
				t.Errorf("crash record of the restart: %+v %v", exits, err)
			}
			evs := eventsOf(t, e, "resources", "PROCESS_RESOURCE")
			event := regexp.MustCompile(`^PROCESS_RESOURCE_RSS_LIMIT processname:grow groupname:grow pid:` + fmt.Sprint(first.PID) + ` rss:(\d+) rss_limit:67108864$`)
			if len(evs) != 1 || !event.MatchString(evs[0]) {
				t.Errorf("opt-in events %q, want one PROCESS_RESOURCE_RSS_LIMIT", evs)
			}
			if stock := eventsOf(t, e, "stock", "PROCESS_RESOURCE"); len(stock) != 0 {
				t.Errorf("an EVENT subscriber got %q", stock)
			}
			t.Logf("%s %v after the program reported 64 MiB grown", got, took.Round(time.Millisecond))
		})
	}
}

// TestRealExitRecords: each exit is recorded with its time, status or
// signal, expectedness, uptime and the last lines of output; the newest
// comes first and at most maxExitRecords are kept.
func TestRealExitRecords(t *testing.T) {
	dir := t.TempDir()
	script := `echo "line one"; echo "to stderr" >&2; echo "last words"; exit 3`
	cfg := testConfig(t, childProgram(t, dir, "crashy", 1, nil, func(c *config.Process) {
		c.Argv = []string{"/bin/sh", "-c", script}
		c.StartSecs = 0
		c.ExitCodes = []int{0}
		c.Autorestart = config.AutorestartTrue
	}), bufferingPool(t, "records", "PROCESS_EXIT_RECORD"), bufferingPool(t, "stock", "EVENT"))
	e := startReal(t, cfg)
	testenv.Eventually(t, 20*time.Second, func() error {
		st, err := e.Process("crashy")
		if err != nil || st.Counters.ExitsUnexpected < maxExitRecords+2 {
			return fmt.Errorf("%+v (%v)", st.Counters, err)
		}
		return nil
	})
	if err := e.StopProcess(t.Context(), "crashy", true); err != nil {
		t.Log(err)
	}
	exits, _ := e.ProcessExits("crashy")
	if len(exits) != maxExitRecords {
		t.Fatalf("%d records kept, want %d", len(exits), maxExitRecords)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		exits, _ = e.ProcessExits("crashy")
		for _, r := range exits {
			if r.Stdout == nil || r.Stderr == nil {
				return fmt.Errorf("record without its output yet: %+v", r)
			}
		}
		return nil
	})
	r := exits[1] // exits[0] may be the stop's
	if r.ExitStatus != 3 || r.Signal != 0 || r.Expected || r.Stopped || r.PID == 0 || r.Uptime <= 0 || r.Uptime > 5*time.Second {
		t.Errorf("record %+v", r)
	}
	if !exits[0].Time.After(exits[len(exits)-1].Time) {
		t.Errorf("records not newest first")
	}
	// Each record has its own instance's lines only: not the earlier
	// instances' (the log holds them all), not the next one's (autorestart
	// spawns it at once, maybe before this instance's pump has ended).
	for i, r := range exits[1:] {
		if !slices.Equal(r.Stdout, []string{"line one", "last words"}) || !slices.Equal(r.Stderr, []string{"to stderr"}) {
			t.Errorf("record %d: output tail stdout %q stderr %q", i+1, r.Stdout, r.Stderr)
		}
	}
	st, _ := e.Process("crashy")
	if st.Counters.ExitsUnexpected < maxExitRecords || st.Counters.Spawns < st.Counters.ExitsUnexpected {
		t.Errorf("counters %+v", st.Counters)
	}
	// The opt-in event of each complete record: the token line, the
	// reason's line (empty), then the output's last lines.
	evs := eventsOf(t, e, "records", "PROCESS_EXIT_RECORD")
	event := regexp.MustCompile(`^PROCESS_EXIT_RECORD processname:crashy groupname:crashy pid:\d+ expected:0 stopped:0 exitstatus:3 signal:none uptime:\d+\.\d{3} stdout_lines:2 stderr_lines:1\n\nline one\nlast words\nto stderr$`)
	if len(evs) < maxExitRecords || !event.MatchString(evs[0]) {
		t.Errorf("%d PROCESS_EXIT_RECORD events, want %d or more like %s; first: %q", len(evs), maxExitRecords, event, evs[:min(len(evs), 1)])
	}
	for _, ev := range eventsOf(t, e, "stock", "") {
		if strings.HasPrefix(ev, "PROCESS_EXIT_RECORD") || strings.HasPrefix(ev, "PROCESS_RESOURCE") {
			t.Errorf("an EVENT subscriber got %q", ev)
		}
	}
}

// grownPast reports whether growScript's output says it has grown to mib
// MiB or more.
func grownPast(out string, mib int) bool {
	for _, line := range strings.Split(out, "\n") {
		var n int
		if _, err := fmt.Sscanf(line, "grown to %d MiB", &n); err == nil && n >= mib {
			return true
		}
	}
	return false
}

// bufferingPool is an event listener pool whose process never reads
// (sleep): the events its subscription gets stay in its buffer, for
// takeBuffered.
func bufferingPool(t *testing.T, name string, subscribe ...string) *config.Group {
	t.Helper()
	g := testPool(t, name, subscribe, 100)
	pc := g.Processes[0]
	pc.Argv = []string{"/bin/sleep", "600"}
	pc.Command = "/bin/sleep 600"
	pc.StartSecs = 0
	return g
}

// eventsOf are the buffered events of pool whose type starts with
// prefix.
func eventsOf(t *testing.T, e *realEngine, pool, prefix string) []string {
	t.Helper()
	var out []string
	for _, ev := range takeBuffered(t, e.Engine, pool) {
		if _, rest, _ := strings.Cut(ev, " "); strings.HasPrefix(rest, prefix) {
			out = append(out, rest)
		}
	}
	return out
}

// delegatedCgroup makes this test a cgroup of its own in each v1
// controller it needs, under the test process's own (as systemd's
// Delegate=yes gives a service its cgroup), and a Host that makes the
// engine see it as its own. Everything is removed at the end. The test
// fails, naming what is missing, when the machine has no writable v1
// hierarchy for a controller.
func delegatedCgroup(t *testing.T, controllers ...string) *cgroup.Host {
	t.Helper()
	self, err := cgroup.ThisHost()
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]string{}
	for _, line := range strings.Split(string(self.Cgroup), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 {
			for _, c := range strings.Split(parts[1], ",") {
				own[c] = parts[2]
			}
		}
	}
	name := fmt.Sprintf("gosupervisor-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	text := "0::/\n"
	for i, c := range controllers {
		path, ok := own[c]
		mount := filepath.Join("/sys/fs/cgroup", c)
		if !ok {
			t.Fatalf("this test needs the cgroup v1 %s controller (not in /proc/self/cgroup)", c)
		}
		dir := filepath.Join(mount, path, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatalf("this test needs a writable cgroup v1 %s hierarchy at %s: %v", c, mount, err)
		}
		t.Cleanup(func() {
			testenv.Eventually(t, 10*time.Second, func() error {
				entries, _ := os.ReadDir(dir)
				for _, en := range entries {
					if en.IsDir() {
						if err := syscall.Rmdir(filepath.Join(dir, en.Name())); err != nil {
							return fmt.Errorf("leaf %s: %v", en.Name(), err)
						}
					}
				}
				return syscall.Rmdir(dir)
			})
		})
		text = fmt.Sprintf("%d:%s:%s\n", i+1, c, filepath.Join(path, name)) + text
	}
	logCgroupScope(t, controllers)
	return &cgroup.Host{FS: cgroup.OSFS{}, Cgroup: []byte(text), Mountinfo: self.Mountinfo, PID: os.Getpid()}
}

// logCgroupScope says what a real cgroup test could test on this
// machine: the v1 controllers it used, and whether cgroup v2 offers them
// (the engine's v2 path, moving itself into <own>/supervisord and
// enabling controllers in cgroup.subtree_control, is tested on a fake
// cgroupfs in package cgroup; v2 placement by CLONE_INTO_CGROUP on the
// real hierarchy in TestRealCgroup2Placement).
func logCgroupScope(t *testing.T, controllers []string) {
	t.Helper()
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	v2 := "no cgroup2 mount"
	for _, m := range procfs.ParseMountinfo(string(mi)) {
		if m.Type == "cgroup2" {
			offered, err := os.ReadFile(filepath.Join(m.Point, "cgroup.controllers"))
			v2 = fmt.Sprintf("cgroup2 at %s offers %q (%v)", m.Point, strings.TrimSpace(string(offered)), err)
			break
		}
	}
	t.Logf("tested here: cgroup v1 %s (leaves under this test's own cgroups); not tested here: the same limits on cgroup v2 (%s)",
		strings.Join(controllers, ", "), v2)
}

// TestRealCgroupOOMKill: with cgroup_memory_max=32MB (v1 on this
// machine), a 100 MB allocation is killed by the OOM killer and reported
// as such: the extra main-log line, the record's reason, the counter. The
// Supervisor exited line is unchanged. The leaf is gone afterwards.
func TestRealCgroupOOMKill(t *testing.T) {
	host := delegatedCgroup(t, cgroup.Memory)
	dir := t.TempDir()
	cfg := testConfig(t, childProgram(t, dir, "hog", 1, nil, func(c *config.Process) {
		c.Argv = []string{testenv.Python3, "-c", `print("allocating", flush=True)
b = bytearray(100 << 20)
for i in range(0, len(b), 4096): b[i] = 1
print("survived")`}
		c.StartSecs, c.StartRetries = 0, 0
		c.Autorestart = config.AutorestartFalse
		c.Resources.Cgroup.MemoryMax = 32 << 20
	}), bufferingPool(t, "oom", "PROCESS_RESOURCE_OOM"))
	e := startReal(t, cfg, func(o *Options) { o.CgroupHost = host })
	waitState(t, e, "hog", "EXITED")
	waitLog(t, e, "WARN exited: hog (terminated by SIGKILL; not expected)")
	waitLog(t, e, "WARN hog: killed by the OOM killer (cgroup memory.limit_in_bytes 32MB)")
	exits, err := e.ProcessExits("hog")
	if err != nil || len(exits) != 1 || exits[0].Reason != ExitOOMKill || exits[0].Signal != syscall.SIGKILL {
		t.Fatalf("records %+v %v", exits, err)
	}
	if st, _ := e.Process("hog"); st.Counters.OOMKills != 1 {
		t.Errorf("OOM kills %d, want 1", st.Counters.OOMKills)
	}
	want := fmt.Sprintf("PROCESS_RESOURCE_OOM processname:hog groupname:hog pid:%d cgroup_memory_max:33554432", exits[0].PID)
	if evs := eventsOf(t, e, "oom", "PROCESS_RESOURCE"); len(evs) != 1 || evs[0] != want {
		t.Errorf("opt-in events %q, want %q", evs, want)
	}
	if out, _ := os.ReadFile(filepath.Join(dir, "hog.out")); strings.Contains(string(out), "survived") {
		t.Errorf("the program survived a 100 MB allocation under a 32 MB limit:\n%s", out)
	}
	leaf := leafDir(t, host, cgroup.Memory, "hog.hog")
	testenv.Eventually(t, 20*time.Second, func() error {
		if _, err := os.Stat(leaf); err == nil {
			return fmt.Errorf("leaf %s still there", leaf)
		}
		return nil
	})
}

// leafDir is a process's leaf in the delegated cgroup of controller c.
func leafDir(t *testing.T, h *cgroup.Host, c, name string) string {
	t.Helper()
	for _, line := range strings.Split(string(h.Cgroup), "\n") {
		if parts := strings.SplitN(line, ":", 3); len(parts) == 3 && parts[1] == c {
			return filepath.Join("/sys/fs/cgroup", c, parts[2], name)
		}
	}
	t.Fatalf("no %s cgroup in %q", c, h.Cgroup)
	return ""
}

// TestRealCgroupPidsAndCPU: cgroup_pids_max=5 makes a forking script's
// sixth task fail with EAGAIN inside the program; the program's leaf has
// the limits written before it ran (it reads them itself), including the
// CPU quota.
func TestRealCgroupPidsAndCPU(t *testing.T) {
	host := delegatedCgroup(t, cgroup.Pids, cgroup.CPU)
	dir := t.TempDir()
	script := `import os, time
cg = dict(l.split(":", 2)[1:] for l in open("/proc/self/cgroup").read().split())
cpu = "/sys/fs/cgroup/cpu" + cg["cpu"]
print("in leaves", sum("gosupervisor-test" in v for v in cg.values()), flush=True)
print("cpu quota", open(cpu + "/cpu.cfs_quota_us").read().strip(), "period", open(cpu + "/cpu.cfs_period_us").read().strip(), flush=True)
kids = []
try:
    for i in range(10):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        kids.append(pid)
    print("forked", len(kids), flush=True)
except OSError as e:
    print("fork failed after", len(kids), "children:", e.strerror, "errno", e.errno, flush=True)
for k in kids:
    os.kill(k, 9)
    os.waitpid(k, 0)
`
	cfg := testConfig(t, childProgram(t, dir, "forker", 1, nil, func(c *config.Process) {
		c.Argv = []string{testenv.Python3, "-c", script}
		c.StartSecs, c.Autorestart = 0, config.AutorestartFalse
		c.Resources.Cgroup.PidsMax = 5
		c.Resources.Cgroup.CPUQuotaPercent = 50
	}))
	e := startReal(t, cfg, func(o *Options) { o.CgroupHost = host })
	waitState(t, e, "forker", "EXITED")
	out := waitFile(t, filepath.Join(dir, "forker.out"), "fork")
	if !strings.Contains(out, "fork failed after 4 children: Resource temporarily unavailable errno 11") {
		t.Errorf("output %q, want the fifth fork refused with EAGAIN (the program and 4 children make 5 tasks)", out)
	}
	if !strings.Contains(out, "in leaves 2\n") || !strings.Contains(out, "cpu quota 50000 period 100000\n") {
		t.Errorf("the program was not in both leaves, with their limits, from its start: %q", out)
	}
}

// TestRealCgroupDaemonIsWarned: a program with a cgroup that forks a
// daemon leaving its process group (fork, setsid, fork) and exits 0
// within startsecs is warned about by the daemon's pid, found in the
// program's cgroup.
func TestRealCgroupDaemonIsWarned(t *testing.T) {
	host := delegatedCgroup(t, cgroup.Pids)
	dir := t.TempDir()
	script := `import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        print("daemon", os.getpid(), flush=True)
        time.sleep(60)
    os._exit(0)
os.wait()
`
	cfg := testConfig(t, childProgram(t, dir, "forker", 1, nil, func(c *config.Process) {
		c.Argv = []string{testenv.Python3, "-c", script}
		c.StartSecs, c.StartRetries = 5, 0
		c.Resources.Cgroup.PidsMax = 100
	}))
	e := startReal(t, cfg, func(o *Options) { o.CgroupHost = host })
	info := waitState(t, e, "forker", "FATAL")
	out := waitFile(t, filepath.Join(dir, "forker.out"), "daemon ")
	var pid int
	if _, err := fmt.Sscanf(out, "daemon %d", &pid); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	want := fmt.Sprintf("forker exited but left pid %d (python3) running: it probably daemonizes itself; run it in the foreground", pid)
	waitLog(t, e, "WARN "+want)
	if describe(info) != want {
		t.Errorf("FATAL description %q, want %q", describe(info), want)
	}
}

// TestNoWritableCgroupOneWarning: when no hierarchy takes the programs'
// cgroups (cgroup2 without the controllers, v1 directories that cannot
// be written), the daemon logs one warning at start naming the
// controllers and the reasons, and the programs run without limits (no
// spawn error, no warning per program).
func TestNoWritableCgroupOneWarning(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	unified := filepath.Join(root, "unified")
	for _, d := range []string{unified, filepath.Join(root, "memory")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(unified, "cgroup.controllers"), []byte("hugetlb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host := &cgroup.Host{FS: cgroup.OSFS{}, PID: 1,
		// The v1 memory cgroup's directory does not exist: no leaf can be
		// made there (as on a read-only cgroupfs).
		Cgroup: []byte("4:memory:/gone\n0::/\n"),
		Mountinfo: []byte(fmt.Sprintf("40 1 0:40 / %s rw - cgroup2 cgroup2 rw\n41 1 0:41 / %s rw - cgroup cgroup rw,memory\n",
			unified, filepath.Join(root, "memory"))),
	}
	synctest.Test(t, func(t *testing.T) {
		limited := func(c *config.Process) {
			c.StartSecs = 1
			c.Resources.Cgroup.MemoryMax = 32 << 20
			c.Resources.Cgroup.PidsMax = 5
		}
		cfg := testConfig(t, testProgram(t, "a", 1, []string{"run"}, limited), testProgram(t, "b", 2, []string{"run"}, limited))
		e, _, log, stop := runFakeWith(t, cfg, func(o *Options) { o.CgroupHost = host })
		defer stop()
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		for _, name := range []string{"a", "b"} {
			if st, _ := e.Process(name); st.State != protocol.StateRunning {
				t.Errorf("%s is %s (%s), want RUNNING without limits", name, st.State, st.SpawnErr)
			}
		}
		var warnings []string
		for _, l := range log.snapshot() {
			if strings.HasPrefix(l, "WARN") {
				warnings = append(warnings, l)
			}
		}
		want := regexp.MustCompile(`^WARN cgroups: no writable cgroup hierarchy for memory, pids \(cgroup2 at .*/unified: controllers memory, pids not offered \(cgroup.controllers: "hugetlb"\); cgroup v1 memory: mkdir .*/memory/gone/gosupervisor-probe\.\d+: no such file or directory\); programs with cgroup_\* keys run without those limits$`)
		if len(warnings) != 1 || !want.MatchString(warnings[0]) {
			t.Errorf("warnings:\n%s\nwant one matching %s", strings.Join(warnings, "\n"), want)
		}
	})
}
