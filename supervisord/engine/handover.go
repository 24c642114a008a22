package engine

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/safefs"
	"gosupervisor/logrot"
	"gosupervisor/supervisord/events"
	"gosupervisor/supervisord/handover"
)

// An upgrade in place, as the engine sees it: BeginUpgrade freezes the
// configuration and describes the state for the new binary's check;
// Freeze stops the loop and takes the state with duplicates of every
// pipe and socket, without disturbing a single process; the successor
// (a new binary after exec, or this one again when the exec failed)
// builds an Engine with Options.Resume from it.

// Handover is the engine's part of a handover.
type Handover struct {
	State handover.Engine
	// Configs are the configurations State refers to by index.
	Configs []*config.Config
	// Mono is CLOCK_MONOTONIC (ns) at the instant the remaining
	// durations count from.
	Mono int64
}

// Resume is a predecessor's state for New (Options.Resume).
type Resume struct {
	State handover.Engine
	// Configs are the configurations State refers to, parsed by this
	// binary (config.Replay).
	Configs []*config.Config
	// Elapsed is the time since the state was taken (the exec's):
	// remaining durations shrink by it.
	Elapsed time.Duration
	// Adopted says what the resume could not take over; New appends to
	// it. Nil discards the notes.
	Adopted *[]string
}

// BeginUpgrade starts an upgrade. Until EndUpgrade or Freeze, calls that
// would change the configuration being handed over (reloadConfig,
// addProcessGroup, removeProcessGroup, a restart) fail with
// ErrUpgrading. It returns the state as it is now, without descriptors,
// for the new binary's check. It fails with ErrUpgrading while another
// upgrade is in progress and with ErrShutdown during a shutdown.
func (e *Engine) BeginUpgrade() (*Handover, error) {
	var h *Handover
	var err error
	if cerr := e.call(func(now time.Time) {
		switch {
		case e.moodNow() != protocol.SupervisorRunning:
			err = fail(ErrShutdown, "")
		case e.upgrading:
			err = fail(ErrUpgrading, "an upgrade is already in progress")
		case e.inCgroup() != "":
			// Not handed over yet: the leaf, its OOM baseline.
			err = fail(ErrFailed, e.inCgroup()+" runs in a cgroup of its own (cgroup_* keys), whose state cannot be handed over yet")
		default:
			e.upgrading = true
			h = e.export(now, handover.Monotonic(), nil)
		}
	}); cerr != nil {
		return nil, cerr
	}
	return h, err
}

// inCgroup names a process that has a cgroup leaf, "" if none. Loop
// goroutine only.
func (e *Engine) inCgroup() string {
	for _, g := range e.order {
		for _, p := range g.procs {
			if p.res.leaf != nil {
				return p.namespec()
			}
		}
	}
	return ""
}

// DrainsUntil is when the output of the instances that exited last is
// read no more (their pipes' grace, see releaseIO); zero when none is
// being drained. Freeze waits for those pumps, so a handover that waits
// for this instant first, while still serving, is unresponsive for less.
func (e *Engine) DrainsUntil() time.Time {
	var until time.Time
	_ = e.call(func(time.Time) {
		for _, d := range e.draining {
			if d.until.After(until) {
				until = d.until
			}
		}
	})
	return until
}

// EndUpgrade ends an upgrade that will not happen: the configuration may
// change again.
func (e *Engine) EndUpgrade() {
	_ = e.call(func(time.Time) { e.upgrading = false })
}

// refuseDuringUpgrade is ErrUpgrading while an upgrade is in progress.
// Loop goroutine only.
func (e *Engine) refuseDuringUpgrade() error {
	if e.upgrading {
		return fail(ErrUpgrading, "try again once the upgrade is done")
	}
	return nil
}

// Freeze ends Run for a handover (it returns ExitUpgrade) and takes the
// state: every process runs on, its pipes are read no more (what the
// pumps had read is in the logs, the rest waits in the pipes), requests
// still waiting are answered ErrUpgrading, and later calls fail with
// ErrUpgrading. The descriptors the state names are duplicates the
// caller owns. It fails, changing nothing, during a shutdown (a request
// to stop came during the upgrade) or when the descriptors cannot be
// duplicated.
func (e *Engine) Freeze() (*Handover, error) {
	var h *Handover
	var err error
	if cerr := e.call(func(now time.Time) { h, err = e.freeze(now) }); cerr != nil {
		return nil, cerr
	}
	return h, err
}

