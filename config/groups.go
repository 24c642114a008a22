package config

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"

	"gosupervisor/internal/pyrepr"
)

// eventTypes are the event type names an [eventlistener:x] may subscribe
// to: supervisor.events.EventTypes, and gosupervisor's own.
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
	// gosupervisor's own (issue 14), which the reference refuses.
	"PROCESS_NOTIFY": true, "PROCESS_NOTIFY_READY": true, "PROCESS_NOTIFY_STATUS": true,
	"PROCESS_NOTIFY_WATCHDOG": true, "PROCESS_HEALTH": true, "PROCESS_HEALTH_HEALTHY": true,
	"PROCESS_HEALTH_UNHEALTHY": true,
	// gosupervisor's own (issue 16), which the reference refuses.
	"PROCESS_RESOURCE": true, "PROCESS_RESOURCE_OOM": true, "PROCESS_RESOURCE_RSS_LIMIT": true,
	"PROCESS_EXIT_RECORD": true,
	// gosupervisor's own (issue 20), which the reference refuses.
	"SUPERVISOR_UPGRADE": true, "SUPERVISOR_UPGRADE_SUCCEEDED": true, "SUPERVISOR_UPGRADE_FAILED": true,
}

// maxNumProcs bounds numprocs; far beyond what minfds would allow anyway.
const maxNumProcs = 1 << 16

