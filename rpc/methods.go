package rpc

import (
	"context"
	"errors"
	"sort"
	"strings"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/logrot"
	"gosupervisor/supervisord/engine"
)

// method is one published XML-RPC method.
type method struct {
	name     string
	help     string // docstring with @param/@return tags; methodSignature parses it
	params   int    // how many parameters it takes at most
	required int    // leading params that must be present; the rest default
	guarded  bool   // faults SHUTDOWN_STATE while supervisord stops or restarts
	call     func(ctx context.Context, a args) (any, error)
}

// args are a call's parameters as decoded. A method converts each one
// where the reference's code does, so faults come in the same order.
type args []any

// wait is an optional wait flag: its Python truth, true when absent.
func (a args) wait(i int) bool { return i >= len(a) || pyTruth(a[i]) }

// int is int() of parameter i; where Python's int() raises, bare
// INCORRECT_PARAMETERS (the reference's answer to the TypeError, and the
// closest fault to its HTTP 500 on a ValueError).
func (a args) int(i int) (int64, error) {
	n, ok := pyInt(a[i])
	if !ok {
		return 0, NewFault(protocol.FaultIncorrectParameters, "")
	}
	return n, nil
}

// ints is int() of the offset and length parameters at i and i+1.
func (a args) ints(i int) (offset, length int64, err error) {
	if offset, err = a.int(i); err != nil {
		return 0, 0, err
	}
	length, err = a.int(i + 1)
	return offset, length, err
}

// registry holds the methods of the supervisor and system namespaces.
type registry struct {
	methods map[string]*method
	names   []string // sorted
}

func (r *registry) add(m *method, aliases ...string) {
	r.methods[m.name] = m
	for _, alias := range aliases {
		dup := *m
		dup.name = alias
		r.methods[alias] = &dup
	}
}

