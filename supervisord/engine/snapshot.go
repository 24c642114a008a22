package engine

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/health"
)

// The read-only calls that clients poll (getProcessInfo,
// getAllProcessInfo, the group check of "g:*", the web UI's table) are
// answered from a snapshot the loop publishes, without waking the loop: a
// wake-up costs a full step over every process, which with 500 programs
// was most of a getProcessInfo. The loop stays the only writer of process
// state; it publishes a new immutable snapshot whenever what clients can
// see has changed, before it answers any request, so a client that saw a
// start or stop succeed then sees its effect.

// ProcessStatus is one process as clients see it at one moment. It is a
// copy: the engine never looks at it again.
type ProcessStatus struct {
	Name  string
	Group string
	State protocol.ProcessState
	PID   int // 0 when no instance runs
	// Started is the last spawn attempt, Stopped the last exit; zero
	// means never.
	Started time.Time
	Stopped time.Time
	// SpawnErr says why the last spawn failed or why the last instance
	// did not count as started; "" when it did.
	SpawnErr   string
	ExitStatus int // of the last exit; -1 after a signal
	// LogFiles are the channels' log files, by protocol.Channel; ""
	// means none.
	LogFiles [len(protocol.Channels)]string
	// DependencyNote is what depends_on says of a stopped process, which
	// its description shows instead of the stop time: "waiting for db
	// (running)" while its start waits, "dependency failed: …" after the
	// wait failed; "" otherwise (always, for a program without it).
	DependencyNote string
	// Extras are what the sd_notify and health check keys add to the
	// description (zero for a program without them).
	Extras protocol.Extras
	// Counters are what happened to the process since its config was
	// loaded (spawns, exits, OOM kills, rss_limit restarts).
	Counters   Counters
	res        resourceView
	resVersion uint64
}

// status is p as a snapshot entry.
func (p *process) status() ProcessStatus {
	s := ProcessStatus{
		Name: p.name(), Group: p.group.cfg.Name, State: p.state, PID: p.pid,
		Started: p.started, Stopped: p.stopped, SpawnErr: p.spawnErr, ExitStatus: p.exitStatus,
		DependencyNote: p.dependencyNote(), Extras: p.extras(),
	}
	for ch := range p.logs {
		s.LogFiles[ch] = p.logs[ch].path
	}
	s.Counters, s.resVersion = p.res.counts, p.res.version
	s.res = resourceView{
		id: p.res.id, serial: p.serial, leaf: p.res.leaf, cpuDone: p.res.cpuDone,
		rssLimit: p.cfg.Resources.RSSLimit, rssEvery: time.Duration(p.cfg.Resources.RSSCheckSecs) * time.Second,
	}
	return s
}

// infoSnapshot is one published view of the processes. Never modified
// once published.
type infoSnapshot struct {
	procs  []ProcessStatus           // by group, then name
	index  map[string]map[string]int // group → process name → position
	groups map[string]bool           // active groups
	// rssLimits: some process has rss_limit (the monitor watches).
	rssLimits bool
	// exits are each process's last exits, oldest first, by position
	// (crash records); shared with the records: never modified.
	exits [][]ExitRecord
}

// publisher builds snapshots. Its fields other than cur belong to the
// loop goroutine (and to New before Run).
type publisher struct {
	cur    atomic.Pointer[infoSnapshot]
	groups []*group   // e.order when the layout was taken
	procs  []*process // processes in snapshot order
}

// publish makes the current process table visible to readers if it
// differs from the last snapshot. Loop goroutine only; it allocates
// nothing when nothing changed.
func (e *Engine) publish() bool {
	pub := &e.pub
	cur := pub.cur.Load()
	if cur == nil || !pub.sameLayout(e.order) {
		pub.relayout(e.order)
		next := pub.build()
		pub.cur.Store(next)
		e.monitor.active = next.rssLimits
		return true
	}
	for i, p := range pub.procs {
		if !cur.matches(i, p) {
			pub.cur.Store(pub.update(cur, i))
			return true
		}
	}
	return false
}

// sameLayout reports whether the active groups and their processes are
// those of the last layout.
func (pub *publisher) sameLayout(order []*group) bool {
	if len(order) != len(pub.groups) {
		return false
	}
	n := 0
	for i, g := range order {
		if pub.groups[i] != g {
			return false
		}
		n += len(g.procs)
	}
	return n == len(pub.procs) // a group's processes never change once built
}

// relayout records the groups and sorts their processes as
// getAllProcessInfo lists them.
func (pub *publisher) relayout(order []*group) {
	pub.groups = append(pub.groups[:0], order...)
	pub.procs = pub.procs[:0]
	for _, g := range order {
		pub.procs = append(pub.procs, g.procs...)
	}
	slices.SortStableFunc(pub.procs, func(a, b *process) int {
		if c := strings.Compare(a.group.cfg.Name, b.group.cfg.Name); c != 0 {
			return c
		}
		return strings.Compare(a.name(), b.name())
	})
}

