package engine

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
	"gosupervisor/internal/envfile"
	"gosupervisor/internal/execshim"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
	"gosupervisor/internal/safefs"
)

// commandError is a command that cannot be run. startProcess pre-checks
// with it: notFound maps to NO_FILE, anything else to NOT_EXECUTABLE.
type commandError struct {
	notFound bool
	msg      string
}

func (c *commandError) Error() string { return c.msg }

// childError is a failure the reference only notices in the forked child
// (setuid, chdir, exec); it writes Text to the child's stderr.
type childError struct{ msg string }

func (c *childError) Error() string { return c.msg }

// ResolveCommand finds the program to exec as the reference does: argv[0]
// with a slash is used as is, otherwise it is looked up on PATH (the
// program environment's PATH when it sets one).
func ResolveCommand(src *config.Config, pc *config.Process) (string, []string, error) {
	if pc.ArgvErr != "" {
		return "", nil, &commandError{msg: fmt.Sprintf("can't parse command %s: %s", pyrepr.Str(pc.Command), pc.ArgvErr)}
	}
	argv := pc.Argv
	if len(argv) == 0 {
		return "", nil, &commandError{msg: "command is empty"}
	}
	program := argv[0]
	filename := program
	var st os.FileInfo
	if strings.Contains(program, "/") {
		st, _ = os.Stat(filename)
	} else {
		for _, dir := range searchPath(src, pc) {
			candidate := filepath.Join(dir, program)
			if fi, err := os.Stat(candidate); err == nil {
				filename, st = candidate, fi
				break
			}
		}
	}
	switch {
	case st == nil:
		return "", nil, &commandError{notFound: true, msg: fmt.Sprintf("can't find command %s", pyrepr.Str(filename))}
	case st.IsDir():
		return "", nil, &commandError{msg: fmt.Sprintf("command at %s is a directory", pyrepr.Str(filename))}
	case st.Mode().Perm()&0o111 == 0:
		return "", nil, &commandError{msg: fmt.Sprintf("command at %s is not executable", pyrepr.Str(filename))}
	case unix.Access(filename, unix.X_OK) != nil:
		return "", nil, &commandError{msg: fmt.Sprintf("no permission to run command %s", pyrepr.Str(filename))}
	}
	return filename, argv, nil
}

// searchPath is the PATH a command is looked up on.
func searchPath(src *config.Config, pc *config.Process) []string {
	for _, kv := range src.ProcessEnvironment(pc) {
		if kv.Key == "PATH" {
			return strings.Split(kv.Value, ":")
		}
	}
	if p := os.Getenv("PATH"); p != "" {
		return strings.Split(p, ":")
	}
	return []string{"/bin", "/usr/bin", "/usr/local/bin"}
}

// childEnv is the child's environment, later layers winning:
// supervisord's own environment; with user=, HOME, USER, LOGNAME and SHELL
// from the user's passwd entry; [supervisord] environment_file;
// [supervisord] environment; the program's environment_file; the
// program's environment. The SUPERVISOR_* variables beat every layer but
// the two environment= (where the reference lets a program set them).
// Variables keep the place they first had (for a stock program the
// reference's order: its environment, SUPERVISOR_*, environment=). The
// files are read now, as root, before the switch to user=; one that
// cannot be read (and is not optional) is a spawn error.
func (e *Engine) childEnv(p *process) ([]string, error) {
	var keys []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	src := p.group.src
	configured := map[string]bool{}
	for _, kv := range src.ProcessEnvironment(p.cfg) {
		configured[kv.Key] = true
	}
	if p.cfg.User != "" && p.cfg.UID >= 0 {
		for _, kv := range userEnvironment(p.cfg.UID) {
			if !configured[kv.Key] {
				set(kv.Key, kv.Value)
			}
		}
	}
	supervisor := []config.EnvVar{{Key: "SUPERVISOR_ENABLED", Value: "1"}}
	// serverurl=AUTO (the config's value for an absent key too) is the
	// daemon's own URL; an empty serverurl= sets none, as in the reference.
	url := p.cfg.ServerURL
	if strings.EqualFold(strings.TrimSpace(url), "AUTO") {
		url = autoServerURL(src)
	}
	if url != "" {
		supervisor = append(supervisor, config.EnvVar{Key: "SUPERVISOR_SERVER_URL", Value: url})
	}
	supervisor = append(supervisor,
		config.EnvVar{Key: "SUPERVISOR_PROCESS_NAME", Value: p.name()},
		config.EnvVar{Key: "SUPERVISOR_GROUP_NAME", Value: p.group.cfg.Name})
	for _, kv := range supervisor {
		set(kv.Key, kv.Value)
	}
	for _, layer := range []struct {
		files []envfile.Entry
		env   []config.EnvVar
	}{
		{src.Supervisord.EnvironmentFiles, src.Supervisord.Environment},
		{p.cfg.EnvironmentFiles, p.cfg.Environment},
	} {
		if len(layer.files) > 0 {
			vars, dropped, err := envfile.Load(layer.files, func(path string) (*os.File, error) {
				return safefs.OpenFile(path, os.O_RDONLY, 0)
			})
			if err != nil {
				return nil, err
			}
			for _, d := range dropped {
				e.log.Logf(protocol.LevelWarn, "environment_file %s: ignoring invalid variable names: %s", d.Path, pyrepr.Str(strings.Join(d.Keys, ", ")))
			}
			for _, v := range vars {
				set(v.Key, v.Value)
			}
		}
		for _, kv := range layer.env {
			set(kv.Key, kv.Value)
		}
	}
	for _, kv := range supervisor {
		if !configured[kv.Key] {
			set(kv.Key, kv.Value)
		}
	}
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+vals[k])
	}
	return env, nil
}

