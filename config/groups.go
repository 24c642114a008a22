package config

import (
	"errors"
	"fmt"
	"gosupervisor/internal/pyrepr"
	"os"
	"regexp"
	"sort"
	"strings"
	"syscall"
)

// eventTypes are the event type names an [eventlistener:x] may subscribe
// to (supervisor.events.EventTypes).
var eventTypes = map[string]bool{
	"EVENT": true, "PROCESS_COMMUNICATION": true, "PROCESS_COMMUNICATION_STDERR": true,
	"PROCESS_COMMUNICATION_STDOUT": true, "PROCESS_GROUP": true, "PROCESS_GROUP_ADDED": true,
	"PROCESS_GROUP_REMOVED": true, "PROCESS_LOG": true, "PROCESS_LOG_STDERR": true,
	"PROCESS_LOG_STDOUT": true, "PROCESS_STATE": true, "PROCESS_STATE_BACKOFF": true,
	"PROCESS_STATE_EXITED": true, "PROCESS_STATE_FATAL": true, "PROCESS_STATE_RUNNING": true,
	"PROCESS_STATE_STARTING": true, "PROCESS_STATE_STOPPED": true, "PROCESS_STATE_STOPPING": true,
	"PROCESS_STATE_UNKNOWN": true, "REMOTE_COMMUNICATION": true, "SUPERVISOR_STATE_CHANGE": true,
	"SUPERVISOR_STATE_CHANGE_RUNNING": true, "SUPERVISOR_STATE_CHANGE_STOPPING": true,
	"TICK": true, "TICK_3600": true, "TICK_5": true, "TICK_60": true,
}

// maxNumProcs bounds numprocs; far beyond what minfds would allow anyway.
const maxNumProcs = 1 << 16

// processGroups builds every group in the reference's order: [group:x]
// sections, then programs not claimed by a group, then event listener
// pools, then fcgi programs; finally a stable sort by (priority, name).
func (l *loader) processGroups() ([]*Group, error) {
	here := expansions{"here": l.here}
	var groups []*Group
	exclude := map[string]bool{}
	sections := l.ini.order

	for _, sec := range sections {
		if !strings.HasPrefix(sec, "group:") {
			continue
		}
		_, raw, _ := strings.Cut(sec, ":")
		name, err := processOrGroupName(raw)
		if err != nil {
			return nil, err
		}
		programsRaw, _, err := l.get(sec, "programs", here)
		if err != nil {
			return nil, err
		}
		priority, err := l.getInt(sec, "priority", 999, here)
		if err != nil {
			return nil, err
		}
		g := &Group{Name: name, Kind: KindGroup, Priority: priority}
		// The reference reuses its loop variable, so after the first
		// program its error messages name that program's section.
		errSection := sec
		for _, program := range listOfStrings(programsRaw) {
			ps, fs := "program:"+program, "fcgi-program:"+program
			hasP, hasF := l.ini.hasSection(ps), l.ini.hasSection(fs)
			if !hasP && !hasF {
				return nil, fmt.Errorf("[%s] names unknown program or fcgi-program %s", errSection, program)
			}
			if hasP && hasF {
				return nil, fmt.Errorf("[%s] name %s is ambiguous (exists as program and fcgi-program)", errSection, program)
			}
			errSection = fs
			if hasP {
				errSection = ps
			}
			exclude[errSection] = true
			procs, err := l.processesFromSection(errSection, name)
			if err != nil {
				return nil, err
			}
			g.Processes = append(g.Processes, procs...)
		}
		groups = append(groups, g)
	}

	for _, sec := range sections {
		if !strings.HasPrefix(sec, "program:") || exclude[sec] {
			continue
		}
		_, raw, _ := strings.Cut(sec, ":")
		name, err := processOrGroupName(raw)
		if err != nil {
			return nil, err
		}
		priority, err := l.getInt(sec, "priority", 999, here)
		if err != nil {
			return nil, err
		}
		procs, err := l.processesFromSection(sec, name)
		if err != nil {
			return nil, err
		}
		groups = append(groups, &Group{Name: name, Kind: KindProgram, Priority: priority, Processes: procs})
	}

	for _, sec := range sections {
		if !strings.HasPrefix(sec, "eventlistener:") {
			continue
		}
		g, err := l.eventListenerPool(sec, here)
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}

	for _, sec := range sections {
		if !strings.HasPrefix(sec, "fcgi-program:") || exclude[sec] {
			continue
		}
		g, err := l.fcgiGroup(sec, here)
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}

	sort.SliceStable(groups, func(i, j int) bool {
		if groups[i].Priority != groups[j].Priority {
			return groups[i].Priority < groups[j].Priority
		}
		return groups[i].Name < groups[j].Name
	})
	return groups, nil
}