// processGroups builds every group in the reference's order: [group:x]
// sections, then programs not claimed by a group, then event listener
// pools, then fcgi programs; finally a stable sort by (priority, name).
func (l *loader) processGroups() ([]*Group, error) {
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
		g := &Group{Name: name, Kind: KindGroup}
		c, err := l.buildGroup(sec, inGroup, g)
		if err != nil {
			return nil, err
		}
		// The reference reuses its loop variable, so after the first
		// program its error messages name that program's section.
		errSection := sec
		for _, program := range c.programs {
			ps, fs := "program:"+program, "fcgi-program:"+program
			hasP, hasF := l.ini.hasSection(ps), l.ini.hasSection(fs)
			if !hasP || hasF {
				l.failAt = &sectionKey{sec, "programs"}
			}
			if !hasP && !hasF {
				return nil, fmt.Errorf("[%s] names unknown program or fcgi-program %s", errSection, program)
			}
			if hasP && hasF {
				return nil, fmt.Errorf("[%s] name %s is ambiguous (exists as program and fcgi-program)", errSection, program)
			}
			kind := inFCGI
			errSection = fs
			if hasP {
				kind, errSection = inProgram, ps
			}
			exclude[errSection] = true
			procs, err := l.processesFromSection(errSection, kind, name)
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
		g, err := l.homogeneousGroup(sec, inProgram, &Group{Name: name, Kind: KindProgram})
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}

	for _, sec := range sections {
		if !strings.HasPrefix(sec, "eventlistener:") {
			continue
		}
		// The pool's name is checked only as the program name, later.
		_, name, _ := strings.Cut(sec, ":")
		g, err := l.homogeneousGroup(sec, inListener, &Group{Name: name, Kind: KindEventListener})
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}

	for _, sec := range sections {
		if !strings.HasPrefix(sec, "fcgi-program:") || exclude[sec] {
			continue
		}
		_, raw, _ := strings.Cut(sec, ":")
		name, err := processOrGroupName(raw)
		if err != nil {
			return nil, err
		}
		sock := &FCGISocket{Backlog: syscall.SOMAXCONN, OwnerUID: -1, OwnerGID: -1}
		g, err := l.homogeneousGroup(sec, inFCGI, &Group{Name: name, Kind: KindFCGI, Socket: sock})
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

// buildGroup reads the group-stage keys of section sec into g.
func (l *loader) buildGroup(sec string, kind sectionKind, g *Group) (*keyCtx, error) {
	c := &keyCtx{l: l, sec: sec, kind: kind, group: g, procUID: -1, exp: expansions{"here": l.here}}
	return c, c.run(l.keys, stageGroup)
}

// homogeneousGroup builds the group of one program-like section: its
// group keys, then its processes.
func (l *loader) homogeneousGroup(sec string, kind sectionKind, g *Group) (*Group, error) {
	if _, err := l.buildGroup(sec, kind, g); err != nil {
		return nil, err
	}
	procs, err := l.processesFromSection(sec, kind, g.Name)
	if err != nil {
		return nil, err
	}
	g.Processes = procs
	return g, nil
}

// matchTCPSocket is the reference's re.match(r'tcp://([^\s:]+):(\d+)$')
// with Python's Unicode classes: \s is str.isspace(), \d any decimal
// digit, and $ also matches before a final newline.
func matchTCPSocket(url string) (host, port string, ok bool) {
	rest, ok := strings.CutPrefix(url, "tcp://")
	if !ok {
		return "", "", false
	}
	host, port, ok = strings.Cut(rest, ":")
	if !ok || host == "" || strings.IndexFunc(host, pyIsSpace) >= 0 {
		return "", "", false
	}
	port = strings.TrimSuffix(port, "\n")
	for _, r := range port {
		if _, digit := pyDecimal(r); !digit && (r < '0' || r > '9') {
			return "", "", false
		}
	}
	return host, port, port != ""
}

// pyTupleError renders str(ValueError(fmt, arg)): the reference passes
// printf-style arguments to ValueError, which shows them as a tuple.
func pyTupleError(format, arg string) string {
	return fmt.Sprintf("(%s, %s)", pyrepr.Str(format), pyrepr.Str(arg))
}

// fcgiSocket reads socket= of an [fcgi-program:x] (expanded with
// %(program_name)s too) and completes the group's socket with the keys
// read before it.
func fcgiSocket(c *keyCtx, raw string) error {
	sec, sock := c.sec, c.group.Socket
	url, err := c.l.expandWith(raw, c.exp.merge(expansions{"program_name": c.group.Name}), sec+".socket")
	if err != nil {
		return err
	}
	if url == "" {
		return fmt.Errorf("[%s] section requires a \"socket\" line", sec)
	}
	if path, ok := strings.CutPrefix(url, "unix://"); ok {
		if !strings.HasPrefix(path, "/") {
			return fmt.Errorf("%s in [%s] socket", pyTupleError("Unix socket path %s is not an absolute path", path), sec)
		}
		path = c.l.r.paths.normalize(path)
		if !c.ownerSet && c.procUID >= 0 && c.procUID != os.Getuid() {
			sock.OwnerUID, sock.OwnerGID = c.procUID, c.l.users.gidForUID(c.procUID)
		}
		if !c.modeSet {
			sock.Mode = 0o700
		}
		sock.URL, sock.Network, sock.Address = "unix://"+path, "unix", path
		return nil
	}
	if c.ownerSet || c.modeSet {
		return fmt.Errorf("socket_owner and socket_mode params should only be used with a Unix domain socket in [%s] socket", sec)
	}
	host, portText, ok := matchTCPSocket(url)
	if !ok {
		return fmt.Errorf("%s in [%s] socket", pyTupleError("Bad socket format %s", url), sec)
	}
	port, err := pyInt(portText, 10)
	if err == nil {
		err = portRange(port)
	}
	if err != nil {
		return fmt.Errorf("%v in [%s] socket", err, sec)
	}
	host = strings.ToLower(host)
	sock.URL = fmt.Sprintf("tcp://%s:%d", host, port)
	sock.Network, sock.Address = "tcp", fmt.Sprintf("%s:%d", host, port)
	return nil
}

// processesFromSection builds the processes of one program-like section,
// adding the reference's " in section 'x' (file: 'y')" to any error.
func (l *loader) processesFromSection(sec string, kind sectionKind, group string) ([]*Process, error) {
	procs, err := l.processes(sec, kind, group)
	if err != nil {
		return nil, l.inSection(sec, err)
	}
	return procs, nil
}

// inSection adds the section and its file to an error, as the reference
// does for errors in a program-like section.
func (l *loader) inSection(sec string, err error) error {
	file, ok := l.ini.sectionToFile[sec]
	if !ok {
		file = l.path
	}
	return fmt.Errorf("%v in section %s (file: %s)", err, pyrepr.Str(sec), pyrepr.Str(file))
}

// processes reads the section's keys (processKeys) once, then once per
// process, and returns its processes sorted by (priority, name).
func (l *loader) processes(sec string, kind sectionKind, group string) ([]*Process, error) {
	_, raw, _ := strings.Cut(sec, ":")
	programName, err := processOrGroupName(raw)
	if err != nil {
		return nil, err
	}
	// common is shared and grows across processes, as in the reference,
	// where later keys see names that earlier processes added.
	common := expansions{"here": l.here, "program_name": programName, "host_node_name": l.r.hostname, "group_name": group}
	p := &Process{ProgramName: programName, Group: group, UID: -1, GID: -1, Umask: -1}
	c := &keyCtx{l: l, sec: sec, kind: kind, proc: p, exp: common}
	if err := c.run(l.keys, stageSection); err != nil {
		return nil, err
	}
	var out []*Process
	for num := c.numprocsStart; num < c.numprocsStart+p.NumProcs; num++ {
		common["process_num"] = num
		common["numprocs"] = p.NumProcs
		for k, v := range l.environ {
			common[k] = v
		}
		proc := *p
		proc.ProcessNum = num
		proc.ExitCodes = slices.Clone(p.ExitCodes)
		proc.Extensions = maps.Clone(p.Extensions)
		c.proc, c.hasCommand = &proc, false
		if err := c.run(l.keys, stageProcess); err != nil {
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
