package engine

import (
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/internal/execshim"
)

// realOS spawns real children. Creating it subscribes to SIGCHLD (buffer 1:
// signals coalesce, so each wake-up reaps until nothing is left) and sets
// SIGPIPE and SIGXFSZ to ignored in this process: ignored dispositions
// survive fork and exec, so children inherit them as they do under the
// reference (Go resets only the signals it handles).
type realOS struct {
	// shimPath is the exec shim's binary: the daemon's own
	// (execshim.SelfPath), or a test binary that calls execshim.Main.
	shimPath string
	// ignored are the signals set to SIG_IGN here so that children
	// inherit them ignored; the exec shim ignores them again for its
	// program (its Go runtime installed handlers over them).
	ignored []syscall.Signal

	sigc   chan os.Signal
	exited chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	// umaskMu serialises the process-wide umask switch around a spawn.
	umaskMu sync.Mutex
}

func newRealOS() *realOS {
	r := &realOS{
		shimPath: execshim.SelfPath,
		ignored:  []syscall.Signal{syscall.SIGPIPE, syscall.SIGXFSZ},
		sigc:     make(chan os.Signal, 1),
		exited:   make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	for _, sig := range r.ignored {
		signal.Ignore(sig)
	}
	signal.Notify(r.sigc, syscall.SIGCHLD)
	r.wg.Add(1)
	go r.forward()
	return r
}

// forward turns signals into the struct{} notifications the loop selects on.
func (r *realOS) forward() {
	defer r.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case <-r.sigc:
			select {
			case r.exited <- struct{}{}:
			default:
			}
		}
	}
}

func (r *realOS) Start(spec *SpawnSpec) (int, error) {
	sys := &syscall.SysProcAttr{Setpgid: true}
	procs := filepath.Join(spec.CgroupDir, "cgroup.procs")
	if spec.CgroupDir == "" {
		return r.start(spec, sys, nil)
	}
	if spec.needsShim() {
		// The shim is a Go program: created in the leaf, its runtime's
		// threads would count against pids.max (and could fail to
		// start); it joins just before exec instead.
		return r.start(spec, sys, []string{procs})
	}
	fd, err := unix.Open(spec.CgroupDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &execshim.Error{Stage: execshim.StageCgroup, Errno: errnoOf(err), What: "can't open cgroup " + spec.CgroupDir}
	}
	defer unix.Close(fd)
	sys.UseCgroupFD, sys.CgroupFD = true, fd
	pid, err := r.start(spec, sys, nil)
	if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) {
		// clone3 is missing (kernel < 5.7) or filtered (seccomp): nothing
		// ran, and the shim joins the leaf before the program starts.
		sys.UseCgroupFD, sys.CgroupFD = false, 0
		return r.start(spec, sys, []string{procs})
	}
	return pid, err
}

// start spawns directly when nothing needs the shim, else through it
// (joins are more cgroup.procs files for the shim to join).
func (r *realOS) start(spec *SpawnSpec, sys *syscall.SysProcAttr, joins []string) (int, error) {
	if !spec.needsShim() && len(joins) == 0 {
		return r.startDirect(spec, sys)
	}
	es := execshim.Spec{
		Path: spec.Path, Argv: spec.Argv,
		CgroupProcs:   append(append([]string(nil), spec.CgroupProcs...), joins...),
		Rlimits:       spec.Rlimits,
		IgnoreSignals: r.ignored,
		WatchdogPID:   spec.WatchdogPID,
		Dir:           spec.Dir,
		Umask:         spec.Umask,
	}
	if c := spec.Credential; c != nil {
		es.Credential = &execshim.Credential{UID: int(c.Uid), GID: int(c.Gid)}
		for _, g := range c.Groups {
			es.Credential.Groups = append(es.Credential.Groups, int(g))
		}
	}
	attr := &os.ProcAttr{Env: spec.Env, Files: spec.Files, Sys: sys}
	return execshim.Start(r.shimPath, es, attr, execshim.DefaultTimeout)
}

func (r *realOS) startDirect(spec *SpawnSpec, sys *syscall.SysProcAttr) (int, error) {
	sys.Credential = spec.Credential
	attr := &os.ProcAttr{
		Dir:   spec.Dir,
		Env:   spec.Env,
		Files: spec.Files,
		Sys:   sys,
	}
	if spec.Umask >= 0 {
		// umask is process-wide: files other goroutines create during this
		// short window get the child's umask. Accepted: spawns with umask=
		// are rare and the window is one fork+exec.
		r.umaskMu.Lock()
		old := syscall.Umask(spec.Umask)
		defer func() {
			syscall.Umask(old)
			r.umaskMu.Unlock()
		}()
	}
	p, err := os.StartProcess(spec.Path, spec.Argv, attr)
	if err != nil {
		return 0, err
	}
	pid := p.Pid
	// Only the pid is kept: the reaper in the loop owns waiting, and a
	// zombie keeps its pid until that same goroutine reaps it.
	_ = p.Release()
	return pid, nil
}

// errnoOf is err's errno, EIO when it carries none.
func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return syscall.EIO
}

func (r *realOS) Kill(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

func (r *realOS) Reap() (Reaped, bool) {
	for {
		var ws syscall.WaitStatus
		var ru syscall.Rusage
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, &ru)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return Reaped{}, false
		}
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		return Reaped{PID: pid, Status: ws, CPU: cpu}, true
	}
}

func (r *realOS) ChildExited() <-chan struct{} { return r.exited }

// Survivors scans /proc: only when a program exits within startsecs, so
// the loop pays for it rarely.
func (r *realOS) Survivors(pgid int, also []int) []Survivor {
	return survivors("/proc", pgid, also)
}

// survivors lists the live processes of process group pgid and among
// also found in the proc file system mounted at proc, by pid.
func survivors(proc string, pgid int, also []int) []Survivor {
	entries, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	var out []Survivor
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(proc, ent.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		name, state, group, ok := parseStat(string(b))
		if ok && (group == pgid || slices.Contains(also, pid)) && state != "Z" && state != "X" {
			out = append(out, Survivor{PID: pid, Name: name})
		}
	}
	slices.SortFunc(out, func(a, b Survivor) int { return a.PID - b.PID })
	return out
}

// parseStat reads the command name, state and process group of a
// /proc/PID/stat line: "pid (comm) state ppid pgrp ...", where comm may
// itself hold spaces and parentheses.
func parseStat(line string) (name, state string, pgrp int, ok bool) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return "", "", 0, false
	}
	fields := strings.Fields(line[end+1:])
	if len(fields) < 3 {
		return "", "", 0, false
	}
	pgrp, err := strconv.Atoi(fields[2])
	if err != nil {
		return "", "", 0, false
	}
	return line[open+1 : end], fields[0], pgrp, true
}

func (r *realOS) Close() {
	signal.Stop(r.sigc)
	close(r.stop)
	r.wg.Wait()
}
