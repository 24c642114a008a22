package soak

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
)

var soakDuration = flag.Duration("soak.duration", 30*time.Second,
	"load time of TestSoak (warm-up plus main phase); `make soak` passes 10m")

// figures are one sample of the daemon's resources.
type figures struct {
	ProcFigures
	Goroutines int
	HeapInuse  uint64
	fdKinds    map[string]int
}

// bounds are how far end-of-run figures may exceed the warm-up ones.
// Descriptors and goroutines must come back exactly but for a few in
// flight. Threads are a high-water mark: the Go runtime never ends an
// idle thread, so the count follows the most syscalls ever blocked at
// once (log writes, forks) and gets a fixed allowance; a thread held by
// a leaked goroutine shows in the goroutine bound. Memory moves with the
// allocator and gets a proportional allowance.
type bounds struct {
	fds, goroutines, threads int
	rssKiB                   int64
	heapBytes                uint64
}

func boundsFor(warm figures) bounds {
	return bounds{
		fds:        4,
		goroutines: 4,
		threads:    24,
		rssKiB:     max(16*1024, warm.RSSKiB/2),
		heapBytes:  max(4<<20, warm.HeapInuse/2),
	}
}

// exceeded lists the figures of end over warm's bounds.
func (b bounds) exceeded(warm, end figures) []string {
	var out []string
	if end.FDs > warm.FDs+b.fds {
		out = append(out, fmt.Sprintf("fds %d > %d+%d (%s)", end.FDs, warm.FDs, b.fds, DiffKinds(warm.fdKinds, end.fdKinds)))
	}
	if end.Goroutines > warm.Goroutines+b.goroutines {
		out = append(out, fmt.Sprintf("goroutines %d > %d+%d", end.Goroutines, warm.Goroutines, b.goroutines))
	}
	if end.Threads > warm.Threads+b.threads {
		out = append(out, fmt.Sprintf("threads %d > %d+%d", end.Threads, warm.Threads, b.threads))
	}
	if end.RSSKiB > warm.RSSKiB+b.rssKiB {
		out = append(out, fmt.Sprintf("RSS %d KiB > %d+%d KiB", end.RSSKiB, warm.RSSKiB, b.rssKiB))
	}
	if end.HeapInuse > warm.HeapInuse+b.heapBytes {
		out = append(out, fmt.Sprintf("heap in use %d > %d+%d bytes", end.HeapInuse, warm.HeapInuse, b.heapBytes))
	}
	return out
}

// soak is one run: the daemon, its clients and what has been counted.
type soak struct {
	daemon *testenv.Daemon
	pid    int
	files  Files
	layout Layout
	rpc    *RPCClient
	pprof  *PprofClient
	load   *Load
}

