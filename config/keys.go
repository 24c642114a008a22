package config

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// The keys of [program:x], [eventlistener:x], [fcgi-program:x] and
// [group:x] sections are one table (processKeys): each key is one row
// saying which sections accept it, its default, whether Supervisor 4.2.5
// knows it, and how its value is parsed and where it is stored. Load runs
// the rows in table order, so the order of the rows is the order in which
// the reference reads and validates the keys (which decides the error
// reported for a config with several mistakes). Rows without a name are
// checks between keys, placed where the reference makes them.

// sectionKind is a set of section kinds, one bit each.
type sectionKind uint8

// The section kinds rows apply to.
const (
	inProgram  sectionKind = 1 << iota // [program:x]
	inListener                         // [eventlistener:x]
	inFCGI                             // [fcgi-program:x]
	inGroup                            // [group:x]

	// programLike is every section that describes processes; a row that
	// names no kind applies to these.
	programLike = inProgram | inListener | inFCGI
)

// sectionKindOf is the section kind of a group kind.
func sectionKindOf(k GroupKind) sectionKind {
	switch k {
	case KindGroup:
		return inGroup
	case KindFCGI:
		return inFCGI
	case KindEventListener:
		return inListener
	}
	return inProgram
}

// stage says when a row is read: the reference reads some keys once per
// group, some once per section, and the rest once per process
// (numprocs), with %(process_num)d and the program's ENV_ names known.
type stage uint8

// The stages, in the order Load runs them for one section.
const (
	stageGroup   stage = iota // building the group (process_groups_from_parser)
	stageSection              // once per section, before its processes
	stageProcess              // once per process, in process_num order
)

// keyRow is one key of a process section (or, without a name, one check).
type keyRow struct {
	// name is the key as written (keys are case-insensitive; this is the
	// lower-case form). "" makes the row a check: only check runs.
	name string
	// in is the set of sections that accept the key (0 = programLike).
	in    sectionKind
	stage stage
	// extension marks keys Supervisor 4.2.5 does not know (it ignores
	// them). Their values are also kept in Process.Extensions, and their
	// errors are reported only when the reference would accept the file,
	// so a config with several mistakes fails first where the reference
	// fails.
	extension bool
	// def is the value used when the key is absent, expanded like a value
	// (none of the defaults contains a %); optional rows have none: when
	// the key is absent, set is not called.
	def      string
	optional bool
	// raw rows get the value as written; set expands it itself (the
	// reference expands environment= and process_name= later, with more
	// names, and under a different name in its error texts).
	raw bool
	// set parses v and stores it; check is a check row's test.
	set   func(c *keyCtx, v string) error
	check func(c *keyCtx) error
	// about is the key a check row's error concerns, "" for the section.
	about string
}

// keyCtx is what the rows of one section read and write.
type keyCtx struct {
	l     *loader
	sec   string      // the section's name, e.g. "program:web"
	kind  sectionKind // one bit
	group *Group      // the group being built (stageGroup)
	// proc is the section's template (stageSection) or one of its
	// processes (stageProcess).
	proc *Process
	// exp are the expansions of the current stage; in stageProcess it
	// grows with the program's environment as the reference's does.
	exp expansions

	// Values handed from a row to a later one.
	programs      []string // [group:x] programs=
	procUID       int      // [fcgi-program:x] user=, -1 if absent
	ownerSet      bool     // socket_owner= given
	modeSet       bool     // socket_mode= given
	numprocsStart int
	processName   string // process_name=, checked, not yet expanded
	hasCommand    bool
	stdoutKind    logfileKind
	stderrKind    logfileKind
}

// run applies the rows of stage st that apply to the section, in order.
func (c *keyCtx) run(rows []keyRow, st stage) error {
	for i := range rows {
		r := &rows[i]
		in := r.in
		if in == 0 {
			in = programLike
		}
		if r.stage != st || in&c.kind == 0 {
			continue
		}
		if err := c.apply(r); err != nil {
			if !r.extension {
				if r.name == "" {
					c.l.failAt = &sectionKey{c.sec, r.about}
				}
				return err
			}
			c.l.extensionError(c.sec, err)
		}
	}
	return nil
}

