package config

import (
	"fmt"
	"sort"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
)

// supervisord reads the [supervisord] section in the reference's order
// (the first bad value is the error reported).
func (l *loader) supervisord() (*Supervisord, error) {
	const sec = "supervisord"
	here := expansions{"here": l.here}
	s := &Supervisord{UID: -1, GID: -1}
	var err error
	str := func(key, def string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = l.getDefault(sec, key, def, here)
		return v
	}
	conv := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	var v string
	v = str("minfds", "1024")
	conv(func() (e error) { s.MinFDs, e = ParseInteger(v); return })
	v = str("minprocs", "200")
	conv(func() (e error) { s.MinProcs, e = ParseInteger(v); return })
	if err == nil {
		var ok bool
		v, ok, err = l.get(sec, "directory", here)
		if err == nil && ok {
			s.Directory, err = l.r.paths.existingDirectory(v)
		}
	}
	if err == nil {
		v, l.userSet, err = l.get(sec, "user", here)
		s.User = v
	}
	v = str("umask", "022")
	conv(func() error { n, e := ParseOctal(v); s.Umask = uint32(n); return e })
	v = str("logfile", "supervisord.log")
	conv(func() (e error) { s.Logfile, e = l.r.paths.existingDirpath(v); return })
	v = str("logfile_maxbytes", "50MB")
	conv(func() (e error) { s.LogfileMaxBytes, e = ParseByteSize(v); return })
	v = str("logfile_backups", "10")
	conv(func() (e error) { s.LogfileBackups, e = ParseInteger(v); return })
	v = str("loglevel", "info")
	conv(func() (e error) { s.LogLevel, e = ParseLogLevel(v); return })
	v = str("pidfile", "supervisord.pid")
	conv(func() (e error) { s.Pidfile, e = l.r.paths.existingDirpath(v); return })
	s.Identifier = str("identifier", "supervisor")
	v = str("nodaemon", "false")
	conv(func() (e error) { s.Nodaemon, e = ParseBool(v); return })
	v = str("silent", "false")
	conv(func() (e error) { s.Silent, e = ParseBool(v); return })
	v = str("childlogdir", tempDir(l.r.env, l.r.cwd))
	conv(func() (e error) { s.ChildLogDir, e = l.r.paths.existingDirectory(v); return })
	v = str("nocleanup", "false")
	conv(func() (e error) { s.NoCleanup, e = ParseBool(v); return })
	v = str("strip_ansi", "false")
	conv(func() (e error) { s.StripANSI, e = ParseBool(v); return })
	v = str("environment", "")
	if err != nil {
		return nil, err
	}
	// An extension key; the reference ignores it.
	if nd := str("notify_dir", ""); nd != "" {
		s.NotifyDir = l.r.paths.normalize(nd)
	}
	l.supervisordExtensions(s)
	if err != nil {
		return nil, err
	}
	// Extension keys of issue 16; the reference ignores them, so their
	// errors come after everything it checks.
	if err := l.supervisordResources(s, here); err != nil {
		l.extensionError(sec, err)
	}
	exp := l.environ.merge(expansions{"here": l.here, "host_node_name": l.r.hostname})
	v, err = expand(v, exp, "environment")
	if err != nil {
		return nil, err
	}
	if s.Environment, err = ParseKeyValuePairs(v); err != nil {
		return nil, err
	}
	for _, kv := range s.Environment {
		l.environ["ENV_"+kv.Key] = kv.Value
	}
	return s, nil
}

// overrides are parsed command-line values for [supervisord].
type overrides map[string]any

// parseOverrides converts command-line values as the reference's option
// handlers do, before the file is read.
func parseOverrides(r resolved, raw map[string]string) (overrides, error) {
	out := overrides{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		var (
			val any
			err error
		)
		switch k {
		case "nodaemon", "silent", "nocleanup", "strip_ansi":
			val, err = ParseBool(v)
		case "user", "identifier":
			val = v
		case "umask":
			val, err = ParseOctal(v)
		case "directory", "childlogdir":
			val, err = r.paths.existingDirectory(v)
		case "logfile", "pidfile":
			val, err = r.paths.existingDirpath(v)
		case "logfile_maxbytes":
			val, err = ParseByteSize(v)
		case "logfile_backups", "minfds", "minprocs":
			val, err = ParseInteger(v)
		case "loglevel":
			val, err = ParseLogLevel(v)
		default:
			return nil, fmt.Errorf("option --%s not recognized", k)
		}
		if err != nil {
			return nil, fmt.Errorf("invalid value for --%s %s: %v", k, pyrepr.Str(v), err)
		}
		out[k] = val
	}
	return out, nil
}

// realize applies command-line overrides and the checks the reference
// makes once the file is read (user, absolute log and pid paths).
func (l *loader) realize(s *Supervisord, ov overrides) error {
	for k, v := range ov {
		switch k {
		case "nodaemon":
			s.Nodaemon = v.(bool)
		case "silent":
			s.Silent = v.(bool)
		case "nocleanup":
			s.NoCleanup = v.(bool)
		case "strip_ansi":
			s.StripANSI = v.(bool)
		case "user":
			s.User, l.userSet = v.(string), true
		case "identifier":
			s.Identifier = v.(string)
		case "umask":
			s.Umask = uint32(v.(int))
		case "directory":
			s.Directory = v.(string)
		case "childlogdir":
			s.ChildLogDir = v.(string)
		case "logfile":
			s.Logfile = v.(string)
		case "pidfile":
			s.Pidfile = v.(string)
		case "logfile_maxbytes":
			s.LogfileMaxBytes = v.(int64)
		case "logfile_backups":
			s.LogfileBackups = v.(int)
		case "minfds":
			s.MinFDs = v.(int)
		case "minprocs":
			s.MinProcs = v.(int)
		case "loglevel":
			s.LogLevel = v.(protocol.Level)
		}
	}
	if l.userSet {
		uid, err := l.users.nameToUID(s.User)
		if err != nil {
			l.failAt = &sectionKey{"supervisord", "user"}
			return err
		}
		s.UID, s.GID = uid, l.users.gidForUID(uid)
	}
	if s.Logfile == "syslog" {
		s.Logfile, s.LogfileSyslog = "", true
	} else {
		s.Logfile = l.r.paths.normalize(s.Logfile)
	}
	s.Pidfile = l.r.paths.normalize(s.Pidfile)
	s.ChildLogDir = l.r.paths.normalize(s.ChildLogDir)
	return nil
}