func TestSoak(t *testing.T) {
	total := *soakDuration
	warmup := max(total/5, 7*time.Second)
	mainPhase := max(total-warmup, 10*time.Second)
	long := total >= 2*time.Minute
	load := &Load{
		Readers: 3, Mutators: 2, Tailers: 2,
		Pause:       20 * time.Millisecond,
		ReloadEvery: min(10*time.Second, max(total/8, 3*time.Second)),
		Seed:        rand.Uint64(),
		Churn:       &Churn{},
		Errors:      &ErrorLog{},
		Layout:      NewLayout(),
	}
	if long {
		load.Readers, load.Mutators, load.Tailers, load.Pause = 4, 4, 3, 5*time.Millisecond
	}
	t.Logf("soak: warm-up %v, main %v, reload every %v, %d readers, %d mutators, %d tailers, pause %v, seed %d",
		warmup, mainPhase, load.ReloadEvery, load.Readers, load.Mutators, load.Tailers, load.Pause, load.Seed)

	bin := testenv.Binaries(t)
	dir := t.TempDir()
	files := NewFiles(dir)
	if err := files.WriteAll(load.Layout, VariantA); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOSUPERVISOR_PPROF", "127.0.0.1:0")
	d := testenv.Start(t, dir, filepath.Join(bin, "supervisord"), "-n", "-c", files.Conf)
	t.Cleanup(func() { stopAndSweep(t, d) })
	testenv.WaitUnixHTTP(t, files.Socket, 20*time.Second)

	addrRE := regexp.MustCompile(`GOSUPERVISOR_PPROF: serving http://(127\.0\.0\.1:\d+)/`)
	var pprofAddr string
	testenv.Eventually(t, 10*time.Second, func() error {
		m := addrRE.FindStringSubmatch(d.Stderr.String())
		if m == nil {
			return fmt.Errorf("no pprof address on the daemon's stderr: %q", d.Stderr.String())
		}
		pprofAddr = m[1]
		return nil
	})

	load.Files = files
	load.RPC = NewRPCClient(files.Socket, time.Minute, 16)
	load.Tail = testenv.UnixClient(files.Socket)
	load.Tail.Timeout = 0 // streams end by their context
	s := &soak{daemon: d, pid: d.Cmd.Process.Pid, files: files, layout: load.Layout, rpc: load.RPC,
		pprof: NewPprofClient(pprofAddr), load: load}

	started := time.Now()
	s.waitStates(t, VariantA)
	t.Logf("all 200 programs in their configured states %v after the socket answered", time.Since(started).Round(10*time.Millisecond))
	warm, warmPeak, warmLog := s.phase(t, "warm-up", warmup)
	s.startLate(t)
	end, peak, endLog := s.phase(t, "main", mainPhase)

	b := boundsFor(warm)
	over := b.exceeded(warm, end)
	// Connections and streams the clients closed may take a moment to be
	// closed on the daemon's side too: a leak stays, a straggler goes.
	for deadline := time.Now().Add(15 * time.Second); len(over) > 0 && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		end = s.sample(t)
		over = b.exceeded(warm, end)
	}
	row := func(cells ...any) { t.Logf("%-16v %14v %10v %14v %12v %10v", cells...) }
	row("figure", "after warm-up", "end", "peak warm-up", "peak main", "bound")
	row("fds", warm.FDs, end.FDs, warmPeak.FDs, peak.FDs, fmt.Sprintf("+%d", b.fds))
	row("threads", warm.Threads, end.Threads, warmPeak.Threads, peak.Threads, fmt.Sprintf("+%d", b.threads))
	row("rss KiB", warm.RSSKiB, end.RSSKiB, warmPeak.RSSKiB, peak.RSSKiB, fmt.Sprintf("+%d", b.rssKiB))
	row("goroutines", warm.Goroutines, end.Goroutines, warmPeak.Goroutines, peak.Goroutines, fmt.Sprintf("+%d", b.goroutines))
	row("heap inuse KiB", warm.HeapInuse/1024, end.HeapInuse/1024, "-", "-", fmt.Sprintf("+%d", b.heapBytes/1024))
	row("zombie age", "-", "-", warmPeak.zombieAge.Round(time.Second), peak.zombieAge.Round(time.Second), fmt.Sprintf("<%v", zombieLimit))
	row("load average", "-", "-", warmPeak.loadavg, peak.loadavg, "-")
	t.Logf("main log, warm-up: %s", warmLog)
	t.Logf("main log, main:    %s", endLog)
	t.Logf("churn, whole run: %s", load.Churn)
	for _, o := range over {
		t.Errorf("not back after the soak: %s", o)
	}
	s.shutdown(t)
}

// logMarkers are the main-log lines counted per phase.
func logMarkers() []string {
	return []string{"spawned: '", "success: ", "exited: ", "gave up: ", "stopped: "}
}