// apply reads, expands and stores one row's value, or runs its check.
func (c *keyCtx) apply(r *keyRow) error {
	if r.name == "" {
		return r.check(c)
	}
	v, given := c.l.ini.get(c.sec, r.name)
	if !given {
		if r.optional {
			return nil
		}
		v = r.def
	}
	if !r.raw {
		var err error
		if v, err = c.l.expandWith(v, c.exp, c.sec+"."+r.name); err != nil {
			return err
		}
	}
	if r.extension && given && c.proc != nil {
		if c.proc.Extensions == nil {
			c.proc.Extensions = map[string]string{}
		}
		c.proc.Extensions[r.name] = v
	}
	if r.set == nil {
		return nil
	}
	return r.set(c, v)
}

// extensionError keeps the first error of an extension key, with the
// section it is in, for Load to report once the reference's checks pass.
// The key is the one read last in that section.
func (l *loader) extensionError(sec string, err error) {
	if l.extErr == nil {
		l.extErr = l.inSection(sec, err)
		l.extErrAt = sectionKey{section: sec}
		if l.ini.lastAsked.section == sec {
			l.extErrAt.key = l.ini.lastAsked.key
		}
	}
}

// parsed makes a setter that parses a value with parse and stores it in
// the field of the row's process that at returns.
func parsed[T any](parse func(string) (T, error), at func(*Process) *T) func(*keyCtx, string) error {
	return func(c *keyCtx, v string) error {
		x, err := parse(v)
		if err == nil {
			*at(c.proc) = x
		}
		return err
	}
}

// processKeys is the table of the keys of process sections, in the
// reference's reading order within each stage. Load takes it as a value
// (tests add rows to a copy).
func processKeys() []keyRow {
	rows := groupRows()
	rows = append(rows, sectionRows()...)
	rows = append(rows, processRows()...)
	rows = append(rows, notifyRows()...)
	rows = append(rows, resourceRows()...)
	return append(rows, containerRows()...)
}

// groupRows are read while process_groups_from_parser builds a group,
// before the section's processes; their errors are not prefixed with the
// section's name.
func groupRows() []keyRow {
	rows := []keyRow{
		{name: "programs", in: inGroup, set: func(c *keyCtx, v string) error {
			c.programs = listOfStrings(v)
			return nil
		}},
		{name: "priority", in: inGroup | inProgram | inFCGI, def: "999", set: groupPriority},
		{name: "priority", in: inListener, def: "-1", set: groupPriority},
		{name: "buffer_size", in: inListener, def: "10", set: func(c *keyCtx, v string) error {
			n, err := ParseInteger(v)
			if err != nil {
				return err
			}
			if n < 1 {
				return fmt.Errorf("[%s] section sets invalid buffer_size (%d)", c.sec, n)
			}
			c.group.BufferSize = n
			return nil
		}},
		{name: "result_handler", in: inListener, def: "supervisor.dispatchers:default_handler", set: func(c *keyCtx, v string) error {
			c.group.ResultHandler = v
			return nil
		}},
		{name: "events", in: inListener, set: listenerEvents},
		{name: "redirect_stderr", in: inListener, def: "false", set: func(c *keyCtx, v string) error {
			r, err := ParseBool(v)
			if err == nil && r {
				err = fmt.Errorf("[%s] section sets redirect_stderr=true but this is not allowed because it will interfere with the eventlistener protocol", c.sec)
			}
			return err
		}},
		{name: "user", in: inFCGI, optional: true, set: func(c *keyCtx, v string) (err error) {
			c.procUID, err = c.l.users.nameToUID(v)
			return err
		}},
		{name: "socket_backlog", in: inFCGI, optional: true, set: func(c *keyCtx, v string) error {
			n, err := ParseInteger(v)
			if err != nil {
				return err
			}
			if n < 1 || n > 65535 {
				return fmt.Errorf("Invalid socket_backlog value %d", n)
			}
			c.group.Socket.Backlog, c.group.Socket.BacklogSet = n, true
			return nil
		}},
		{name: "socket_owner", in: inFCGI, optional: true, set: func(c *keyCtx, v string) (err error) {
			s := c.group.Socket
			if s.OwnerUID, s.OwnerGID, err = c.l.users.userGroup(v); err != nil {
				return fmt.Errorf("Invalid socket_owner value %s", v)
			}
			c.ownerSet = true
			return nil
		}},
		{name: "socket_mode", in: inFCGI, optional: true, set: func(c *keyCtx, v string) error {
			n, err := ParseOctal(v)
			if err != nil {
				return fmt.Errorf("Invalid socket_mode value %s", v)
			}
			c.group.Socket.Mode, c.modeSet = uint32(n), true
			return nil
		}},
		// Expanded with %(program_name)s too, which no other group key gets.
		{name: "socket", in: inFCGI, raw: true, set: fcgiSocket},
	}
	for i := range rows {
		rows[i].stage = stageGroup
	}
	return rows
}

