package supervisord

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
)

// rlimitInfinity is RLIM_INFINITY on Linux.
const rlimitInfinity = ^uint64(0)

// rlimitNproc is RLIMIT_NPROC (not exported by package syscall).
const rlimitNproc = 6

// minimumLimit is one rlimit the reference raises at startup.
type minimumLimit struct {
	name     string
	resource int
	min      uint64
	// failure is the reference's error text; %[1]d is the minimum,
	// %[2]d the hard limit.
	failure string
}

// raiseLimits raises RLIMIT_NOFILE and RLIMIT_NPROC soft limits to minfds
// and minprocs as the reference's set_rlimits_or_exit does (the hard limit
// too when below, which only root may do), noting an INFO line for each
// raise; a limit that cannot be raised is a startup error.
func raiseLimits(cfg *config.Config, msgs *startupMessages) error {
	limits := []minimumLimit{
		{"RLIMIT_NOFILE", syscall.RLIMIT_NOFILE, uint64(max(cfg.Supervisord.MinFDs, 0)),
			"The minimum number of file descriptors required to run this process is %[1]d as per the \"minfds\" command-line argument or config file setting. The current environment will only allow you to open %[2]d file descriptors.  Either raise the number of usable file descriptors in your environment (see README.rst) or lower the minfds setting in the config file to allow the process to start."},
		{"RLIMIT_NPROC", rlimitNproc, uint64(max(cfg.Supervisord.MinProcs, 0)),
			"The minimum number of available processes required to run this program is %[1]d as per the \"minprocs\" command-line argument or config file setting. The current environment will only allow you to open %[2]d processes.  Either raise the number of usable processes in your environment (see README.rst) or lower the minprocs setting in the config file to allow the program to start."},
	}
	for _, l := range limits {
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(l.resource, &lim); err != nil {
			return fmt.Errorf("getrlimit %s: %w", l.name, err)
		}
		soft := lim.Cur
		if l.resource == syscall.RLIMIT_NOFILE {
			soft = originalNofileSoft(lim)
		}
		if soft >= l.min || soft == rlimitInfinity {
			continue
		}
		hard := lim.Max
		if hard < l.min && hard != rlimitInfinity {
			hard = l.min
		}
		// syscall.Setrlimit on NOFILE also makes children inherit this
		// limit instead of the one Go saved at startup.
		if err := syscall.Setrlimit(l.resource, &syscall.Rlimit{Cur: l.min, Max: hard}); err != nil {
			// The reference reports the hard limit after its adjustment.
			return usagef(l.failure, l.min, hard)
		}
		msgs.add(protocol.LevelInfo, "Increased %s limit to %d", l.name, l.min)
	}
	return nil
}

// originalNofileSoft returns the soft RLIMIT_NOFILE we were started with.
// Go's runtime raises its own soft limit to hard-1 at startup and restores
// the original only in children, which is the limit the reference compares
// with minfds. When the current limit carries Go's mark, a shell child
// reports the original (this runs once, before the engine and its reaper
// exist, so waiting for that child races with nothing).
func originalNofileSoft(current syscall.Rlimit) uint64 {
	if current.Max == rlimitInfinity || current.Max == 0 || current.Cur != current.Max-1 {
		return current.Cur
	}
	out, err := exec.Command("/bin/sh", "-c", "ulimit -Sn").Output()
	if err != nil {
		return current.Cur
	}
	s := strings.TrimSpace(string(out))
	if s == "unlimited" {
		return rlimitInfinity
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return current.Cur
	}
	return n
}
