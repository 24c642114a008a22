package engine

import (
	"bytes"
	"errors"
	"time"
	"unicode/utf8"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
	"gosupervisor/logrot"
	"gosupervisor/supervisord/events"
)

// defaultResultHandler is the only result_handler this daemon runs: OK
// means processed, anything else means rejected.
const defaultResultHandler = "supervisor.dispatchers:default_handler"

// listenerPool is an [eventlistener:x] group's event buffer and the
// protocol state of each of its processes.
type listenerPool struct {
	g    *group
	pool *events.Pool
	// current is each process's running (or last) instance.
	current map[*process]*listenerInstance
}

// listenerInstance is one spawn of a listener process: its protocol
// parser and the event it is working on. Output of an exited instance
// that is still being drained keeps acting on its own instance.
type listenerInstance struct {
	p      *process
	pool   *listenerPool
	proto  *events.Listener
	held   events.Entry // the event being processed while BUSY
	busy   bool         // held is set
	closed bool         // stdout reached EOF: never dispatch again
	// stdinFull: an event could not be sent because the listener does
	// not read its stdin (logged once, until a send succeeds).
	stdinFull bool
}

func (lp *listenerPool) name() string { return lp.g.cfg.Name }

func (e *Engine) newListenerPool(g *group) *listenerPool {
	var types []events.Type
	for _, name := range g.cfg.Events {
		t, ok := events.ParseType(name)
		if !ok {
			e.log.Logf(protocol.LevelWarn, "pool %s: ignoring unknown event type %s", g.cfg.Name, name)
			continue
		}
		types = append(types, t)
	}
	if h := g.cfg.ResultHandler; h != "" && h != defaultResultHandler {
		e.log.Logf(protocol.LevelWarn, "pool %s: result_handler %s is not supported, using %s (OK processes an event, anything else rejects it)", g.cfg.Name, h, defaultResultHandler)
	}
	return &listenerPool{g: g, pool: events.NewPool(g.cfg.Name, types, g.cfg.BufferSize), current: map[*process]*listenerInstance{}}
}

// poolOf is the pool p belongs to, nil when p is no event listener.
func (e *Engine) poolOf(p *process) *listenerPool {
	if p.group.cfg.Kind != config.KindEventListener {
		return nil
	}
	return e.poolOfGroup(p.group)
}

// listenerStarting gives a listener process that is being spawned a new
// instance in the ACKNOWLEDGED state.
func (e *Engine) listenerStarting(p *process) {
	if lp := e.poolOf(p); lp != nil {
		lp.current[p] = &listenerInstance{p: p, pool: lp, proto: events.NewListener()}
	}
}

// dispatchEvents sends each pool's oldest events to its READY listeners,
// stopping at the first event no listener can take. Writes go through
// the listener's stdin writer goroutine: the loop never blocks on them.
func (e *Engine) dispatchEvents() {
	for _, lp := range e.ev.pools {
		if !dispatchCapable(lp) {
			continue
		}
		for {
			entry, ok := lp.pool.Peek()
			if !ok {
				break
			}
			if !e.deliver(lp, entry) {
				// The reference takes the event out, finds no READY
				// listener (the last one just took the event before)
				// and puts it back, with this line.
				e.log.Logf(protocol.LevelDebug, "rebuffering event %d for pool %s (buf size=%d, max=%d)", entry.Event.Serial(), lp.name(), lp.pool.Len()-1, lp.g.cfg.BufferSize)
				break
			}
			lp.pool.Pop()
		}
	}
}

// dispatchCapable reports whether a listener of the pool is RUNNING and
// READY: only then does the reference try to dispatch the pool's events.
func dispatchCapable(lp *listenerPool) bool {
	for _, p := range lp.g.procs {
		if inst := lp.current[p]; p.state == protocol.StateRunning && inst != nil && !inst.closed && inst.proto.State() == events.ListenerReady {
			return true
		}
	}
	return false
}

