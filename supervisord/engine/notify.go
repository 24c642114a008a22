package engine

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"gosupervisor/config"
	"gosupervisor/internal/procfs"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
	"gosupervisor/internal/sdnotify"
	"gosupervisor/supervisord/events"
	"gosupervisor/supervisord/notify"
)

// Programs with sd_notify keys (notify, notify_access, watchdog_secs) get
// a notification socket per spawn (package notify). Its goroutine answers
// bare keep-alives itself and hands everything else to the loop, which
// acts here: READY=1 ends STARTING, STATUS= decorates the description,
// a missed keep-alive or WATCHDOG=trigger ends the instance with
// watchdog_signal, MAINPID= moves the pid signals go to.

// Notifier makes the notification sockets of programs with sd_notify
// keys. The real one binds AF_UNIX sockets in notify_dir; engine tests
// substitute a fake.
type Notifier interface {
	Listen(o notify.Options) (NotifySocket, error)
	// Adopt takes over a socket bound at addr that an upgrade in place
	// handed over (its descriptor fd).
	Adopt(o notify.Options, fd int, addr string) (NotifySocket, error)
	// State and Resume hand the directory over in an upgrade in place
	// (see notify.Dir).
	State() (path string, private bool, seq uint64)
	Resume(path string, private bool, seq uint64)
	// Close removes what the notifier made (a private directory) once
	// every socket is closed.
	Close() error
}

// NotifySocket is one spawn's socket (a *notify.Socket).
type NotifySocket interface {
	// Addr is the child's NOTIFY_SOCKET.
	Addr() string
	// SetMainPID tells the socket which pid's keep-alives it may take
	// by itself.
	SetMainPID(pid int)
	// LastPing is the last keep-alive the socket took by itself.
	LastPing() time.Time
	// Drain stops the socket and returns, in order, what it received
	// and has not handed over yet.
	Drain() []notify.Delivery
	Close()
	// Dup and Leave hand the socket over in an upgrade in place: a
	// duplicate of its descriptor, then a Close that keeps its file.
	Dup() (int, error)
	Leave()
}

// dirNotifier is the real Notifier.
type dirNotifier struct{ d *notify.Dir }

