package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/rpc"
)

// pending is an operation that finishes later (a start or stop with
// wait): poll reports done and the outcome; next is when poll next has
// something to do on its own (nil = only on events).
type pending struct {
	poll func(now time.Time) (bool, error)
	next func() (time.Time, bool)
}

// waiter is a pending client request; the loop polls it after every step
// and never blocks on it.
type waiter struct {
	ctx   context.Context
	poll  func(now time.Time) bool // true once it has delivered its result
	next  func() (time.Time, bool)
	abort func() // delivers SHUTDOWN_STATE when the engine ends first
}

func (e *Engine) pollWaiters(now time.Time) {
	if len(e.waiters) > 0 {
		e.publish() // a waiter answered must find its outcome published
	}
	kept := e.waiters[:0]
	for _, w := range e.waiters {
		if w.ctx.Err() != nil || w.poll(now) {
			continue
		}
		kept = append(kept, w)
	}
	clear(e.waiters[len(kept):])
	e.waiters = kept
}

func (e *Engine) finishWaiters() {
	for _, w := range e.waiters {
		w.abort()
	}
	e.waiters = nil
}

// await waits for a reply under the caller's ctx.
func await[T any](e *Engine, ctx context.Context, c <-chan T) (T, error) {
	var zero T
	select {
	case v := <-c:
		return v, nil
	case <-ctx.Done():
		// Wake the loop so that it drops the abandoned waiter now.
		_ = e.call(func(time.Time) {})
		return zero, ctx.Err()
	case <-e.done:
		select {
		case v := <-c:
			return v, nil
		default:
		}
		return zero, errStopped
	}
}

func asFault(err error) *rpc.Fault {
	var f *rpc.Fault
	if errors.As(err, &f) {
		return f
	}
	return rpc.NewFault(protocol.FaultFailed, err.Error())
}

// lookup resolves "proc" or "group:proc" to an active process.
func (e *Engine) lookup(name string) (*process, error) {
	gname, pname, ok := strings.Cut(name, ":")
	if !ok {
		pname = gname
	}
	g := e.groups[gname]
	if g == nil || pname == "" || pname == "*" {
		return nil, rpc.NewFault(protocol.FaultBadName, name)
	}
	for _, p := range g.procs {
		if p.name() == pname {
			return p, nil
		}
	}
	return nil, rpc.NewFault(protocol.FaultBadName, name)
}

// startOne is startProcess for one process: an error now, a pending wait,
// or (nil, nil) when done.
func (e *Engine) startOne(p *process, name string, wait bool, now time.Time) (*pending, error) {
	if _, _, err := e.resolveCommand(p.group.src, p.cfg); err != nil {
		var ce *commandError
		if errors.As(err, &ce) && ce.notFound {
			return nil, rpc.NewFault(protocol.FaultNoFile, err.Error())
		}
		return nil, rpc.NewFault(protocol.FaultNotExecutable, err.Error())
	}
	if p.state.IsRunning() {
		return nil, rpc.NewFault(protocol.FaultAlreadyStarted, name)
	}
	if p.state == protocol.StateUnknown {
		return nil, rpc.NewFault(protocol.FaultFailed, name+" is in an unknown process state")
	}
	e.mach.spawnProcess(p, now)
	e.reap(now)
	if p.spawnErr != "" {
		return nil, rpc.NewFault(protocol.FaultSpawnError, name)
	}
	e.mach.transition(p, now, e.moodNow())
	if !wait || p.state == protocol.StateRunning {
		return nil, nil
	}
	return &pending{poll: func(time.Time) (bool, error) {
		switch {
		case p.spawnErr != "":
			return true, rpc.NewFault(protocol.FaultSpawnError, name)
		case p.state == protocol.StateRunning:
			return true, nil
		case p.state != protocol.StateStarting:
			return true, rpc.NewFault(protocol.FaultAbnormalTermination, name)
		}
		return false, nil
	}}, nil
}