// instanceFDs are one instance's duplicated descriptors.
type instanceFDs struct {
	stdin   int // -1: none
	outputs []int
}

func (e *Engine) freeze(now time.Time) (*Handover, error) {
	if e.moodNow() != protocol.SupervisorRunning {
		return nil, fail(ErrShutdown, "")
	}
	// Duplicate everything first: a failure leaves the engine running.
	fds := map[*process]*instanceFDs{}
	sockets := map[*group]int{}
	var dups []int
	undo := func(err error) (*Handover, error) {
		for _, fd := range dups {
			unix.Close(fd)
		}
		return nil, fail(ErrFailed, err.Error())
	}
	for _, g := range e.order {
		if g.socket != nil {
			fd, err := handover.Dup(int(g.socket.Fd()))
			if err != nil {
				return undo(err)
			}
			dups = append(dups, fd)
			sockets[g] = fd
		}
		for _, p := range g.procs {
			if p.io == nil {
				continue
			}
			ifd := &instanceFDs{stdin: -1}
			for _, o := range p.io.outputs {
				fd, err := o.r.Dup()
				switch {
				case errors.Is(err, os.ErrClosed):
					// Read to its end (the process is exiting, its reap
					// still to come): nothing left to hand over.
					fd = -1
				case err != nil:
					return undo(err)
				default:
					dups = append(dups, fd)
				}
				ifd.outputs = append(ifd.outputs, fd)
			}
			if p.io.stdin != nil {
				fd, err := p.io.stdin.dup()
				if err != nil {
					return undo(err)
				}
				if fd >= 0 {
					dups = append(dups, fd)
				}
				ifd.stdin = fd
			}
			fds[p] = ifd
		}
	}
	socks := map[*process]int{}
	for _, g := range e.order {
		for _, p := range g.procs {
			if p.ntf.sock == nil {
				continue
			}
			fd, err := p.ntf.sock.Dup()
			if err != nil {
				return undo(err)
			}
			dups = append(dups, fd)
			socks[p] = fd
		}
	}
	// Nothing fails from here on.
	e.finishWaiters(fail(ErrUpgrading, "the wait was cut short; the operation goes on"))
	e.freezeReadiness(now)
	pending := map[*process][]byte{}
	for p := range fds {
		p.io.handing.Store(true)
		for _, o := range p.io.outputs {
			_ = o.r.SetReadDeadline(time.Unix(1, 0))
		}
		if p.io.stdin != nil {
			pending[p] = p.io.stdin.detach()
		}
	}
	// Pumps finish the chunk in hand (exited instances drain as long as
	// their grace lets them) and may queue events meanwhile.
	pumpsDone := make(chan struct{})
	go func() {
		e.pumps.Wait()
		close(pumpsDone)
	}()
	for waiting := true; waiting; {
		select {
		case <-pumpsDone:
			waiting = false
		case <-e.ev.queue.wake:
			e.handlePumpMessages()
		}
	}
	e.handlePumpMessages()
	e.draining = nil

	h := e.export(now, handover.Monotonic(), func(p *process, hp *handover.Process) {
		ifd := fds[p]
		if ifd == nil {
			return
		}
		if ifd.stdin >= 0 {
			hp.Stdin = &handover.Stdin{FD: ifd.stdin, Pending: pending[p]}
		}
		for i, o := range p.io.outputs {
			if ifd.outputs[i] < 0 {
				continue
			}
			ho := handover.Output{Channel: o.channel.String(), FD: ifd.outputs[i]}
			if o.capture != nil {
				s := o.capture.Snapshot()
				ho.Capture = &handover.Capture{Capturing: s.Capturing, Pending: s.Pending, Captured: s.Captured}
			}
			hp.Outputs = append(hp.Outputs, ho)
		}
	})
	for i, g := range e.order {
		for j, p := range g.procs {
			if fd, ok := socks[p]; ok {
				hp := &h.State.Groups[i].Processes[j]
				if hp.Readiness == nil { // a socket without the keys: a reload removed them
					hp.Readiness = &handover.Readiness{Child: p.ntf.child}
				}
				hp.Readiness.Socket = &handover.NotifySocket{FD: fd, Addr: p.ntf.sock.Addr()}
				// The file stays: the successor receives at the same
				// address, the program notices nothing.
				p.ntf.sock.Leave()
				p.ntf.sock = nil
			}
		}
	}
	// The directory is the successor's now (a private one is not
	// removed).
	e.notifier = nil
	for i, g := range e.order {
		if fd, ok := sockets[g]; ok {
			h.State.Groups[i].Socket = &fd
		}
	}
	for p := range fds {
		p.io = nil
	}
	e.upgrading = false
	e.exit = ExitUpgrade
	e.endErr = errHandedOver
	e.finished = true
	return h, nil
}

