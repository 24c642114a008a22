package config

import (
	"reflect"
	"slices"
	"sort"
)

// Diff compares two configurations group by group as the reference's
// reloadConfig does and returns the names (sorted) of groups only in
// newCfg, present in both but different, and only in oldCfg. Log files
// that are AUTO on either side do not count as a difference; a process's
// environment is compared after merging [supervisord] environment.
func Diff(oldCfg, newCfg *Config) (added, changed, removed []string) {
	oldGroups := map[string]*Group{}
	if oldCfg != nil {
		for _, g := range oldCfg.Groups {
			oldGroups[g.Name] = g
		}
	}
	newGroups := map[string]*Group{}
	if newCfg != nil {
		for _, g := range newCfg.Groups {
			newGroups[g.Name] = g
			old, ok := oldGroups[g.Name]
			switch {
			case !ok:
				added = append(added, g.Name)
			case !groupsEqual(newCfg, g, oldCfg, old):
				changed = append(changed, g.Name)
			}
		}
	}
	if oldCfg != nil {
		for _, g := range oldCfg.Groups {
			if _, ok := newGroups[g.Name]; !ok {
				removed = append(removed, g.Name)
			}
		}
	}
	sort.Strings(added)
	sort.Strings(changed)
	sort.Strings(removed)
	return added, changed, removed
}

// groupsEqual is the new group's __eq__ against the old one: plain and
// [group:x] groups accept any non-listener old group, fcgi groups also
// compare the socket URL, listener pools compare their pool settings.
func groupsEqual(nc *Config, n *Group, oc *Config, o *Group) bool {
	switch n.Kind {
	case KindEventListener:
		if o.Kind != KindEventListener || o.BufferSize != n.BufferSize || o.ResultHandler != n.ResultHandler || !sameSet(o.Events, n.Events) {
			return false
		}
	case KindFCGI:
		if o.Kind != KindFCGI || o.Socket == nil || n.Socket == nil || o.Socket.URL != n.Socket.URL {
			return false
		}
	default:
		if o.Kind == KindEventListener {
			return false
		}
	}
	if n.Name != o.Name || n.Priority != o.Priority || len(n.Processes) != len(o.Processes) {
		return false
	}
	for i := range n.Processes {
		if !processesEqual(nc, n.Processes[i], oc, o.Processes[i]) {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	set := map[string]bool{}
	for _, x := range a {
		set[x] = true
	}
	other := map[string]bool{}
	for _, x := range b {
		if !set[x] {
			return false
		}
		other[x] = true
	}
	return len(set) == len(other)
}

// processesEqual compares the fields the reference's ProcessConfig.__eq__
// compares.
func processesEqual(nc *Config, n *Process, oc *Config, o *Process) bool {
	if n.Name != o.Name || n.UID != o.UID || n.Command != o.Command || n.Directory != o.Directory ||
		n.Umask != o.Umask || n.Priority != o.Priority || n.Autostart != o.Autostart ||
		n.Autorestart != o.Autorestart || n.StartSecs != o.StartSecs || n.StartRetries != o.StartRetries ||
		n.StopSignal != o.StopSignal || n.StopWaitSecs != o.StopWaitSecs || n.StopAsGroup != o.StopAsGroup ||
		n.KillAsGroup != o.KillAsGroup || n.RedirectStderr != o.RedirectStderr || n.ServerURL != o.ServerURL ||
		!slices.Equal(n.ExitCodes, o.ExitCodes) {
		return false
	}
	if !logEqual(n.Stdout, o.Stdout) || !logEqual(n.Stderr, o.Stderr) {
		return false
	}
	return reflect.DeepEqual(mergedEnv(nc, n), mergedEnv(oc, o))
}

func logEqual(a, b LogConfig) bool {
	if !a.Auto && !b.Auto && a.File != b.File {
		return false
	}
	return a.MaxBytes == b.MaxBytes && a.Backups == b.Backups && a.CaptureMaxBytes == b.CaptureMaxBytes &&
		a.EventsEnabled == b.EventsEnabled && a.Syslog == b.Syslog
}

// mergedEnv is [supervisord] environment overlaid with the program's own.
func mergedEnv(c *Config, p *Process) map[string]string {
	env := map[string]string{}
	if c != nil {
		for _, kv := range c.Supervisord.Environment {
			env[kv.Key] = kv.Value
		}
	}
	for _, kv := range p.Environment {
		env[kv.Key] = kv.Value
	}
	return env
}
