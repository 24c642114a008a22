package config

import (
	"reflect"
	"slices"
	"sort"

	"gosupervisor/internal/envfile"
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

// groupsEqual is the new group's __eq__ against the old one. Every field
// of Group counts (reflection, so a new field is compared without more
// code), except where groupFieldRule says otherwise.
func groupsEqual(nc *Config, n *Group, oc *Config, o *Group) bool {
	nv, ov := reflect.ValueOf(n).Elem(), reflect.ValueOf(o).Elem()
	for i := range nv.NumField() {
		name := nv.Type().Field(i).Name
		var equal bool
		switch groupFieldRule(name) {
		case compareKind:
			equal = kindsMatch(n.Kind, o.Kind)
		case compareProcesses:
			equal = len(n.Processes) == len(o.Processes)
			for j := 0; equal && j < len(n.Processes); j++ {
				equal = processesEqual(nc, n.Processes[j], oc, o.Processes[j])
			}
		case compareSocketURL:
			equal = n.Kind != KindFCGI || (n.Socket != nil && o.Socket != nil && n.Socket.URL == o.Socket.URL)
		case compareSet:
			equal = sameSet(n.Events, o.Events)
		default:
			equal = reflect.DeepEqual(nv.Field(i).Interface(), ov.Field(i).Interface())
		}
		if !equal {
			return false
		}
	}
	return true
}

// fieldRule says how Diff compares one field.
type fieldRule int

// The ways of comparing a field.
const (
	compareValue     fieldRule = iota // reflect.DeepEqual
	compareIgnored                    // not compared (see the rule's reason)
	compareKind                       // kindsMatch
	compareProcesses                  // pairwise, in order
	compareSocketURL                  // only the URL, and only for fcgi groups
	compareSet                        // as a set (order and duplicates ignored)
	compareLog                        // LogConfig: AUTO matches any file
	compareEnv                        // after merging [supervisord] environment=
)

// groupFieldRule is how Diff compares the Group field named field.
func groupFieldRule(field string) fieldRule {
	switch field {
	case "Kind":
		return compareKind
	case "Processes":
		return compareProcesses
	case "Socket":
		// The reference compares fcgi sockets by URL only.
		return compareSocketURL
	case "Events":
		// The reference keeps a pool's events in a set.
		return compareSet
	}
	return compareValue
}

// kindsMatch is the reference's isinstance test: plain and [group:x]
// groups (ProcessGroupConfig) accept any non-listener old group, since
// FastCGIGroupConfig is a subclass; fcgi and listener groups need their
// own kind.
func kindsMatch(n, o GroupKind) bool {
	switch n {
	case KindEventListener, KindFCGI:
		return n == o
	}
	return o != KindEventListener
}

// processFieldRule is how Diff compares the Process field named field.
// The reference compares every setting of a ProcessConfig; what it does
// not compare is derived from something compared, or a name compared at
// the group level.
func processFieldRule(field string) fieldRule {
	switch field {
	case "Group", "ProgramName", "ProcessNum", "NumProcs":
		// Seen through the group's name and its list of process names.
		return compareIgnored
	case "Argv", "ArgvErr":
		// Derived from Command.
		return compareIgnored
	case "Requires":
		// Derived from DependsOn and the other groups' processes (a
		// dependency's numprocs changing changes its own group only).
		return compareIgnored
	case "User", "GID":
		// The reference compares the resolved uid only.
		return compareIgnored
	case "Stdout", "Stderr":
		return compareLog
	case "Environment":
		return compareEnv
	}
	return compareValue
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

// processesEqual is the reference's ProcessConfig.__eq__: every field of
// Process counts unless processFieldRule says otherwise, so a new field
// (a new key) is compared without more code.
func processesEqual(nc *Config, n *Process, oc *Config, o *Process) bool {
	nv, ov := reflect.ValueOf(n).Elem(), reflect.ValueOf(o).Elem()
	for i := range nv.NumField() {
		var equal bool
		switch processFieldRule(nv.Type().Field(i).Name) {
		case compareIgnored:
			equal = true
		case compareLog:
			equal = logEqual(nv.Field(i).Interface().(LogConfig), ov.Field(i).Interface().(LogConfig))
		case compareEnv:
			// [supervisord] environment_file is part of every program's
			// environment, as [supervisord] environment is.
			equal = reflect.DeepEqual(mergedEnv(nc, n), mergedEnv(oc, o)) && slices.Equal(envFiles(nc), envFiles(oc))
		default:
			equal = reflect.DeepEqual(nv.Field(i).Interface(), ov.Field(i).Interface())
		}
		if !equal {
			return false
		}
	}
	return true
}

// logEqual compares every field of two LogConfigs, except that a file
// that is AUTO on either side matches any file (the reference skips a
// setting that is Automatic on either side).
func logEqual(a, b LogConfig) bool {
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range av.NumField() {
		switch av.Type().Field(i).Name {
		case "Auto":
			continue // File's rule covers it
		case "File":
			if a.Auto || b.Auto {
				continue
			}
		}
		if !reflect.DeepEqual(av.Field(i).Interface(), bv.Field(i).Interface()) {
			return false
		}
	}
	return true
}

// envFiles is c's [supervisord] environment_file (nil for a nil c).
func envFiles(c *Config) []envfile.Entry {
	if c == nil {
		return nil
	}
	return c.Supervisord.EnvironmentFiles
}

// mergedEnv is p's environment as c configures it, as a map: the
// reference compares dicts, so order does not count.
func mergedEnv(c *Config, p *Process) map[string]string {
	env := map[string]string{}
	for _, kv := range c.ProcessEnvironment(p) {
		env[kv.Key] = kv.Value
	}
	return env
}
