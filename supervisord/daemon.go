package supervisord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/safefs"
	"gosupervisor/logrot"
	"gosupervisor/supervisord/engine"
	"gosupervisor/supervisord/events"
	"gosupervisor/supervisord/handover"
	"gosupervisor/supervisord/orphans"
)

// daemon is one supervisord process: the state that survives restarts.
type daemon struct {
	progname string
	args     []string
	// load re-reads the config file from scratch with the command-line
	// overrides (restart, reloadConfig).
	load           func() (*config.Config, error)
	stdout, stderr io.Writer
	// parent is the status pipe to the process that re-executed us to
	// daemonize (the daemon half of a detach).
	parent *parentLink
	// detached is true in the daemon half of a detach.
	detached bool
	// socketBound, when set, is called after each unix socket is bound
	// (a test hook, see socketHoldEnv).
	socketBound func(path string)
	// service is the service manager supervisord runs under ($NOTIFY_SOCKET),
	// nil when none; serviceWarning is what was wrong with its
	// variables, for the main log.
	service        *serviceManager
	serviceWarning string
	// stall, when set, is how long SIGUSR1 holds the engine loop (a test
	// hook, see stallEnv).
	stall time.Duration
	// eventSerial outlives each engine: the reference keeps counting
	// event serials across a restart.
	eventSerial events.Serial
	// upgrader runs gosupervisor.upgrade.
	upgrader *upgrader
}

// serve runs the engine on cfg until a shutdown, starting a new engine
// with a freshly read config after each restart request. With resume set
// (the new binary of an upgrade in place) the first engine takes over
// the predecessor's state instead, and cfg is unused.
func (d *daemon) serve(cfg *config.Config, resume *handover.Document) (int, error) {
	// A service manager that waits for READY=1 accepts it only from the
	// pid it started: supervisord stays in the foreground under one.
	if resume == nil && !cfg.Supervisord.Nodaemon && !d.detached && d.service == nil {
		return d.detach()
	}
	if d.service != nil {
		defer d.service.Close()
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR2)
	if d.stall > 0 {
		signal.Notify(signals, syscall.SIGUSR1)
	}
	defer signal.Stop(signals)

	first := resume == nil
	for {
		next, err := d.runOnce(cfg, first, resume, signals)
		if err != nil {
			return 2, err // a usage error exits 2, any other 1 (see Main)
		}
		if next.cfg == nil && next.resume == nil {
			return next.status, nil
		}
		cfg, resume, first = next.cfg, next.resume, false
	}
}

// nextLife is what runOnce's engine ended with: a config to restart on,
// a handover to resume from (an upgrade whose exec failed), or neither
// (a shutdown, with the exit status).
type nextLife struct {
	cfg    *config.Config
	resume *handover.Document
	status int
}