func (n dirNotifier) Listen(o notify.Options) (NotifySocket, error) {
	s, err := n.d.Listen(o)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (n dirNotifier) Adopt(o notify.Options, fd int, addr string) (NotifySocket, error) {
	s, err := n.d.Adopt(o, fd, addr)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (n dirNotifier) State() (string, bool, uint64) { return n.d.State() }

func (n dirNotifier) Resume(path string, private bool, seq uint64) { n.d.Resume(path, private, seq) }

func (n dirNotifier) Close() error { return n.d.Close() }

// The reasons the engine ends an instance by itself. Such an exit never
// counts as expected, so autorestart=unexpected restarts the program.
const (
	// ExitWatchdog: a keep-alive was missed, or the program sent
	// WATCHDOG=trigger.
	ExitWatchdog ExitReason = "watchdog"
	// ExitHealth: the health check found it unhealthy
	// (healthcheck_action=restart).
	ExitHealth ExitReason = "health"
	// ExitReadyTimeout: no READY=1 within ready_timeout_secs.
	ExitReadyTimeout ExitReason = "ready-timeout"
)

// notifyState is what the current instance's notifications said. It is
// reset at each spawn.
type notifyState struct {
	sock NotifySocket // nil when the instance has no socket
	// child is the pid the engine spawned; p.pid moves away from it when
	// the program names another main pid (MAINPID=).
	child   int
	ready   bool   // READY=1 seen, not withdrawn by RELOADING=1 or STOPPING=1
	status  string // STATUS=, sanitised
	errno   int    // ERRNO=
	limit   time.Duration
	pinged  time.Time // the last keep-alive the loop took, or when the watchdog was armed
	refused bool      // a refused sender has been logged
}

// notifyToken names the spawn a socket belongs to.
type notifyToken struct {
	p      *process
	serial uint64
}

// openNotify creates the socket of p's next spawn, when its config wants
// one.
func (e *Engine) openNotify(p *process) error {
	p.ntf = notifyState{}
	nc := p.cfg.Notify
	if !nc.Socket() {
		return nil
	}
	sock, err := e.notifyDir().Listen(e.notifyOptions(p))
	if err != nil {
		return fmt.Errorf("couldn't create notify socket: %v", err)
	}
	p.ntf.sock = sock
	p.ntf.limit = time.Duration(nc.WatchdogSecs) * time.Second
	return nil
}

// notifyDir is the Notifier, made on first use.
func (e *Engine) notifyDir() Notifier {
	if e.notifier == nil {
		dir := notify.NewDir(e.cfg.Supervisord.NotifyDir, os.TempDir(), e.pid)
		e.notifier = dirNotifier{dir}
	}
	return e.notifier
}

// notifyOptions describe the socket of p's current instance.
func (e *Engine) notifyOptions(p *process) notify.Options {
	uid, gid := -1, -1
	if p.cfg.User != "" && p.cfg.UID >= 0 && p.cfg.UID != os.Geteuid() {
		uid, gid = p.cfg.UID, p.cfg.GID
	}
	return notify.Options{
		Group: p.group.cfg.Name, Name: p.name(), UID: uid, GID: gid,
		Access: p.cfg.Notify.Access, Out: e.notifyc, Token: notifyToken{p, p.serial}, Now: e.clock.Now,
	}
}

// closeNotify closes the current instance's socket, if any.
func (p *process) closeNotify() {
	if p.ntf.sock != nil {
		p.ntf.sock.Close()
		p.ntf.sock = nil
	}
}

// notifyEnv is env with the sd_notify variables of p's spawn: its own
// NOTIFY_SOCKET and, with a watchdog, WATCHDOG_USEC. Whatever the
// daemon's environment or environment= says for those names goes: a
// program must report to its own socket. WATCHDOG_PID is left out, which
// libsystemd and go-systemd read as "the watchdog is for whoever reads
// this" (an exec shim that keeps the pid could set it to the pid).
func (p *process) notifyEnv(env []string) []string {
	env = stripNotifyEnv(env)
	if p.ntf.sock == nil {
		return env
	}
	env = append(env, sdnotify.EnvSocket+"="+p.ntf.sock.Addr())
	if p.ntf.limit > 0 {
		env = append(env, sdnotify.EnvWatchdogUSec+"="+strconv.FormatInt(p.ntf.limit.Microseconds(), 10))
	}
	return env
}

// stripNotifyEnv drops NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID.
func stripNotifyEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k != sdnotify.EnvSocket && k != sdnotify.EnvWatchdogUSec && k != sdnotify.EnvWatchdogPID {
			out = append(out, kv)
		}
	}
	return out
}

// notified handles one delivery from a socket's goroutine.
func (e *Engine) notified(d notify.Delivery, now time.Time) {
	tok, _ := d.Token.(notifyToken)
	p := tok.p
	if p == nil || tok.serial != p.serial || p.ntf.sock == nil {
		return // the instance is gone
	}
	if d.Err != nil {
		e.log.Logf(protocol.LevelWarn, "notify: %s: %v (further bad notifications are dropped silently)", p.name(), d.Err)
		return
	}
	m := d.Msg
	if m.Barrier && m == (sdnotify.Message{Barrier: true}) {
		return // its descriptor is closed now that the loop took it
	}
	if !notify.Permits(p.cfg.Notify.Access, d.PID, d.UID, p.pid, p.ntfProgramUID()) {
		if !p.ntf.refused {
			p.ntf.refused = true
			e.log.Logf(protocol.LevelWarn, "notify: %s: refused a notification from pid %d (uid %d) under notify_access=%s; main pid is %d (further ones are dropped silently)",
				p.name(), d.PID, d.UID, p.cfg.Notify.Access, p.pid)
		}
		return
	}
	if m.MainPID != 0 {
		e.moveMainPID(p, m.MainPID, d.UID, now)
	}
	if m.HasStatus {
		if s := sanitizeStatus(m.Status); s != p.ntf.status {
			p.ntf.status = s
			e.emit(events.New(events.ProcessNotifyStatus, events.NotifyStatusPayload(p.name(), p.group.cfg.Name, p.pid, s)))
		}
	}
	if m.Errno != 0 {
		p.ntf.errno = m.Errno
	}
	if m.Watchdog {
		p.ntf.pinged = now
	}
	if m.HasWatchdogUSec {
		p.ntf.limit = m.WatchdogUSec
		p.armWatchdog(now)
	}
	if m.ExtendTimeout > 0 {
		p.extendTimeout(now.Add(m.ExtendTimeout))
	}
	switch {
	case m.Stopping:
		// Final, and it wins over READY and RELOADING in the same message.
		p.ntf.ready = false
		if p.state.IsRunning() && p.due.force.IsZero() {
			p.due.force = now.Add(time.Duration(p.cfg.StopWaitSecs) * time.Second)
		}
	case m.Reloading:
		p.ntf.ready = false
	case m.Ready:
		e.sentReady(p, now)
	}
	if m.WatchdogTrigger && p.state.IsRunning() && p.forced == "" {
		e.watchdogFired(p, "trigger", now)
	}
}

