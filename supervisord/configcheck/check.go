// Package configcheck is `supervisord --check-config`: it reads a
// configuration exactly as the daemon does (same file search, same
// errors) and then looks for the classic mistakes the daemon accepts
// silently or only fails on later: unknown sections and keys, include
// patterns matching nothing, sections written twice, groups hiding one
// another, shared log files, what a spawn would fail on (command,
// directory, user, log files), ports in use, and risky settings. Each
// finding names its file, line, section and key.
//
// The checks of the environment (files, users, ports) look at this
// machine as the user running the check, or as the [supervisord] user=
// when one is set: run it where, and as whom, the daemon runs.
package configcheck

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gosupervisor/config"
)

// Check reads the configuration file at path (as found by the daemon's
// search when the command line had no -c) with opts, as the daemon
// would, and reports what it finds.
func Check(path string, opts config.Options) *Report {
	return check(path, opts, true)
}

// check is Check; env false leaves out the checks of this machine
// (files, users, ports), which depend on where it runs.
func check(path string, opts config.Options, env bool) *Report {
	c := &checker{report: &Report{Config: path}}
	cfg, lay, err := config.Inspect(path, opts)
	c.lay = lay
	if err != nil {
		f := Finding{Severity: Error, Check: "parse", File: path, Message: err.Error()}
		if lay != nil && lay.Failure != nil {
			f.File, f.Line, f.Section, f.Key = lay.Failure.At.File, lay.Failure.At.Line, lay.Failure.Section, lay.Failure.Key
		}
		c.report.Findings = append(c.report.Findings, f)
	}
	if lay != nil {
		c.layout()
	}
	if cfg != nil {
		c.cfg = cfg
		c.groups()
		c.processes()
		c.servers()
		if env {
			newEnvChecker(c).run()
		}
	}
	c.report.sort()
	return c.report
}

// NotFound is the report for a command line that named no file and
// whose search found none: err is the daemon's error.
func NotFound(err error) *Report {
	return &Report{Findings: []Finding{{Severity: Error, Check: "parse", Message: err.Error()}}}
}

// checker accumulates the findings of one check.
type checker struct {
	report *Report
	lay    *config.Layout
	cfg    *config.Config
	// once keeps findings about a section from repeating for each of
	// its processes (numprocs).
	once map[string]bool
}

// add reports a finding about a key of a section (key "" = the section,
// section "" = the file as a whole), located by the layout.
func (c *checker) add(sev Severity, check, section, key, format string, args ...any) *Finding {
	f := Finding{Severity: sev, Check: check, Section: section, Key: key, Message: fmt.Sprintf(format, args...)}
	if at, ok := c.lay.Where(section, key); ok {
		f.File, f.Line = at.File, at.Line
	} else {
		f.File = c.report.Config
	}
	c.report.Findings = append(c.report.Findings, f)
	return &c.report.Findings[len(c.report.Findings)-1]
}

// first reports whether a finding identified by the parts is new.
func (c *checker) first(parts ...string) bool {
	if c.once == nil {
		c.once = map[string]bool{}
	}
	id := strings.Join(parts, "\x00")
	if c.once[id] {
		return false
	}
	c.once[id] = true
	return true
}

// at makes a finding about a position (no key lookup).
func (c *checker) at(sev Severity, check string, pos config.Position, section, key, format string, args ...any) *Finding {
	c.report.Findings = append(c.report.Findings, Finding{
		Severity: sev, Check: check, File: pos.File, Line: pos.Line, Section: section, Key: key,
		Message: fmt.Sprintf(format, args...),
	})
	return &c.report.Findings[len(c.report.Findings)-1]
}