// runOnce is one life of the engine: the reference's startup sequence
// (setuid, rlimits on the first run, main log, parse messages, groups, HTTP
// servers, daemonizing on the first run, pidfile), then the engine loop
// with signal handling. It returns the config for the next run after a
// restart request, or the exit status after a shutdown. A life resuming
// from an upgrade (resume set) takes the predecessor's engine state,
// sockets and pidfile instead, and cfg is unused.
func (d *daemon) runOnce(cfg *config.Config, first bool, resume *handover.Document, signals <-chan os.Signal) (nextLife, error) {
	var startup startupMessages
	var res *resumed
	if resume != nil {
		var err error
		if res, err = d.prepareResume(resume); err != nil {
			return nextLife{}, err
		}
		cfg = res.cfg
	} else {
		if err := setUser(cfg, &startup); err != nil {
			return nextLife{}, err
		}
		if first {
			if err := raiseLimits(cfg, &startup); err != nil {
				return nextLife{}, err
			}
		}
	}
	log, err := openMainLog(cfg, d.stdout)
	if err != nil {
		return nextLife{}, err
	}
	defer log.Close()
	switch {
	case first && d.serviceWarning != "":
		startup.add(protocol.LevelWarn, "%s", d.serviceWarning)
	case res != nil && d.serviceWarning != "":
		mainLogger{log}.Logf(protocol.LevelWarn, "%s", d.serviceWarning)
		d.serviceWarning = ""
	}
	if first && d.service != nil && !cfg.Supervisord.Nodaemon {
		startup.add(protocol.LevelInfo, "not daemonizing: a service manager waits for supervisord's READY=1 ($NOTIFY_SOCKET is set)")
	}
	if res == nil {
		// The reference's parse messages, then ours about what it ignores.
		startup.flush(slices.Concat(cfg.Messages, cfg.Layout.Warnings()), log)
		for _, w := range cfg.DependencyWarnings() {
			mainLogger{log}.Logf(protocol.LevelWarn, "%s", w)
		}
	}
	adopts := adoptOrphans(cfg, mainLogger{log})
	if first {
		handleOrphans(cfg, mainLogger{log})
	}
	opts := engine.Options{
		Config:  cfg,
		Log:     engineLogger(cfg, log),
		MainLog: log,
		Reload:  d.load,

		EventSerial:   &d.eventSerial,
		AdoptsOrphans: adopts,
		ReleaseMemory: debug.FreeOSMemory,
	}
	if d.service != nil {
		opts.Service = d.service
	}
	if res != nil {
		opts.Resume = res.engine
	}
	rec, err := orphans.NewRecorder(childrenFile(cfg))
	if err != nil {
		mainLogger{log}.Logf(protocol.LevelError, "could not record the children for a successor: %v", err)
	} else {
		opts.Children = rec
		// Every child is stopped when Run returns: the record goes. (An
		// upgrade's exec leaves it to the new binary.)
		defer func() { _ = rec.Close() }()
	}
	eng, err := engine.New(opts)
	if err != nil {
		if res != nil {
			res.abandon(mainLogger{log}, err)
		}
		return nextLife{}, d.startupFailed(first, log, &usageError{msg: err.Error()})
	}
	if res != nil && rec != nil {
		res.record(rec)
	}
	var from inherited
	if res != nil {
		from = res.servers
	}
	servers, err := openServers(cfg, eng, mainLogger{log}, d.stderr, d.socketBound, from, d.upgrader)
	if err != nil {
		return nextLife{}, d.startupFailed(first, log, err)
	}
	defer servers.close()

	if first && d.parent.waiting() {
		d.finishDetach(cfg, mainLogger{log})
	}
	l := &life{eng: eng, servers: servers, cfg: cfg, log: mainLogger{log},
		args: append([]string{d.progname}, d.args...), failed: make(chan *handover.Document, 1), service: d.service}
	if res != nil {
		l.pidfile = res.pidfile
		res.report(mainLogger{log})
		go d.upgrader.announceResume(eng, res.doc)
	} else {
		l.pidfile = writePidfile(cfg.Supervisord.Pidfile, mainLogger{log})
	}
	// The parent of a detach exits when told: the pidfile must be there
	// by then, since a Type=forking unit's PIDFile= is read at that moment.
	d.parent.report("ok")
	d.upgrader.setLife(l)
	defer d.upgrader.setLife(nil)

	exit, err := runEngine(eng, log, signals, d.stall)
	if exit == engine.ExitUpgrade {
		// The handover execs the new binary (the children's record
		// stays for it), or fails and resumes here.
		return nextLife{resume: <-l.failed}, nil
	}
	removePidfile(l.pidfile)
	if err != nil {
		mainLogger{log}.Logf(protocol.LevelCritical, "engine failed: %v", err)
		return nextLife{}, fmt.Errorf("engine: %w", err)
	}
	if exit != engine.ExitRestart {
		return nextLife{status: eng.ExitStatus()}, nil
	}
	// Read and checked by the engine before it stopped anything: a broken
	// config refused the restart and left every process running.
	return nextLife{cfg: eng.RestartConfig()}, nil
}

// startupFailed returns err, first logging it when it ends a restart: the
// terminal is long gone then (the reference loses the message).
func (d *daemon) startupFailed(first bool, log *logrot.MainLog, err error) error {
	if !first {
		mainLogger{log}.Logf(protocol.LevelCritical, "could not restart: %v", err)
	}
	return err
}

