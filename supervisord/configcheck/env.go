package configcheck

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
	"gosupervisor/rpc"
	"gosupervisor/supervisord/engine"
)

// ident is a user as the kernel checks file permissions for them.
type ident struct {
	uid  int
	gids []int
	// self is the user running the check: access(2) answers for them
	// exactly (ACLs, read-only mounts); others are judged by the mode
	// bits of each directory on the way.
	self bool
	name string // for messages: "root (uid 0)"
}

func (u ident) String() string { return u.name }

// currentIdent is the user running the check.
func currentIdent() ident {
	uid := os.Geteuid()
	gids, _ := os.Getgroups()
	return ident{uid: uid, gids: append(gids, os.Getegid()), self: true, name: userName(uid)}
}

// identOf is the user uid with primary group gid and its other groups,
// as a process switched to it has them.
func identOf(uid, gid int) ident {
	if uid == os.Geteuid() {
		return currentIdent()
	}
	gids, _ := engine.SupplementaryGroups(uid, gid)
	return ident{uid: uid, gids: gids, name: userName(uid)}
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("%s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// permits reports whether u may access path for want (unix.R_OK, W_OK,
// X_OK bits).
func (u ident) permits(path string, want uint32) bool {
	if u.self {
		return unix.Faccessat(unix.AT_FDCWD, path, want, unix.AT_EACCESS) == nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if !u.modeAllows(dir, unix.X_OK) {
			return false
		}
		if dir == "/" {
			break
		}
	}
	return u.modeAllows(abs, want)
}

// modeAllows judges one file's mode bits (following links) for u.
func (u ident) modeAllows(path string, want uint32) bool {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return false
	}
	mode := st.Mode & 0o777
	if u.uid == 0 {
		// Root needs an execute bit somewhere to run a file.
		return want&unix.X_OK == 0 || st.Mode&unix.S_IFMT == unix.S_IFDIR || mode&0o111 != 0
	}
	var bits uint32
	switch {
	case int(st.Uid) == u.uid:
		bits = mode >> 6
	case slices.Contains(u.gids, int(st.Gid)):
		bits = mode >> 3
	default:
		bits = mode
	}
	return bits&7&want == want
}

// envChecker looks at this machine: files, users and ports.
type envChecker struct {
	*checker
	// daemon is the user supervisord runs as: [supervisord] user=, else
	// the user running the check.
	daemon ident
	// running is the pid of a supervisord the config's pidfile names,
	// 0 when none runs: the sockets in use are then probably its own.
	running int
}

func newEnvChecker(c *checker) *envChecker {
	e := &envChecker{checker: c, daemon: currentIdent()}
	if s := c.cfg.Supervisord; s.User != "" && s.UID >= 0 {
		e.daemon = identOf(s.UID, s.GID)
	}
	e.running = runningDaemon(c.cfg.Supervisord.Pidfile)
	return e
}

func (e *envChecker) run() {
	e.daemonFiles()
	e.childLogs()
	e.spawns()
	e.sockets()
}

// runningDaemon is the pid in pidfile when a supervisord runs with it.
func runningDaemon(pidfile string) int {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("supervisord")) {
		return 0
	}
	return pid
}

// writeProblem says why u could not write the file at path ("" when it
// could): the file must be writable, and its directory too when the file
// is to be created or rotated.
func writeProblem(u ident, path string, rotates bool) string {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Sprintf("directory %s does not exist", dir)
	}
	_, err := os.Stat(path)
	exists := err == nil
	if exists && !u.permits(path, unix.W_OK) {
		return fmt.Sprintf("%s is not writable by %s", path, u)
	}
	if (!exists || rotates) && !u.permits(dir, unix.W_OK|unix.X_OK) {
		return fmt.Sprintf("directory %s is not writable by %s", dir, u)
	}
	return ""
}

// daemonFiles checks the main log and the pidfile.
func (e *envChecker) daemonFiles() {
	s := e.cfg.Supervisord
	if !s.LogfileSyslog {
		rotates := s.LogfileMaxBytes > 0 && s.LogfileBackups > 0
		if why := writeProblem(e.daemon, s.Logfile, rotates); why != "" {
			e.add(Error, "log-file", "supervisord", "logfile", "%s: supervisord could not open its log and would not start", why)
		}
	}
	if why := writeProblem(e.daemon, s.Pidfile, false); why != "" {
		e.add(Warning, "pidfile", "supervisord", "pidfile", "%s: supervisord would run without its pidfile", why)
	}
}

// childLogs checks that every log file a program writes can be opened.
func (e *envChecker) childLogs() {
	auto := false
	for _, g := range e.cfg.Groups {
		for _, p := range g.Processes {
			sec := e.processSection(g, p)
			for _, ch := range []struct {
				key string
				lc  config.LogConfig
			}{{"stdout_logfile", p.Stdout}, {"stderr_logfile", p.Stderr}} {
				if ch.key == "stderr_logfile" && p.RedirectStderr {
					continue
				}
				if ch.lc.Auto {
					auto = true
					continue
				}
				if ch.lc.File == "" {
					continue
				}
				rotates := ch.lc.MaxBytes > 0 && ch.lc.Backups > 0
				why := writeProblem(e.daemon, e.absPath(ch.lc.File), rotates)
				if why != "" && e.first("log", sec, ch.key, why) {
					e.add(Error, "log-file", sec, ch.key, "%s: the program would run without this log", why)
				}
			}
		}
	}
	dir := e.cfg.Supervisord.ChildLogDir
	if auto && !e.daemon.permits(dir, unix.W_OK|unix.X_OK) {
		e.add(Error, "log-file", "supervisord", "childlogdir",
			"childlogdir %s is not writable by %s: programs with AUTO logs would run without them", dir, e.daemon)
	}
}

