package engine

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/rpc"
)

// The read-only calls that clients poll (getProcessInfo,
// getAllProcessInfo, the group check of "g:*") are answered from a
// snapshot the loop publishes, without waking the loop: a wake-up costs a
// full step over every process, which with 500 programs was most of a
// getProcessInfo. The loop stays the only writer of process state; it
// publishes a new immutable snapshot whenever what clients can see has
// changed, before it answers any request, so a client that saw a start
// or stop succeed then sees its effect.

// infoSnapshot is one published view of the processes. Never modified
// once published.
type infoSnapshot struct {
	infos  []rpc.ProcessInfo         // by group, then name; Now left 0
	index  map[string]map[string]int // group → process name → position
	groups map[string]bool           // active groups
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
func (e *Engine) publish() {
	pub := &e.pub
	cur := pub.cur.Load()
	if cur == nil || !pub.sameLayout(e.order) {
		pub.relayout(e.order)
		pub.cur.Store(pub.build(nil))
		return
	}
	for i, p := range pub.procs {
		if !cur.matches(i, p) {
			pub.cur.Store(pub.build(cur))
			return
		}
	}
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

// build makes a new snapshot; prev, when given, has the same layout and
// lends its index and its unchanged entries (a start of 500 programs
// publishes many times, each time for a few of them).
func (pub *publisher) build(prev *infoSnapshot) *infoSnapshot {
	s := &infoSnapshot{infos: make([]rpc.ProcessInfo, len(pub.procs))}
	for i, p := range pub.procs {
		if prev != nil && prev.matches(i, p) {
			s.infos[i] = prev.infos[i]
		} else {
			s.infos[i] = processInfo(p, time.Time{})
		}
	}
	if prev != nil {
		s.index, s.groups = prev.index, prev.groups
		return s
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

// matches reports whether entry i still shows p as it is.
func (s *infoSnapshot) matches(i int, p *process) bool {
	in := &s.infos[i]
	return p.state == in.State && p.pid == in.PID &&
		unixOrZero(p.started) == in.Start && unixOrZero(p.stopped) == in.Stop &&
		p.spawnErr == in.SpawnErr && p.exitStatus == in.ExitStatus &&
		p.stdoutPath == in.StdoutLogfile && p.stderrPath == in.StderrLogfile
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// snapshot is the last published view, or SHUTDOWN_STATE once Run has
// returned (as a request to the loop would answer). Before the loop's
// first step it waits for that step, as a request to the loop would.
func (e *Engine) snapshot() (*infoSnapshot, error) {
	select {
	case <-e.stepped:
	case <-e.done:
	}
	select {
	case <-e.done:
		return nil, errStopped
	default:
	}
	return e.pub.cur.Load(), nil
}

// withNow completes a snapshot entry for a reader at now.
func withNow(info rpc.ProcessInfo, now int64) rpc.ProcessInfo {
	info.Now = now
	if info.State == protocol.StateRunning {
		info.Description = describe(info) // the uptime moves on
	}
	return info
}