func (l *loader) eventListenerPool(sec string, here expansions) (*Group, error) {
	_, name, _ := strings.Cut(sec, ":")
	priority, err := l.getInt(sec, "priority", -1, here)
	if err != nil {
		return nil, err
	}
	bufferSize, err := l.getInt(sec, "buffer_size", 10, here)
	if err != nil {
		return nil, err
	}
	if bufferSize < 1 {
		return nil, fmt.Errorf("[%s] section sets invalid buffer_size (%d)", sec, bufferSize)
	}
	handler, err := l.getDefault(sec, "result_handler", "supervisor.dispatchers:default_handler", here)
	if err != nil {
		return nil, err
	}
	eventsRaw, err := l.getDefault(sec, "events", "", here)
	if err != nil {
		return nil, err
	}
	var events []string
	seen := map[string]bool{}
	for _, e := range listOfStrings(eventsRaw) {
		e = strings.ToUpper(e)
		if !seen[e] {
			seen[e] = true
			events = append(events, e)
		}
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("[%s] section requires an \"events\" line", sec)
	}
	for _, e := range events {
		if !eventTypes[e] {
			return nil, fmt.Errorf("Unknown event type %s in [%s] events", e, sec)
		}
	}
	redirect, err := l.getDefault(sec, "redirect_stderr", "false", here)
	if err != nil {
		return nil, err
	}
	if r, err := ParseBool(redirect); err != nil {
		return nil, err
	} else if r {
		return nil, fmt.Errorf("[%s] section sets redirect_stderr=true but this is not allowed because it will interfere with the eventlistener protocol", sec)
	}
	procs, err := l.processesFromSection(sec, name)
	if err != nil {
		return nil, err
	}
	return &Group{
		Name: name, Kind: KindEventListener, Priority: priority, Processes: procs,
		Events: events, BufferSize: bufferSize, ResultHandler: handler,
	}, nil
}

var tcpSocketRE = regexp.MustCompile(`^tcp://([^\s:]+):(\d+)$`)

// pyTupleError renders str(ValueError(fmt, arg)): the reference passes
// printf-style arguments to ValueError, which shows them as a tuple.
func pyTupleError(format, arg string) string {
	return fmt.Sprintf("(%s, %s)", pyrepr.Str(format), pyrepr.Str(arg))
}

