package supervisord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
	"gosupervisor/ctl"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/sdnotify"
	"gosupervisor/rpc"
	"gosupervisor/supervisord/engine"
	"gosupervisor/supervisord/events"
	"gosupervisor/supervisord/handover"
	"gosupervisor/supervisord/orphans"
)

// An upgrade in place, as the daemon runs it (gosupervisor.upgrade):
//
//  1. the engine's configuration is frozen (BeginUpgrade) and the new
//     binary runs in check mode (upgradeCheckEnv) on the state document
//     without descriptors: it answers yes, or no with the reason, and
//     nothing else happens on no;
//  2. the caller gets its answer; then the listeners stop accepting (the
//     sockets stay open: connecting clients wait in the backlog), log
//     streams end, requests in flight are answered and idle keep-alive
//     connections are taken (rpc.Listener.Drain), the engine freezes;
//  3. the document goes on a memfd, close-on-exec is cleared on exactly
//     the descriptors it names, and the process execs the new binary:
//     same pid, same children, same sockets. The new binary resumes
//     from the document (resumeDaemon). If the exec fails, this binary
//     resumes from the same document in-process.

// upgradeCheckEnv, set in a binary's environment, runs it in check mode:
// it reads a state document on stdin and answers on stdout "ok" and its
// build (JSON) on the next line, or "no: <reason>", exiting 0 or 1.
const upgradeCheckEnv = "GOSUPERVISOR_UPGRADE_CHECK"

// checkTimeout bounds the new binary's check.
const checkTimeout = 15 * time.Second

// drainTimeout bounds how long requests in flight may take to finish
// before the handover (a start that waits, a slow client).
const drainTimeout = 3 * time.Second

// upgradeCheck is check mode: it answers whether this build can resume
// from the document on in.
func upgradeCheck(b Build, in io.Reader, out io.Writer) int {
	no := func(format string, args ...any) int {
		fmt.Fprintf(out, "no: "+format+"\n", args...)
		return 1
	}
	data, err := io.ReadAll(io.LimitReader(in, 1<<30))
	if err != nil {
		return no("read state: %v", err)
	}
	doc, err := b.reader().Decode(data)
	if err != nil {
		return no("%v", err)
	}
	if _, err := replayConfigs(doc); err != nil {
		return no("%v", err)
	}
	id, _ := json.Marshal(b.identity())
	fmt.Fprintf(out, "ok\n%s\n", id)
	return 0
}

// replayConfigs parses the document's configurations with this binary;
// the engine's own must be one of them.
func replayConfigs(doc *handover.Document) ([]*config.Config, error) {
	if doc.Engine.Config < 0 || doc.Engine.Config >= len(doc.Configs) {
		return nil, fmt.Errorf("state document: configuration %d of %d", doc.Engine.Config, len(doc.Configs))
	}
	cfgs := make([]*config.Config, 0, len(doc.Configs))
	for i, src := range doc.Configs {
		c, err := config.Replay(src)
		if err != nil {
			return nil, fmt.Errorf("configuration %d (%s): %w", i, src.Path, err)
		}
		cfgs = append(cfgs, c)
	}
	return cfgs, nil
}

// upgrader runs gosupervisor.upgrade for a daemon; it lives as long as
// the process (across restarts and upgrades that failed).
type upgrader struct {
	build Build
	// self is the binary's path at startup: an upgrade without a path
	// execs what is at that path now.
	self string

	mu   sync.Mutex
	cur  *life // the running engine and servers
	busy bool
	// The daemon's count of upgrades and the last one's outcome.
	serial                    int
	lastFrom, lastTo, lastErr string
	lastAt                    time.Time
	// failedExec is the SUPERVISOR_UPGRADE_FAILED event of an exec that
	// failed, for the engine that resumes after it (nil when none).
	failedExec *events.Upgrade
}

// life is what one run of the engine hands over.
type life struct {
	eng     *engine.Engine
	servers *httpServers
	cfg     *config.Config
	log     mainLogger
	// args is the command line (program name first); pidfile the file
	// this daemon wrote, nil when none.
	args    []string
	pidfile *handover.File
	// service is the service manager supervisord runs under, nil when
	// none.
	service *serviceManager
	// failed receives the document when the exec failed: the daemon
	// resumes from it in-process.
	failed chan *handover.Document
}

