package engine

import (
	"slices"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
)

// Identification is the identifier of the config read last.
func (e *Engine) Identification() string {
	var id string
	if e.call(func(time.Time) { id = e.identifier }) != nil {
		return e.identifier // the loop has ended: no more writers
	}
	return id
}

// ReloadConfig re-reads the config file and reports how its groups differ
// from the active ones; it changes no process.
func (e *Engine) ReloadConfig() (added, changed, removed []string, err error) {
	if e.opts.Reload == nil {
		return nil, nil, nil, fail(ErrReread, "no configuration file to re-read")
	}
	cfg, err := e.opts.Reload()
	if err != nil {
		return nil, nil, nil, fail(ErrReread, err.Error())
	}
	var refused error
	if err := e.call(func(time.Time) {
		if refused = e.refuseDuringUpgrade(); refused != nil {
			return
		}
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
	if refused != nil {
		return nil, nil, nil, refused
	}
	return added, changed, removed, nil
}

// AddProcessGroup activates a group of the config read last; its autostart
// processes are spawned before it returns, as the reference has spawned
// them (in the transitions of the loop turn that handled the request)
// when its reply goes out: a getProcessInfo right after finds them
// STARTING.
func (e *Engine) AddProcessGroup(name string) error {
	var err error
	if cerr := e.call(func(now time.Time) {
		idx := slices.IndexFunc(e.cfg.Groups, func(g *config.Group) bool { return g.Name == name })
		switch {
		case e.upgrading:
			err = e.refuseDuringUpgrade()
		case idx < 0:
			err = fail(ErrNoSuchName, name)
		case e.groups[name] != nil:
			err = fail(ErrAlreadyActive, name)
		default:
			if aerr := e.addGroup(e.cfg.Groups[idx]); aerr != nil {
				err = fail(ErrFailed, aerr.Error())
				return
			}
			mood := e.moodNow()
			for _, p := range e.groups[name].procs {
				e.mach.transition(p, now, mood)
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
		case e.upgrading:
			err = e.refuseDuringUpgrade()
		case g == nil:
			err = fail(ErrNoSuchName, name)
		case len(g.unstopped()) > 0:
			err = fail(ErrStillRunning, name)
		default:
			e.removeGroup(g)
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

// ConfiguredProcess is one process of the config read last, active or
// not, with what only the engine knows about it.
type ConfiguredProcess struct {
	// Group is the process's group as configured.
	Group *config.Group
	// Process is its configuration. Both are shared with the engine and
	// never modified: read them, do not change them.
	Process *config.Process
	// Active says the group is active (added and not removed).
	Active bool
	// LogFiles are the channels' AUTO log files as named once the group
	// was activated from this very config; "" when the channel's log is
	// not AUTO or the group is not active with this config.
	LogFiles [len(protocol.Channels)]string
}

// ConfiguredProcesses lists every process of the config read last, in
// config order.
func (e *Engine) ConfiguredProcesses() []ConfiguredProcess {
	out := []ConfiguredProcess{}
	_ = e.call(func(time.Time) {
		for _, gc := range e.cfg.Groups {
			active := e.groups[gc.Name]
			for _, pc := range gc.Processes {
				cp := ConfiguredProcess{Group: gc, Process: pc, Active: active != nil}
				if active != nil && active.cfg == gc {
					for _, p := range active.procs {
						if p.cfg != pc {
							continue
						}
						for _, ch := range protocol.Channels {
							if pc.Log(ch).Auto {
								cp.LogFiles[ch] = p.logPath(ch)
							}
						}
					}
				}
				out = append(out, cp)
			}
		}
	})
	return out
}