// ntfProgramUID is the uid notify_access=all accepts besides root.
func (p *process) ntfProgramUID() int {
	if p.cfg.User != "" && p.cfg.UID >= 0 {
		return p.cfg.UID
	}
	return os.Geteuid()
}

// sentReady handles READY=1: the end of STARTING for a notify=true
// program, or of a reload.
func (e *Engine) sentReady(p *process, now time.Time) {
	if p.ntf.ready || p.forced != "" {
		return
	}
	switch p.state {
	case protocol.StateStarting:
		if !p.cfg.Notify.Ready {
			return
		}
		p.ntf.ready = true
		p.backoff = 0
		e.mach.changeState(p, protocol.StateRunning, now)
		e.log.Logf(protocol.LevelInfo, "success: %s entered RUNNING state, process sent READY=1", p.name())
	case protocol.StateRunning:
		p.ntf.ready = true
	default:
		return
	}
	e.emit(events.New(events.ProcessNotifyReady, events.NotifyReadyPayload(p.name(), p.group.cfg.Name, p.pid)))
}

// extendTimeout is EXTEND_TIMEOUT_USEC: the deadline the instance is
// working against (READY=1, the end of a stop) moves to until if later.
func (p *process) extendTimeout(until time.Time) {
	for _, d := range []*time.Time{&p.due.ready, &p.due.kill, &p.due.force} {
		if !d.IsZero() && d.Before(until) {
			*d = until
		}
	}
}

// armWatchdog (re)starts the keep-alive clock of a RUNNING instance with
// the current limit; a zero limit disarms it.
func (p *process) armWatchdog(now time.Time) {
	p.due.watchdog = time.Time{}
	if p.state != protocol.StateRunning || p.ntf.limit <= 0 || p.forced != "" {
		return
	}
	if p.ntf.pinged.Before(now) {
		p.ntf.pinged = now
	}
	p.due.watchdog = watchdogCheck(p.ntf.pinged.Add(p.ntf.limit + notify.ReadLag))
}

// watchdogCheck is when the loop checks a keep-alive that is due at t:
// the next whole second of the wall clock. Checks of every program then
// share one wake-up a second at most (200 programs pinging every second
// woke the loop 40 times a second), and a watchdog fires within a
// second and a quarter of its limit.
func watchdogCheck(t time.Time) time.Time {
	if rem := t.UnixNano() % int64(time.Second); rem != 0 {
		t = t.Add(time.Duration(int64(time.Second) - rem))
	}
	return t
}

// lastPing is the latest keep-alive, wherever it was taken.
func (p *process) lastPing() time.Time {
	last := p.ntf.pinged
	if p.ntf.sock != nil {
		if t := p.ntf.sock.LastPing(); t.After(last) {
			last = t
		}
	}
	return last
}

// watchdogDue runs when the keep-alive deadline is reached: a keep-alive
// the socket took since moves it on; otherwise the watchdog fires.
func (e *Engine) watchdogDue(p *process, now time.Time) {
	// A keep-alive may sit unread for notify.ReadLag: allow for it.
	if last := p.lastPing(); last.Add(p.ntf.limit + notify.ReadLag).After(now) {
		p.ntf.pinged = last
		p.due.watchdog = watchdogCheck(last.Add(p.ntf.limit + notify.ReadLag))
		return
	}
	e.watchdogFired(p, "timeout", now)
}