func newUpgrader(b Build) *upgrader {
	self, _ := os.Executable()
	self = strings.TrimSuffix(self, " (deleted)")
	return &upgrader{build: b, self: self}
}

func (u *upgrader) setLife(l *life) {
	u.mu.Lock()
	u.cur = l
	u.mu.Unlock()
}

// UpgradeInfo describes the running build and the last upgrade.
func (u *upgrader) UpgradeInfo() rpc.UpgradeInfo {
	u.mu.Lock()
	defer u.mu.Unlock()
	return rpc.UpgradeInfo{Build: u.build.identity().String(), Serial: u.serial,
		LastFrom: u.lastFrom, LastTo: u.lastTo, LastError: u.lastErr, LastAt: u.lastAt}
}

func upgradeFault(format string, args ...any) error {
	return rpc.NewFault(protocol.FaultFailed, "upgrade: "+fmt.Sprintf(format, args...))
}

// Upgrade checks the binary at path and, on yes, starts the handover,
// which follows the answer.
func (u *upgrader) Upgrade(ctx context.Context, path string) (string, string, error) {
	u.mu.Lock()
	l := u.cur
	if u.busy || l == nil {
		u.mu.Unlock()
		return "", "", upgradeFault("an upgrade is already in progress")
	}
	u.busy = true
	u.mu.Unlock()
	started := false
	defer func() {
		if !started {
			u.mu.Lock()
			u.busy = false
			u.mu.Unlock()
		}
	}()
	if path == "" {
		path = u.self
	}
	if err := executable(path); err != nil {
		u.announce(l.eng, path, "", err.Error())
		return "", "", upgradeFault("%v", err)
	}
	h, err := l.eng.BeginUpgrade()
	if err != nil {
		u.announce(l.eng, path, "", err.Error())
		return "", "", err
	}
	doc, err := u.document(l, h)
	if err == nil {
		var to handover.Build
		if to, err = u.check(ctx, l.eng, path, doc); err == nil {
			from := doc.From
			started = true
			l.log.Logf(protocol.LevelInfo, "upgrade: %s accepted the state; handing over", path)
			go u.handover(l, path, from, to)
			return from.String(), to.String(), nil
		}
	}
	l.eng.EndUpgrade()
	l.log.Logf(protocol.LevelError, "upgrade to %s refused: %v", path, err)
	u.announce(l.eng, path, "", err.Error())
	return "", "", upgradeFault("%s: %v", path, err)
}

// announce emits SUPERVISOR_UPGRADE_FAILED for an upgrade to path (to:
// the new build, "" when unknown) that did not happen, with eng running.
func (u *upgrader) announce(eng *engine.Engine, path, to, reason string) {
	u.mu.Lock()
	ev := events.Upgrade{Serial: u.serial, PID: os.Getpid(), From: u.build.identity().String(), To: to, Path: path, Reason: reason}
	u.mu.Unlock()
	_ = eng.AnnounceUpgrade(false, ev)
}

// announceResume emits, from the engine that resumed from a handover,
// SUPERVISOR_UPGRADE_FAILED after an exec that failed, else
// SUPERVISOR_UPGRADE_SUCCEEDED: this binary took over from doc's. It
// waits for the engine to run, so it runs on a goroutine of its own.
func (u *upgrader) announceResume(eng *engine.Engine, doc *handover.Document) {
	u.mu.Lock()
	failed := u.failedExec
	u.failedExec = nil
	u.mu.Unlock()
	if failed != nil {
		_ = eng.AnnounceUpgrade(false, *failed)
		return
	}
	_ = eng.AnnounceUpgrade(true, events.Upgrade{Serial: doc.Daemon.Upgrades, PID: os.Getpid(),
		From: doc.From.String(), To: u.build.identity().String(), Path: u.self})
}

// executable reports why path cannot be exec'd, or nil.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	if err := unix.Access(path, unix.X_OK); err != nil {
		return fmt.Errorf("%s: not executable: %w", path, err)
	}
	return nil
}