// stopOne is stopProcess for one process.
func (e *Engine) stopOne(p *process, name string, wait bool, now time.Time) (*pending, error) {
	if !p.state.IsRunning() {
		return nil, rpc.NewFault(protocol.FaultNotRunning, name)
	}
	if msg := e.mach.stopProcess(p, now); msg != "" {
		return nil, rpc.NewFault(protocol.FaultFailed, msg)
	}
	e.reap(now)
	if !wait || p.state.IsStopped() {
		return nil, nil
	}
	return &pending{
		poll: func(now time.Time) (bool, error) {
			e.mach.stopReport(p, now)
			return p.state.IsStopped(), nil
		},
		next: func() (time.Time, bool) {
			if p.state != protocol.StateStopping {
				return time.Time{}, false
			}
			return p.lastReport.Add(2 * time.Second), true
		},
	}, nil
}

// signalOne is signalProcess for one process.
func (e *Engine) signalOne(p *process, name, signal string, now time.Time) error {
	sig, err := config.ParseSignal(signal)
	if err != nil {
		return rpc.NewFault(protocol.FaultBadSignal, signal)
	}
	if !p.state.IsSignallable() {
		return rpc.NewFault(protocol.FaultNotRunning, name)
	}
	if msg := e.mach.signalProcess(p, sig, now); msg != "" {
		return rpc.NewFault(protocol.FaultFailed, msg)
	}
	return nil
}

// single runs a one-process operation, waiting for it under ctx.
func (e *Engine) single(ctx context.Context, name string, op func(p *process, now time.Time) (*pending, error)) error {
	reply := make(chan error, 1)
	if err := e.call(func(now time.Time) {
		p, err := e.lookup(name)
		if err != nil {
			reply <- err
			return
		}
		pd, err := op(p, now)
		if err != nil || pd == nil {
			reply <- err
			return
		}
		e.waiters = append(e.waiters, &waiter{
			ctx: ctx,
			poll: func(now time.Time) bool {
				done, err := pd.poll(now)
				if done {
					reply <- err
				}
				return done
			},
			next:  pd.next,
			abort: func() { reply <- errStopped },
		})
	}); err != nil {
		return err
	}
	err, werr := await(e, ctx, reply)
	if werr != nil {
		return werr
	}
	return err
}

// many runs an operation over processes as the reference's make_allfunc:
// immediate outcomes first, then waits in completion order.
func (e *Engine) many(ctx context.Context, groupName string, pred func(*process) bool,
	op func(p *process, name string, now time.Time) (*pending, error)) ([]rpc.Result, error) {
	type outcome struct {
		results []rpc.Result
		err     error
	}
	reply := make(chan outcome, 1)
	if err := e.call(func(now time.Time) {
		var procs []*process
		if groupName != "" {
			g := e.groups[groupName]
			if g == nil {
				reply <- outcome{err: rpc.NewFault(protocol.FaultBadName, groupName)}
				return
			}
			procs = g.byPriority()
		} else {
			for _, g := range e.order {
				procs = append(procs, g.byPriority()...)
			}
		}
		results := []rpc.Result{}
		type waiting struct {
			p  *process
			pd *pending
		}
		var waits []waiting
		for _, p := range procs {
			if !pred(p) {
				continue
			}
			pd, err := op(p, p.namespec(), now)
			switch {
			case err != nil:
				results = append(results, faultResult(p, err))
			case pd == nil:
				results = append(results, okResult(p))
			default:
				waits = append(waits, waiting{p, pd})
			}
		}
		if len(waits) == 0 {
			reply <- outcome{results: results}
			return
		}
		e.waiters = append(e.waiters, &waiter{
			ctx: ctx,
			poll: func(now time.Time) bool {
				waits = slices.DeleteFunc(waits, func(w waiting) bool {
					done, err := w.pd.poll(now)
					switch {
					case done && err != nil:
						results = append(results, faultResult(w.p, err))
					case done:
						results = append(results, okResult(w.p))
					}
					return done
				})
				if len(waits) == 0 {
					reply <- outcome{results: results}
					return true
				}
				return false
			},
			next: func() (time.Time, bool) {
				var at time.Time
				found := false
				for _, w := range waits {
					if w.pd.next == nil {
						continue
					}
					if t, ok := w.pd.next(); ok && (!found || t.Before(at)) {
						at, found = t, true
					}
				}
				return at, found
			},
			abort: func() { reply <- outcome{results: results, err: errStopped} },
		})
	}); err != nil {
		return nil, err
	}
	out, err := await(e, ctx, reply)
	if err != nil {
		return nil, err
	}
	return out.results, out.err
}

