package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/cgroup"
	"gosupervisor/internal/protocol"
	"gosupervisor/logrot"
)

// Resource limits and what the kernel reports back (issue 16): a cgroup
// per process for programs with cgroup_* keys, OOM kills told apart from
// other SIGKILLs, the memory threshold restart (rss_limit), counters for
// metrics and the last exits of each process (crash records).

// The reasons the engine finds for an exit beyond its status, besides
// the ends it forces itself.
const (
	// ExitOOMKill: the kernel's OOM killer killed the instance in its
	// cgroup (the cgroup's oom_kill count rose).
	ExitOOMKill ExitReason = "oom-kill"
	// ExitPossibleOOMKill: a SIGKILL nobody here sent while the system's
	// OOM kill count rose, for a process without a memory cgroup.
	ExitPossibleOOMKill ExitReason = "possible oom-kill"
	// ExitRSSLimit: the engine stopped the instance because its process
	// tree's RSS exceeded rss_limit (and started it again).
	ExitRSSLimit ExitReason = "rss-limit"
)

// maxExitRecords is how many exits a process keeps (crash records).
const maxExitRecords = 10

// exitTailLines and exitTailBytes bound the output a record keeps of
// each channel: its last lines before the exit.
const (
	exitTailLines = 20
	exitTailBytes = 4096
)

// Counters are what happened to a process since its configuration was
// loaded; they only grow.
type Counters struct {
	Spawns          uint64 // spawn attempts
	ExitsExpected   uint64 // exits with a status in exitcodes
	ExitsUnexpected uint64 // other exits (signals included)
	OOMKills        uint64 // instances the OOM killer killed
	RSSRestarts     uint64 // restarts for rss_limit
	HealthFailures  uint64 // failed health checks
	Watchdogs       uint64 // instances ended for a missed keep-alive or WATCHDOG=trigger
}

// ExitRecord is one exit of a process: a crash record.
type ExitRecord struct {
	Time   time.Time
	PID    int
	Uptime time.Duration
	// ExitStatus is the exit code, -1 after a signal; Signal is the
	// signal (0 for a normal exit).
	ExitStatus int
	Signal     syscall.Signal
	CoreDumped bool
	// How is the exit as the main log words it: "exit status 3",
	// "terminated by SIGKILL (core dumped)".
	How string
	// Expected is the exit status in exitcodes= (a signal never is).
	Expected bool
	// Stopped: a stop ended it (stop, restart, shutdown, an rss_limit
	// restart), not the program itself.
	Stopped bool
	// Reason says more than the status: oom-kill, possible oom-kill,
	// rss-limit, or an end the engine forced; "" when nothing is known.
	Reason ExitReason
	// Stdout and Stderr are the last lines the instance itself wrote to
	// each channel's log (none without a log file).
	Stdout, Stderr []string
	// complete is set once the output of every channel is attached.
	complete bool
	serial   uint64
}

// resState is a process's resource bookkeeping, owned by the loop.
type resState struct {
	// id names the record for the sampler, which cannot hold pointers to
	// loop-owned records.
	id uint64
	// version changes whenever something the snapshot shows of this
	// state changes.
	version uint64
	leaf    *cgroup.Leaf // nil without a cgroup
	// oomBase is the cgroup's oom_kill count when the instance started.
	oomBase   uint64
	oomBaseOK bool
	// cpuDone is the CPU time of finished instances (wait4's rusage:
	// their own and their waited-for descendants').
	cpuDone time.Duration
	counts  Counters
	// exits are the last records, oldest first. The slice is replaced,
	// never changed in place: snapshots share it.
	exits []ExitRecord
	// tails are output tails that arrived before their exit was reaped
	// (a pipe reaches EOF as the process dies, before its SIGCHLD).
	tails []outputTail
	// restart: start again once STOPPED (an rss_limit restart, as
	// memmon's stop then start, whatever autorestart says).
	restart bool
	// reason is why the engine is stopping the instance (rss-limit).
	reason ExitReason
}

// outputTail is the end of one channel's log after an instance's pipe
// was drained: sent by its pump to the loop.
type outputTail struct {
	p       *process
	serial  uint64
	channel protocol.Channel
	lines   []string
}