func groupPriority(c *keyCtx, v string) (err error) {
	c.group.Priority, err = ParseInteger(v)
	return err
}

// listenerEvents reads events=: upper-cased, duplicates dropped, each a
// known event type.
func listenerEvents(c *keyCtx, v string) error {
	seen := map[string]bool{}
	for _, e := range listOfStrings(v) {
		e = strings.ToUpper(e)
		if !seen[e] {
			seen[e] = true
			c.group.Events = append(c.group.Events, e)
		}
	}
	if len(c.group.Events) == 0 {
		return fmt.Errorf("[%s] section requires an \"events\" line", c.sec)
	}
	for _, e := range c.group.Events {
		if !eventTypes[e] {
			return fmt.Errorf("Unknown event type %s in [%s] events", e, c.sec)
		}
	}
	return nil
}

// sectionRows are read once per section, before its processes.
func sectionRows() []keyRow {
	rows := []keyRow{
		{name: "priority", def: "999", set: parsed(ParseInteger, func(p *Process) *int { return &p.Priority })},
		{name: "autostart", def: "true", set: parsed(ParseBool, func(p *Process) *bool { return &p.Autostart })},
		{name: "autorestart", def: "unexpected", set: parsed(ParseAutorestart, func(p *Process) *Autorestart { return &p.Autorestart })},
		{name: "startsecs", def: "1", set: parsed(ParseInteger, func(p *Process) *int { return &p.StartSecs })},
		{name: "startretries", def: "3", set: parsed(ParseInteger, func(p *Process) *int { return &p.StartRetries })},
		{name: "stopsignal", def: "TERM", set: parsed(ParseSignal, func(p *Process) *syscall.Signal { return &p.StopSignal })},
		{name: "stopwaitsecs", def: "10", set: parsed(ParseInteger, func(p *Process) *int { return &p.StopWaitSecs })},
		// killasgroup's default is stopasgroup's value.
		{name: "stopasgroup", def: "false", set: func(c *keyCtx, v string) (err error) {
			c.proc.StopAsGroup, err = ParseBool(v)
			c.proc.KillAsGroup = c.proc.StopAsGroup
			return err
		}},
		{name: "killasgroup", optional: true, set: parsed(ParseBool, func(p *Process) *bool { return &p.KillAsGroup })},
		{name: "exitcodes", def: "0", set: parsed(ParseExitCodes, func(p *Process) *[]int { return &p.ExitCodes })},
		{name: "redirect_stderr", def: "false", set: parsed(ParseBool, func(p *Process) *bool { return &p.RedirectStderr })},
		{name: "numprocs", def: "1", set: parsed(ParseInteger, func(p *Process) *int { return &p.NumProcs })},
		{name: "numprocs_start", def: "0", set: func(c *keyCtx, v string) (err error) {
			c.numprocsStart, err = ParseInteger(v)
			return err
		}},
		{name: "stdout_capture_maxbytes", def: "0", set: parsed(ParseByteSize, func(p *Process) *int64 { return &p.Stdout.CaptureMaxBytes })},
		{name: "stdout_events_enabled", def: "false", set: parsed(ParseBool, func(p *Process) *bool { return &p.Stdout.EventsEnabled })},
		{name: "stderr_capture_maxbytes", def: "0", set: parsed(ParseByteSize, func(p *Process) *int64 { return &p.Stderr.CaptureMaxBytes })},
		{name: "stderr_events_enabled", def: "false", set: parsed(ParseBool, func(p *Process) *bool { return &p.Stderr.EventsEnabled })},
		{name: "serverurl", def: "AUTO", set: func(c *keyCtx, v string) error {
			c.proc.ServerURL = v // "" means: set no SUPERVISOR_SERVER_URL
			if strings.ToUpper(pyStrip(v)) == "AUTO" {
				c.proc.ServerURL = "AUTO"
			}
			return nil
		}},
		{name: "user", optional: true, set: func(c *keyCtx, v string) (err error) {
			p := c.proc
			p.User = v
			if p.UID, err = c.l.users.nameToUID(v); err == nil {
				p.GID = c.l.users.gidForUID(p.UID)
			}
			return err
		}},
		{name: "umask", optional: true, set: parsed(ParseOctal, func(p *Process) *int { return &p.Umask })},
		{name: "process_name", def: "%(program_name)s", raw: true, set: func(c *keyCtx, v string) (err error) {
			c.processName, err = processOrGroupName(v)
			return err
		}},
		{about: "process_name", check: func(c *keyCtx) error {
			if c.proc.NumProcs > 1 && !strings.Contains(c.processName, "%(process_num)") {
				return errors.New("%(process_num) must be present within process_name when numprocs > 1")
			}
			if c.proc.NumProcs > maxNumProcs {
				// The reference has no limit and would exhaust memory instead.
				return fmt.Errorf("numprocs %d is more than gosupervisor supports (%d)", c.proc.NumProcs, maxNumProcs)
			}
			return nil
		}},
		{about: "killasgroup", check: func(c *keyCtx) error {
			if c.proc.StopAsGroup && !c.proc.KillAsGroup {
				return errors.New("Cannot set stopasgroup=true and killasgroup=false")
			}
			return nil
		}},
	}
	for i := range rows {
		rows[i].stage = stageSection
	}
	return rows
}