// build makes a snapshot of a new layout.
func (pub *publisher) build() *infoSnapshot {
	s := &infoSnapshot{procs: make([]ProcessStatus, len(pub.procs)), exits: make([][]ExitRecord, len(pub.procs))}
	for i, p := range pub.procs {
		s.procs[i] = p.status()
		s.exits[i] = p.res.exits
	}
	for _, p := range pub.procs {
		s.rssLimits = s.rssLimits || p.cfg.Resources.RSSLimit > 0
	}
	s.index = map[string]map[string]int{}
	s.groups = map[string]bool{}
	for _, g := range pub.groups {
		s.groups[g.cfg.Name] = true
		s.index[g.cfg.Name] = map[string]int{}
	}
	for i, p := range pub.procs {
		s.index[p.group.cfg.Name][p.name()] = i
	}
	return s
}

// update makes the next snapshot of prev's layout, where entry first is
// the first that changed: entries that still match are copied, not
// rebuilt, and prev lends its index (a start of 500 programs publishes
// many times, each time for a few of them).
func (pub *publisher) update(prev *infoSnapshot, first int) *infoSnapshot {
	s := &infoSnapshot{
		procs: slices.Clone(prev.procs), exits: slices.Clone(prev.exits),
		index: prev.index, groups: prev.groups, rssLimits: prev.rssLimits,
	}
	for i := first; i < len(pub.procs); i++ {
		if p := pub.procs[i]; i == first || !prev.matches(i, p) {
			s.procs[i] = p.status()
			s.exits[i] = p.res.exits
		}
	}
	return s
}

// matches reports whether entry i still shows p as it is.
func (s *infoSnapshot) matches(i int, p *process) bool {
	in := &s.procs[i]
	if p.state != in.State || p.pid != in.PID || !p.started.Equal(in.Started) || !p.stopped.Equal(in.Stopped) ||
		p.spawnErr != in.SpawnErr || p.exitStatus != in.ExitStatus || p.dependencyNote() != in.DependencyNote ||
		p.extras() != in.Extras || p.res.version != in.resVersion || p.serial != in.res.serial {
		return false
	}
	for ch := range p.logs {
		if p.logs[ch].path != in.LogFiles[ch] {
			return false
		}
	}
	return true
}

// snapshot is the last published view, or ErrShutdown once Run has
// returned (as a request to the loop would answer). Before the loop's
// first step it waits for that step, as a request to the loop would.
func (e *Engine) snapshot() (*infoSnapshot, error) {
	select {
	case <-e.stepped:
	case <-e.done:
	}
	select {
	case <-e.done:
		return nil, e.endErr
	default:
	}
	return e.pub.cur.Load(), nil
}

// Process is a snapshot of one process ("name" or "group:name"), read
// from the last published snapshot without waking the loop.
func (e *Engine) Process(name string) (ProcessStatus, error) {
	s, err := e.snapshot()
	if err != nil {
		return ProcessStatus{}, err
	}
	gname, pname, ok := strings.Cut(name, ":")
	if !ok {
		pname = gname
	}
	i, ok := s.index[gname][pname]
	if !ok {
		return ProcessStatus{}, fail(ErrNoSuchName, name)
	}
	return s.procs[i], nil
}

// Processes is a snapshot of every process, by group then name, read
// like Process.
func (e *Engine) Processes() ([]ProcessStatus, error) {
	s, err := e.snapshot()
	if err != nil {
		return nil, err
	}
	return slices.Clone(s.procs), nil
}

// HasGroup reports whether an active group of that name exists.
func (e *Engine) HasGroup(group string) bool {
	s, err := e.snapshot()
	return err == nil && s.groups[group]
}

// extras is what p's extension keys add to its description; zero for a
// program without them. It allocates nothing (publish calls it for every
// process on every step).
func (p *process) extras() protocol.Extras {
	var x protocol.Extras
	if p.ntf.sock != nil || p.cfg.Notify.Ready {
		x.Notify = p.cfg.Notify.Ready
		x.Ready = x.Notify && p.state == protocol.StateRunning && p.ntf.ready
		x.Status = p.ntf.status
	}
	if p.checking() && p.state == protocol.StateRunning {
		if st := p.hc.status.State; st != health.None {
			x.Health = st.String()
			if st == health.Unhealthy {
				x.HealthDetail = p.hc.detail
			}
		}
	}
	return x
}

// ProcessExits are the last exits of a process ("name" or "group:name"),
// newest first: its crash records, read from the last published
// snapshot.
func (e *Engine) ProcessExits(name string) ([]ExitRecord, error) {
	s, err := e.snapshot()
	if err != nil {
		return nil, err
	}
	gname, pname, ok := strings.Cut(name, ":")
	if !ok {
		pname = gname
	}
	i, ok := s.index[gname][pname]
	if !ok {
		return nil, fail(ErrNoSuchName, name)
	}
	out := slices.Clone(s.exits[i])
	slices.Reverse(out)
	return out, nil
}