// userEnvironment is HOME, USER, LOGNAME and SHELL for uid, from the
// system's user database (as login(1) sets them); whatever is unknown is
// left out.
func userEnvironment(uid int) []config.EnvVar {
	name, home, shell := passwdEntry(uid)
	var out []config.EnvVar
	if home != "" {
		out = append(out, config.EnvVar{Key: "HOME", Value: home})
	}
	if name != "" {
		out = append(out, config.EnvVar{Key: "USER", Value: name}, config.EnvVar{Key: "LOGNAME", Value: name})
	}
	if shell != "" {
		out = append(out, config.EnvVar{Key: "SHELL", Value: shell})
	}
	return out
}

// passwdEntry reads the name, home and shell of uid from /etc/passwd;
// for a user it does not list (NSS: LDAP, sssd …) os/user gives the name
// and home, and the shell is login(1)'s default, /bin/sh.
func passwdEntry(uid int) (name, home, shell string) {
	if data, err := os.ReadFile("/etc/passwd"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, ":")
			if len(f) == 7 && f[2] == strconv.Itoa(uid) {
				shell = f[6]
				if shell == "" {
					shell = "/bin/sh"
				}
				return f[0], f[5], shell
			}
		}
	}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return "", "", ""
	}
	return u.Username, u.HomeDir, "/bin/sh"
}

// autoServerURL is the first unix server, else the first inet server.
func autoServerURL(cfg *config.Config) string {
	if len(cfg.UnixHTTPServers) > 0 {
		return "unix://" + cfg.UnixHTTPServers[0].File
	}
	if len(cfg.InetHTTPServers) > 0 {
		s := cfg.InetHTTPServers[0]
		host := s.Host
		if host == "" {
			host = "localhost"
		}
		return fmt.Sprintf("http://%s:%d", host, s.Port)
	}
	return ""
}

// credential decides the user switch as the reference's drop_privileges.
func credential(pc *config.Process) (*syscall.Credential, error) {
	return credentialAs(os.Getuid(), pc)
}

// credentialAs is credential in a daemon running as uid.
func credentialAs(uid int, pc *config.Process) (*syscall.Credential, error) {
	if pc.User == "" || pc.UID < 0 {
		return nil, nil
	}
	refuse := func(why string) error {
		return &childError{msg: fmt.Sprintf("couldn't setuid to %d: %s", pc.UID, why)}
	}
	if uid == pc.UID {
		return nil, nil
	}
	if uid != 0 {
		return nil, refuse("Can't drop privilege as nonroot user")
	}
	ids, err := SupplementaryGroups(pc.UID, pc.GID)
	if err != nil {
		return nil, refuse(fmt.Sprintf("Can't find uid %d", pc.UID))
	}
	groups := make([]uint32, len(ids))
	for i, id := range ids {
		groups[i] = uint32(id)
	}
	return &syscall.Credential{Uid: uint32(pc.UID), Gid: uint32(pc.GID), Groups: groups}, nil
}

// SupplementaryGroups is the group list of a process that switches to
// uid with primary group gid, as the reference's drop_privileges sets
// it: gid first, then the user's other groups in the system's user
// database. An unknown uid is an error.
func SupplementaryGroups(uid, gid int) ([]int, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return nil, fmt.Errorf("look up uid %d: %w", uid, err)
	}
	groups := []int{gid}
	ids, err := u.GroupIds()
	if err != nil {
		return groups, nil // the user's groups are unknown: gid alone
	}
	for _, id := range ids {
		if n, err := strconv.Atoi(id); err == nil && n != gid {
			groups = append(groups, n)
		}
	}
	return groups, nil
}

// SpawnProblem is a reason a spawn would fail, found before spawning.
type SpawnProblem struct {
	// Key is the config key at fault: command, user or directory.
	Key string
	// Err says why, in the words of the spawn error the process would
	// show (its spawnerr, or what its log would say).
	Err error
}

// CheckSpawn reports what would make a spawn of pc (a process of src)
// fail now, in a daemon running as uid: the checks a spawn makes before
// it forks, in its order.
func CheckSpawn(src *config.Config, pc *config.Process, uid int) []SpawnProblem {
	var out []SpawnProblem
	if _, _, err := ResolveCommand(src, pc); err != nil {
		out = append(out, SpawnProblem{"command", err})
	}
	if _, err := credentialAs(uid, pc); err != nil {
		out = append(out, SpawnProblem{"user", err})
	}
	if pc.Directory != "" {
		if err := checkDir(pc.Directory); err != nil {
			out = append(out, SpawnProblem{"directory", err})
		}
	}
	return out
}

