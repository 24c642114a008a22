package supervisord

import (
	"os"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/orphans"
)

// adoptOrphans makes supervisord the reaper of its orphaned descendants
// when [supervisord] subreaper is set (PR_SET_CHILD_SUBREAPER; as PID 1 it
// is their reaper anyway), and clears it otherwise (a restart may have
// turned it off). It reports whether orphans come to supervisord: the
// engine's one wait4(-1) loop reaps them, and logs them at debug level.
func adoptOrphans(cfg *config.Config, log mainLogger) bool {
	if os.Getpid() == 1 {
		return true
	}
	on := cfg.Supervisord.Subreaper
	var arg uintptr
	if on {
		arg = 1
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, arg, 0, 0, 0); err != nil {
		if on {
			log.Logf(protocol.LevelError, "could not become a child subreaper: %v", err)
		}
		return false
	}
	return on
}

// childrenFile is the state file that records supervisord's children,
// beside its pidfile.
func childrenFile(cfg *config.Config) string {
	return cfg.Supervisord.Pidfile + orphans.Suffix
}

// handleOrphans finds the children a previous supervisord with the same
// pidfile left running when it died without stopping them, and stops
// them (orphans=stop: in stop order, before anything starts, so that each
// program runs once) or lists them (orphans=report).
func handleOrphans(cfg *config.Config, log mainLogger) {
	survivors, err := orphans.Survivors(childrenFile(cfg))
	if err != nil {
		log.Logf(protocol.LevelWarn, "could not look for the orphans of a previous supervisord: %v", err)
		return
	}
	if len(survivors) == 0 {
		return
	}
	if cfg.Supervisord.Orphans == config.OrphansReport {
		for _, c := range survivors {
			log.Logf(protocol.LevelWarn, "orphan of a previous supervisord still running: %s (pid %d)", namespec(c.Group, c.Name), c.PID)
		}
		return
	}
	waves := orphanWaves(cfg, survivors)
	for _, wave := range waves {
		for _, t := range wave {
			log.Logf(protocol.LevelInfo, "stopping orphan of a previous supervisord: %s (pid %d) with %s", namespec(t.Group, t.Name), t.PID, config.SignalName(t.Signal))
		}
	}
	orphans.Stop(waves, func(t orphans.Target, o orphans.Outcome, err error) {
		name := namespec(t.Group, t.Name)
		switch o {
		case orphans.Stopped:
			log.Logf(protocol.LevelInfo, "orphan %s (pid %d) stopped", name, t.PID)
		case orphans.Killed:
			log.Logf(protocol.LevelWarn, "orphan %s (pid %d) killed with SIGKILL after %v", name, t.PID, t.Wait)
		case orphans.Gone:
			log.Logf(protocol.LevelInfo, "orphan %s (pid %d) had already ended", name, t.PID)
		case orphans.Failed:
			log.Logf(protocol.LevelError, "could not stop orphan %s (pid %d): %v", name, t.PID, err)
		}
	})
}

func namespec(group, name string) string {
	if group == name {
		return name
	}
	return group + ":" + name
}

// orphanWaves orders the survivors as a shutdown would stop their
// programs: a process only after every survivor that depends on it, and
// otherwise groups from the highest priority down, one priority at a
// time. Each target gets its program's stop signal, stopwaitsecs and
// process-group settings (SIGTERM and 10 s for a program no longer
// configured).
func orphanWaves(cfg *config.Config, survivors []orphans.Child) [][]orphans.Target {
	type node struct {
		t        orphans.Target
		pc       *config.Process
		priority int
	}
	var rest []*node
	for _, c := range survivors {
		n := &node{t: orphans.Target{Child: c, Signal: syscall.SIGTERM, Wait: 10 * time.Second}, priority: int(^uint(0) >> 1)}
		for _, g := range cfg.Groups {
			for _, pc := range g.Processes {
				if g.Name == c.Group && pc.Name == c.Name && n.pc == nil {
					n.pc, n.priority = pc, g.Priority
					n.t.Signal, n.t.Wait = pc.StopSignal, time.Duration(pc.StopWaitSecs)*time.Second
					n.t.StopAsGroup, n.t.KillAsGroup = pc.StopAsGroup, pc.KillAsGroup
				}
			}
		}
		rest = append(rest, n)
	}
	dependsOn := func(a, b *node) bool { // a depends on b
		if a.pc == nil {
			return false
		}
		for _, r := range a.pc.Requires {
			if r.Group == b.t.Group && r.Name == b.t.Name {
				return true
			}
		}
		return false
	}
	var waves [][]orphans.Target
	for len(rest) > 0 {
		var free []*node
		for _, n := range rest {
			blocked := false
			for _, d := range rest {
				if d != n && dependsOn(d, n) {
					blocked = true
				}
			}
			if !blocked {
				free = append(free, n)
			}
		}
		if len(free) == 0 {
			free = rest // a cycle (configs are acyclic): stop the rest together
		}
		top := free[0].priority
		for _, n := range free {
			top = max(top, n.priority)
		}
		var wave []orphans.Target
		var left []*node
		for _, n := range rest {
			if n.priority == top && slices.Contains(free, n) {
				wave = append(wave, n.t)
			} else {
				left = append(left, n)
			}
		}
		waves, rest = append(waves, wave), left
	}
	return waves
}