// usesResourceKeys reports whether a program sets any key of issue 16;
// only those get the extra main-log lines.
func usesResourceKeys(pc *config.Process) bool {
	r := &pc.Resources
	return len(r.Rlimits) > 0 || r.RSSLimit > 0 || r.Cgroup.Any()
}

// setupCgroups finds where programs' cgroups go, when some program has
// cgroup_* keys and [supervisord] cgroups is auto: one warning when the
// controllers they need have no writable hierarchy.
func (e *Engine) setupCgroups() {
	if e.cfg.Supervisord.Cgroups == config.CgroupsOff {
		return
	}
	var wanted []string
	var users []string
	for _, g := range e.cfg.Groups {
		for _, pc := range g.Processes {
			if cs := cgroup.Controllers(pc.Resources.Cgroup); len(cs) > 0 {
				wanted = append(wanted, cs...)
				users = append(users, pc.Name)
			}
		}
	}
	if len(wanted) == 0 {
		return
	}
	host, err := e.cgroupHost()
	if err != nil {
		e.log.Logf(protocol.LevelWarn, "cgroups: cannot read this process's cgroups (%v); %s run without cgroup limits", err, strings.Join(users, ", "))
		return
	}
	hier, missing, reasons := cgroup.Detect(host, wanted)
	e.cgroups = hier
	if len(missing) > 0 {
		e.log.Logf(protocol.LevelWarn, "cgroups: no writable cgroup hierarchy for %s (%s); programs with cgroup_* keys run without those limits",
			strings.Join(missing, ", "), strings.Join(reasons, "; "))
	}
}

// cgroupHost is the running process's cgroup view, or the test's.
func (e *Engine) cgroupHost() (cgroup.Host, error) {
	if e.opts.CgroupHost != nil {
		return *e.opts.CgroupHost, nil
	}
	return cgroup.ThisHost()
}

// prepareResources gives a spawn its cgroup: the leaf is made (or taken
// over) and its limits written before the child exists; the spec says
// where the child goes. A failure is a spawn error.
func (e *Engine) prepareResources(p *process, spec *SpawnSpec) error {
	p.res.reason = ""
	p.res.oomBaseOK = false
	lim := p.cfg.Resources.Cgroup
	if e.cgroups == nil || !lim.Any() {
		return nil
	}
	leaf, err := e.cgroups.Prepare(cgroup.LeafName(p.group.cfg.Name, p.name()), lim)
	if err != nil {
		return fmt.Errorf("can't make cgroup: %v", err)
	}
	if p.res.leaf == nil {
		for _, why := range leaf.Ignored {
			e.log.Logf(protocol.LevelWarn, "%s: %s ignored", p.name(), why)
		}
	}
	p.res.leaf = leaf
	spec.CgroupDir = leaf.Dir
	spec.CgroupProcs = leaf.Procs
	if leaf.HasMemory() {
		if n, err := leaf.OOMKills(); err == nil {
			p.res.oomBase, p.res.oomBaseOK = n, true
		}
	}
	return nil
}

// exitFacts is what the loop knew of an instance just before its exit
// was handled.
type exitFacts struct {
	pid     int
	serial  uint64
	started time.Time
	killing bool // a stop signal had been sent
	cpu     time.Duration
}

// recordExit is called once the machine has handled an instance's exit:
// it finds an OOM kill, counts, keeps the crash record and removes the
// cgroup leaf.
func (e *Engine) recordExit(p *process, ws syscall.WaitStatus, f exitFacts, now time.Time) {
	code, how := decodeWaitStatus(ws)
	rec := ExitRecord{
		Time: now, PID: f.pid, Uptime: now.Sub(f.started), ExitStatus: code, How: how,
		Expected: p.expected(code) && p.forced == "", Stopped: f.killing, Reason: p.res.reason, serial: f.serial,
	}
	if rec.Reason == "" {
		rec.Reason = p.forced // watchdog, health, ready-timeout
	}
	if ws.Signaled() {
		rec.Signal, rec.CoreDumped = ws.Signal(), ws.CoreDump()
	}
	p.res.cpuDone += f.cpu
	if rec.Expected {
		p.res.counts.ExitsExpected++
	} else {
		p.res.counts.ExitsUnexpected++
	}
	if rec.Signal == syscall.SIGKILL && p.forced == "" {
		// (A forced end's SIGKILL is ours: its reason is the watchdog's
		// or the health check's.)
		e.findOOMKill(p, &rec, f)
	}
	p.res.reason = ""
	e.removeLeaf(p)
	// Output tails that arrived first.
	for _, t := range p.res.tails {
		if t.serial == f.serial {
			attachTail(&rec, t, p)
		}
	}
	p.res.tails = slices.DeleteFunc(p.res.tails, func(t outputTail) bool { return t.serial <= f.serial })
	rec.complete = tailsDone(&rec, p)
	exits := append(slices.Clone(p.res.exits), rec)
	if len(exits) > maxExitRecords {
		exits = exits[len(exits)-maxExitRecords:]
	}
	p.res.exits = exits
	p.res.version++
	if rec.complete {
		e.exitRecorded(p, rec)
	}
}