// newRegistry builds the method table for one Backend.
func newRegistry(d *dispatcher) *registry {
	r := &registry{methods: map[string]*method{}}
	b := d.backend
	sv := func(name string) string { return "supervisor." + name }

	r.add(&method{name: sv("getAPIVersion"), guarded: true,
		help: "Answer the version of the XML-RPC API this daemon speaks.\n@return string version  the API version, \"3.0\"",
		call: func(context.Context, args) (any, error) { return protocol.APIVersion, nil }},
		sv("getVersion"))
	r.add(&method{name: sv("getSupervisorVersion"), guarded: true,
		help: "Answer the Supervisor release this daemon is compatible with.\n@return string version  the release number",
		call: func(context.Context, args) (any, error) { return protocol.Version, nil }})
	r.add(&method{name: sv("getIdentification"), guarded: true,
		help: "Answer the identifier configured for this daemon.\n@return string identifier  the [supervisord] identifier",
		call: func(context.Context, args) (any, error) { return b.Identification(), nil }})
	r.add(&method{name: sv("getState"), guarded: true,
		help: "Answer the daemon's own state.\n@return struct state  {statecode: int, statename: string}",
		call: func(context.Context, args) (any, error) {
			st := b.State()
			return Struct{{"statecode", int(st)}, {"statename", st.String()}}, nil
		}})
	r.add(&method{name: sv("getPID"), guarded: true,
		help: "Answer the process id of the daemon.\n@return int pid  the daemon's pid",
		call: func(context.Context, args) (any, error) { return b.PID(), nil }})
	r.add(&method{name: sv("readLog"), guarded: true, params: 2, required: 2,
		help: "Read bytes of the main log. A negative offset with length 0 reads the\n" +
			"last -offset bytes; length 0 reads to the end.\n" +
			"@param int offset  where to start reading\n" +
			"@param int length  how many bytes to read (0 = to the end)\n" +
			"@return string log  the bytes read",
		call: func(ctx context.Context, a args) (any, error) {
			return d.readFile(ctx, b.MainLogPath(), a, 0)
		}}, sv("readMainLog"))
	r.add(&method{name: sv("clearLog"), guarded: true,
		help: "Delete the main log and start a fresh one.\n@return boolean result  true unless an error occurs",
		call: func(context.Context, args) (any, error) { return true, b.ClearMainLog() }})
	r.add(&method{name: sv("shutdown"), guarded: true,
		help: "Stop every process, then exit the daemon.\n@return boolean result  true unless an error occurs",
		call: func(context.Context, args) (any, error) { return true, b.Shutdown() }})
	r.add(&method{name: sv("restart"), guarded: true,
		help: "Read the configuration again and, when it is valid, stop every process and\n" +
			"start again on it; a broken configuration changes nothing (CANT_REREAD).\n" +
			"@return boolean result  true unless an error occurs",
		call: func(context.Context, args) (any, error) { return true, b.Restart() }})
	r.add(&method{name: sv("reloadConfig"), guarded: true,
		help: "Read the configuration file again without applying it, and report\n" +
			"which process groups were added, changed and removed.\n" +
			"@return array result  [[added, changed, removed]], each a list of group names",
		call: func(context.Context, args) (any, error) {
			added, changed, removed, err := b.ReloadConfig()
			if err != nil {
				return nil, err
			}
			return []any{[]any{nonNil(added), nonNil(changed), nonNil(removed)}}, nil
		}})
	r.add(&method{name: sv("addProcessGroup"), guarded: true, params: 1, required: 1,
		help: "Activate a process group from the configuration read last.\n" +
			"@param string name  the group to add\n@return boolean result  true unless an error occurs",
		call: func(_ context.Context, a args) (any, error) {
			// The reference compares the name with each configured one.
			name, err := groupName(a[0], true)
			if err != nil {
				return nil, err
			}
			return true, b.AddProcessGroup(name)
		}})
	r.add(&method{name: sv("removeProcessGroup"), guarded: true, params: 1, required: 1,
		help: "Deactivate a process group whose processes are all stopped.\n" +
			"@param string name  the group to remove\n@return boolean result  true unless an error occurs",
		call: func(_ context.Context, a args) (any, error) {
			name, err := groupName(a[0], false)
			if err != nil {
				return nil, err
			}
			return true, b.RemoveProcessGroup(name)
		}})

	r.add(&method{name: sv("startProcess"), guarded: true, params: 2, required: 1,
		help: "Start one process, or a whole group with \"group:*\" (which answers an\n" +
			"array of results).\n" +
			"@param string name  the process (\"name\", \"group:name\" or \"group:*\")\n" +
			"@param boolean wait  wait until the process is RUNNING (default true)\n" +
			"@return boolean result  true unless an error occurs",
		call: d.startProcess})
	r.add(&method{name: sv("startProcessGroup"), guarded: true, params: 2, required: 1,
		help: "Start every process of a group that is not running.\n" +
			"@param string name  the group\n@param boolean wait  wait until each is RUNNING (default true)\n" +
			"@return array result  one {name, group, status, description} per process",
		call: func(ctx context.Context, a args) (any, error) {
			name, err := groupName(a[0], false)
			if err != nil {
				return nil, err
			}
			return results(b.StartProcessGroup(ctx, name, a.wait(1)))
		}})
	r.add(&method{name: sv("startAllProcesses"), guarded: true, params: 1, required: 0,
		help: "Start every process that is not running, in priority order.\n" +
			"@param boolean wait  wait until each is RUNNING (default true)\n" +
			"@return array result  one {name, group, status, description} per process",
		call: func(ctx context.Context, a args) (any, error) {
			return results(b.StartAllProcesses(ctx, a.wait(0)))
		}})
	r.add(&method{name: sv("stopProcess"), guarded: true, params: 2, required: 1,
		help: "Stop one process, or a whole group with \"group:*\" (which answers an\n" +
			"array of results).\n" +
			"@param string name  the process (\"name\", \"group:name\" or \"group:*\")\n" +
			"@param boolean wait  wait until the process has stopped (default true)\n" +
			"@return boolean result  true unless an error occurs",
		call: d.stopProcess})
	r.add(&method{name: sv("stopProcessGroup"), guarded: true, params: 2, required: 1,
		help: "Stop every running process of a group.\n" +
			"@param string name  the group\n@param boolean wait  wait until each has stopped (default true)\n" +
			"@return array result  one {name, group, status, description} per process",
		call: func(ctx context.Context, a args) (any, error) {
			name, err := groupName(a[0], false)
			if err != nil {
				return nil, err
			}
			return results(b.StopProcessGroup(ctx, name, a.wait(1)))
		}})
	r.add(&method{name: sv("stopAllProcesses"), guarded: true, params: 1, required: 0,
		help: "Stop every running process, in priority order.\n" +
			"@param boolean wait  wait until each has stopped (default true)\n" +
			"@return array result  one {name, group, status, description} per process",
		call: func(ctx context.Context, a args) (any, error) {
			return results(b.StopAllProcesses(ctx, a.wait(0)))
		}})
	r.add(&method{name: sv("signalProcess"), guarded: true, params: 2, required: 2,
		help: "Send a Unix signal to one process, or to a group with \"group:*\".\n" +
			"@param string name  the process (\"name\", \"group:name\" or \"group:*\")\n" +
			"@param string signal  a signal name (\"HUP\", \"SIGHUP\") or number (\"1\")\n" +
			"@return boolean result  true unless an error occurs",
		call: d.signalProcess})
	r.add(&method{name: sv("signalProcessGroup"), guarded: true, params: 2, required: 2,
		help: "Send a Unix signal to every signallable process of a group.\n" +
			"@param string name  the group\n@param string signal  a signal name or number\n" +
			"@return array result  one {name, group, status, description} per process",
		call: func(_ context.Context, a args) (any, error) {
			name, err := groupName(a[0], false)
			if err != nil {
				return nil, err
			}
			return results(b.SignalProcessGroup(name, signalText(a[1])))
		}})
	r.add(&method{name: sv("signalAllProcesses"), guarded: true, params: 1, required: 1,
		help: "Send a Unix signal to every signallable process.\n" +
			"@param string signal  a signal name or number\n" +
			"@return array result  one {name, group, status, description} per process",
		call: func(_ context.Context, a args) (any, error) {
			return results(b.SignalAllProcesses(signalText(a[0])))
		}})

	r.add(&method{name: sv("getAllConfigInfo"), guarded: true,
		help: "Describe the configuration of every process, whether its group is active or not.\n" +
			"@return array result  one config struct per process, sorted by name",
		call: func(context.Context, args) (any, error) {
			procs := b.ConfiguredProcesses()
			sort.SliceStable(procs, func(i, j int) bool { return procs[i].Process.Name < procs[j].Process.Name })
			out := make([]any, len(procs))
			for i := range procs {
				out[i] = configInfoStruct(&procs[i])
			}
			return out, nil
		}})
	r.add(&method{name: sv("getProcessInfo"), guarded: true, params: 1, required: 1,
		help: "Describe one process.\n" +
			"@param string name  the process (\"name\" or \"group:name\")\n" +
			"@return struct result  the process info struct",
		call: func(_ context.Context, a args) (any, error) {
			name, err := oneProcess(a[0])
			if err != nil {
				return nil, err
			}
			p, err := b.Process(name)
			if err != nil {
				return nil, err
			}
			return &processInfoValue{p: p, now: d.now().Unix()}, nil
		}})
	r.add(&method{name: sv("getAllProcessInfo"), guarded: true,
		help: "Describe every process, sorted by group name and then process name.\n" +
			"@return array result  one process info struct per process",
		call: func(context.Context, args) (any, error) {
			procs, err := b.Processes()
			if err != nil {
				return nil, err
			}
			return &processInfoList{procs: procs, now: d.now().Unix()}, nil
		}})

	readHelp := func(channel string) string {
		return "Read bytes of a process's " + channel + " log, with the offset and length\n" +
			"rules of readLog.\n" +
			"@param string name  the process (\"name\" or \"group:name\")\n" +
			"@param int offset  where to start reading\n" +
			"@param int length  how many bytes to read (0 = to the end)\n" +
			"@return string log  the bytes read"
	}
	tailHelp := func(channel string) string {
		return "Tail a process's " + channel + " log: answer at most length bytes from\n" +
			"offset; when the log has grown past offset+length, answer its last length\n" +
			"bytes and set overflow. The offset answered is where the next read starts.\n" +
			"@param string name  the process (\"name\" or \"group:name\")\n" +
			"@param int offset  where to start reading\n" +
			"@param int length  the most bytes to answer\n" +
			"@return array result  [string bytes, int offset, boolean overflow]"
	}
	for _, ch := range []struct {
		channel    protocol.Channel
		read, tail string
	}{
		{protocol.Stdout, "readProcessStdoutLog", "tailProcessStdoutLog"},
		{protocol.Stderr, "readProcessStderrLog", "tailProcessStderrLog"},
	} {
		readAliases, tailAliases := []string{}, []string{}
		if ch.channel == protocol.Stdout {
			readAliases, tailAliases = []string{sv("readProcessLog")}, []string{sv("tailProcessLog")}
		}
		r.add(&method{name: sv(ch.read), guarded: true, params: 3, required: 3,
			help: readHelp(ch.channel.String()),
			call: func(ctx context.Context, a args) (any, error) {
				path, err := d.processLog(a[0], ch.channel)
				if err != nil {
					return nil, err
				}
				return d.readFile(ctx, path, a, 1)
			}}, readAliases...)
		r.add(&method{name: sv(ch.tail), guarded: true, params: 3, required: 3,
			help: tailHelp(ch.channel.String()),
			call: func(ctx context.Context, a args) (any, error) {
				path, err := d.processLog(a[0], ch.channel)
				if err != nil {
					return nil, err
				}
				return tailFile(ctx, path, a)
			}}, tailAliases...)
	}

	r.add(&method{name: sv("clearProcessLogs"), guarded: true, params: 1, required: 1,
		help: "Empty the stdout and stderr logs of a process and reopen them.\n" +
			"@param string name  the process (\"name\" or \"group:name\")\n" +
			"@return boolean result  true unless an error occurs",
		call: func(_ context.Context, a args) (any, error) {
			name, err := oneProcess(a[0])
			if err != nil {
				return nil, err
			}
			return true, b.ClearProcessLogs(name)
		}}, sv("clearProcessLog"))
	r.add(&method{name: sv("clearAllProcessLogs"), guarded: true,
		help: "Empty the logs of every process.\n" +
			"@return array result  one {name, group, status, description} per process",
		call: func(context.Context, args) (any, error) { return results(b.ClearAllProcessLogs(), nil) }})
	r.add(&method{name: sv("sendProcessStdin"), guarded: true, params: 2, required: 2,
		help: "Write characters to a process's stdin, encoded as UTF-8.\n" +
			"@param string name  the process (\"name\" or \"group:name\")\n" +
			"@param string chars  the characters to write\n" +
			"@return boolean result  true unless an error occurs",
		call: func(_ context.Context, a args) (any, error) {
			// The reference checks the characters before the name.
			chars, ok := pyString(a[1])
			switch {
			case !ok && a[1] == nil:
				return nil, NewFault(protocol.FaultIncorrectParameters, "")
			case !ok:
				return nil, NewFaultFor(protocol.FaultIncorrectParameters, pyStr(a[1]))
			}
			name, err := oneProcess(a[0])
			if err != nil {
				return nil, err
			}
			return true, b.SendProcessStdin(name, []byte(chars))
		}})
	r.add(&method{name: sv("sendRemoteCommEvent"), guarded: false, params: 2, required: 2,
		help: "Emit a REMOTE_COMMUNICATION event to the listeners subscribed to it.\n" +
			"@param string type  the value of the event's type header\n" +
			"@param string data  the event body\n" +
			"@return boolean result  true unless an error occurs",
		call: func(_ context.Context, a args) (any, error) {
			// The reference formats both into the payload with %s.
			return true, b.SendRemoteCommEvent(pyStr(a[0]), pyStr(a[1]))
		}})

	r.add(&method{name: "system.listMethods",
		help: "List the names of every method this server publishes.\n@return array result  the method names, sorted",
		call: func(context.Context, args) (any, error) { return r.names, nil }})
	r.add(&method{name: "system.methodHelp", params: 1, required: 1,
		help: "Answer the documentation of a method.\n" +
			"@param string name  the method's full name\n@return string result  its documentation",
		call: func(_ context.Context, a args) (any, error) {
			m := r.lookupName(a[0])
			if m == nil {
				return nil, NewFault(protocol.FaultSignatureUnsupported, "")
			}
			return m.help, nil
		}})
	r.add(&method{name: "system.methodSignature", params: 1, required: 1,
		help: "Answer a method's signature as [return type, parameter types...].\n" +
			"@param string name  the method's full name\n@return array result  the types",
		call: func(_ context.Context, a args) (any, error) {
			m := r.lookupName(a[0])
			if m == nil {
				return nil, NewFault(protocol.FaultSignatureUnsupported, "")
			}
			return signature(m.help)
		}})
	r.add(&method{name: "system.multicall", params: 1, required: 1,
		help: "Run several calls in order and answer their results in one array. A\n" +
			"result is the bare value, or {faultCode, faultString} for a fault.\n" +
			"@param array calls  structs {methodName: string, params: array}\n" +
			"@return array result  one entry per call",
		call: d.multicall})
	addResourceMethods(r, b)

	addExtensionMethods(r, b)
	addUpgradeMethods(r, d.upgrader)

	for name := range r.methods {
		r.names = append(r.names, name)
	}
	sort.Strings(r.names)
	return r
}