// layout reports what the text says: unknown sections and keys,
// extension keys, sections written twice, the reference's parse
// warnings (include patterns matching nothing among them).
func (c *checker) layout() {
	for _, s := range c.lay.Sections {
		for i, h := range s.Headers[1:] {
			if s.Name == "include" {
				// Only the main file's [include] is followed.
				c.at(Warning, "nested-include", h, s.Name, "",
					"[include] in an included file is not followed: only the [include] of %s names files to read", c.report.Config)
				continue
			}
			c.at(Warning, "duplicate-section", h, s.Name, "",
				"[%s] is written again (first at %s): both are read as one section, the later value of a key wins", s.Name, s.Headers[i])
		}
		if !s.Known {
			f := c.at(Warning, "unknown-section", s.Headers[0], s.Name, "", "unknown section, ignored%s", suggest(s.Nearest, "; did you mean [%s]?"))
			f.Suggestion = s.Nearest
			continue
		}
		for _, k := range s.Keys {
			switch {
			case strings.HasPrefix(k.Name, "["):
				c.at(Warning, "unknown-key", k.At, s.Name, k.Name, "a section header without its closing ] is read as the key %q of [%s], and ignored", k.Name, s.Name)
			case !k.Known && s.Name == "DEFAULT":
				f := c.at(Warning, "unknown-key", k.At, s.Name, k.Name, "unknown key: no section reads it%s", suggest(k.Nearest, "; did you mean %s?"))
				f.Suggestion = k.Nearest
			case !k.Known:
				f := c.at(Warning, "unknown-key", k.At, s.Name, k.Name, "unknown key, ignored%s", suggest(k.Nearest, "; did you mean %s?"))
				f.Suggestion = k.Nearest
			case k.Extension:
				c.at(Note, "extension-key", k.At, s.Name, k.Name, "gosupervisor extension key (Supervisor 4.2.5 ignores it)")
			}
		}
	}
	for _, n := range c.lay.Notices {
		if !c.first(n.Code, n.Section, n.Key) {
			continue
		}
		c.at(Warning, n.Code, n.At, n.Section, n.Key, "%s", n.Text)
	}
}

func suggest(name, format string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(format, name)
}

// groupPrefixes are the section prefixes of each kind of group.
var groupPrefixes = map[config.GroupKind]string{
	config.KindProgram:       "program:",
	config.KindGroup:         "group:",
	config.KindFCGI:          "fcgi-program:",
	config.KindEventListener: "eventlistener:",
}

// section finds the section that makes a group or program named name
// under one of the prefixes (names are written with surrounding
// whitespace at times); "" when none does.
func (c *checker) section(name string, prefixes ...string) string {
	for _, s := range c.lay.Sections {
		for _, p := range prefixes {
			if rest, ok := strings.CutPrefix(s.Name, p); ok && strings.TrimSpace(rest) == name {
				return s.Name
			}
		}
	}
	return ""
}

// processSection is the section a process comes from.
func (c *checker) processSection(g *config.Group, p *config.Process) string {
	if g.Kind == config.KindGroup {
		return c.section(p.ProgramName, "program:", "fcgi-program:")
	}
	return c.section(p.ProgramName, groupPrefixes[g.Kind])
}

// groups reports groups that hide one another (the daemon runs the first
// group of a name, in priority order) and fcgi programs put in a
// [group:x], which get no socket.
func (c *checker) groups() {
	winners := map[string]*config.Group{}
	for _, g := range c.cfg.Groups {
		sec := c.section(g.Name, groupPrefixes[g.Kind])
		w := winners[g.Name]
		if w == nil {
			winners[g.Name] = g
		} else {
			wsec := c.section(w.Name, groupPrefixes[w.Kind])
			if w.Kind == config.KindGroup && len(w.Processes) == 0 && g.Kind != config.KindGroup {
				c.add(Warning, "hidden-group", sec, "",
					"never runs: [%s] (no programs=) takes the name %s first, so no process %s runs at all (as in Supervisor 4.2.5)", wsec, g.Name, g.Name)
			} else {
				c.add(Warning, "hidden-group", sec, "",
					"ignored: [%s] takes the name %s first (groups sort by priority, then name)", wsec, g.Name)
			}
		}
		if g.Kind != config.KindGroup {
			continue
		}
		for _, p := range g.Processes {
			fsec := "fcgi-program:" + p.ProgramName
			if c.processSection(g, p) != fsec || !c.first("fcgi-in-group", fsec) {
				continue
			}
			c.add(Warning, "fcgi-in-group", fsec, "socket",
				"[%s] is in [%s], where it runs as a plain program: its socket is never created (socket= and socket_* are ignored)", fsec, sec)
		}
	}
}