// phase runs the load for dur, then quiesces the daemon (late crashers
// stopped, early crashers FATAL, everything else RUNNING, include file
// on variant A) and samples it. It returns that sample, the peaks seen
// while the load ran, and the phase's main-log counts.
func (s *soak) phase(t *testing.T, name string, dur time.Duration) (figures, loadPeaks, string) {
	t.Helper()
	before := s.logCounts(t)
	errsBefore := s.load.Errors.Count()
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	go func() { // a daemon that dies ends the phase at once
		select {
		case <-s.daemon.Exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	samplerDone := make(chan loadPeaks)
	go func() { samplerDone <- s.sampleWhile(ctx) }()
	s.load.Run(ctx)
	cancel()
	peak := <-samplerDone
	select {
	case <-s.daemon.Exited:
		t.Fatalf("%s: the daemon exited under load (%v); stderr: %s", name, s.daemon.ExitErr, s.daemon.Stderr.String())
	default:
	}
	if s.load.Variant() != VariantA {
		if err := s.load.Switch(VariantA); err != nil {
			t.Errorf("%s: back to variant A: %v", name, err)
		}
	}
	if n := s.load.Errors.Count() - errsBefore; n > 0 {
		t.Errorf("%s: %d unexpected errors under load; first: %s", name, n, strings.Join(s.load.Errors.First(), "\n\t"))
	}
	s.rpc.CloseIdle()
	s.load.Tail.CloseIdleConnections()

	quiesce := time.Now()
	// The late crashers' respawns are watched while the early crashers
	// give up after their last revive.
	s.checkLateCycling(t)
	s.waitStates(t, VariantA)
	s.stopLate(t)
	s.waitNoZombies(t)
	f := s.settledSample(t)
	t.Logf("%s: quiesced and sampled in %v", name, time.Since(quiesce).Round(10*time.Millisecond))
	after := s.logCounts(t)
	var counts []string
	for _, m := range logMarkers() {
		counts = append(counts, fmt.Sprintf("%q %d", strings.TrimSpace(m), after[m]-before[m]))
	}
	t.Logf("%s: %s; churn so far: %s", name, strings.Join(counts, ", "), s.load.Churn)
	return f, peak, strings.Join(counts, ", ")
}

func (s *soak) logCounts(t *testing.T) map[string]int {
	t.Helper()
	data, err := os.ReadFile(s.files.MainLog)
	if err != nil {
		t.Fatalf("main log: %v", err)
	}
	return CountLines(string(data), logMarkers()...)
}

// sample reads the daemon's figures now.
func (s *soak) sample(t *testing.T) figures {
	t.Helper()
	f, err := s.trySample(true)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (s *soak) trySample(withHeap bool) (figures, error) {
	var f figures
	var err error
	if f.ProcFigures, err = ReadProcFigures(s.pid); err != nil {
		return f, err
	}
	if f.fdKinds, err = FDKinds(s.pid); err != nil {
		return f, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if f.Goroutines, err = s.pprof.Goroutines(ctx); err != nil {
		return f, err
	}
	if withHeap {
		if f.HeapInuse, err = s.pprof.HeapInuse(ctx); err != nil {
			return f, err
		}
	}
	return f, nil
}

// settledSample samples until descriptors and goroutines hold still
// across two samples half a second apart (closing connections settle),
// or 10 s pass.
func (s *soak) settledSample(t *testing.T) figures {
	t.Helper()
	prev := s.sample(t)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		cur := s.sample(t)
		if cur.FDs == prev.FDs && cur.Goroutines == prev.Goroutines {
			return cur
		}
		prev = cur
	}
	return prev
}

// zombieLimit is how long a child may stay a zombie under load before it
// counts as lost. Exits are reaped within milliseconds on an idle machine,
// but a daemon starved of CPU (other tests sharing two cores) can fall
// seconds behind; a lost exit stays a zombie for good.
const zombieLimit = 10 * time.Second

// loadPeaks are the highest figures seen while a load ran.
type loadPeaks struct {
	figures
	zombieAge time.Duration // longest a child of the daemon stayed a zombie
	loadavg   string        // /proc/loadavg's 1-minute figure at its highest
}

// sampleWhile samples once a second until ctx ends and returns the
// peaks; it flags zombies that stay unreaped for zombieLimit.
func (s *soak) sampleWhile(ctx context.Context) loadPeaks {
	var peak loadPeaks
	var peakLoad float64
	zombieSince := map[int]time.Time{}
	reported := map[int]bool{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return peak
		case <-tick.C:
		}
		if f, err := s.trySample(false); err == nil {
			peak.FDs = max(peak.FDs, f.FDs)
			peak.Threads = max(peak.Threads, f.Threads)
			peak.RSSKiB = max(peak.RSSKiB, f.RSSKiB)
			peak.Goroutines = max(peak.Goroutines, f.Goroutines)
		} else if ctx.Err() == nil {
			s.load.Errors.Add(fmt.Errorf("sampler: %w", err))
		}
		if l, err := loadAverage(); err == nil && l >= peakLoad {
			peakLoad, peak.loadavg = l, fmt.Sprintf("%.1f", l)
		}
		procs, err := AllProcs()
		if err != nil {
			s.load.Errors.Add(fmt.Errorf("sampler: %w", err))
			continue
		}
		now := time.Now()
		seen := map[int]bool{}
		for _, z := range Zombies(procs, s.pid) {
			seen[z.PID] = true
			since, ok := zombieSince[z.PID]
			if !ok {
				zombieSince[z.PID] = now
				continue
			}
			age := now.Sub(since)
			peak.zombieAge = max(peak.zombieAge, age)
			if age >= zombieLimit && !reported[z.PID] {
				reported[z.PID] = true
				s.load.Errors.Add(fmt.Errorf("zombie pid %d (%s) unreaped for %v", z.PID, z.Comm, age.Round(time.Second)))
			}
		}
		for pid := range zombieSince {
			if !seen[pid] {
				delete(zombieSince, pid)
			}
		}
	}
}

// loadAverage returns the machine's 1-minute load average, which says
// how contended the run was.
func loadAverage() (float64, error) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, fmt.Errorf("load average: %w", err)
	}
	var l float64
	if _, err := fmt.Sscanf(string(data), "%f", &l); err != nil {
		return 0, fmt.Errorf("load average %q: %w", data, err)
	}
	return l, nil
}