// export describes the engine's state at now. withIO, when set, adds a
// running instance's pipes to its record.
func (e *Engine) export(now time.Time, mono int64, withIO func(p *process, hp *handover.Process)) *Handover {
	h := &Handover{Mono: mono}
	index := map[*config.Config]int{}
	cfgIndex := func(c *config.Config) int {
		i, ok := index[c]
		if !ok {
			i = len(h.Configs)
			index[c] = i
			h.Configs = append(h.Configs, c)
		}
		return i
	}
	h.State.Config = cfgIndex(e.cfg)
	for _, g := range e.order {
		hg := handover.Group{Name: g.cfg.Name, Config: cfgIndex(g.src)}
		for _, p := range g.procs {
			hp := p.export(now)
			hp.Readiness = e.exportReadiness(p, now)
			if lp := e.poolOf(p); lp != nil && p.pid != 0 && lp.current[p] != nil {
				hp.Listener = lp.current[p].export()
			}
			if withIO != nil {
				withIO(p, &hp)
			}
			hg.Processes = append(hg.Processes, hp)
		}
		h.State.Groups = append(h.State.Groups, hg)
	}
	if e.notifier != nil {
		if path, private, seq := e.notifier.State(); path != "" {
			h.State.NotifyDir = &handover.NotifyDir{Path: path, Private: private, Seq: seq}
		}
	}
	if e.opts.Service != nil {
		h.State.Service = &handover.ServiceState{Ready: e.svc.ready}
	}
	ev := &h.State.Events
	ev.Serial = e.ev.serial.Peek()
	if e.ev.ticks != nil {
		ev.Ticks = map[string]int64{}
		for period, slice := range e.ev.ticks {
			ev.Ticks[strconv.FormatInt(period, 10)] = slice
		}
	}
	for _, lp := range e.ev.pools {
		hpool := handover.Pool{Group: lp.name(), Next: lp.pool.NextSerial()}
		for _, en := range lp.pool.Entries() {
			hpool.Buffer = append(hpool.Buffer, exportEvent(en))
		}
		ev.Pools = append(ev.Pools, hpool)
	}
	return h
}

// export describes p's record (without its pipes).
func (p *process) export(now time.Time) handover.Process {
	hp := handover.Process{
		Name: p.name(), State: p.state.String(), PID: p.pid, Serial: p.serial,
		Started: p.started, Stopped: p.stopped, LastReport: p.lastReport,
		Backoff: p.backoff, Killing: p.killing, SpawnErr: p.spawnErr, ExitStatus: p.exitStatus,
	}
	for name, at := range p.due.named() {
		if !at.IsZero() {
			if hp.Deadlines == nil {
				hp.Deadlines = map[string]int64{}
			}
			hp.Deadlines[name] = int64(at.Sub(now))
		}
	}
	for _, ch := range protocol.Channels {
		l := handover.Log{Channel: ch.String(), Path: p.logs[ch].path}
		if l.Path != "" {
			if st, err := safefs.Stat(l.Path); err == nil {
				l.Size = st.Size()
			}
		}
		hp.Logs = append(hp.Logs, l)
	}
	return hp
}

// named lists the deadlines by their names in the state document: the
// core's, and those of the feature readiness (a check in flight, whose
// timeout is probe, is not handed over but run again).
func (d *deadlines) named() map[string]*time.Time {
	return map[string]*time.Time{"running": &d.running, "retry": &d.retry, "kill": &d.kill,
		"ready": &d.ready, "watchdog": &d.watchdog, "force": &d.force, "check": &d.check}
}

// export describes a listener instance's protocol state.
func (inst *listenerInstance) export() *handover.Listener {
	s := inst.proto.Snapshot()
	hl := &handover.Listener{
		State: int(s.State), Buf: s.Buf, Result: s.Result, ResultLen: s.ResultLen, Got: s.Got,
		StdinFull: inst.stdinFull, Closed: inst.closed,
	}
	if inst.busy {
		ev := exportEvent(inst.held)
		hl.Held = &ev
	}
	return hl
}