// watchdogFired ends the instance with watchdog_signal: reason is
// "timeout" or "trigger". The state stays RUNNING until the exit, which
// then counts as unexpected.
func (e *Engine) watchdogFired(p *process, reason string, now time.Time) {
	sig := p.cfg.Notify.WatchdogSignal
	if reason == "timeout" {
		e.log.Logf(protocol.LevelError, "watchdog: %s missed its keep-alive (limit %v), sending %s", p.name(), p.ntf.limit, config.SignalName(sig))
	} else {
		e.log.Logf(protocol.LevelError, "watchdog: %s sent WATCHDOG=trigger, sending %s", p.name(), config.SignalName(sig))
	}
	e.emit(events.New(events.ProcessNotifyWatchdog, events.NotifyWatchdogPayload(p.name(), p.group.cfg.Name, p.pid, reason)))
	p.res.counts.Watchdogs++
	p.res.version++
	e.forceEnd(p, ExitWatchdog, sig, now)
}

// forceEnd makes the engine end the instance by itself: sig now (to the
// process group with killasgroup), SIGKILL after stopwaitsecs. The state
// does not change until the exit; a stop requested meanwhile is an
// ordinary stop.
func (e *Engine) forceEnd(p *process, why ExitReason, sig syscall.Signal, now time.Time) {
	p.forced = why
	p.due.watchdog = time.Time{}
	e.stopChecks(p)
	p.due.force = now.Add(time.Duration(p.cfg.StopWaitSecs) * time.Second)
	e.signalInstance(p, sig, p.cfg.KillAsGroup)
}

// signalInstance sends sig to the instance, to its process group when
// asGroup (killasgroup for a forced end, as for the final SIGKILL of a
// stop; stopasgroup for a ready timeout's stop signal).
func (e *Engine) signalInstance(p *process, sig syscall.Signal, asGroup bool) {
	target := p.pid
	if asGroup {
		target = -p.pid
	}
	if err := e.kill(target, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		e.log.Logf(protocol.LevelError, "couldn't send %s to %s (pid %d): %v", config.SignalName(sig), p.name(), p.pid, err)
	}
}

// forceDue is reached stopwaitsecs after a forced end (or a STOPPING=1)
// began and the instance still runs: SIGKILL.
func (e *Engine) forceDue(p *process) {
	p.due.force = time.Time{}
	if p.pid == 0 {
		return
	}
	e.log.Logf(protocol.LevelWarn, "killing %s (%d) with SIGKILL", pyrepr.Str(p.name()), p.pid)
	e.signalInstance(p, syscall.SIGKILL, p.cfg.KillAsGroup)
}

// readyDue is reached when a notify=true program has sent no READY=1
// within ready_timeout_secs: it is stopped, and its exit is a failed
// start.
func (e *Engine) readyDue(p *process, now time.Time) {
	p.due.ready = time.Time{}
	e.log.Logf(protocol.LevelWarn, "%s sent no READY=1 within %ds, sending %s", p.name(), p.cfg.Notify.ReadyTimeoutSecs, config.SignalName(p.cfg.StopSignal))
	p.forced = ExitReadyTimeout
	p.due.force = now.Add(time.Duration(p.cfg.StopWaitSecs) * time.Second)
	e.signalInstance(p, p.cfg.StopSignal, p.cfg.StopAsGroup)
}

// failedStartReason is the spawnerr of an instance that ended before
// it was RUNNING, when it is not the reference's "Exited too quickly".
func (p *process) failedStartReason() string {
	msg := ""
	if p.forced == ExitReadyTimeout {
		msg = fmt.Sprintf("no READY=1 within %ds", p.cfg.Notify.ReadyTimeoutSecs)
	}
	if p.ntf.errno != 0 {
		if msg == "" {
			msg = "Exited too quickly (process log may have details)"
		}
		msg += fmt.Sprintf(" (ERRNO=%d: %s)", p.ntf.errno, syscall.Errno(p.ntf.errno).Error())
	}
	return msg
}