// spawn starts p's current config; it is the machine's spawn function.
func (e *Engine) spawn(p *process, now time.Time) (int, time.Time, error) {
	e.trim.spawned()
	p.res.counts.Spawns++
	p.res.version++
	path, argv, err := ResolveCommand(p.group.src, p.cfg)
	if err != nil {
		return 0, now, err
	}
	e.openLogs(p)
	cred, err := credential(p.cfg)
	if err == nil && p.cfg.Directory != "" {
		err = checkDir(p.cfg.Directory)
	}
	if err != nil {
		e.childFailed(p, err)
		return 0, now, err
	}
	env, err := e.childEnv(p)
	if err != nil {
		return 0, now, err
	}
	if err := e.openNotify(p); err != nil {
		return 0, now, err
	}
	if p.cfg.Notify.Socket() {
		env = p.notifyEnv(env)
	}
	spec := &SpawnSpec{
		Path: path, Argv: argv, Env: env, Dir: p.cfg.Directory,
		Umask: p.cfg.Umask, Credential: cred,
		Rlimits: shimRlimits(p.cfg.Resources.Rlimits),
	}
	// WATCHDOG_PID names the pid the watchdog is for, which only a child
	// that sets it itself knows: the exec shim keeps the pid. Without
	// the shim (not started for this alone) it stays unset, which
	// libsystemd and go-systemd read as "for whoever reads it".
	spec.WatchdogPID = p.ntf.limit > 0 && spec.needsShim()
	if err := e.prepareResources(p, spec); err != nil {
		p.closeNotify()
		return 0, now, err
	}
	io, childFiles, err := e.makePipes(p)
	if err != nil {
		p.closeNotify()
		return 0, now, err
	}
	spec.Files = childFiles
	pid, err := e.os.Start(spec)
	for _, f := range childFiles {
		if f != nil && (p.group.socket == nil || f != p.group.socket) {
			f.Close()
		}
	}
	if err != nil {
		io.closeAll()
		e.releaseSocket(p.group)
		p.closeNotify()
		err = e.startError(p, argv, err)
		e.childFailed(p, err)
		return 0, now, err
	}
	e.byPID[pid] = p
	if e.opts.Children != nil {
		if err := e.opts.Children.Started(pid, p.group.cfg.Name, p.name()); err != nil {
			e.log.Logf(protocol.LevelWarn, "could not record %s (pid %d) for a successor: %v", p.name(), pid, err)
		}
	}
	e.startIO(p, io, pid)
	at := e.clock.Now()
	if p.ntf.sock != nil {
		p.ntf.child = pid
		p.ntf.sock.SetMainPID(pid)
	}
	if p.checking() {
		p.hc.status.Start(p.cfg.Health, at)
	}
	return pid, at, nil
}

func checkDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return &childError{msg: fmt.Sprintf("couldn't chdir to %s: %s", dir, errnoName(err))}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &childError{msg: fmt.Sprintf("couldn't chdir to %s: ENOTDIR", dir)}
	}
	return nil
}

// shimRlimits are a program's rlimit_* keys as the exec shim sets them.
func shimRlimits(keys []config.Rlimit) []execshim.Rlimit {
	var out []execshim.Rlimit
	for _, k := range keys {
		out = append(out, execshim.Rlimit{Resource: k.Resource, Cur: k.Soft, Max: k.Hard})
	}
	return out
}

// startError words an os.StartProcess failure as the reference would. A
// failure of the exec shim's own work (a limit the daemon may not set, a
// cgroup it cannot join) is a spawn error in its own words; one at a
// step a direct spawn also takes is worded by its errno, as that spawn's.
func (e *Engine) startError(p *process, argv []string, err error) error {
	var se *execshim.Error
	if errors.As(err, &se) {
		if se.Setup() {
			return errors.New(se.Error())
		}
		return &childError{msg: fmt.Sprintf("couldn't exec %s: %s", argv[0], errnoName(se.Errno))}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && errno == syscall.EAGAIN {
		return fmt.Errorf("Too many processes in process table to spawn %s", pyrepr.Str(p.name()))
	}
	return &childError{msg: fmt.Sprintf("couldn't exec %s: %s", argv[0], errnoName(err))}
}

func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if n := unix.ErrnoName(errno); n != "" {
			return n
		}
		return strconv.Itoa(int(errno))
	}
	return err.Error()
}

// childFailed writes what the reference's forked child would have written
// to its stderr before exiting 127, so `tail` shows why.
func (e *Engine) childFailed(p *process, err error) {
	var ce *childError
	if !errors.As(err, &ce) {
		return
	}
	if w := p.logs[p.errChannel()].w; w != nil {
		fmt.Fprintf(w, "supervisor: %s\nsupervisor: child process was not spawned\n", ce.msg)
	}
}
