package engine

import (
	"sync"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/events"
)

// eventState is the engine's event machinery: the listener pools in
// subscription order, the global serial, the tick slices and the queue
// through which output pumps hand events and listener output to the loop.
// Everything but the queue is owned by the loop goroutine.
type eventState struct {
	serial *events.Serial
	pools  []*listenerPool
	// ticks is the last time slice seen per TICK period (epoch seconds);
	// nil until Run starts.
	ticks map[int64]int64
	queue *pumpQueue
	// hold is the listener pool whose stop a shutdown delays until
	// holdUntil (see holdListeners).
	hold      *group
	holdUntil time.Time
}

// listenerStopGrace is how long a shutdown lets a listener pool answer
// the events still going to it before stopping it.
const listenerStopGrace = 2 * time.Second

func newEventState(serial *events.Serial) eventState {
	if serial == nil {
		serial = &events.Serial{}
	}
	return eventState{serial: serial, queue: newPumpQueue()}
}

// pumpMsgKind says what an output pump reports to the loop.
type pumpMsgKind int

const (
	msgEvent          pumpMsgKind = iota + 1 // emit ev
	msgListenerOutput                        // inst wrote data on stdout
	msgListenerEOF                           // inst's stdout is closed or abandoned
	msgOutputTail                            // an instance's output drained: its last lines
)

type pumpMsg struct {
	kind pumpMsgKind
	ev   *events.Emitted
	inst *listenerInstance
	data []byte
	tail *outputTail
}

// pumpQueue carries messages from output pumps to the loop. The loop
// never waits for a pump. A pump waits only when the messages the loop has
// not taken yet hold maxPumpQueueBytes of output: a child (an event
// listener, a program with capture mode or *_events_enabled) writing
// faster than the loop digests its output is held back by its pipe, as
// under the reference's single loop, instead of growing the daemon.
type pumpQueue struct {
	wake chan struct{}
	mu   sync.Mutex
	msgs []pumpMsg
	// size is the output held by msgs; space is signalled when take or
	// close may have made room.
	size   int
	space  sync.Cond
	closed bool // the loop has ended: messages are dropped
}

// maxPumpQueueBytes bounds the output held by messages the loop has not
// taken yet (one message may pass the bound).
const maxPumpQueueBytes = 16 << 20

func newPumpQueue() *pumpQueue {
	q := &pumpQueue{wake: make(chan struct{}, 1)}
	q.space.L = &q.mu
	return q
}

func (m *pumpMsg) size() int {
	n := len(m.data)
	if m.ev != nil {
		n += len(m.ev.Payload)
	}
	return n
}

// push queues m for the loop, first waiting while the queue is full.
func (q *pumpQueue) push(m pumpMsg) {
	q.mu.Lock()
	for q.size >= maxPumpQueueBytes && !q.closed {
		q.space.Wait()
	}
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.msgs = append(q.msgs, m)
	q.size += m.size()
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *pumpQueue) take() []pumpMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	msgs := q.msgs
	q.msgs, q.size = nil, 0
	q.space.Broadcast()
	return msgs
}

// close drops what is queued and releases every waiting pump; later
// pushes are dropped. The loop calls it before waiting for the pumps.
func (q *pumpQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.msgs, q.size = nil, 0
	q.space.Broadcast()
}

// handlePumpMessages acts on everything the pumps queued, in order.
func (e *Engine) handlePumpMessages() {
	for _, m := range e.ev.queue.take() {
		switch m.kind {
		case msgEvent:
			e.emit(m.ev)
		case msgListenerOutput:
			e.listenerOutput(m.inst, m.data)
		case msgListenerEOF:
			e.listenerClosed(m.inst)
		case msgOutputTail:
			e.outputTailed(m.tail)
		}
	}
}

// emit hands an event to every pool subscribed to its type, as the
// reference's notify does: the first pool to accept it assigns its global
// serial; a full buffer drops its oldest event.
func (e *Engine) emit(ev *events.Emitted) {
	for _, lp := range e.ev.pools {
		if !lp.pool.Subscribes(ev.Type) {
			continue
		}
		if dropped, ok := lp.pool.Accept(ev, e.ev.serial); ok {
			e.log.Logf(protocol.LevelError, "pool %s event buffer overflowed, discarding event %d", lp.name(), dropped.Event.Serial())
		}
	}
}

// stateChanged is called by the machine after every transition: the one
// place where PROCESS_STATE_* events are born. The payload's values are
// taken now, as the reference renders them eagerly.
func (e *Engine) stateChanged(p *process, from protocol.ProcessState, now time.Time) {
	switch p.state {
	case protocol.StateStarting:
		e.listenerStarting(p)
	case protocol.StateRunning:
		p.armWatchdog(now)
		p.startChecks(now)
	}
	e.dependencyChanged(p, from)
	e.processEnded(p)
	typ, ok := events.ForProcessState(p.state.String())
	if !ok {
		return
	}
	sc := events.StateChange{
		Process: p.name(), Group: p.group.cfg.Name, From: from.String(), To: typ,
		Tries: p.backoff, PID: p.pid, Expected: p.exitedAsExpected(),
	}
	e.emit(events.New(typ, sc.Payload()))
}