func exportEvent(en events.Entry) handover.Event {
	return handover.Event{Type: en.Event.Type.String(), Payload: en.Event.Payload, Serial: en.Event.Serial(), PoolSerial: en.PoolSerial}
}

func importEvent(he handover.Event) (events.Entry, error) {
	t, ok := events.ParseType(he.Type)
	if !ok || t.Abstract() {
		return events.Entry{}, fmt.Errorf("unknown event type %q", he.Type)
	}
	return events.Entry{Event: events.Restored(t, he.Payload, he.Serial), PoolSerial: he.PoolSerial}, nil
}

// resume takes over a predecessor's state (New with Options.Resume).
// What it cannot take over it notes in r.Adopted and leaves alone: a
// child is never killed, its pid is only reaped.
func (e *Engine) resume(r *Resume) error {
	note := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		e.log.Logf(protocol.LevelCritical, "upgrade: %s", msg)
		if r.Adopted != nil {
			*r.Adopted = append(*r.Adopted, msg)
		}
	}
	st := r.State
	if st.Config < 0 || st.Config >= len(r.Configs) {
		return fmt.Errorf("resume: configuration %d of %d", st.Config, len(r.Configs))
	}
	e.resumed = true
	now := e.clock.Now()
	e.cfg = r.Configs[st.Config]
	e.identifier = e.cfg.Supervisord.Identifier
	if nd := st.NotifyDir; nd != nil {
		e.notifyDir().Resume(nd.Path, nd.Private, nd.Seq)
	}
	if st.Service != nil {
		e.svc.resumeReady = st.Service.Ready
	}
	e.ev.serial.Restore(st.Events.Serial)
	e.ev.ticks = map[int64]int64{}
	for _, tt := range events.TickTypes {
		e.ev.ticks[tt.Period] = events.Timeslice(tt.Period, now.Unix())
	}
	for k, v := range st.Events.Ticks {
		if period, err := strconv.ParseInt(k, 10, 64); err == nil {
			e.ev.ticks[period] = v
		}
	}
	type restored struct {
		p  *process
		hp *handover.Process
	}
	var running []restored
	for _, hg := range st.Groups {
		if hg.Config < 0 || hg.Config >= len(r.Configs) {
			return fmt.Errorf("resume: group %s: configuration %d of %d", hg.Name, hg.Config, len(r.Configs))
		}
		src := r.Configs[hg.Config]
		var gc *config.Group
		for _, c := range src.Groups {
			if c.Name == hg.Name {
				gc = c
				break
			}
		}
		if gc == nil || e.groups[hg.Name] != nil {
			for _, hp := range hg.Processes {
				e.adoptStray(hg.Name, hp, notConfigured, note)
			}
			if hg.Socket != nil {
				unix.Close(*hg.Socket)
			}
			continue
		}
		g := &group{cfg: gc, src: src}
		records := map[string]*handover.Process{}
		for i := range hg.Processes {
			records[hg.Processes[i].Name] = &hg.Processes[i]
		}
		for _, pc := range gc.Processes {
			p := &process{cfg: pc, group: g}
			hp := records[pc.Name]
			delete(records, pc.Name)
			if hp == nil {
				// A process this binary's reading of the configuration
				// has and the old one had not: a new record.
				for _, ch := range protocol.Channels {
					if ch == protocol.Stderr && pc.RedirectStderr {
						continue
					}
					var err error
					if p.logs[ch].path, err = e.logPath(pc, ch); err != nil {
						// Not worth abandoning every other process for.
						note("%s: %v; its %s goes to no log file", p.namespec(), err, ch)
					}
				}
			} else if err := p.restore(hp, now, r.Elapsed); err != nil {
				e.adoptStray(hg.Name, *hp, fmt.Sprintf("could not be taken over (%v)", err), note)
				// Stopped, and not autostarted: a second instance
				// would compete with the one running on.
				p = &process{cfg: pc, group: g, state: protocol.StateStopped, started: now, stopped: now}
				for _, l := range hp.Logs {
					if ch, ok := protocol.ParseChannel(l.Channel); ok {
						p.logs[ch].path = l.Path
					}
				}
			} else if p.pid != 0 {
				e.byPID[p.pid] = p
				running = append(running, restored{p, hp})
			} else {
				closeIO(hp)
			}
			e.reapChecks(p, hp)
			g.procs = append(g.procs, p)
		}
		for _, hp := range records {
			e.adoptStray(hg.Name, *hp, notConfigured, note)
		}
		if hg.Socket != nil && g.isFCGI() {
			g.socket = os.NewFile(uintptr(*hg.Socket), gc.Socket.URL)
			unix.CloseOnExec(*hg.Socket)
		} else if hg.Socket != nil {
			unix.Close(*hg.Socket)
		}
		e.groups[gc.Name] = g
		e.order = append(e.order, g)
	}
	for _, hpool := range st.Events.Pools {
		g := e.groups[hpool.Group]
		if g == nil || g.cfg.Kind != config.KindEventListener {
			note("event pool %s: no such listener group; its %d buffered events are dropped", hpool.Group, len(hpool.Buffer))
			continue
		}
		lp := e.newListenerPool(g)
		var entries []events.Entry
		for _, he := range hpool.Buffer {
			en, err := importEvent(he)
			if err != nil {
				note("event pool %s: %v: event %d dropped", hpool.Group, err, he.Serial)
				continue
			}
			entries = append(entries, en)
		}
		lp.pool.Restore(entries, hpool.Next)
		e.ev.pools = append(e.ev.pools, lp)
	}
	for _, g := range e.order {
		if g.cfg.Kind == config.KindEventListener && e.poolOfGroup(g) == nil {
			e.ev.pools = append(e.ev.pools, e.newListenerPool(g))
		}
	}
	for _, rp := range running {
		if err := e.resumeIO(rp.p, rp.hp); err != nil {
			note("%s (pid %d): %v", rp.p.namespec(), rp.p.pid, err)
		}
	}
	return nil
}

