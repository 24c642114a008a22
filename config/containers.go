package config

import (
	"errors"
	"fmt"
	"strings"

	"gosupervisor/internal/envfile"
	"gosupervisor/internal/pyrepr"
)

// Condition is what a depends_on target must reach before its dependent
// starts.
type Condition int

// The depends_on conditions.
const (
	// CondRunning is RUNNING (for a notify=true program: READY=1 seen).
	CondRunning Condition = iota
	// CondStarted is spawned (STARTING or later).
	CondStarted
	// CondHealthy is RUNNING with a passing health check.
	CondHealthy
	// CondExited is EXITED with an expected exit code (one-shot tasks).
	CondExited
)

// String is the condition as written in a config.
func (c Condition) String() string {
	switch c {
	case CondStarted:
		return "started"
	case CondHealthy:
		return "healthy"
	case CondExited:
		return "exited"
	}
	return "running"
}

// parseCondition reads a condition name (any case).
func parseCondition(s string) (Condition, error) {
	for _, c := range []Condition{CondRunning, CondStarted, CondHealthy, CondExited} {
		if strings.EqualFold(s, c.String()) {
			return c, nil
		}
	}
	return 0, fmt.Errorf("depends_on condition %s is not one of running, started, healthy, exited", pyrepr.Str(s))
}

// Dependency is one depends_on target as written.
type Dependency struct {
	// Target is group:process, a group name, or a [program:x] name.
	Target    string
	Condition Condition
}

// String is the dependency as written (the condition only when it is not
// the default).
func (d Dependency) String() string {
	if d.Condition == CondRunning {
		return d.Target
	}
	return d.Target + "=" + d.Condition.String()
}

// Requirement is one process a process depends on, resolved by Load from
// its depends_on targets.
type Requirement struct {
	Group, Name string
	Condition   Condition
}

// ExitOnEnd is exit_on_end: when a process that ends and will not be
// restarted makes the daemon shut down.
type ExitOnEnd int

// The exit_on_end values.
const (
	ExitOnEndNever      ExitOnEnd = iota // false
	ExitOnEndAlways                      // true
	ExitOnEndUnexpected                  // unexpected: only an unexpected end
)

func parseExitOnEnd(s string) (ExitOnEnd, error) {
	if strings.EqualFold(strings.TrimSpace(s), "unexpected") {
		return ExitOnEndUnexpected, nil
	}
	b, err := ParseBool(s)
	if err != nil {
		return 0, fmt.Errorf("exit_on_end %s is not one of true, false, unexpected", pyrepr.Str(s))
	}
	if b {
		return ExitOnEndAlways, nil
	}
	return ExitOnEndNever, nil
}

// Orphans is [supervisord] orphans: what a starting daemon does with the
// processes a predecessor that died without stopping them left running.
type Orphans int

// The orphans policies.
const (
	OrphansReport Orphans = iota // list them in the main log
	OrphansStop                  // stop them, in stop order, before starting anything
)

// String is the policy as written in a config.
func (o Orphans) String() string {
	if o == OrphansStop {
		return "stop"
	}
	return "report"
}

func parseOrphans(s string) (Orphans, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "report":
		return OrphansReport, nil
	case "stop":
		return OrphansStop, nil
	}
	return 0, fmt.Errorf("orphans %s is not one of stop, report", pyrepr.Str(s))
}

// RetryForever is the startretries value that never gives up (an
// extension: the reference, like any other negative value, gives up
// after the first failure).
const RetryForever = -1

