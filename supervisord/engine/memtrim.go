package engine

import "gosupervisor/internal/protocol"

// A start of many programs leaves garbage behind (each spawn's
// environment, argv and descriptors, a snapshot per step), so the Go
// runtime grows its heap goal to twice what stays live and then keeps
// that much mapped: an idle daemon held about 30 MiB of free heap at
// 5,000 programs, as much as its live heap. Once such a burst is over
// (every process has settled) the engine asks for the free heap to be
// returned, once; it never polls.

// trimMinSpawns is the burst worth a release: below it the heap grown
// is a few MiB at most, less than a collection's worth of bother.
const trimMinSpawns = 100

// memTrim counts the spawns of a burst. Loop goroutine only.
type memTrim struct {
	release func() // nil = never (Options.ReleaseMemory)
	spawns  int    // since the last release
}

// spawned counts a spawn attempt.
func (t *memTrim) spawned() {
	if t.release != nil {
		t.spawns++
	}
}

// trimMemory releases the heap once a burst of spawns is over: no
// process is starting, backing off or stopping (a flapping program holds
// it off until it gives up). The loop waits for the release (a collection
// of the live heap: tens of milliseconds at 5,000 programs), once per
// burst, at the step that settled the last process. It looks at the
// processes only after a burst.
func (e *Engine) trimMemory() {
	t := &e.trim
	if t.spawns < trimMinSpawns || e.moodNow() != protocol.SupervisorRunning {
		return
	}
	for _, g := range e.order {
		for _, p := range g.procs {
			switch p.state {
			case protocol.StateStarting, protocol.StateBackoff, protocol.StateStopping:
				return
			}
		}
	}
	t.spawns = 0
	t.release()
}