func okResult(p *process) rpc.Result {
	return rpc.Result{Name: p.name(), Group: p.group.cfg.Name, Status: protocol.FaultSuccess, Description: "OK"}
}

func faultResult(p *process, err error) rpc.Result {
	f := asFault(err)
	return rpc.Result{Name: p.name(), Group: p.group.cfg.Name, Status: f.Code, Description: f.String}
}

func notRunning(p *process) bool  { return !p.state.IsRunning() }
func running(p *process) bool     { return p.state.IsRunning() }
func signallable(p *process) bool { return p.state.IsSignallable() }

// StartProcess starts one process; with wait it returns once the process is
// RUNNING or has failed.
func (e *Engine) StartProcess(ctx context.Context, name string, wait bool) error {
	return e.single(ctx, name, func(p *process, now time.Time) (*pending, error) {
		return e.startOne(p, name, wait, now)
	})
}

// StartProcessGroup starts every process of a group that is not running.
func (e *Engine) StartProcessGroup(ctx context.Context, group string, wait bool) ([]rpc.Result, error) {
	return e.many(ctx, group, notRunning, func(p *process, name string, now time.Time) (*pending, error) {
		return e.startOne(p, name, wait, now)
	})
}

// StartAllProcesses starts every process that is not running, in priority order.
func (e *Engine) StartAllProcesses(ctx context.Context, wait bool) ([]rpc.Result, error) {
	return e.many(ctx, "", notRunning, func(p *process, name string, now time.Time) (*pending, error) {
		return e.startOne(p, name, wait, now)
	})
}

// StopProcess stops one process; with wait it returns once it has stopped.
func (e *Engine) StopProcess(ctx context.Context, name string, wait bool) error {
	return e.single(ctx, name, func(p *process, now time.Time) (*pending, error) {
		return e.stopOne(p, name, wait, now)
	})
}

// StopProcessGroup stops the running processes of a group.
func (e *Engine) StopProcessGroup(ctx context.Context, group string, wait bool) ([]rpc.Result, error) {
	return e.many(ctx, group, running, func(p *process, name string, now time.Time) (*pending, error) {
		return e.stopOne(p, name, wait, now)
	})
}

// StopAllProcesses stops every running process.
func (e *Engine) StopAllProcesses(ctx context.Context, wait bool) ([]rpc.Result, error) {
	return e.many(ctx, "", running, func(p *process, name string, now time.Time) (*pending, error) {
		return e.stopOne(p, name, wait, now)
	})
}

// SignalProcess sends a signal (name or number) to one process.
func (e *Engine) SignalProcess(name, signal string) error {
	return e.single(context.Background(), name, func(p *process, now time.Time) (*pending, error) {
		return nil, e.signalOne(p, name, signal, now)
	})
}

// SignalProcessGroup signals the signallable processes of a group.
func (e *Engine) SignalProcessGroup(group, signal string) ([]rpc.Result, error) {
	return e.many(context.Background(), group, signallable, func(p *process, name string, now time.Time) (*pending, error) {
		return nil, e.signalOne(p, name, signal, now)
	})
}

// SignalAllProcesses signals every signallable process.
func (e *Engine) SignalAllProcesses(signal string) ([]rpc.Result, error) {
	return e.many(context.Background(), "", signallable, func(p *process, name string, now time.Time) (*pending, error) {
		return nil, e.signalOne(p, name, signal, now)
	})
}

// State is supervisord's state.
func (e *Engine) State() protocol.SupervisorState { return e.moodNow() }

// PID is supervisord's pid.
func (e *Engine) PID() int { return e.pid }

// Identification is the identifier of the config read last.
func (e *Engine) Identification() string {
	var id string
	if e.call(func(time.Time) { id = e.identifier }) != nil {
		return e.identifier // the loop has ended: no more writers
	}
	return id
}