// signature extracts [return type, param types...] from @return and
// @param tags, as the reference derives it from docstrings.
func signature(help string) ([]string, error) {
	var ret string
	var params []string
	for _, line := range strings.Split(help, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "@return":
			ret = f[1]
		case "@param":
			params = append(params, f[1])
		}
	}
	if ret == "" {
		return nil, NewFault(protocol.FaultSignatureUnsupported, "")
	}
	return append([]string{ret}, params...), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// results turns the outcomes of a group or "all" call into the wire
// array: status SUCCESS and description "OK", or the fault's code and
// text.
func results(outcomes []engine.Outcome, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	out := make([]any, len(outcomes))
	for i, o := range outcomes {
		status, desc := protocol.FaultSuccess, "OK"
		if o.Err != nil {
			f := FaultOf(o.Err)
			status, desc = f.Code, f.String
		}
		out[i] = Struct{{"name", o.Name}, {"group", o.Group}, {"status", int(status)}, {"description", desc}}
	}
	return out, nil
}

// capInt32 clamps a timestamp to XML-RPC's 32-bit int, as the reference does.
func capInt32(n int64) int64 {
	return min(max(n, -1<<31), 1<<31-1)
}

// configInfoStruct is one entry of getAllConfigInfo, with the
// reference's spellings: "none" for an absent directory=, an unset uid
// or log file and for serverurl=AUTO, "auto" for an AUTO log not yet named, the uid
// as an int.
func configInfoStruct(cp *engine.ConfiguredProcess) Struct {
	pc := cp.Process
	exitcodes := pc.ExitCodes
	if exitcodes == nil {
		exitcodes = []int{}
	}
	var uid any = "none"
	if pc.User != "" && pc.UID >= 0 {
		uid = pc.UID
	}
	serverURL := "none"
	if !strings.EqualFold(strings.TrimSpace(pc.ServerURL), "AUTO") {
		serverURL = pc.ServerURL // "" for an empty serverurl=, as the reference
	}
	logName := func(ch protocol.Channel) string {
		lc := pc.Log(ch)
		switch {
		case cp.LogFiles[ch] != "":
			return cp.LogFiles[ch]
		case lc.Auto:
			return "auto"
		}
		return noneIfEmpty(lc.File)
	}
	return Struct{
		{"autostart", pc.Autostart},
		{"directory", configuredDirectory(pc)},
		{"uid", uid},
		{"command", pc.Command},
		{"exitcodes", exitcodes},
		{"group", cp.Group.Name},
		{"group_prio", cp.Group.Priority},
		{"inuse", cp.Active},
		{"killasgroup", pc.KillAsGroup},
		{"name", pc.Name},
		{"process_prio", pc.Priority},
		{"redirect_stderr", pc.RedirectStderr},
		{"startretries", pc.StartRetries},
		{"startsecs", pc.StartSecs},
		{"stdout_capture_maxbytes", pc.Stdout.CaptureMaxBytes},
		{"stdout_events_enabled", pc.Stdout.EventsEnabled},
		{"stdout_logfile", logName(protocol.Stdout)},
		{"stdout_logfile_backups", pc.Stdout.Backups},
		{"stdout_logfile_maxbytes", pc.Stdout.MaxBytes},
		{"stdout_syslog", pc.Stdout.Syslog},
		{"stopsignal", int(pc.StopSignal)},
		{"stopwaitsecs", pc.StopWaitSecs},
		{"stderr_capture_maxbytes", pc.Stderr.CaptureMaxBytes},
		{"stderr_events_enabled", pc.Stderr.EventsEnabled},
		{"stderr_logfile", logName(protocol.Stderr)},
		{"stderr_logfile_backups", pc.Stderr.Backups},
		{"stderr_logfile_maxbytes", pc.Stderr.MaxBytes},
		{"stderr_syslog", pc.Stderr.Syslog},
		{"serverurl", serverURL},
	}
}