// findOOMKill tells an OOM kill from another SIGKILL: the cgroup's
// oom_kill count rose since the spawn; without a memory cgroup, a SIGKILL
// nobody here sent while the system's count rose is a possible one.
func (e *Engine) findOOMKill(p *process, rec *ExitRecord, f exitFacts) {
	if leaf := p.res.leaf; leaf != nil && leaf.HasMemory() && p.res.oomBaseOK {
		n, err := leaf.OOMKills()
		if err != nil || n <= p.res.oomBase {
			return
		}
		rec.Reason = ExitOOMKill
		p.res.counts.OOMKills++
		logProc(e.log, p, rec.PID, protocol.LevelWarn, map[string]any{"reason": string(ExitOOMKill), "cgroup_memory_max": p.cfg.Resources.Cgroup.MemoryMax},
			"%s: killed by the OOM killer (cgroup %s %s)", p.name(), memoryLimitName(e.cgroups), formatBytes(uint64(p.cfg.Resources.Cgroup.MemoryMax)))
		e.emitResource(p, rec.PID, resourceOOM, fmt.Sprintf("cgroup_memory_max:%d", p.cfg.Resources.Cgroup.MemoryMax))
		return
	}
	if f.killing {
		return
	}
	n, ok := systemOOMKills()
	if !ok {
		return
	}
	rose := e.oomSeen && n > e.oomSystem
	e.oomSystem, e.oomSeen = n, true
	if !rose {
		return
	}
	rec.Reason = ExitPossibleOOMKill
	if usesResourceKeys(p.cfg) {
		logProc(e.log, p, rec.PID, protocol.LevelWarn, map[string]any{"reason": string(ExitPossibleOOMKill)},
			"%s: possibly killed by the OOM killer (the system's oom_kill count rose)", p.name())
	}
}

// readSystemOOMKills notes the system's OOM kill count at start-up, the
// base a "possible oom-kill" is measured from.
func (e *Engine) readSystemOOMKills() {
	e.oomSystem, e.oomSeen = systemOOMKills()
}