// restore sets p's record from hp; deadlines shrink by elapsed.
func (p *process) restore(hp *handover.Process, now time.Time, elapsed time.Duration) error {
	state, ok := parseState(hp.State)
	if !ok {
		return fmt.Errorf("unknown state %q", hp.State)
	}
	p.state, p.pid, p.serial = state, hp.PID, hp.Serial
	p.started, p.stopped, p.lastReport = hp.Started, hp.Stopped, hp.LastReport
	p.backoff, p.killing, p.spawnErr, p.exitStatus = hp.Backoff, hp.Killing, hp.SpawnErr, hp.ExitStatus
	if err := p.restoreReadiness(hp.Readiness, now, elapsed); err != nil {
		return err
	}
	named := p.due.named()
	for name, remaining := range hp.Deadlines {
		at := named[name]
		if at == nil {
			return fmt.Errorf("unknown deadline %q", name)
		}
		*at = now.Add(time.Duration(remaining) - elapsed)
	}
	for _, l := range hp.Logs {
		if ch, ok := protocol.ParseChannel(l.Channel); ok {
			p.logs[ch].path = l.Path
		}
	}
	return nil
}

func parseState(name string) (protocol.ProcessState, bool) {
	for _, s := range protocol.ProcessStates {
		if s.String() == name {
			return s, true
		}
	}
	return 0, false
}

// resumeIO takes over a running instance's pipes and listener state and
// starts its pumps.
func (e *Engine) resumeIO(p *process, hp *handover.Process) error {
	if lp := e.poolOf(p); lp != nil {
		inst := &listenerInstance{p: p, pool: lp, proto: events.NewListener()}
		if hl := hp.Listener; hl != nil {
			inst.proto = events.RestoreListener(events.ListenerSnapshot{
				State: events.ListenerState(hl.State), Buf: hl.Buf, Result: hl.Result, ResultLen: hl.ResultLen, Got: hl.Got,
			})
			inst.stdinFull, inst.closed = hl.StdinFull, hl.Closed
			if hl.Held != nil {
				en, err := importEvent(*hl.Held)
				if err != nil {
					return fmt.Errorf("listener: %w", err)
				}
				inst.held, inst.busy = en, true
			}
		}
		lp.current[p] = inst
	}
	io := &instanceIO{}
	var errs []error
	for _, ho := range hp.Outputs {
		ch, ok := protocol.ParseChannel(ho.Channel)
		if !ok {
			unix.Close(ho.FD)
			errs = append(errs, fmt.Errorf("unknown channel %q", ho.Channel))
			continue
		}
		src, err := logrot.AdoptPipe(ho.FD)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		o := outputPipe{channel: ch, r: src}
		if lc := p.cfg.Log(ch); ho.Capture != nil && lc.CaptureMaxBytes > 0 {
			o.capture = events.NewCapture(lc.CaptureMaxBytes)
			o.capture.Restore(events.CaptureSnapshot{Capturing: ho.Capture.Capturing, Pending: ho.Capture.Pending, Captured: ho.Capture.Captured})
		}
		io.outputs = append(io.outputs, o)
	}
	if hs := hp.Stdin; hs != nil {
		if err := unix.SetNonblock(hs.FD, true); err != nil {
			unix.Close(hs.FD)
			errs = append(errs, fmt.Errorf("stdin: %w", err))
		} else {
			unix.CloseOnExec(hs.FD)
			io.stdin = newStdinWriter(os.NewFile(uintptr(hs.FD), "|0"), hs.Pending, &e.stdinWG)
		}
	}
	if err := e.resumeNotify(p, hp.Readiness); err != nil {
		errs = append(errs, err)
	}
	e.openLogs(p)
	e.startIO(p, io, p.pid)
	return errors.Join(errs...)
}