func (s *soak) allInfo(t *testing.T) map[string]ProcessInfo {
	t.Helper()
	var all []ProcessInfo
	if err := s.rpc.Call(context.Background(), "supervisor.getAllProcessInfo", &all); err != nil {
		t.Fatal(err)
	}
	out := map[string]ProcessInfo{}
	for _, p := range all {
		out[p.FullName()] = p
	}
	return out
}

// stateProblems lists how the daemon's processes differ from what
// variant v of the config implies once quiet.
func (s *soak) stateProblems(t *testing.T, v Variant) []string {
	t.Helper()
	info := s.allInfo(t)
	var problems []string
	want := map[string]bool{}
	for _, g := range s.layout.Groups(v) {
		for _, name := range g.Processes() {
			want[name] = true
			p, ok := info[name]
			if !ok {
				problems = append(problems, name+" missing")
				continue
			}
			switch g.Kind {
			case Quiet, Chatty:
				if p.State != protocol.StateRunning {
					problems = append(problems, fmt.Sprintf("%s %s, want RUNNING", name, p.StateName))
				}
			case LateCrashers:
				if !slices.Contains([]protocol.ProcessState{protocol.StateStarting, protocol.StateRunning, protocol.StateExited}, p.State) {
					problems = append(problems, fmt.Sprintf("%s %s, want STARTING/RUNNING/EXITED", name, p.StateName))
				}
			case EarlyCrashers:
				if p.State != protocol.StateFatal || p.Description != "Exited too quickly (process log may have details)" {
					problems = append(problems, fmt.Sprintf("%s %s %q, want FATAL", name, p.StateName, p.Description))
				}
			}
		}
	}
	for name := range info {
		if !want[name] {
			problems = append(problems, name+" present, its group should be gone")
		}
	}
	var configs []ConfigInfo
	if err := s.rpc.Call(context.Background(), "supervisor.getAllConfigInfo", &configs); err != nil {
		t.Fatal(err)
	}
	commands := map[string]string{}
	for _, g := range s.layout.Groups(v) {
		commands[g.Name] = s.files.Command(g)
	}
	for _, c := range configs {
		if want, ok := commands[c.Group]; ok && c.Group == "flipc" && c.Command != want {
			problems = append(problems, fmt.Sprintf("%s:%s command %q, want %q", c.Group, c.Name, c.Command, want))
		}
	}
	slices.Sort(problems)
	return problems
}

// waitStates waits until every process is in the state its config
// implies (early crashers need a few seconds to give up).
func (s *soak) waitStates(t *testing.T, v Variant) {
	t.Helper()
	var problems []string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if problems = s.stateProblems(t, v); len(problems) == 0 {
			return
		}
	}
	t.Fatalf("processes not in their configured states after a minute (%d problems):\n\t%s", len(problems), strings.Join(first(problems, 20), "\n\t"))
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// checkLateCycling checks that every late crasher is spawned again (a
// new pid) without ever backing off: autorestart keeps them going.
func (s *soak) checkLateCycling(t *testing.T) {
	t.Helper()
	late := s.layout.OfKind(LateCrashers)
	start := s.allInfo(t)
	respawned := map[string]bool{}
	for deadline := time.Now().Add(30 * time.Second); len(respawned) < len(late) && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		now := s.allInfo(t)
		for _, name := range late {
			p := now[name]
			if p.State == protocol.StateBackoff || p.State == protocol.StateFatal {
				t.Errorf("late crasher %s %s (%q): it exits after startsecs and must not back off; its main-log lines:\n\t%s",
					name, p.StateName, p.Description, strings.Join(s.mainLogLinesOf(t, name, 12), "\n\t"))
				return
			}
			if p.PID != 0 && p.PID != start[name].PID {
				respawned[name] = true
			}
		}
	}
	if len(respawned) < len(late) {
		t.Errorf("only %d of %d late crashers respawned within 30 s", len(respawned), len(late))
	}
}