// runEngine runs eng until it returns, turning OS signals into engine
// requests as the reference does.
func runEngine(eng *engine.Engine, log *logrot.MainLog, signals <-chan os.Signal, stall time.Duration) (engine.Exit, error) {
	type result struct {
		exit engine.Exit
		err  error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		exit, err := eng.Run(ctx)
		done <- result{exit, err}
	}()
	logger := mainLogger{log}
	for {
		select {
		case r := <-done:
			return r.exit, r.err
		case sig := <-signals:
			if sig == syscall.SIGUSR1 && stall > 0 {
				logger.Logf(protocol.LevelWarn, "test hook: holding the engine loop for %v", stall)
				eng.Pause(stall)
				continue
			}
			handleSignal(sig.(syscall.Signal), eng, log, logger)
		}
	}
}

// handleSignal acts on one received signal, with the reference's log lines.
func handleSignal(sig syscall.Signal, eng *engine.Engine, log *logrot.MainLog, logger mainLogger) {
	name := config.SignalName(sig)
	switch sig {
	case syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT:
		logger.Logf(protocol.LevelWarn, "received %s indicating exit request", name)
		_ = eng.Shutdown()
	case syscall.SIGHUP:
		if eng.State() == protocol.SupervisorShutdown {
			logger.Logf(protocol.LevelWarn, "ignored %s indicating restart request (shutdown in progress)", name)
			return
		}
		logger.Logf(protocol.LevelWarn, "received %s indicating restart request", name)
		_ = eng.Restart()
	case syscall.SIGUSR2:
		logger.Logf(protocol.LevelInfo, "received %s indicating log reopen request", name)
		logger.Logf(protocol.LevelInfo, "supervisord logreopen")
		if err := log.Reopen(); err != nil {
			logger.Logf(protocol.LevelError, "could not reopen the main log: %v", err)
		}
		eng.ReopenLogs()
	}
}

// startupMessages collects the lines produced before the main log exists;
// the reference logs them once it is open.
type startupMessages struct {
	msgs []config.Message
}

func (s *startupMessages) add(level protocol.Level, format string, args ...any) {
	s.msgs = append(s.msgs, config.Message{Level: level, Text: fmt.Sprintf(format, args...)})
}

// flush logs the config's parse messages and ours as the reference does:
// every critical first, then warnings, then infos, each in order.
func (s *startupMessages) flush(parse []config.Message, log *logrot.MainLog) {
	all := append(slices.Clone(parse), s.msgs...)
	slices.SortStableFunc(all, func(a, b config.Message) int { return int(b.Level) - int(a.Level) })
	for _, m := range all {
		mainLogger{log}.Logf(m.Level, "%s", m.Text)
	}
	s.msgs = nil
}

// writePidfile writes "<pid>\n" and logs the reference's line. It returns
// the file written, nil when it was not. The file is opened by safefs's
// rule: a link or file another user planted at the name in a directory
// others can write (/tmp) is refused, not written through. The reason
// follows the reference's line in the main log.
func writePidfile(path string, log mainLogger) *handover.File {
	pid := os.Getpid()
	f, err := safefs.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	var st os.FileInfo
	if err == nil {
		_, err = fmt.Fprintf(f, "%d\n", pid)
		if err == nil {
			st, err = f.Stat()
		}
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		log.Logf(protocol.LevelCritical, "could not write pidfile %s", path)
		log.Logf(protocol.LevelError, "pidfile: %v", err)
		return nil
	}
	log.Logf(protocol.LevelInfo, "supervisord started with pid %d", pid)
	id := &handover.File{Path: path}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		id.Dev, id.Ino = uint64(sys.Dev), sys.Ino
	}
	return id
}

// removePidfile removes the pidfile written (nil: none) if it is still
// our own file (or a link to it, removed as the reference does): the
// name may have been replaced meanwhile.
func removePidfile(f *handover.File) {
	if f == nil {
		return
	}
	var st syscall.Stat_t
	if syscall.Stat(f.Path, &st) == nil && uint64(st.Dev) == f.Dev && st.Ino == f.Ino {
		_ = os.Remove(f.Path)
	}
}