// document describes the state in h for the new binary.
func (u *upgrader) document(l *life, h *engine.Handover) (*handover.Document, error) {
	doc := handover.New(u.build.identity())
	doc.FrozenMono, doc.FrozenAt = h.Mono, time.Now()
	u.mu.Lock()
	upgrades := u.serial
	u.mu.Unlock()
	doc.Daemon = handover.Daemon{Args: l.args, Pidfile: l.pidfile, Upgrades: upgrades}
	if l.service != nil {
		doc.Daemon.Service = l.service.handover()
	}
	for _, c := range h.Configs {
		if c.Sources == nil {
			return nil, errors.New("the configuration's sources were not recorded")
		}
		doc.Configs = append(doc.Configs, c.Sources)
	}
	doc.Engine = h.State
	doc.NeedFeatures()
	return doc, nil
}

// check runs the binary at path in check mode on doc.
func (u *upgrader) check(ctx context.Context, eng *engine.Engine, path string, doc *handover.Document) (handover.Build, error) {
	var to handover.Build
	data, err := doc.Encode()
	if err != nil {
		return to, err
	}
	memfd, err := handover.WriteMemfd(data)
	if err != nil {
		return to, err
	}
	in := os.NewFile(uintptr(memfd), "state")
	defer in.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return to, fmt.Errorf("check: %w", err)
	}
	defer r.Close()
	pid, status, err := eng.RunHelper(&engine.SpawnSpec{
		Path:  path,
		Argv:  []string{path},
		Env:   append(os.Environ(), upgradeCheckEnv+"=1"),
		Umask: -1,
		Files: []*os.File{in, w, w},
	})
	w.Close()
	if err != nil {
		return to, fmt.Errorf("cannot run it: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { eng.KillHelper(pid, syscall.SIGKILL) })
	defer stop()
	out, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	var ws syscall.WaitStatus
	select {
	case ws = <-status:
	case <-ctx.Done():
		eng.KillHelper(pid, syscall.SIGKILL)
		ws = <-status
	}
	answer, rest, _ := strings.Cut(string(out), "\n")
	switch {
	case ctx.Err() != nil:
		return to, fmt.Errorf("its check did not answer within %v", checkTimeout)
	case ws.Exited() && ws.ExitStatus() == 0 && answer == "ok":
		if err := json.Unmarshal([]byte(strings.TrimSpace(rest)), &to); err != nil {
			return to, fmt.Errorf("its check answered %q", strings.TrimSpace(string(out)))
		}
		return to, nil
	case strings.HasPrefix(answer, "no: "):
		return to, errors.New(strings.TrimPrefix(answer, "no: "))
	}
	how := fmt.Sprintf("exit status %d", ws.ExitStatus())
	if ws.Signaled() {
		how = "killed by " + config.SignalName(ws.Signal())
	}
	msg := strings.TrimSpace(string(out))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		return to, fmt.Errorf("it is not a gosupervisor that can take over (its check ended with %s and said nothing)", how)
	}
	return to, fmt.Errorf("it is not a gosupervisor that can take over (its check ended with %s: %q)", how, msg)
}