// MainLogPath is the main log file, "" when there is none.
func (e *Engine) MainLogPath() string {
	if e.opts.MainLog == nil {
		return ""
	}
	return e.opts.MainLog.Path()
}

// ClearMainLog empties the main log (clearLog).
func (e *Engine) ClearMainLog() error {
	if e.MainLogPath() == "" {
		return rpc.NewFault(protocol.FaultNoFile, "")
	}
	// The reference logs this line just before it reopens, so the line
	// goes to the file being removed and the new log starts empty.
	e.log.Logf(protocol.LevelInfo, "reopening log file")
	if err := e.opts.MainLog.Clear(); err != nil {
		return rpc.NewFault(protocol.FaultFailed, "")
	}
	return nil
}

// ReloadConfig re-reads the config file and reports how its groups differ
// from the active ones; it changes no process.
func (e *Engine) ReloadConfig() (added, changed, removed []string, err error) {
	if e.opts.Reload == nil {
		return nil, nil, nil, rpc.NewFault(protocol.FaultCantReread, "no configuration file to re-read")
	}
	cfg, err := e.opts.Reload()
	if err != nil {
		return nil, nil, nil, rpc.NewFault(protocol.FaultCantReread, err.Error())
	}
	if err := e.call(func(time.Time) {
		active := &config.Config{Supervisord: e.cfg.Supervisord}
		for _, g := range e.order {
			active.Groups = append(active.Groups, g.cfg)
		}
		added, changed, removed = config.Diff(active, cfg)
		e.cfg = cfg
		e.identifier = cfg.Supervisord.Identifier
	}); err != nil {
		return nil, nil, nil, err
	}
	return added, changed, removed, nil
}