// mainLogLinesOf returns the last n main-log lines that name the process
// name: what a failure report needs to tell a spawn error from a timing.
func (s *soak) mainLogLinesOf(t *testing.T, name string, n int) []string {
	t.Helper()
	data, err := os.ReadFile(s.files.MainLog)
	if err != nil {
		return []string{err.Error()}
	}
	// Lines name a process as group:name or, in some, by name alone.
	short := name[strings.LastIndex(name, ":")+1:]
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		for _, n := range []string{name, short} {
			if strings.Contains(line, " "+n+" ") || strings.Contains(line, "'"+n+"'") || strings.HasSuffix(line, " "+n) {
				out = append(out, line)
				break
			}
		}
	}
	return out[max(0, len(out)-n):]
}

func (s *soak) lateGroups() []string {
	var out []string
	for _, g := range s.layout.Stable {
		if g.Kind == LateCrashers {
			out = append(out, g.Name)
		}
	}
	return out
}

// stopLate stops the late crashers so both samples see the same quiet
// set of processes. A group stop skips a process caught between exit
// and restart, so it is repeated until all are STOPPED.
func (s *soak) stopLate(t *testing.T) {
	t.Helper()
	late := s.layout.OfKind(LateCrashers)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		for _, g := range s.lateGroups() {
			if err := s.rpc.Call(context.Background(), "supervisor.stopProcessGroup", nil, g, true); err != nil {
				t.Fatal(err)
			}
		}
		info := s.allInfo(t)
		if !slices.ContainsFunc(late, func(n string) bool { return info[n].State != protocol.StateStopped }) {
			return
		}
	}
	t.Fatal("late crashers not all STOPPED within 30 s")
}

// startLate starts the late crashers again after the warm-up sample.
func (s *soak) startLate(t *testing.T) {
	t.Helper()
	for _, g := range s.lateGroups() {
		if err := s.rpc.Call(context.Background(), "supervisor.startProcessGroup", nil, g, false); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *soak) waitNoZombies(t *testing.T) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		procs, err := AllProcs()
		if err != nil {
			return err
		}
		if z := Zombies(procs, s.pid); len(z) > 0 {
			return fmt.Errorf("%d zombie children of the daemon, e.g. pid %d (%s)", len(z), z[0].PID, z[0].Comm)
		}
		return nil
	})
}

// shutdown stops the daemon with SIGTERM and checks that it exits 0 and
// takes every process it started (and their children) with it.
func (s *soak) shutdown(t *testing.T) {
	t.Helper()
	d := s.daemon
	procs, err := AllProcs()
	if err != nil {
		t.Fatal(err)
	}
	family := Descendants(procs, s.pid)
	stopping := time.Now()
	d.Stop(t, time.Minute)
	if d.ExitErr != nil {
		t.Errorf("daemon exit: %v; stderr: %s", d.ExitErr, d.Stderr.String())
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		procs, err := AllProcs()
		if err != nil {
			return err
		}
		if left := survivors(procs, family); len(left) > 0 {
			return fmt.Errorf("%d processes outlived the daemon, e.g. pid %d (%s)", len(left), left[0].PID, left[0].Comm)
		}
		return nil
	})
	t.Logf("shutdown: the daemon exited in %v and all %d of its processes are gone", time.Since(stopping).Round(10*time.Millisecond), len(family))
}

// survivors are the processes of family still alive (same pid, parent
// link or group as recorded; the daemon's orphans move to init).
func survivors(procs, family []ProcStat) []ProcStat {
	alive := map[int]ProcStat{}
	for _, p := range procs {
		alive[p.PID] = p
	}
	var out []ProcStat
	for _, f := range family {
		if p, ok := alive[f.PID]; ok && p.PGID == f.PGID && p.Comm == f.Comm {
			out = append(out, p)
		}
	}
	return out
}

// stopAndSweep runs at the end of the test: a daemon still running (the
// test failed early) gets SIGTERM to stop its programs, and whatever it
// leaves behind is killed by pid.
func stopAndSweep(t *testing.T, d *testenv.Daemon) {
	select {
	case <-d.Exited:
		return
	default:
	}
	pid := d.Cmd.Process.Pid
	procs, _ := AllProcs()
	family := Descendants(procs, pid)
	_ = d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.Exited:
	case <-time.After(time.Minute):
		d.Kill()
	}
	procs, _ = AllProcs()
	for _, p := range survivors(procs, family) {
		t.Logf("killing leftover pid %d (%s)", p.PID, p.Comm)
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
}