// processRows are read for each process, with %(process_num)d and the
// names the program's environment= adds.
func processRows() []keyRow {
	rows := []keyRow{
		// Read as written and expanded under the name "environment".
		{name: "environment", raw: true, set: func(c *keyCtx, v string) error {
			text, err := expand(v, c.exp, "environment")
			if err != nil {
				return err
			}
			if c.proc.Environment, err = ParseKeyValuePairs(text); err != nil {
				return err
			}
			for _, kv := range c.proc.Environment {
				c.exp["ENV_"+kv.Key] = kv.Value
			}
			return nil
		}},
		{name: "directory", optional: true, set: func(c *keyCtx, v string) error {
			c.proc.Directory, c.proc.DirectorySet = v, true
			return nil
		}},
	}
	rows = append(rows, channelRows("stdout", func(p *Process) *LogConfig { return &p.Stdout }, func(c *keyCtx) *logfileKind { return &c.stdoutKind })...)
	rows = append(rows, channelRows("stderr", func(p *Process) *LogConfig { return &p.Stderr }, func(c *keyCtx) *logfileKind { return &c.stderrKind })...)
	rows = append(rows,
		keyRow{check: func(c *keyCtx) error {
			p := c.proc
			if p.RedirectStderr {
				if c.stderrKind == logfilePath {
					c.l.warn("redirect-stderr-logfile", c.sec, "stderr_logfile", fmt.Sprintf("For [%s], redirect_stderr=true but stderr_logfile has also been set to a filename, the filename has been ignored", c.sec))
				}
				p.Stderr.File, p.Stderr.Auto = "", false
			}
			return nil
		}},
		keyRow{name: "command", optional: true, set: func(c *keyCtx, v string) error {
			p := c.proc
			p.Command, c.hasCommand = v, true
			if argv, err := SplitCommand(v); err != nil {
				p.ArgvErr = err.Error()
			} else {
				p.Argv = argv
			}
			return nil
		}},
		keyRow{about: "command", check: func(c *keyCtx) (err error) {
			if !c.hasCommand {
				return fmt.Errorf("program section %s does not specify a command", c.sec)
			}
			c.proc.Name, err = expand(c.processName, c.exp, "process_name")
			return err
		}},
	)
	for i := range rows {
		rows[i].stage = stageProcess
	}
	return rows
}