// notConfigured is why adoptStray keeps a child whose group or program
// is not in the configuration.
const notConfigured = "is not in the configuration"

// adoptStray keeps a child the resume has no record for (its group or
// program is not in the configuration: why says so) or cannot read the
// record of (a record of a state this binary does not know, say): its
// pid is reaped when it exits
// and its output still goes to its log files, so it neither dies of a
// closed pipe nor blocks on a full one. It is never signalled. Its pipes
// are read until the engine ends (they are not handed over again).
func (e *Engine) adoptStray(group string, hp handover.Process, why string, note func(string, ...any)) {
	if hp.PID == 0 {
		closeIO(&hp)
		return
	}
	note("%s:%s (pid %d) %s: it runs on unsupervised, never signalled, its output still goes to its logs", group, hp.Name, hp.PID, why)
	if hp.Stdin != nil {
		unix.Close(hp.Stdin.FD)
	}
	closeNotifySocket(hp.Readiness)
	for _, ho := range hp.Outputs {
		src, err := logrot.AdoptPipe(ho.FD)
		if err != nil {
			continue
		}
		var w *logrot.Writer
		for _, l := range hp.Logs {
			if l.Channel == ho.Channel && l.Path != "" {
				w, _ = logrot.Open(l.Path, 0, 0)
			}
		}
		e.strayIO = append(e.strayIO, src)
		e.strayWG.Add(1)
		go func() {
			defer e.strayWG.Done()
			_ = logrot.Pump(src, w, nil)
			if w != nil {
				w.Close()
			}
		}()
	}
	e.strays[hp.PID] = group + ":" + hp.Name
}

// closeIO closes the descriptors of a record that has no running
// instance (there should be none).
func closeIO(hp *handover.Process) {
	if hp.Stdin != nil {
		unix.Close(hp.Stdin.FD)
	}
	for _, o := range hp.Outputs {
		unix.Close(o.FD)
	}
	closeNotifySocket(hp.Readiness)
}

// closeNotifySocket closes a record's notification socket that nobody
// takes over, and removes its file.
func closeNotifySocket(r *handover.Readiness) {
	if r == nil || r.Socket == nil {
		return
	}
	s := r.Socket
	unix.Close(s.FD)
	if strings.HasPrefix(s.Addr, "/") {
		os.Remove(s.Addr)
	}
}

// RunHelper spawns a child for the daemon itself (the upgrade's check)
// through the engine, whose one reaper must collect every child. The
// channel receives its wait status once it has exited. Run must be
// running.
func (e *Engine) RunHelper(spec *SpawnSpec) (int, <-chan syscall.WaitStatus, error) {
	c := make(chan syscall.WaitStatus, 1)
	var pid int
	var err error
	if cerr := e.call(func(time.Time) {
		if pid, err = e.os.Start(spec); err == nil {
			e.helpers[pid] = c
		}
	}); cerr != nil {
		return 0, nil, cerr
	}
	if err != nil {
		return 0, nil, err
	}
	return pid, c, nil
}

// KillHelper sends sig to a helper RunHelper started, unless it has
// been reaped already (its pid may be someone else's by then).
func (e *Engine) KillHelper(pid int, sig syscall.Signal) {
	_ = e.call(func(time.Time) {
		if e.helpers[pid] != nil {
			_ = e.os.Kill(pid, sig)
		}
	})
}