// spawns checks what a spawn checks before it forks (command, user,
// directory), then what the program's own user needs: to run the
// command and to enter the directory.
func (e *envChecker) spawns() {
	for _, g := range e.cfg.Groups {
		for _, p := range g.Processes {
			sec := e.processSection(g, p)
			problems := engine.CheckSpawn(e.cfg, p, e.daemon.uid)
			for _, pr := range problems {
				msg := pr.Err.Error()
				if pr.Key == "user" {
					msg = fmt.Sprintf("%s (supervisord runs as %s)", msg, e.daemon)
				}
				if e.first("spawn", sec, pr.Key, msg) {
					e.add(Error, "spawn-"+pr.Key, sec, pr.Key, "%s: the program cannot start", msg)
				}
			}
			if len(problems) > 0 {
				continue
			}
			prog := e.daemon
			if p.User != "" && p.UID >= 0 {
				prog = identOf(p.UID, p.GID)
			}
			if path, _, err := engine.ResolveCommand(e.cfg, p); err == nil && !prog.permits(path, unix.X_OK) &&
				e.first("spawn", sec, "command", path) {
				e.add(Error, "spawn-command", sec, "command", "%s may not be run by %s: the program cannot start", path, prog)
			}
			if p.Directory != "" && !prog.permits(p.Directory, unix.X_OK) && e.first("spawn", sec, "directory", p.Directory) {
				e.add(Error, "spawn-directory", sec, "directory", "%s may not be entered by %s: the program cannot start", p.Directory, prog)
			}
		}
	}
}

// sockets checks that the HTTP servers and fcgi sockets can listen.
func (e *envChecker) sockets() {
	inUse := func(sev *Severity) string {
		if e.running != 0 {
			*sev = Note
			return fmt.Sprintf("in use, presumably by the supervisord running with this config (pid %d in its pidfile)", e.running)
		}
		return ""
	}
	for _, s := range e.cfg.InetHTTPServers {
		ln, err := rpc.ListenInet(s)
		if err == nil {
			ln.Close()
			continue
		}
		sev := Error
		if errors.Is(err, rpc.ErrAddressInUse) {
			if why := inUse(&sev); why != "" {
				e.add(sev, "port-in-use", s.Section, "port", "port %d is %s", s.Port, why)
				continue
			}
		}
		e.add(sev, "port-in-use", s.Section, "port", "supervisord would not start: %v", err)
	}
	for _, s := range e.cfg.UnixHTTPServers {
		dir := filepath.Dir(s.File)
		switch {
		case !isDir(dir):
			e.add(Error, "socket", s.Section, "file", "directory %s does not exist: supervisord would not start", dir)
		case !e.daemon.permits(dir, unix.W_OK|unix.X_OK):
			e.add(Error, "socket", s.Section, "file", "directory %s is not writable by %s: supervisord would not start", dir, e.daemon)
		case rpc.SocketAlive(s.File):
			sev := Error
			if why := inUse(&sev); why != "" {
				e.add(sev, "port-in-use", s.Section, "file", "%s is %s", s.File, why)
			} else {
				e.add(sev, "port-in-use", s.Section, "file", "supervisord would not start: %v", rpc.ErrAddressInUse)
			}
		}
	}
	for _, g := range e.cfg.Groups {
		if g.Kind != config.KindFCGI || g.Socket == nil {
			continue
		}
		sec := e.section(g.Name, groupPrefixes[g.Kind])
		if g.Socket.Network == "unix" {
			if dir := filepath.Dir(g.Socket.Address); !isDir(dir) {
				e.add(Error, "socket", sec, "socket", "directory %s does not exist: the socket cannot be created and no process can start", dir)
			}
			continue
		}
		ln, err := net.Listen("tcp", g.Socket.Address)
		if err == nil {
			ln.Close()
			continue
		}
		sev := Error
		if errors.Is(err, syscall.EADDRINUSE) {
			if why := inUse(&sev); why != "" {
				e.add(sev, "port-in-use", sec, "socket", "%s is %s", g.Socket.Address, why)
				continue
			}
		}
		e.add(sev, "port-in-use", sec, "socket", "%s cannot be listened on (%v): no process can start", g.Socket.Address, errors.Unwrap(err))
	}
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// loopback reports whether host (of an [inet_http_server]) is reached
// only from this machine: localhost, a loopback address, or a name that
// resolves to loopback addresses only. "" (every interface) is not.
func loopback(host string) bool {
	if host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		return ip.IsLoopback()
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}