func (l *loader) fcgiGroup(sec string, here expansions) (*Group, error) {
	_, raw, _ := strings.Cut(sec, ":")
	name, err := processOrGroupName(raw)
	if err != nil {
		return nil, err
	}
	priority, err := l.getInt(sec, "priority", 999, here)
	if err != nil {
		return nil, err
	}
	procUID := -1
	if u, ok, err := l.get(sec, "user", here); err != nil {
		return nil, err
	} else if ok {
		if procUID, err = l.users.nameToUID(u); err != nil {
			return nil, err
		}
	}
	sock := &FCGISocket{Backlog: syscall.SOMAXCONN, OwnerUID: -1, OwnerGID: -1}
	if v, ok, err := l.get(sec, "socket_backlog", here); err != nil {
		return nil, err
	} else if ok {
		n, err := parseInteger(v)
		if err != nil {
			return nil, err
		}
		if n < 1 || n > 65535 {
			return nil, fmt.Errorf("Invalid socket_backlog value %d", n)
		}
		sock.Backlog, sock.BacklogSet = n, true
	}
	ownerSet := false
	if v, ok, err := l.get(sec, "socket_owner", here); err != nil {
		return nil, err
	} else if ok {
		if sock.OwnerUID, sock.OwnerGID, err = l.users.userGroup(v); err != nil {
			return nil, fmt.Errorf("Invalid socket_owner value %s", v)
		}
		ownerSet = true
	}
	modeSet := false
	if v, ok, err := l.get(sec, "socket_mode", here); err != nil {
		return nil, err
	} else if ok {
		n, err := ParseOctal(v)
		if err != nil {
			return nil, fmt.Errorf("Invalid socket_mode value %s", v)
		}
		sock.Mode = uint32(n)
		modeSet = true
	}
	url, _, err := l.get(sec, "socket", here.merge(expansions{"program_name": name}))
	if err != nil {
		return nil, err
	}
	if url == "" {
		return nil, fmt.Errorf("[%s] section requires a \"socket\" line", sec)
	}
	if path, ok := strings.CutPrefix(url, "unix://"); ok {
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("%s in [%s] socket", pyTupleError("Unix socket path %s is not an absolute path", path), sec)
		}
		path = l.r.paths.normalize(path)
		if !ownerSet && procUID >= 0 && procUID != os.Getuid() {
			sock.OwnerUID, sock.OwnerGID = procUID, l.users.gidForUID(procUID)
		}
		if !modeSet {
			sock.Mode = 0o700
		}
		sock.URL, sock.Network, sock.Address = "unix://"+path, "unix", path
	} else {
		if ownerSet || modeSet {
			return nil, fmt.Errorf("socket_owner and socket_mode params should only be used with a Unix domain socket in [%s] socket", sec)
		}
		m := tcpSocketRE.FindStringSubmatch(url)
		if m == nil {
			return nil, fmt.Errorf("%s in [%s] socket", pyTupleError("Bad socket format %s", url), sec)
		}
		port, err := pyInt(m[2], 10)
		if err == nil {
			err = portRange(port)
		}
		if err != nil {
			return nil, fmt.Errorf("%v in [%s] socket", err, sec)
		}
		host := strings.ToLower(m[1])
		sock.URL = fmt.Sprintf("tcp://%s:%d", host, port)
		sock.Network, sock.Address = "tcp", fmt.Sprintf("%s:%d", host, port)
	}
	procs, err := l.processesFromSection(sec, name)
	if err != nil {
		return nil, err
	}
	return &Group{Name: name, Kind: KindFCGI, Priority: priority, Processes: procs, Socket: sock}, nil
}

// processesFromSection builds the processes of one program-like section,
// adding the reference's " in section 'x' (file: 'y')" to any error.
func (l *loader) processesFromSection(sec, group string) ([]*Process, error) {
	procs, err := l.processes(sec, group)
	if err != nil {
		file, ok := l.ini.sectionToFile[sec]
		if !ok {
			file = l.path
		}
		return nil, fmt.Errorf("%v in section %s (file: %s)", err, pyrepr.Str(sec), pyrepr.Str(file))
	}
	return procs, nil
}