// systemOOMKills is /proc/vmstat's oom_kill.
func systemOOMKills() (uint64, bool) {
	b, err := os.ReadFile("/proc/vmstat")
	if err != nil {
		return 0, false
	}
	i := bytes.Index(b, []byte("\noom_kill "))
	if i < 0 {
		return 0, false
	}
	rest := b[i+len("\noom_kill "):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	n, err := strconv.ParseUint(string(rest), 10, 64)
	return n, err == nil
}

// memoryLimitName is the memory limit file of the hierarchy in use.
func memoryLimitName(h *cgroup.Hierarchy) string {
	if h != nil && h.Version(cgroup.Memory) == 1 {
		return "memory.limit_in_bytes"
	}
	return "memory.max"
}

// removeLeaf removes the exited instance's cgroup. Processes left in it
// (descendants that outlived the main process) are killed when
// killasgroup is set, else reported; the leaf is removed at a later exit
// or when the process goes away.
func (e *Engine) removeLeaf(p *process) {
	leaf := p.res.leaf
	if leaf == nil {
		return
	}
	err := leaf.Remove()
	if err == nil || !errors.Is(err, syscall.EBUSY) {
		if err != nil {
			e.log.Logf(protocol.LevelWarn, "%s: can't remove its cgroup: %v", p.name(), err)
		}
		return
	}
	pids := leaf.Pids()
	if p.cfg.KillAsGroup {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		e.log.Logf(protocol.LevelInfo, "%s: killed %d process(es) left in its cgroup (killasgroup)", p.name(), len(pids))
		return
	}
	e.log.Logf(protocol.LevelWarn, "%s: %d process(es) left in its cgroup after it exited: %v", p.name(), len(pids), pids)
}

// releaseLeaf removes what is left of p's cgroup when p goes away.
func (e *Engine) releaseLeaf(p *process) {
	if p.res.leaf != nil {
		_ = p.res.leaf.Remove()
	}
}

// instanceTail reads the last lines one instance wrote to a channel's
// log once its pipe is drained, for its crash record. Its pump notes
// where its own writes landed (a logrot.Trail): an earlier instance's
// lines, or the next one's (autorestart may spawn it before this pump
// has drained its pipe), are not taken.
type instanceTail struct {
	q       *pumpQueue
	p       *process
	serial  uint64
	channel protocol.Channel
	w       *logrot.Writer // nil without a log file
	trail   *logrot.Trail
}

// outputTailer prepares the tail of p's current instance on channel ch.
func (e *Engine) outputTailer(p *process, ch protocol.Channel, w *logrot.Writer) *instanceTail {
	return &instanceTail{q: e.ev.queue, p: p, serial: p.serial, channel: ch, w: w, trail: logrot.NewTrail(exitTailBytes)}
}

// send reads the instance's last lines and hands them to the loop; the
// pump has returned.
func (t *instanceTail) send() {
	var lines []string
	if t.w != nil {
		lines = lastLines(t.trail.Read(t.w), exitTailLines, t.trail.Cut)
	}
	t.q.push(pumpMsg{kind: msgOutputTail, tail: &outputTail{p: t.p, serial: t.serial, channel: t.channel, lines: lines}})
}

// lastLines are the last n complete or partial lines of b, without line
// feeds; when cut (b starts inside the output), its first line, maybe
// partial, is dropped.
func lastLines(b []byte, n int, cut bool) []string {
	text := strings.TrimRight(string(b), "\n")
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	if cut && len(lines) > 1 {
		lines = lines[1:]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return slices.Clone(lines)
}

// outputTailed files an output tail: into its record if the exit was
// reaped, else aside until it is.
func (e *Engine) outputTailed(t *outputTail) {
	p := t.p
	if p.group == nil || e.groups[p.group.cfg.Name] != p.group {
		return // the group went away
	}
	for i := len(p.res.exits) - 1; i >= 0; i-- {
		if p.res.exits[i].serial != t.serial {
			continue
		}
		exits := slices.Clone(p.res.exits)
		rec := &exits[i]
		attachTail(rec, *t, p)
		p.res.exits = exits
		p.res.version++
		if !rec.complete && tailsDone(rec, p) {
			rec.complete = true
			e.exitRecorded(p, *rec)
		}
		return
	}
	p.res.tails = append(p.res.tails, *t)
}

// attachTail puts a channel's lines into a record; the record notes
// which channels have reported.
func attachTail(rec *ExitRecord, t outputTail, p *process) {
	lines := t.lines
	if lines == nil {
		lines = []string{}
	}
	if t.channel == protocol.Stderr {
		rec.Stderr = lines
	} else {
		rec.Stdout = lines
	}
}

// tailsDone reports whether every output channel of the instance has
// reported its tail.
func tailsDone(rec *ExitRecord, p *process) bool {
	if rec.Stdout == nil {
		return false
	}
	return p.cfg.RedirectStderr || rec.Stderr != nil
}

// exitRecorded emits the opt-in event of a complete crash record.
func (e *Engine) exitRecorded(p *process, rec ExitRecord) {
	e.emitExitRecord(p, rec)
}

// formatBytes writes a size as Supervisor's byte sizes read: 512MB,
// 1.5GB, 300KB, 12B.
func formatBytes(n uint64) string {
	unit := func(div float64, suffix string) string {
		v := float64(n) / div
		s := strconv.FormatFloat(v, 'f', 1, 64)
		return strings.TrimSuffix(s, ".0") + suffix
	}
	switch {
	case n >= 1<<30:
		return unit(1<<30, "GB")
	case n >= 1<<20:
		return unit(1<<20, "MB")
	case n >= 1<<10:
		return unit(1<<10, "KB")
	}
	return strconv.FormatUint(n, 10) + "B"
}
