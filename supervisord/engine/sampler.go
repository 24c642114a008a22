package engine

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gosupervisor/internal/cgroup"
	"gosupervisor/internal/procfs"
	"gosupervisor/internal/protocol"
)

// Process trees' CPU and memory are measured off the loop: a sample scans
// /proc once (one stat file per process on the machine) and sums each
// supervised process's tree. Samples are taken by the monitor goroutine
// for rss_limit (each program every rss_check_secs) and in the background
// after a metrics scrape, and by a getProcessResources caller whose
// sample is older than it accepts. The loop only publishes what a sample
// needs (pids, instance serials, the CPU of finished instances) in its
// snapshots and takes the monitor's restart requests.

// ProcessUsage is one process tree's usage at a sample.
type ProcessUsage struct {
	// Processes counts the tree's processes (0: nothing runs).
	Processes int
	// CPU is the current instance's tree CPU time (user and system, its
	// waited-for descendants included).
	CPU time.Duration
	// CPUTotal adds the CPU of every finished instance since the
	// process's config was loaded; it never decreases.
	CPUTotal time.Duration
	// CPUPercent is the tree's CPU use since the previous sample of the
	// same instance, in percent of one CPU; -1 when there was none.
	CPUPercent float64
	// RSS sums the resident sets of the tree's processes, in bytes.
	RSS uint64
	// CgroupMemory is the memory charged to the process's cgroup; -1
	// without one.
	CgroupMemory int64
	// Sampled is when the sample was taken.
	Sampled time.Time
}

// ProcessResources is a process with its tree's usage: what
// getProcessResources reports.
type ProcessResources struct {
	// ProcessStatus is the process as the same snapshot shows it.
	ProcessStatus
	// RSSLimit is rss_limit (0 = none).
	RSSLimit int64
	Usage    ProcessUsage
}

// resourceView is what a sample needs of a process, published with its
// snapshot entry.
type resourceView struct {
	id       uint64
	serial   uint64
	rssLimit int64
	rssEvery time.Duration
	leaf     *cgroup.Leaf // read-only once made
	cpuDone  time.Duration
}

// sample is one measurement of every process.
type sample struct {
	at time.Time
	by map[uint64]ProcessUsage // by process id
}

// sampler takes samples; several goroutines may ask at once.
type sampler struct {
	root string // "/proc"
	mu   sync.Mutex
	last atomic.Pointer[sample]
	// prev is each process's previous CPU reading, for CPUPercent.
	prev map[uint64]cpuMark
	// floor is the largest CPUTotal reported per process: a counter
	// must not go down when a descendant leaves the tree unreaped.
	floor map[uint64]time.Duration
}

type cpuMark struct {
	serial uint64
	cpu    time.Duration
	at     time.Time
}

func newSampler() *sampler {
	return &sampler{root: "/proc", prev: map[uint64]cpuMark{}, floor: map[uint64]time.Duration{}}
}

// take scans now and stores the sample for procs.
func (s *sampler) take(procs []ProcessStatus, now time.Time) (*sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tab, err := procfs.Scan(s.root)
	if err != nil {
		return nil, fmt.Errorf("sampling process trees: %w", err)
	}
	smp := &sample{at: now, by: make(map[uint64]ProcessUsage, len(procs))}
	for i := range procs {
		v := &procs[i].res
		u := ProcessUsage{CPUPercent: -1, CgroupMemory: -1, Sampled: now}
		if procs[i].PID > 0 {
			t := tab.Tree(procs[i].PID)
			u.Processes, u.CPU, u.RSS = t.Processes, t.CPU, t.RSS
			if m, ok := s.prev[v.id]; ok && m.serial == v.serial && now.After(m.at) && u.CPU >= m.cpu {
				u.CPUPercent = 100 * float64(u.CPU-m.cpu) / float64(now.Sub(m.at))
			}
			s.prev[v.id] = cpuMark{v.serial, u.CPU, now}
		}
		u.CPUTotal = max(v.cpuDone+u.CPU, s.floor[v.id])
		s.floor[v.id] = u.CPUTotal
		if v.leaf != nil && v.leaf.HasMemory() {
			if n, err := v.leaf.MemoryCurrent(); err == nil {
				u.CgroupMemory = int64(n)
			}
		}
		smp.by[v.id] = u
	}
	s.last.Store(smp)
	return smp, nil
}