// processes reports risky settings and log files written twice.
func (c *checker) processes() {
	type writer struct {
		section, key, process string
	}
	writers := map[string][]writer{}
	var order []string
	write := func(path string, w writer) {
		if path == "" {
			return
		}
		path = c.absPath(path)
		if writers[path] == nil {
			order = append(order, path)
		}
		writers[path] = append(writers[path], w)
	}
	s := c.cfg.Supervisord
	if !s.LogfileSyslog {
		write(s.Logfile, writer{"supervisord", "logfile", ""})
	}
	for _, g := range c.cfg.Groups {
		for _, p := range g.Processes {
			sec := c.processSection(g, p)
			if !p.Stdout.Auto {
				write(p.Stdout.File, writer{sec, "stdout_logfile", p.Group + ":" + p.Name})
			}
			if !p.Stderr.Auto && !p.RedirectStderr {
				write(p.Stderr.File, writer{sec, "stderr_logfile", p.Group + ":" + p.Name})
			}
			if !c.first("risky", sec) {
				continue
			}
			if p.StopWaitSecs < p.StartSecs {
				c.add(Warning, "stopwaitsecs-short", sec, "stopwaitsecs",
					"stopwaitsecs=%d is shorter than startsecs=%d: a program that takes %d s to start is likely to need more than %d s to stop, and is killed with SIGKILL then",
					p.StopWaitSecs, p.StartSecs, p.StartSecs, p.StopWaitSecs)
			}
			if p.Autorestart == config.AutorestartTrue && p.StartRetries == 0 {
				c.add(Warning, "autorestart-no-retries", sec, "startretries",
					"autorestart=true with startretries=0: autorestart acts only once the program is RUNNING; a start that fails (an exit within startsecs) goes FATAL at once and is never retried")
			}
		}
	}
	for _, path := range order {
		ws := writers[path]
		if len(ws) < 2 {
			continue
		}
		first, second := ws[0], ws[1]
		if first.section == second.section && first.key == second.key {
			c.add(Warning, "shared-log-file", second.section, second.key,
				"every process of [%s] writes %s: they interleave and rotate the file under each other; put %%(process_num)d in the name", second.section, path)
			continue
		}
		what := fmt.Sprintf("[%s] %s", first.section, first.key)
		if first.process != "" && first.section != second.section {
			what = fmt.Sprintf("%s (process %s)", what, first.process)
		}
		c.add(Warning, "shared-log-file", second.section, second.key,
			"%s is also written by %s: two writers interleave and rotate the file under each other", path, what)
	}
}

// absPath is a log path as the daemon opens it: relative paths from its
// working directory (directory= once it daemonizes).
func (c *checker) absPath(path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	base := c.cfg.Here
	if s := c.cfg.Supervisord; s.Directory != "" && !s.Nodaemon {
		base = s.Directory
	} else if wd, err := os.Getwd(); err == nil {
		base = wd
	}
	return filepath.Join(base, path)
}

// stockFactory is the only [rpcinterface:x] factory the daemon serves.
const stockFactory = "supervisor.rpcinterface:make_main_rpcinterface"

// servers reports HTTP servers open to the network without a password
// and RPC interfaces the daemon does not load as written.
func (c *checker) servers() {
	for _, s := range c.cfg.InetHTTPServers {
		if s.Password == "" && !loopback(s.Host) {
			host := s.Host
			if host == "" {
				host = "every interface"
			}
			c.add(Warning, "inet-no-password", s.Section, "port",
				"serves %s:%d without a password: anyone who can reach it controls every program (set username= and password=, or listen on 127.0.0.1)", host, s.Port)
		}
	}
	for _, ri := range c.cfg.RPCInterfaces {
		sec := "rpcinterface:" + ri.Name
		if ri.Factory != stockFactory {
			c.add(Warning, "rpcinterface", sec, "supervisor.rpcinterface_factory",
				"factory %s is not loaded: gosupervisor serves the stock interface only (Supervisor 4.2.5 imports the Python factory)", ri.Factory)
			continue
		}
		if len(ri.Extras) > 0 {
			keys := slices.Sorted(maps.Keys(ri.Extras))
			c.add(Warning, "rpcinterface", sec, keys[0],
				"the stock interface takes no options: %s ignored (Supervisor 4.2.5 refuses to start)", strings.Join(keys, ", "))
		}
	}
}