// configuredDirectory is getAllConfigInfo's directory: 'none' when
// directory= is absent, as written (even empty) otherwise.
func configuredDirectory(pc *config.Process) string {
	if !pc.DirectorySet {
		return "none"
	}
	return pc.Directory
}

func noneIfEmpty(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// readFile applies readLog's rules to path and maps failures to faults:
// no path → NO_FILE, missing file → NO_FILE: path; then the offset and
// length (parameters i and i+1) are converted, as the reference does.
func (d *dispatcher) readFile(ctx context.Context, path string, a args, i int) (any, error) {
	if path == "" {
		return nil, NewFault(protocol.FaultNoFile, "")
	}
	// The file is opened once, by the links rule, and everything after
	// (its size, its bytes) comes from that descriptor. The reference
	// checks that the file exists before it converts the offset and
	// length, and fails to open it after.
	log, openErr := logrot.OpenLog(path)
	if errors.Is(openErr, logrot.ErrNoFile) {
		return nil, NewFault(protocol.FaultNoFile, path)
	}
	if openErr == nil {
		defer log.Close()
	}
	offset, length, err := a.ints(i)
	if err != nil {
		return nil, err
	}
	if openErr != nil {
		return nil, NewFault(protocol.FaultFailed, "")
	}
	if err := checkBudget(ctx, log.RangeSize(offset, length)); err != nil {
		return nil, err
	}
	data, err := log.ReadRange(offset, length)
	switch {
	case errors.Is(err, logrot.ErrBadArguments):
		return nil, NewFault(protocol.FaultBadArguments, "")
	case err != nil:
		return nil, NewFault(protocol.FaultFailed, "")
	}
	return string(data), nil
}

// tailFile answers tailProcessStdoutLog / tailProcessStderrLog for the
// log at path: a log that is missing, or that cannot be opened, tails as
// empty. The reference answers a missing log before it converts the
// offset and length.
func tailFile(ctx context.Context, path string, a args) (any, error) {
	empty := []any{"", 0, false}
	if path == "" {
		return empty, nil
	}
	log, openErr := logrot.OpenLog(path)
	if errors.Is(openErr, logrot.ErrNoFile) {
		return empty, nil
	}
	if openErr == nil {
		defer log.Close()
	}
	offset, length, err := a.ints(1)
	if err != nil {
		return nil, err
	}
	if openErr != nil {
		return empty, nil
	}
	if err := checkBudget(ctx, min(max(length, 0), log.Size())); err != nil {
		return nil, err
	}
	data, next, overflow, err := log.Tail(offset, length)
	if err != nil {
		return empty, nil
	}
	return []any{string(data), next, overflow}, nil
}

// processLog resolves a process's log path for the read and tail
// methods; a whole-group namespec is BAD_NAME, a channel without a file
// (or whose file does not exist yet) gives "".
func (d *dispatcher) processLog(nameVal any, channel protocol.Channel) (string, error) {
	name, err := oneProcess(nameVal)
	if err != nil {
		return "", err
	}
	path, err := d.backend.LogFile(name, channel)
	if err != nil {
		return "", err
	}
	return path, nil
}

// oneProcess is a name parameter that must name one process: a
// whole-group namespec is BAD_NAME.
func oneProcess(v any) (string, error) {
	name, err := processName(v)
	if err != nil {
		return "", err
	}
	if _, proc := splitNamespec(name); proc == "" {
		return "", NewFaultFor(protocol.FaultBadName, name)
	}
	return name, nil
}

// lookupName is the method a methodHelp or methodSignature parameter
// names; the reference compares it with each name, so a value that is
// no str names none.
func (r *registry) lookupName(v any) *method {
	name, ok := pyString(v)
	if !ok {
		return nil
	}
	return r.methods[name]
}