// deliver writes entry to the first RUNNING and READY listener of the
// pool, in pool order, as the reference does (no round robin).
func (e *Engine) deliver(lp *listenerPool, entry events.Entry) bool {
	for _, p := range lp.g.procs {
		inst := lp.current[p]
		if p.state != protocol.StateRunning || inst == nil || inst.closed || inst.proto.State() != events.ListenerReady {
			continue
		}
		if p.io == nil || p.io.stdin == nil {
			continue
		}
		env := events.Envelope{
			Server: e.identifier, Serial: entry.Event.Serial(), Pool: lp.name(),
			PoolSerial: entry.PoolSerial, Type: entry.Event.Type, Payload: entry.Event.Payload,
		}
		var full *errStdinFull
		if err := p.io.stdin.send(env.Bytes()); errors.As(err, &full) {
			if !inst.stdinFull {
				e.log.Logf(protocol.LevelWarn, "listener %s: %v: event %d is not sent to it", p.name(), err, entry.Event.Serial())
				inst.stdinFull = true
			}
			continue
		} else if err != nil {
			e.log.Logf(protocol.LevelDebug, "epipe occurred while sending event %d to listener %s, listener state unchanged", entry.Event.Serial(), p.name())
			continue
		}
		inst.stdinFull = false
		inst.proto.Dispatched()
		inst.held, inst.busy = entry, true
		e.log.Logf(protocol.LevelDebug, "event %d sent to listener %s", entry.Event.Serial(), p.name())
		return true
	}
	return false
}

// listenerOutput runs the protocol on what a listener wrote to stdout.
func (e *Engine) listenerOutput(inst *listenerInstance, data []byte) {
	name := inst.p.name()
	for _, st := range inst.proto.Feed(data) {
		switch st.Kind {
		case events.StepState:
			e.log.Logf(protocol.LevelDebug, "%s: %s -> %s", name, st.From, st.To)
			if st.To == events.ListenerUnknown {
				e.log.Logf(protocol.LevelWarn, "%s: has entered the UNKNOWN state and will no longer receive events, this usually indicates the process violated the eventlistener protocol", name)
			}
		case events.StepProcessed:
			e.log.Logf(protocol.LevelDebug, "%s: event was processed", name)
			inst.held, inst.busy = events.Entry{}, false
		case events.StepRefused:
			e.log.Logf(protocol.LevelWarn, "%s: event was rejected", name)
		case events.StepBadResult:
			line := string(st.Body)
			if !utf8.Valid(st.Body) {
				line = "Undecodable: " + pyrepr.Bytes(st.Body)
			}
			e.log.Logf(protocol.LevelWarn, "%s: bad result line: '%s'", name, line)
		case events.StepLongResult:
			e.log.Logf(protocol.LevelWarn, "%s: bad result line: no newline in its first %d bytes (it starts with %s)", name, events.MaxResultLine, pyrepr.Bytes(st.Body))
		case events.StepRequeue:
			e.requeue(inst)
		}
	}
}

// listenerClosed handles the end of an instance's stdout. An event it was
// still working on goes back to the head of the pool: the listener died
// (or closed its stdout) before answering.
func (e *Engine) listenerClosed(inst *listenerInstance) {
	inst.closed = true
	e.requeue(inst)
}

// requeue puts the instance's current event back at the head of its
// pool, unless the pool has been removed meanwhile.
func (e *Engine) requeue(inst *listenerInstance) {
	if !inst.busy {
		return
	}
	entry := inst.held
	inst.held, inst.busy = events.Entry{}, false
	lp := inst.pool
	if e.poolOf(inst.p) != lp {
		return
	}
	e.log.Logf(protocol.LevelDebug, "rebuffering event %d for pool %s (buf size=%d, max=%d)", entry.Event.Serial(), lp.name(), lp.pool.Len(), lp.g.cfg.BufferSize)
	if dropped, ok := lp.pool.Requeue(entry); ok {
		e.log.Logf(protocol.LevelError, "pool %s event buffer overflowed, discarding event %d", lp.name(), dropped.Event.Serial())
	}
}