// fresh is the last sample if it is at most maxAge old at now, else a
// new one.
func (s *sampler) fresh(procs []ProcessStatus, maxAge time.Duration, now time.Time) (*sample, error) {
	if last := s.last.Load(); last != nil && now.Sub(last.at) <= maxAge && covers(last, procs) {
		return last, nil
	}
	return s.take(procs, now)
}

// covers reports whether a sample measured each running instance of
// procs (a new one started since has no figures yet).
func covers(smp *sample, procs []ProcessStatus) bool {
	for i := range procs {
		u, ok := smp.by[procs[i].res.id]
		if !ok || (procs[i].PID > 0) != (u.Processes > 0) {
			return false
		}
	}
	return true
}

// Resources is every process with its tree's usage, from a sample at
// most maxAge old (taken now, on the caller's goroutine, when the last is
// older). It never waits for the loop.
func (e *Engine) Resources(maxAge time.Duration) ([]ProcessResources, error) {
	s, err := e.snapshot()
	if err != nil {
		return nil, err
	}
	smp, err := e.samples.fresh(s.procs, maxAge, e.clock.Now())
	if err != nil {
		return nil, err
	}
	return resourcesOf(s.procs, smp), nil
}

// ProcessResources is one process ("name" or "group:name") with its
// tree's usage, as Resources.
func (e *Engine) ProcessResources(name string, maxAge time.Duration) (ProcessResources, error) {
	st, err := e.Process(name)
	if err != nil {
		return ProcessResources{}, err
	}
	smp, err := e.samples.fresh([]ProcessStatus{st}, maxAge, e.clock.Now())
	if err != nil {
		return ProcessResources{}, err
	}
	return resourcesOf([]ProcessStatus{st}, smp)[0], nil
}

// LatestResources is every process with the usage of the last sample,
// without sampling (a process not in it has no figures: Sampled is
// zero); a fresh sample is then taken in the background, for the next
// caller. Metrics scrapes use it: they cost formatting only.
func (e *Engine) LatestResources() ([]ProcessResources, error) {
	s, err := e.snapshot()
	if err != nil {
		return nil, err
	}
	smp := e.samples.last.Load()
	if smp == nil || e.clock.Now().Sub(smp.at) >= time.Second {
		e.monitor.refresh.Store(true)
		e.kickMonitor()
	}
	if smp == nil {
		smp = &sample{}
	}
	return resourcesOf(s.procs, smp), nil
}

func resourcesOf(procs []ProcessStatus, smp *sample) []ProcessResources {
	out := make([]ProcessResources, len(procs))
	for i := range procs {
		p := &procs[i]
		u, ok := smp.by[p.res.id]
		if !ok {
			u = ProcessUsage{CPUPercent: -1, CgroupMemory: -1, CPUTotal: p.res.cpuDone}
		}
		out[i] = ProcessResources{ProcessStatus: *p, RSSLimit: p.res.rssLimit, Usage: u}
	}
	return out
}

// monitorState is the monitor goroutine's handles.
type monitorState struct {
	kick    chan struct{} // capacity 1: something changed, or a refresh is wanted
	refresh atomic.Bool   // a background sample is wanted
	stop    chan struct{}
	done    chan struct{}
	// active: some process has rss_limit (the loop kicks the monitor
	// when the snapshot changes). Loop-owned.
	active bool
}

func (e *Engine) kickMonitor() {
	select {
	case e.monitor.kick <- struct{}{}:
	default:
	}
}

// startMonitor runs the monitor goroutine until stopMonitor.
func (e *Engine) startMonitor() {
	m := &e.monitor
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(m.done)
		e.runMonitor()
	}()
}

func (e *Engine) stopMonitor() {
	if e.monitor.stop != nil {
		close(e.monitor.stop)
		<-e.monitor.done
	}
}