func (l *loader) processes(sec, group string) ([]*Process, error) {
	_, raw, _ := strings.Cut(sec, ":")
	programName, err := processOrGroupName(raw)
	if err != nil {
		return nil, err
	}
	// common is shared and grows across processes, as in the reference,
	// where later keys see names that earlier processes added.
	common := expansions{"here": l.here, "program_name": programName, "host_node_name": l.r.hostname, "group_name": group}
	p := &Process{ProgramName: programName, Group: group, UID: -1, GID: -1, Umask: -1}

	var stopAsGroup bool
	steps := []func() error{
		func() (e error) { p.Priority, e = l.getInt(sec, "priority", 999, common); return },
		func() error { return l.boolOpt(sec, "autostart", "true", common, &p.Autostart) },
		func() error {
			v, e := l.getDefault(sec, "autorestart", "unexpected", common)
			if e == nil {
				p.Autorestart, e = ParseAutorestart(v)
			}
			return e
		},
		func() (e error) { p.StartSecs, e = l.getInt(sec, "startsecs", 1, common); return },
		func() (e error) { p.StartRetries, e = l.getInt(sec, "startretries", 3, common); return },
		func() error {
			v, e := l.getDefault(sec, "stopsignal", "TERM", common)
			if e == nil {
				p.StopSignal, e = ParseSignal(v)
			}
			return e
		},
		func() (e error) { p.StopWaitSecs, e = l.getInt(sec, "stopwaitsecs", 10, common); return },
		func() error { return l.boolOpt(sec, "stopasgroup", "false", common, &stopAsGroup) },
		func() error {
			p.StopAsGroup = stopAsGroup
			v, ok, e := l.get(sec, "killasgroup", common)
			if e != nil || !ok {
				p.KillAsGroup = stopAsGroup
				return e
			}
			p.KillAsGroup, e = ParseBool(v)
			return e
		},
		func() error {
			v, e := l.getDefault(sec, "exitcodes", "0", common)
			if e == nil {
				p.ExitCodes, e = ParseExitCodes(v)
			}
			return e
		},
		func() error { return l.boolOpt(sec, "redirect_stderr", "false", common, &p.RedirectStderr) },
		func() (e error) { p.NumProcs, e = l.getInt(sec, "numprocs", 1, common); return },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	numprocsStart, err := l.getInt(sec, "numprocs_start", 0, common)
	if err != nil {
		return nil, err
	}
	environmentRaw, _ := l.ini.get(sec, "environment")
	more := []func() error{
		func() error {
			return l.byteSizeOpt(sec, "stdout_capture_maxbytes", "0", common, &p.Stdout.CaptureMaxBytes)
		},
		func() error { return l.boolOpt(sec, "stdout_events_enabled", "false", common, &p.Stdout.EventsEnabled) },
		func() error {
			return l.byteSizeOpt(sec, "stderr_capture_maxbytes", "0", common, &p.Stderr.CaptureMaxBytes)
		},
		func() error { return l.boolOpt(sec, "stderr_events_enabled", "false", common, &p.Stderr.EventsEnabled) },
		func() error {
			v, ok, e := l.get(sec, "serverurl", common)
			p.ServerURL = "AUTO"
			if ok && strings.ToUpper(pyStrip(v)) != "AUTO" {
				p.ServerURL = v // "" means: set no SUPERVISOR_SERVER_URL
			}
			return e
		},
		func() error {
			v, ok, e := l.get(sec, "user", common)
			if e != nil || !ok {
				return e
			}
			p.User = v
			if p.UID, e = l.users.nameToUID(v); e == nil {
				p.GID = l.users.gidForUID(p.UID)
			}
			return e
		},
		func() error {
			v, ok, e := l.get(sec, "umask", common)
			if e != nil || !ok {
				return e
			}
			p.Umask, e = ParseOctal(v)
			return e
		},
	}
	for _, step := range more {
		if err := step(); err != nil {
			return nil, err
		}
	}
	processNameRaw, ok := l.ini.get(sec, "process_name")
	if !ok {
		processNameRaw = "%(program_name)s"
	}
	processName, err := processOrGroupName(processNameRaw)
	if err != nil {
		return nil, err
	}
	if p.NumProcs > 1 && !strings.Contains(processName, "%(process_num)") {
		return nil, errors.New("%(process_num) must be present within process_name when numprocs > 1")
	}
	if p.NumProcs > maxNumProcs {
		// The reference has no limit and would exhaust memory instead.
		return nil, fmt.Errorf("numprocs %d is more than gosupervisor supports (%d)", p.NumProcs, maxNumProcs)
	}
	if p.StopAsGroup && !p.KillAsGroup {
		return nil, errors.New("Cannot set stopasgroup=true and killasgroup=false")
	}

	var out []*Process
	for num := numprocsStart; num < numprocsStart+p.NumProcs; num++ {
		common["process_num"] = num
		common["numprocs"] = p.NumProcs
		for k, v := range l.environ {
			common[k] = v
		}
		proc := *p
		proc.ProcessNum = num
		proc.ExitCodes = append([]int(nil), p.ExitCodes...)
		envText, err := expand(environmentRaw, common, "environment")
		if err != nil {
			return nil, err
		}
		if proc.Environment, err = ParseKeyValuePairs(envText); err != nil {
			return nil, err
		}
		for _, kv := range proc.Environment {
			common["ENV_"+kv.Key] = kv.Value
		}
		if proc.Directory, _, err = l.get(sec, "directory", common); err != nil {
			return nil, err
		}
		if _, err := l.logConfig(sec, "stdout", common, &proc.Stdout); err != nil {
			return nil, err
		}
		stderrKind, err := l.logConfig(sec, "stderr", common, &proc.Stderr)
		if err != nil {
			return nil, err
		}
		if proc.RedirectStderr {
			if stderrKind == logfilePath {
				l.warnings = append(l.warnings, fmt.Sprintf("For [%s], redirect_stderr=true but stderr_logfile has also been set to a filename, the filename has been ignored", sec))
			}
			proc.Stderr.File, proc.Stderr.Auto = "", false
		}
		command, ok, err := l.get(sec, "command", common)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("program section %s does not specify a command", sec)
		}
		proc.Command = command
		if argv, err := SplitCommand(command); err != nil {
			proc.ArgvErr = err.Error()
		} else {
			proc.Argv = argv
		}
		if proc.Name, err = expand(processName, common, "process_name"); err != nil {
			return nil, err
		}
		out = append(out, &proc)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority < out[j].Priority
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func (l *loader) boolOpt(sec, key, def string, extra expansions, dst *bool) error {
	v, err := l.getDefault(sec, key, def, extra)
	if err == nil {
		*dst, err = ParseBool(v)
	}
	return err
}

func (l *loader) byteSizeOpt(sec, key, def string, extra expansions, dst *int64) error {
	v, err := l.getDefault(sec, key, def, extra)
	if err == nil {
		*dst, err = ParseByteSize(v)
	}
	return err
}

// logConfig reads one channel's *_logfile keys. The file name is expanded
// twice, as in the reference.
func (l *loader) logConfig(sec, ch string, common expansions, lc *LogConfig) (logfileKind, error) {
	key := ch + "_logfile"
	kind := logfileAuto
	if v, ok, err := l.get(sec, key, common); err != nil {
		return kind, err
	} else if ok {
		if v, err = expand(v, common, key); err != nil {
			return kind, err
		}
		var file string
		if kind, file, err = l.r.paths.logfileName(v); err != nil {
			return kind, err
		}
		lc.File = file
	}
	lc.Auto = kind == logfileAuto
	var err error
	if lc.Backups, err = l.getInt(sec, ch+"_logfile_backups", 10, common); err != nil {
		return kind, err
	}
	if err := l.byteSizeOpt(sec, ch+"_logfile_maxbytes", "50MB", common, &lc.MaxBytes); err != nil {
		return kind, err
	}
	if v, ok, err := l.get(sec, ch+"_syslog", common); err != nil {
		return kind, err
	} else if ok {
		if lc.Syslog, err = ParseBool(v); err != nil {
			return kind, err
		}
	}
	if kind == logfileSyslog {
		l.warnings = append(l.warnings, fmt.Sprintf("For [%s], %s=syslog but this is deprecated and will be removed.  Use %s_syslog=true to enable syslog instead.", sec, key, ch))
		lc.File, lc.Syslog = "", true
	}
	if lc.Auto && lc.MaxBytes == 0 {
		l.warnings = append(l.warnings, fmt.Sprintf("For [%s], AUTO logging used for %s without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally", sec, key))
	}
	return kind, nil
}