// eventFilter extends base (the channel's plain output filter, nil for
// the zero-copy path) with what events need, and returns what the pump
// must do at EOF (nil when nothing). A listener's stdout is its protocol
// channel: every chunk goes to the loop, and to the log file only. Other
// channels get capture mode (*_capture_maxbytes) and PROCESS_LOG events
// (*_events_enabled). It runs on the loop when the instance spawns; the
// returned functions run on the pump's goroutine.
// A capture splitter given (a handover's, restored) is used instead of a
// new one; the splitter in use is returned, nil when none.
func (e *Engine) eventFilter(p *process, ch protocol.Channel, pid int, w logWriter, base func([]byte) []byte, capture *events.Capture) (func([]byte) []byte, func(), *events.Capture) {
	if lp := e.poolOf(p); lp != nil && ch == protocol.Stdout && lp.current[p] != nil {
		filter, atEOF := e.listenerFilter(lp.current[p])
		return filter, atEOF, nil
	}
	lc := p.cfg.Log(ch)
	logType, commType := events.ProcessLogStdout, events.ProcessCommunicationStdout
	if ch == protocol.Stderr {
		logType, commType = events.ProcessLogStderr, events.ProcessCommunicationStderr
	}
	if !lc.EventsEnabled && lc.CaptureMaxBytes <= 0 {
		return base, nil, nil
	}
	q := e.ev.queue
	name, group := p.name(), p.group.cfg.Name
	plain := func(d []byte) []byte {
		if base != nil {
			return base(d)
		}
		return d
	}
	emitLog := func(d []byte) {
		if lc.EventsEnabled && len(d) > 0 {
			q.push(pumpMsg{kind: msgEvent, ev: events.New(logType, events.LogPayload(name, group, pid, ch.String(), d))})
		}
	}
	if lc.CaptureMaxBytes <= 0 {
		return func(chunk []byte) []byte {
			out := plain(chunk)
			emitLog(out)
			return out
		}, nil, nil
	}
	if capture == nil {
		capture = events.NewCapture(lc.CaptureMaxBytes)
	}
	strip := e.cfg.Supervisord.StripANSI
	if strip {
		capture.Strip = logrot.StripANSI
	}
	debug := e.log.Enabled(protocol.LevelDebug)
	log, repr := e.log, pyrepr.Str(name)
	filter := func(chunk []byte) []byte {
		var out []byte
		for _, pc := range capture.Feed(chunk) {
			switch pc.Kind {
			case events.PieceOutput:
				d := plain(pc.Data)
				out = append(out, d...)
				emitLog(d)
			case events.PieceCaptured:
				if debug {
					log.Logf(protocol.LevelDebug, "%s %s output:\n%s", repr, ch, events.DecodeData(pc.Data))
				}
				emitLog(pc.Data)
			case events.PieceComm:
				q.push(pumpMsg{kind: msgEvent, ev: events.New(commType, events.CommPayload(name, group, pid, pc.Data))})
				log.Logf(protocol.LevelDebug, "%s %s emitted a comm event", repr, ch)
			}
		}
		return out
	}
	atEOF := func() {
		for _, pc := range capture.Flush() {
			d := plain(pc.Data)
			if w != nil && len(d) > 0 {
				_, _ = w.Write(d)
			}
			emitLog(d)
		}
	}
	return filter, atEOF, capture
}

// listenerFilter copies each chunk of a listener's stdout to the loop for
// the protocol parser, logs it at debug level as the reference does
// (bytes repr), and returns what goes to stdout_logfile.
func (e *Engine) listenerFilter(inst *listenerInstance) (func([]byte) []byte, func()) {
	q := e.ev.queue
	strip := e.cfg.Supervisord.StripANSI
	debug := e.log.Enabled(protocol.LevelDebug)
	log, repr := e.log, pyrepr.Str(inst.p.name())
	filter := func(chunk []byte) []byte {
		if debug {
			log.Logf(protocol.LevelDebug, "%s stdout output:\n%s", repr, pyrepr.Bytes(chunk))
		}
		q.push(pumpMsg{kind: msgListenerOutput, inst: inst, data: bytes.Clone(chunk)})
		if strip {
			chunk = logrot.StripANSI(chunk)
		}
		return chunk
	}
	return filter, func() { q.push(pumpMsg{kind: msgListenerEOF, inst: inst}) }
}

// holdListeners reports whether a shutdown should wait before stopping g:
// a listener pool gets up to listenerStopGrace to answer its event in
// flight and take what is buffered for it (SUPERVISOR_STATE_CHANGE_STOPPING
// and the other programs' stops among them). The reference does not wait,
// but its slower loop usually lets a listener answer
// SUPERVISOR_STATE_CHANGE_STOPPING; without a hold ours would kill it first.
func (e *Engine) holdListeners(g *group, now time.Time) bool {
	lp := e.poolOfGroup(g)
	if lp == nil {
		return false
	}
	if e.ev.hold != g {
		e.ev.hold, e.ev.holdUntil = g, now.Add(listenerStopGrace)
	}
	if !now.Before(e.ev.holdUntil) {
		e.ev.hold = nil
		return false
	}
	for p, inst := range lp.current {
		if p.state != protocol.StateRunning || inst.closed {
			continue
		}
		// ACKNOWLEDGED: it has answered (or just started) and READY is
		// about to follow.
		st := inst.proto.State()
		waiting := lp.pool.Len() > 0 && (st == events.ListenerReady || st == events.ListenerAcknowledged)
		if inst.busy || waiting {
			return true
		}
	}
	e.ev.hold = nil
	return false
}

func (e *Engine) poolOfGroup(g *group) *listenerPool {
	for _, lp := range e.ev.pools {
		if lp.g == g {
			return lp
		}
	}
	return nil
}
