package execshim

import (
	"errors"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Main makes this process the shim when it was started as one (argv[0]
// is Arg0): it then never returns, it execs the program or exits 127
// after reporting why on the error pipe. Otherwise it returns at once.
// Call it before anything else in main and in the TestMain of packages
// whose tests spawn through Start.
func Main() {
	if len(os.Args) != 3 || os.Args[0] != Arg0 {
		return
	}
	fd, err := strconv.Atoi(os.Args[1])
	if err != nil || fd < 3 {
		os.Exit(127)
	}
	// The program must not inherit the pipe: its closing at execve is
	// what tells Start that the exec succeeded.
	unix.CloseOnExec(fd)
	e := run(os.Args[2])
	_, _ = unix.Write(fd, e.encode())
	os.Exit(127)
}

// run does the spec's steps and execs; it returns only on failure.
func run(arg string) *Error {
	s, err := decodeSpec(arg)
	if err != nil {
		return &Error{Stage: StageSetup, What: "exec shim: bad spec: " + err.Error()}
	}
	pid := strconv.Itoa(os.Getpid())
	for _, l := range s.Rlimits {
		// syscall.Setrlimit, not unix.Setrlimit: for RLIMIT_NOFILE it
		// also tells syscall.Exec not to restore the soft limit the Go
		// runtime found at start-up.
		if err := syscall.Setrlimit(l.Resource, &syscall.Rlimit{Cur: l.Cur, Max: l.Max}); err != nil {
			return &Error{Stage: StageLimit, Errno: errnoOf(err), What: "can't set " + RlimitName(l.Resource)}
		}
	}
	if len(s.IgnoreSignals) > 0 {
		sigs := make([]os.Signal, len(s.IgnoreSignals))
		for i, sig := range s.IgnoreSignals {
			sigs[i] = sig
		}
		signal.Ignore(sigs...)
	}
	if s.WatchdogPID {
		if err := os.Setenv("WATCHDOG_PID", pid); err != nil {
			return &Error{Stage: StageSetup, What: "can't set WATCHDOG_PID: " + err.Error()}
		}
	}
	// Cgroups last before the user switch (writing cgroup.procs needs
	// root): the Go runtime should create no thread once in a cgroup whose
	// pids.max its threads may already fill (a move may exceed the limit,
	// a clone may not).
	for _, procs := range s.CgroupProcs {
		if err := writeFile(procs, pid); err != nil {
			return &Error{Stage: StageCgroup, Errno: errnoOf(err), What: "can't join cgroup " + procs}
		}
	}
	if c := s.Credential; c != nil {
		// Supervisor's order: groups, gid, uid (after setuid nothing else
		// could be changed). Go applies each to every thread.
		if err := syscall.Setgroups(c.Groups); err != nil {
			return &Error{Stage: StageUser, Errno: errnoOf(err), What: "can't set supplementary groups"}
		}
		if err := syscall.Setgid(c.GID); err != nil {
			return &Error{Stage: StageUser, Errno: errnoOf(err), What: "can't setgid to " + strconv.Itoa(c.GID)}
		}
		if err := syscall.Setuid(c.UID); err != nil {
			return &Error{Stage: StageUser, Errno: errnoOf(err), What: "can't setuid to " + strconv.Itoa(c.UID)}
		}
	}
	if s.Dir != "" {
		if err := syscall.Chdir(s.Dir); err != nil {
			return &Error{Stage: StageChdir, Errno: errnoOf(err), What: "can't chdir to " + s.Dir}
		}
	}
	if s.Umask >= 0 {
		syscall.Umask(s.Umask)
	}
	err = syscall.Exec(s.Path, s.Argv, os.Environ())
	return &Error{Stage: StageExec, Errno: errnoOf(err), What: "can't exec " + s.Path}
}

// writeFile writes text to an existing file in one write(2), as cgroup
// files need.
func writeFile(path, text string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	_, err = unix.Write(fd, []byte(text))
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	return err
}

func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return syscall.EINVAL
}