// sanitizeStatus keeps a STATUS= text printable on one line: control
// characters become spaces (the text ends up in log lines, descriptions
// and the web UI).
func sanitizeStatus(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// moveMainPID handles MAINPID=n: the program says its main process is now
// n (a daemon that forked). It is accepted when n is alive, is neither
// pid 1 nor supervisord, and descends from the program (parent chain or
// process group), or when root sent it. Signals then go to n; the exit of
// the spawned child no longer ends the instance, n's does.
func (e *Engine) moveMainPID(p *process, n, senderUID int, now time.Time) {
	if n == p.pid || !p.state.IsRunning() {
		return
	}
	if why := e.refuseMainPID(p, n, senderUID); why != "" {
		e.log.Logf(protocol.LevelWarn, "notify: %s: ignoring MAINPID=%d: %s", p.name(), n, why)
		return
	}
	e.log.Logf(protocol.LevelInfo, "notify: %s: main pid is now %d (was %d)", p.name(), n, p.pid)
	if p.pid != p.ntf.child {
		e.stopWatchingMain(p)
	}
	p.pid = n
	e.byPID[n] = p // reaped here too when supervisord is a subreaper
	p.ntf.sock.SetMainPID(n)
}

// refuseMainPID says why MAINPID=n is not acceptable, "" when it is.
func (e *Engine) refuseMainPID(p *process, n, senderUID int) string {
	switch {
	case n == 1 || n == e.pid:
		return "not a pid a program may name"
	case syscall.Kill(n, 0) == syscall.ESRCH:
		return "no such process"
	case senderUID == 0:
		return ""
	}
	for pid, hops := n, 0; pid > 1 && hops < 64; hops++ {
		st, ok := procfs.Stat(pid)
		if !ok {
			break
		}
		if st.PPID == p.pid || st.PPID == p.ntf.child || st.PGRP == p.ntf.child {
			return ""
		}
		pid = st.PPID
	}
	return "it does not descend from the program"
}

// childExitedForMain handles the exit of p's spawned child after the
// program named another main pid: the instance lives on as that pid,
// which the engine watches (it is no child of ours, so its exit status
// stays unknown unless supervisord is a subreaper and reaps it).
func (e *Engine) childExitedForMain(p *process, now time.Time) {
	if e.watchMain(p) {
		return
	}
	e.mainEnded(p, now) // gone already
}

// mainEnded handles the end of p's main pid when it is not our child:
// its exit status is unknown.
func (e *Engine) mainEnded(p *process, now time.Time) {
	e.stopWatchingMain(p)
	delete(e.byPID, p.pid)
	facts := exitFacts{pid: p.pid, serial: p.serial, started: p.started, killing: p.killing}
	e.lastWords(p, now)
	e.mach.finishUnknown(p, now)
	e.recordExit(p, unknownExit, facts, now)
	e.instanceEnded(p, now)
}

// watchMain starts watching p's main pid; false when it is gone.
func (e *Engine) watchMain(p *process) bool {
	if p.watch != nil {
		return true
	}
	w, err := e.os.WatchExit(p.pid, mainExit{p, p.serial, p.pid}, e.mainExitc)
	if err != nil {
		return false
	}
	p.watch = w
	return true
}

func (e *Engine) stopWatchingMain(p *process) {
	if p.watch != nil {
		p.watch.Close()
		p.watch = nil
	}
}

// mainExit identifies a watched main pid.
type mainExit struct {
	p      *process
	serial uint64
	pid    int
}

// mainExited handles the end of a watched main pid.
func (e *Engine) mainExited(token any, now time.Time) {
	x, ok := token.(mainExit)
	if !ok {
		return
	}
	p := x.p
	if p.serial != x.serial || p.pid != x.pid {
		return // reaped (subreaper), or another instance by now
	}
	e.mainEnded(p, now)
}

// lastWords handles what p's instance sent before it exited and the
// loop has not seen yet: a READY=1 just before exiting makes the exit
// that of a RUNNING instance. Called before the exit is handled.
func (e *Engine) lastWords(p *process, now time.Time) {
	if p.ntf.sock == nil {
		return
	}
	for _, d := range p.ntf.sock.Drain() {
		e.notified(d, now)
	}
}