// AddProcessGroup activates a group of the config read last; its autostart
// processes start at once.
func (e *Engine) AddProcessGroup(name string) error {
	var err error
	if cerr := e.call(func(time.Time) {
		idx := slices.IndexFunc(e.cfg.Groups, func(g *config.Group) bool { return g.Name == name })
		switch {
		case idx < 0:
			err = rpc.NewFault(protocol.FaultBadName, name)
		case e.groups[name] != nil:
			err = rpc.NewFault(protocol.FaultAlreadyAdded, name)
		default:
			if aerr := e.addGroup(e.cfg.Groups[idx]); aerr != nil {
				err = rpc.NewFault(protocol.FaultFailed, aerr.Error())
			}
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

// RemoveProcessGroup deactivates a group whose processes are all stopped.
func (e *Engine) RemoveProcessGroup(name string) error {
	var err error
	if cerr := e.call(func(time.Time) {
		g := e.groups[name]
		switch {
		case g == nil:
			err = rpc.NewFault(protocol.FaultBadName, name)
		case len(g.unstopped()) > 0:
			err = rpc.NewFault(protocol.FaultStillRunning, name)
		default:
			e.removeGroup(g)
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

// GroupExists reports whether an active group of that name exists.
func (e *Engine) GroupExists(group string) bool {
	s, err := e.snapshot()
	return err == nil && s.groups[group]
}

// ProcessInfo is a snapshot of one process ("name" or "group:name"),
// read from the last published snapshot without waking the loop.
func (e *Engine) ProcessInfo(name string) (rpc.ProcessInfo, error) {
	s, err := e.snapshot()
	if err != nil {
		return rpc.ProcessInfo{}, err
	}
	gname, pname, ok := strings.Cut(name, ":")
	if !ok {
		pname = gname
	}
	i, ok := s.index[gname][pname]
	if !ok {
		return rpc.ProcessInfo{}, rpc.NewFault(protocol.FaultBadName, name)
	}
	return withNow(s.infos[i], e.clock.Now().Unix()), nil
}

// AllProcessInfo is a snapshot of every process, by group then name,
// read like ProcessInfo.
func (e *Engine) AllProcessInfo() []rpc.ProcessInfo {
	s, err := e.snapshot()
	if err != nil {
		return []rpc.ProcessInfo{}
	}
	now := e.clock.Now().Unix()
	out := make([]rpc.ProcessInfo, len(s.infos))
	for i, info := range s.infos {
		out[i] = withNow(info, now)
	}
	return out
}

func processInfo(p *process, now time.Time) rpc.ProcessInfo {
	info := rpc.ProcessInfo{
		Name:          p.name(),
		Group:         p.group.cfg.Name,
		Now:           now.Unix(),
		State:         p.state,
		SpawnErr:      p.spawnErr,
		ExitStatus:    p.exitStatus,
		Logfile:       p.stdoutPath,
		StdoutLogfile: p.stdoutPath,
		StderrLogfile: p.stderrPath,
		PID:           p.pid,
	}
	if !p.started.IsZero() {
		info.Start = p.started.Unix()
	}
	if !p.stopped.IsZero() {
		info.Stop = p.stopped.Unix()
	}
	info.Description = describe(info)
	return info
}

// describe is the reference's _interpretProcessInfo.
func describe(info rpc.ProcessInfo) string {
	switch info.State {
	case protocol.StateRunning:
		// Built by appending: this runs for every RUNNING process on each
		// getProcessInfo and getAllProcessInfo.
		b := make([]byte, 0, 48)
		b = append(b, "pid "...)
		b = strconv.AppendInt(b, int64(info.PID), 10)
		b = append(b, ", uptime "...)
		return string(appendUptime(b, max(info.Now-info.Start, 0)))
	case protocol.StateFatal, protocol.StateBackoff:
		if info.SpawnErr != "" {
			return info.SpawnErr
		}
		return fmt.Sprintf("unknown error (try \"tail %s\")", info.Name)
	case protocol.StateStopped, protocol.StateExited:
		if info.Start == 0 {
			return "Not started"
		}
		return time.Unix(info.Stop, 0).Local().Format("Jan 02 03:04 PM")
	}
	return ""
}

// appendUptime renders seconds as Python's timedelta: "1 day, 2:03:04".
func appendUptime(b []byte, secs int64) []byte {
	days, rest := secs/86400, secs%86400
	switch {
	case days == 1:
		b = append(b, "1 day, "...)
	case days > 1:
		b = strconv.AppendInt(b, days, 10)
		b = append(b, " days, "...)
	}
	b = strconv.AppendInt(b, rest/3600, 10)
	for _, n := range []int64{rest % 3600 / 60, rest % 60} {
		b = append(b, ':', byte('0'+n/10), byte('0'+n%10))
	}
	return b
}

// AllConfigInfo describes every process of the config read last.
func (e *Engine) AllConfigInfo() []rpc.ConfigInfo {
	out := []rpc.ConfigInfo{}
	_ = e.call(func(time.Time) {
		for _, gc := range e.cfg.Groups {
			active := e.groups[gc.Name]
			for _, pc := range gc.Processes {
				ci := rpc.ConfigInfo{
					Autostart: pc.Autostart, Command: pc.Command, Directory: noneIfEmpty(pc.Directory),
					ExitCodes: append([]int{}, pc.ExitCodes...), Group: gc.Name, GroupPrio: gc.Priority,
					InUse: active != nil, KillAsGroup: pc.KillAsGroup, Name: pc.Name, ProcessPrio: pc.Priority,
					RedirectStderr: pc.RedirectStderr, ServerURL: "none",
					StartRetries: pc.StartRetries, StartSecs: pc.StartSecs,
					StdoutCaptureMaxBytes: pc.Stdout.CaptureMaxBytes, StdoutEventsEnabled: pc.Stdout.EventsEnabled,
					StdoutLogfileBackups: pc.Stdout.Backups, StdoutLogfileMaxBytes: pc.Stdout.MaxBytes, StdoutSyslog: pc.Stdout.Syslog,
					StderrCaptureMaxBytes: pc.Stderr.CaptureMaxBytes, StderrEventsEnabled: pc.Stderr.EventsEnabled,
					StderrLogfileBackups: pc.Stderr.Backups, StderrLogfileMaxBytes: pc.Stderr.MaxBytes, StderrSyslog: pc.Stderr.Syslog,
					StopSignal: int(pc.StopSignal), StopWaitSecs: pc.StopWaitSecs, UID: "none",
				}
				if u := strings.TrimSpace(pc.ServerURL); u != "" && !strings.EqualFold(u, "AUTO") {
					ci.ServerURL = pc.ServerURL
				}
				if pc.User != "" && pc.UID >= 0 {
					ci.UID = strconv.Itoa(pc.UID)
				}
				ci.StdoutLogfile = configLogName(pc.Stdout)
				ci.StderrLogfile = configLogName(pc.Stderr)
				if active != nil && active.cfg == gc {
					// AUTO names are real paths once the group exists.
					for _, p := range active.procs {
						if p.cfg == pc {
							if pc.Stdout.Auto {
								ci.StdoutLogfile = p.stdoutPath
							}
							if pc.Stderr.Auto && p.stderrPath != "" {
								ci.StderrLogfile = p.stderrPath
							}
						}
					}
				}
				out = append(out, ci)
			}
		}
	})
	slices.SortStableFunc(out, func(a, b rpc.ConfigInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func noneIfEmpty(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func configLogName(lc config.LogConfig) string {
	if lc.Auto {
		return "auto"
	}
	return noneIfEmpty(lc.File)
}

// SendProcessStdin queues data for the process's stdin; the write happens
// on the process's own writer goroutine.
func (e *Engine) SendProcessStdin(name string, data []byte) error {
	var err error
	if cerr := e.call(func(time.Time) {
		var p *process
		if p, err = e.lookup(name); err != nil {
			return
		}
		switch {
		case p.pid == 0 || p.killing:
			err = rpc.NewFault(protocol.FaultNotRunning, name)
		case p.io == nil || p.io.stdin == nil:
			err = rpc.NewFault(protocol.FaultNoFile, name)
		case p.io.stdin.send(data) != nil:
			err = rpc.NewFault(protocol.FaultNoFile, name)
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

// SendRemoteCommEvent emits REMOTE_COMMUNICATION to the pools that
// subscribe to it.
func (e *Engine) SendRemoteCommEvent(typ, data string) error {
	return e.call(func(time.Time) { e.sendRemoteComm(typ, data) })
}

// LogFile is the current log file of a process channel, "" when none.
func (e *Engine) LogFile(name, channel string) (string, error) {
	var path string
	var err error
	if cerr := e.call(func(time.Time) {
		var p *process
		if p, err = e.lookup(name); err != nil {
			return
		}
		switch channel {
		case "stdout":
			path = p.stdoutPath
		case "stderr":
			path = p.stderrPath
		default:
			err = rpc.NewFault(protocol.FaultBadArguments, "channel "+channel)
		}
	}); cerr != nil {
		return "", cerr
	}
	return path, err
}

// ClearProcessLogs empties a process's log files (backups are kept).
func (e *Engine) ClearProcessLogs(name string) error {
	var writers []logWriter
	var err error
	if cerr := e.call(func(time.Time) {
		var p *process
		if p, err = e.lookup(name); err == nil {
			writers = e.processWriters(p)
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	return clearWriters(writers, name)
}

// ClearAllProcessLogs empties every process's logs, in priority order.
func (e *Engine) ClearAllProcessLogs() []rpc.Result {
	type entry struct {
		p       *process
		name    string
		writers []logWriter
	}
	var entries []entry
	_ = e.call(func(time.Time) {
		for _, g := range e.order {
			for _, p := range g.procs {
				entries = append(entries, entry{p, p.namespec(), e.processWriters(p)})
			}
		}
	})
	results := []rpc.Result{}
	for _, en := range entries {
		if err := clearWriters(en.writers, en.name); err != nil {
			results = append(results, faultResult(en.p, err))
		} else {
			results = append(results, okResult(en.p))
		}
	}
	return results
}

// processWriters opens (if needed) and returns a process's log writers.
func (e *Engine) processWriters(p *process) []logWriter {
	e.openLogs(p)
	var out []logWriter
	for _, w := range []logWriter{p.stdoutLog, p.stderrLog} {
		if w != nil {
			out = append(out, w)
		}
	}
	return out
}

func clearWriters(writers []logWriter, name string) error {
	for _, w := range writers {
		if err := w.Clear(); err != nil {
			return rpc.NewFault(protocol.FaultFailed, name)
		}
	}
	return nil
}