// containerRows are the extension keys of issue 15 (dependencies,
// environment files, exit policies, backoff), read per process so that
// %(process_num)d and ENV_ names expand in them as in command=.
func containerRows() []keyRow {
	const startable = inProgram | inFCGI
	rows := []keyRow{
		{name: "depends_on", in: startable, optional: true, set: func(c *keyCtx, v string) error {
			deps, err := parseDependsOn(v)
			c.proc.DependsOn = deps
			return err
		}},
		{name: "depends_on_timeout_secs", in: startable, def: "0", set: parsed(atLeast(0), func(p *Process) *int { return &p.DependsOnTimeoutSecs })},
		{name: "environment_file", optional: true, set: func(c *keyCtx, v string) (err error) {
			c.proc.EnvironmentFiles, err = envfile.ParseEntries(v)
			return err
		}},
		{name: "exit_on_fatal", in: startable, def: "false", set: parsed(ParseBool, func(p *Process) *bool { return &p.ExitOnFatal })},
		{name: "exit_on_end", in: startable, def: "false", set: parsed(parseExitOnEnd, func(p *Process) *ExitOnEnd { return &p.ExitOnEnd })},
		{name: "backoff_max_secs", def: "0", set: parsed(atLeast(0), func(p *Process) *int { return &p.BackoffMaxSecs })},
	}
	for i := range rows {
		rows[i].stage = stageProcess
		rows[i].extension = true
	}
	return rows
}