// runMonitor checks each running process with rss_limit every
// rss_check_secs (first rss_check_secs after its start) and asks the
// loop to restart one over its limit; it also takes the background
// samples LatestResources asks for. It sleeps while there is nothing to
// do.
func (e *Engine) runMonitor() {
	m := &e.monitor
	type watch struct {
		serial uint64
		next   time.Time
	}
	watches := map[uint64]watch{}
	var timerC <-chan time.Time
	stopTimer := func() bool { return false }
	defer func() { stopTimer() }()
	for {
		snap := e.pub.cur.Load()
		now := e.clock.Now()
		var due []int
		var next time.Time
		seen := map[uint64]bool{}
		for i := range snap.procs {
			p := &snap.procs[i]
			if p.res.rssLimit <= 0 || p.PID == 0 || p.State != protocol.StateRunning {
				continue
			}
			seen[p.res.id] = true
			w, ok := watches[p.res.id]
			if !ok || w.serial != p.res.serial {
				w = watch{serial: p.res.serial, next: p.Started.Add(p.res.rssEvery)}
			}
			if !now.Before(w.next) {
				due = append(due, i)
				w.next = now.Add(p.res.rssEvery)
			}
			watches[p.res.id] = w
			if next.IsZero() || w.next.Before(next) {
				next = w.next
			}
		}
		for id := range watches {
			if !seen[id] {
				delete(watches, id)
			}
		}
		if len(due) > 0 || m.refresh.Swap(false) {
			smp, err := e.samples.take(snap.procs, now)
			if err == nil {
				for _, i := range due {
					p := &snap.procs[i]
					if u := smp.by[p.res.id]; u.RSS > uint64(p.res.rssLimit) {
						if !e.requestRSSRestart(p.res.id, p.res.serial, u.RSS) {
							return
						}
					}
				}
			}
			continue // the snapshot may have moved on meanwhile
		}
		stopTimer()
		timerC, stopTimer = nil, func() bool { return false }
		if !next.IsZero() {
			timerC, stopTimer = e.clock.NewTimer(max(next.Sub(e.clock.Now()), 0))
		}
		select {
		case <-m.stop:
			return
		case <-m.kick:
		case <-timerC:
		}
	}
}

// requestRSSRestart asks the loop to restart the instance; false once the
// monitor must stop.
func (e *Engine) requestRSSRestart(id, serial uint64, rss uint64) bool {
	select {
	case e.reqc <- func(now time.Time) { e.rssExceeded(id, serial, rss, now) }:
		return true
	case <-e.monitor.stop:
		return false
	}
}

// rssExceeded restarts an instance whose tree's RSS was over rss_limit,
// as superlance's memmon: a stop, then a start once it has stopped,
// whatever autorestart says. A stale request (another instance by now,
// or not RUNNING any more) is dropped.
func (e *Engine) rssExceeded(id, serial uint64, rss uint64, now time.Time) {
	p := e.processByID(id)
	if p == nil || p.serial != serial || p.pid == 0 || p.state != protocol.StateRunning || e.moodNow() < protocol.SupervisorRunning {
		return
	}
	limit := p.cfg.Resources.RSSLimit
	logProc(e.log, p, p.pid, protocol.LevelWarn, map[string]any{"rss": rss, "rss_limit": limit, "reason": string(ExitRSSLimit)},
		"%s: RSS %s exceeds rss_limit %s, restarting", p.name(), formatBytes(rss), formatBytes(uint64(limit)))
	p.res.counts.RSSRestarts++
	p.res.version++
	e.emitResource(p, p.pid, resourceRSSLimit, fmt.Sprintf("rss:%d rss_limit:%d", rss, limit))
	p.res.reason = ExitRSSLimit
	p.res.restart = true
	e.mach.stopProcess(p, now)
}

// processByID finds a process record by its resource id.
func (e *Engine) processByID(id uint64) *process {
	for _, g := range e.order {
		for _, p := range g.procs {
			if p.res.id == id {
				return p
			}
		}
	}
	return nil
}

// resourcesDue starts a process an rss_limit restart stopped.
func (e *Engine) resourcesDue(p *process, now time.Time) {
	if !p.res.restart {
		return
	}
	if p.state != protocol.StateStopping {
		p.res.restart = false
	}
	if p.state == protocol.StateStopped && e.moodNow() == protocol.SupervisorRunning {
		e.mach.spawnProcess(p, now)
	}
}