// handover hands the daemon over to the binary at path; it returns
// only when that failed, the daemon then running on as it was.
func (u *upgrader) handover(l *life, path string, from, to handover.Build) {
	// Output still drained after an exit would hold the freeze up,
	// sockets closed: let it end first, still serving.
	if wait := time.Until(l.eng.DrainsUntil()); wait > 0 {
		time.Sleep(wait)
	}
	began := time.Now()
	l.log.Logf(protocol.LevelWarn, "upgrading in place from %s to %s (pid %d)", from, to, os.Getpid())
	// fail records a failed upgrade; with the engine still running it
	// announces it, else the engine that resumes after it will.
	fail := func(msg string, running bool) {
		l.log.Logf(protocol.LevelCritical, "upgrade to %s failed: %s; this supervisord runs on", path, msg)
		u.mu.Lock()
		u.serial++
		u.lastFrom, u.lastTo, u.lastErr, u.lastAt = from.String(), to.String(), msg, time.Now()
		u.busy = false
		ev := events.Upgrade{Serial: u.serial, PID: os.Getpid(), From: from.String(), To: to.String(), Path: path, Reason: msg}
		if !running {
			u.failedExec = &ev
		}
		u.mu.Unlock()
		if running {
			_ = l.eng.AnnounceUpgrade(false, ev)
		}
	}
	l.servers.endStreams()
	servers, err := l.servers.detach()
	if err != nil {
		// Nothing is handed over: listening goes on where it can.
		l.eng.EndUpgrade()
		fail(err.Error(), true)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	conns := l.servers.drain(ctx)
	cancel()
	drained := time.Now()
	h, err := l.eng.Freeze()
	if err != nil {
		// A shutdown came meanwhile: serve its last requests here.
		l.servers.readopt(servers, conns)
		fail(err.Error(), true)
		return
	}
	// Calls the freeze cut short are answered now.
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	conns = append(conns, l.servers.drain(ctx)...)
	cancel()
	doc, err := u.document(l, h)
	if err != nil { // checked before
		panic(err)
	}
	doc.Daemon.Upgrades++
	for i, s := range servers {
		doc.Servers = append(doc.Servers, s.Server)
		for _, c := range conns {
			if c.server == i {
				doc.Conns = append(doc.Conns, handover.Conn{Server: i, FD: c.FD, Buffered: c.Buffered})
			}
		}
	}
	l.log.Logf(protocol.LevelInfo, "upgrade: state taken in %v (connections drained in %v; %d processes, %d connections); exec %s",
		time.Since(began).Round(time.Microsecond), drained.Sub(began).Round(time.Microsecond), countProcesses(doc), len(doc.Conns), path)
	if l.service != nil {
		// The successor says READY=1 once it has resumed (or this
		// binary, when the exec fails).
		_ = l.service.Notify(fmt.Sprintf("%s\nMONOTONIC_USEC=%d", sdnotify.Reloading, handover.Monotonic()/1000))
	}
	err = execWith(path, doc)
	handover.Adopt(doc.FDs())
	fail(fmt.Sprintf("exec: %v", err), false)
	l.failed <- doc
}

func countProcesses(doc *handover.Document) int {
	n := 0
	for _, g := range doc.Engine.Groups {
		n += len(g.Processes)
	}
	return n
}

// execWith execs the binary at path with the document on a memfd; it
// returns only on failure.
func execWith(path string, doc *handover.Document) error {
	data, err := doc.Encode()
	if err != nil {
		return err
	}
	memfd, err := handover.WriteMemfd(data)
	if err != nil {
		return err
	}
	defer unix.Close(memfd)
	if err := handover.Inherit(doc.FDs()); err != nil {
		return err
	}
	env := append(os.Environ(), fmt.Sprintf("%s=%d", handover.EnvFD, memfd))
	return syscall.Exec(path, doc.Daemon.Args, env)
}

// takeHandover reads the document a predecessor handed over, when this
// process is the new binary of an upgrade (nil, nil otherwise). Before
// anything else it sets close-on-exec again on the descriptors the
// document names and closes any other that came through the exec.
func takeHandover(b Build) (*handover.Document, error) {
	v, ok := os.LookupEnv(handover.EnvFD)
	if !ok {
		return nil, nil
	}
	_ = os.Unsetenv(handover.EnvFD)
	var fd int
	if _, err := fmt.Sscanf(v, "%d", &fd); err != nil || fd < 3 {
		return nil, fmt.Errorf("upgrade: bad %s=%q", handover.EnvFD, v)
	}
	data, err := handover.ReadFD(fd)
	if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	doc, err := b.reader().Decode(data)
	if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	fds := doc.FDs()
	var errs []error
	if missing := handover.Adopt(fds); len(missing) > 0 {
		errs = append(errs, fmt.Errorf("descriptors %v did not come through the exec", missing))
	}
	if _, err := handover.CloseStrays(fds); err != nil {
		errs = append(errs, err)
	}
	return doc, errors.Join(errs...)
}

// resumed is a predecessor's state made ready for runOnce.
type resumed struct {
	doc     *handover.Document
	cfg     *config.Config
	engine  *engine.Resume
	servers inherited
	pidfile *handover.File
	notes   []string
	to      handover.Build
}

// prepareResume parses the document's configurations with this binary
// and sorts its descriptors for the engine and the servers.
func (d *daemon) prepareResume(doc *handover.Document) (*resumed, error) {
	res := &resumed{doc: doc, pidfile: doc.Daemon.Pidfile, servers: inherited{}, to: d.upgrader.build.identity()}
	cfgs, err := replayConfigs(doc)
	if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	res.cfg = cfgs[doc.Engine.Config]
	d.upgrader.build.spoil(doc)
	res.engine = &engine.Resume{State: doc.Engine, Configs: cfgs,
		Elapsed: time.Duration(handover.Monotonic() - doc.FrozenMono), Adopted: &res.notes}
	for i, s := range doc.Servers {
		in := &inheritedServer{detached: rpc.Detached{FD: s.FD, Unix: s.Kind == "unix", Path: s.Path, Inode: s.Inode}}
		for _, c := range doc.Conns {
			if c.Server == i {
				in.conns = append(in.conns, rpc.IdleConn{FD: c.FD, Buffered: c.Buffered})
			}
		}
		res.servers[s.Kind+"/"+s.Section] = in
	}
	u := d.upgrader
	u.mu.Lock()
	u.serial = doc.Daemon.Upgrades
	if u.failedExec == nil { // else the failure stays the last upgrade's outcome
		u.lastFrom, u.lastTo, u.lastAt = doc.From.String(), res.to.String(), time.Now()
	}
	u.mu.Unlock()
	return res, nil
}

// report logs the upgrade's end in the new binary's main log.
func (r *resumed) report(log mainLogger) {
	took := time.Duration(handover.Monotonic() - r.doc.FrozenMono)
	log.Logf(protocol.LevelWarn, "upgraded in place from %s to %s (pid %d): %d processes taken over, serving %v after the freeze",
		r.doc.From, r.to, os.Getpid(), countProcesses(r.doc), took.Round(time.Microsecond))
	if len(r.notes) > 0 {
		log.Logf(protocol.LevelCritical, "upgrade: %d things could not be taken over (see above)", len(r.notes))
	}
}

// abandon logs loudly that the engine could not resume: the programs
// run on, unsupervised, and are never killed.
func (r *resumed) abandon(log mainLogger, err error) {
	var pids []string
	for _, g := range r.doc.Engine.Groups {
		for _, p := range g.Processes {
			if p.PID != 0 {
				pids = append(pids, fmt.Sprintf("%s:%s pid %d", g.Name, p.Name, p.PID))
			}
		}
	}
	log.Logf(protocol.LevelCritical, "upgrade: could not resume from %s: %v; these programs run on unsupervised: %s",
		r.doc.From, err, strings.Join(pids, ", "))
}

// askUpgrade is supervisord --upgrade: it asks the daemon running on
// cfg to upgrade in place to the binary at its own path, over the
// [supervisorctl] section's serverurl and credentials, else over the
// first configured server (credentials of its section), and waits for
// the outcome. It returns the exit status.
func askUpgrade(cfg *config.Config, stdout, stderr io.Writer) int {
	url, user, pass := cfg.ServerURL, "", ""
	switch {
	case cfg.Supervisorctl != nil:
		url, user, pass = cfg.Supervisorctl.ServerURL, cfg.Supervisorctl.Username, cfg.Supervisorctl.Password
	case len(cfg.UnixHTTPServers) > 0:
		user, pass = cfg.UnixHTTPServers[0].Username, cfg.UnixHTTPServers[0].Password
	case len(cfg.InetHTTPServers) > 0:
		user, pass = cfg.InetHTTPServers[0].Username, cfg.InetHTTPServers[0].Password
	}
	if url == "" {
		fmt.Fprintln(stderr, "Error: --upgrade: the configuration names no server to ask")
		return 2
	}
	msg, ok := ctl.UpgradeDaemon(url, user, pass, "", func(s string) { fmt.Fprintln(stdout, s) })
	if !ok {
		fmt.Fprintln(stderr, msg)
		return 1
	}
	fmt.Fprintln(stdout, msg)
	return 0
}

// record notes the processes taken over in the children's record (a
// successor after a crash finds them there).
func (r *resumed) record(rec *orphans.Recorder) {
	for _, g := range r.doc.Engine.Groups {
		for _, p := range g.Processes {
			if p.PID != 0 {
				_ = rec.Started(p.PID, g.Name, p.Name)
			}
		}
	}
	_ = rec.Flush()
}