// channelRows are the keys of one output channel's log ("stdout" or
// "stderr"): where lc points in a process, and kind the logfile kind
// the channel's later checks need.
func channelRows(ch string, lc func(*Process) *LogConfig, kind func(*keyCtx) *logfileKind) []keyRow {
	key := ch + "_logfile"
	return []keyRow{
		// AUTO is what the reference's Automatic default means; the file
		// name is expanded a second time, as the reference does.
		{name: key, def: "AUTO", set: func(c *keyCtx, v string) error {
			v, err := expand(v, c.exp, key)
			if err != nil {
				return err
			}
			k, file, err := c.l.r.paths.logfileName(v)
			if err != nil {
				return err
			}
			*kind(c) = k
			lc(c.proc).File, lc(c.proc).Auto = file, k == logfileAuto
			return nil
		}},
		{name: key + "_backups", def: "10", set: parsed(ParseInteger, func(p *Process) *int { return &lc(p).Backups })},
		{name: key + "_maxbytes", def: "50MB", set: parsed(ParseByteSize, func(p *Process) *int64 { return &lc(p).MaxBytes })},
		{name: ch + "_syslog", def: "false", set: parsed(ParseBool, func(p *Process) *bool { return &lc(p).Syslog })},
		{check: func(c *keyCtx) error {
			l := lc(c.proc)
			if *kind(c) == logfileSyslog {
				c.l.warn("syslog-logfile", c.sec, key, fmt.Sprintf("For [%s], %s=syslog but this is deprecated and will be removed.  Use %s_syslog=true to enable syslog instead.", c.sec, key, ch))
				l.File, l.Syslog = "", true
			}
			if l.Auto && l.MaxBytes == 0 {
				c.l.warn("auto-log-without-rollover", c.sec, key+"_maxbytes", fmt.Sprintf("For [%s], AUTO logging used for %s without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally", c.sec, key))
			}
			return nil
		}},
	}
}

// Key describes one key of a process section, for tools such as a
// config checker.
type Key struct {
	// Name is the key's lower-case name.
	Name string
	// Extension reports that Supervisor 4.2.5 does not know the key (it
	// ignores it); gosupervisor acts on it.
	Extension bool
	// Default is the value that applies when the key is absent, as it
	// would be written; "" when there is none or it depends on others.
	Default string
}

// SectionKeys lists the keys the section that makes a group of kind k
// accepts ([program:x], [group:x], [fcgi-program:x], [eventlistener:x]),
// each once, in the order Load first reads them.
func SectionKeys(k GroupKind) []Key {
	return sectionKeys(processKeys(), sectionKindOf(k))
}

func sectionKeys(rows []keyRow, kind sectionKind) []Key {
	var out []Key
	seen := map[string]bool{}
	for _, r := range rows {
		in := r.in
		if in == 0 {
			in = programLike
		}
		if r.name == "" || in&kind == 0 || seen[r.name] {
			continue
		}
		seen[r.name] = true
		def := r.def
		if r.optional {
			def = ""
		}
		out = append(out, Key{Name: r.name, Extension: r.extension, Default: def})
	}
	return out
}