// groupAdded creates the listener pool of a new [eventlistener:x] group
// (before the event, so a pool receives its own PROCESS_GROUP_ADDED) and
// emits PROCESS_GROUP_ADDED.
func (e *Engine) groupAdded(g *group) {
	if g.cfg.Kind == config.KindEventListener {
		e.ev.pools = append(e.ev.pools, e.newListenerPool(g))
	}
	e.emit(events.New(events.ProcessGroupAdded, events.GroupPayload(g.cfg.Name)))
}

// groupRemoved unsubscribes the group's pool (its buffered events are
// dropped) and emits PROCESS_GROUP_REMOVED.
func (e *Engine) groupRemoved(g *group) {
	for i, lp := range e.ev.pools {
		if lp.g == g {
			e.ev.pools = append(e.ev.pools[:i:i], e.ev.pools[i+1:]...)
			break
		}
	}
	e.emit(events.New(events.ProcessGroupRemoved, events.GroupPayload(g.cfg.Name)))
}

// supervisorRunning is the start of the loop: SUPERVISOR_STATE_CHANGE_RUNNING
// and the first tick slices (the first TICK comes at the next boundary).
func (e *Engine) supervisorRunning(now time.Time) {
	e.ev.ticks = map[int64]int64{}
	for _, tt := range events.TickTypes {
		e.ev.ticks[tt.Period] = events.Timeslice(tt.Period, now.Unix())
	}
	e.emit(events.New(events.SupervisorStateChangeRunning, ""))
}

// supervisorStopping is the first loop step of a shutdown or restart.
func (e *Engine) supervisorStopping() {
	e.emit(events.New(events.SupervisorStateChangeStopping, ""))
}

// tick emits TICK_n for every period whose slice changed since the last
// step. Without subscribers nothing is accepted (no serial is used), and
// tickDeadline arms no timer for it.
func (e *Engine) tick(now time.Time) {
	if e.ev.ticks == nil {
		return
	}
	for _, tt := range events.TickTypes {
		slice := events.Timeslice(tt.Period, now.Unix())
		if slice != e.ev.ticks[tt.Period] {
			e.ev.ticks[tt.Period] = slice
			e.emit(events.New(tt.Type, events.TickPayload(slice)))
		}
	}
}

// eventsDeadline is the next period boundary some pool subscribes to, or
// the end of a shutdown's hold on a listener pool if that comes first.
func (e *Engine) eventsDeadline() (time.Time, bool) {
	at, found := e.tickDeadline()
	if e.ev.hold != nil && (!found || e.ev.holdUntil.Before(at)) {
		at, found = e.ev.holdUntil, true
	}
	return at, found
}

// tickDeadline is the next period boundary some pool subscribes to.
func (e *Engine) tickDeadline() (time.Time, bool) {
	var at time.Time
	found := false
	if e.ev.ticks == nil {
		return at, false
	}
	for _, tt := range events.TickTypes {
		if !e.subscribed(tt.Type) {
			continue
		}
		t := time.Unix(e.ev.ticks[tt.Period]+tt.Period, 0)
		if !found || t.Before(at) {
			at, found = t, true
		}
	}
	return at, found
}

func (e *Engine) subscribed(t events.Type) bool {
	for _, lp := range e.ev.pools {
		if lp.pool.Subscribes(t) {
			return true
		}
	}
	return false
}

// SendRemoteCommEvent emits REMOTE_COMMUNICATION to the pools that
// subscribe to it (supervisor.sendRemoteCommEvent).
func (e *Engine) SendRemoteCommEvent(typ, data string) error {
	return e.call(func(time.Time) { e.sendRemoteComm(typ, data) })
}

// sendRemoteComm emits REMOTE_COMMUNICATION; loop goroutine only.
func (e *Engine) sendRemoteComm(typ, data string) {
	e.emit(events.New(events.RemoteCommunication, events.RemoteCommPayload(typ, data)))
}

// AnnounceUpgrade emits SUPERVISOR_UPGRADE_SUCCEEDED (succeeded) or
// SUPERVISOR_UPGRADE_FAILED to the pools that name them. Run must be
// running (or start running: the call waits for it).
func (e *Engine) AnnounceUpgrade(succeeded bool, u events.Upgrade) error {
	t := events.SupervisorUpgradeFailed
	if succeeded {
		t = events.SupervisorUpgradeSucceeded
	}
	return e.call(func(time.Time) { e.emit(events.New(t, u.Payload())) })
}