// parseDependsOn reads a comma-separated list of target[=condition].
func parseDependsOn(v string) ([]Dependency, error) {
	var out []Dependency
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		target, cond, hasCond := strings.Cut(item, "=")
		d := Dependency{Target: strings.TrimSpace(target)}
		if d.Target == "" {
			return nil, fmt.Errorf("depends_on %s names no target", pyrepr.Str(item))
		}
		if hasCond {
			var err error
			if d.Condition, err = parseCondition(strings.TrimSpace(cond)); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// supervisordExtensions reads the extension keys of [supervisord]; an
// error is kept for Load to report once the reference's checks pass.
func (l *loader) supervisordExtensions(s *Supervisord) {
	const sec = "supervisord"
	here := expansions{"here": l.here}
	for _, k := range []struct {
		key string
		set func(string) error
	}{
		{"environment_file", func(v string) (err error) {
			s.EnvironmentFiles, err = envfile.ParseEntries(v)
			return err
		}},
		{"exit_when_all_ended", func(v string) (err error) { s.ExitWhenAllEnded, err = ParseBool(v); return err }},
		{"subreaper", func(v string) (err error) { s.Subreaper, err = ParseBool(v); return err }},
		{"orphans", func(v string) (err error) { s.Orphans, err = parseOrphans(v); return err }},
	} {
		v, given, err := l.get(sec, k.key, l.environ.merge(here))
		if err == nil && given {
			err = k.set(v)
		}
		if err != nil && l.extErr == nil {
			l.extErr = fmt.Errorf("[supervisord] %s: %w", k.key, err)
		}
	}
}

// resolveDependencies turns every process's depends_on targets into
// Requirements and refuses what cannot work: a target that names nothing
// or an event listener, healthy without a health check, and cycles.
func (l *loader) resolveDependencies(groups []*Group) error {
	type key struct{ group, name string }
	byKey := map[key]*Process{}
	for _, g := range groups {
		for _, p := range g.Processes {
			byKey[key{g.Name, p.Name}] = p
		}
	}
	for _, g := range groups {
		for _, p := range g.Processes {
			p.Requires = nil
			seen := map[Requirement]bool{}
			for _, d := range p.DependsOn {
				targets, err := DependencyTargets(groups, d.Target)
				if err != nil {
					return l.inSection(sectionOf(g, p), fmt.Errorf("depends_on: %w", err))
				}
				for _, t := range targets {
					tg := groupByName(groups, t.Group)
					if tg.Kind == KindEventListener {
						return l.inSection(sectionOf(g, p), fmt.Errorf("depends_on: %s is an event listener", pyrepr.Str(d.Target)))
					}
					if d.Condition == CondHealthy && t.Health.Kind == HealthNone {
						return l.inSection(sectionOf(g, p), fmt.Errorf("depends_on: %s has no health check (condition healthy)", pyrepr.Str(displayName(t))))
					}
					r := Requirement{Group: t.Group, Name: t.Name, Condition: d.Condition}
					if !seen[r] {
						seen[r] = true
						p.Requires = append(p.Requires, r)
					}
				}
			}
		}
	}
	if cycle := findCycle(groups, func(r Requirement) *Process { return byKey[key{r.Group, r.Name}] }); cycle != nil {
		return errors.New("depends_on cycle: " + strings.Join(cycle, " -> "))
	}
	return nil
}

// DependencyWarnings are the lines the daemon logs at start-up about c's
// dependencies: a priority that would start a process before one it
// depends on (the dependency wins). They are not among c.Messages, which
// are the reference's own.
func (c *Config) DependencyWarnings() []string {
	var out []string
	for _, g := range c.Groups {
		for _, p := range g.Processes {
			warned := map[string]bool{}
			for _, r := range p.Requires {
				tg := groupByName(c.Groups, r.Group)
				for _, t := range tg.Processes {
					if t.Name != r.Name || warned[displayName(t)] || t.Priority <= p.Priority {
						continue
					}
					warned[displayName(t)] = true
					out = append(out, fmt.Sprintf("%s depends on %s but has a lower priority (%d < %d): %s waits for %s",
						displayName(p), displayName(t), p.Priority, t.Priority, displayName(p), displayName(t)))
				}
			}
		}
	}
	return out
}

// DependencyTargets resolves one depends_on target among groups:
// group:process, else a group's processes, else the processes of the
// [program:x] of that name (inside a [group:y] too). The daemon resolves
// against its active groups, which may come from several configs after a
// partial update.
func DependencyTargets(groups []*Group, target string) ([]*Process, error) {
	if gname, pname, ok := strings.Cut(target, ":"); ok {
		if g := groupByName(groups, gname); g != nil {
			for _, p := range g.Processes {
				if p.Name == pname {
					return []*Process{p}, nil
				}
			}
		}
		return nil, fmt.Errorf("no process named %s", pyrepr.Str(target))
	}
	if g := groupByName(groups, target); g != nil && len(g.Processes) > 0 {
		return g.Processes, nil
	}
	var out []*Process
	for _, g := range groups {
		for _, p := range g.Processes {
			if p.ProgramName == target {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no program or group named %s", pyrepr.Str(target))
	}
	return out, nil
}

// groupByName is the first group with that name (the one the daemon
// activates when two share it).
func groupByName(groups []*Group, name string) *Group {
	for _, g := range groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// sectionOf names the section a process comes from.
func sectionOf(g *Group, p *Process) string {
	switch g.Kind {
	case KindFCGI:
		return "fcgi-program:" + p.ProgramName
	case KindEventListener:
		return "eventlistener:" + p.ProgramName
	}
	return "program:" + p.ProgramName
}

// displayName is how supervisorctl names a process: its name when it is
// its group's only namesake, else group:name.
func displayName(p *Process) string {
	if p.Group == p.Name {
		return p.Name
	}
	return p.Group + ":" + p.Name
}

// findCycle returns the first dependency cycle met walking the processes
// in config order (the path, its first process repeated at the end), or
// nil.
func findCycle(groups []*Group, lookup func(Requirement) *Process) []string {
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[*Process]int{}
	var path []*Process
	var visit func(p *Process) []string
	visit = func(p *Process) []string {
		state[p] = onPath
		path = append(path, p)
		for _, r := range p.Requires {
			t := lookup(r)
			switch state[t] {
			case onPath:
				var names []string
				start := 0
				for i, q := range path {
					if q == t {
						start = i
					}
				}
				for _, q := range path[start:] {
					names = append(names, displayName(q))
				}
				return append(names, displayName(t))
			case unvisited:
				if c := visit(t); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[p] = done
		return nil
	}
	for _, g := range groups {
		for _, p := range g.Processes {
			if state[p] == unvisited {
				if c := visit(p); c != nil {
					return c
				}
			}
		}
	}
	return nil
}
