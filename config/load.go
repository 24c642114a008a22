package config

import (
	"errors"
	"fmt"
	"gosupervisor/internal/pyrepr"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Options makes Load pure and testable: everything the reference takes
// from the process environment is passed in.
type Options struct {
	// Env is the environment as os.Environ() returns it; nil means
	// os.Environ(). It provides %(ENV_X)s, $HOME for "~" and $TMPDIR.
	Env []string
	// Hostname is %(host_node_name)s; "" means os.Hostname().
	Hostname string
	// Overrides are [supervisord] values from the supervisord command line
	// (key → raw value, e.g. "logfile", "nodaemon"="true"). They beat the
	// file and, like the reference's command-line values, are not
	// %-expanded.
	Overrides map[string]string
	// Cwd resolves relative paths; "" means os.Getwd().
	Cwd string
}

// resolved is Options with its defaults filled in.
type resolved struct {
	env      map[string]string
	hostname string
	cwd      string
	paths    paths
}

func (o Options) resolve() (resolved, error) {
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	r := resolved{env: map[string]string{}, hostname: o.Hostname, cwd: o.Cwd}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		r.env[k] = v
	}
	if r.hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return r, fmt.Errorf("hostname: %w", err)
		}
		r.hostname = h
	}
	if r.cwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return r, fmt.Errorf("working directory: %w", err)
		}
		r.cwd = wd
	}
	r.paths = paths{cwd: r.cwd, home: r.env["HOME"]}
	return r, nil
}

// environExpansions are the ENV_X names for every environment variable.
func (r resolved) environExpansions() expansions {
	e := expansions{}
	for k, v := range r.env {
		e["ENV_"+k] = v
	}
	return e
}

// loader carries the state of one Load, mirroring the reference's
// ServerOptions while it reads a file.
type loader struct {
	r        resolved
	path     string // as given
	here     string
	ini      *iniFile
	environ  expansions // ENV_ names; grows with [supervisord] environment
	warnings []string
	infos    []string
	users    userDB
	userSet  bool // [supervisord] user given (even if empty)
}

// readMain reads the main file, reporting errors in the reference's words.
func readMain(r resolved, path string) ([]byte, error) {
	abs := r.paths.abs(path)
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("could not find config file %s", path)
	}
	data, err := readRegular(abs)
	if err != nil {
		return nil, fmt.Errorf("could not read config file %s", path)
	}
	return data, nil
}

// maxConfigBytes bounds what one configuration file may hold, so that a
// glob matching something like /proc/kcore cannot exhaust memory.
const maxConfigBytes = 16 << 20

// readRegular reads a regular file of at most maxConfigBytes. Devices and
// FIFOs are refused (the reference would block or read forever).
func readRegular(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > maxConfigBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxConfigBytes)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err == nil && len(data) > maxConfigBytes {
		err = fmt.Errorf("%s is larger than %d bytes", path, maxConfigBytes)
	}
	return data, err
}

// Load reads a supervisord configuration file (and its includes), applies
// defaults and expansions, validates every value and returns the result.
// Error texts are what the reference prints after "Error: ".
func Load(path string, opts Options) (*Config, error) {
	r, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	ov, err := parseOverrides(r, opts.Overrides)
	if err != nil {
		return nil, err
	}
	l := &loader{r: r, path: path, environ: r.environExpansions()}
	l.here = filepath.Dir(r.paths.abs(path))
	data, err := readMain(r, path)
	if err != nil {
		return nil, err
	}
	l.ini = newIniFile()
	if err := l.ini.read(data, path); err != nil {
		return nil, err
	}
	cfg := &Config{Path: filepath.Clean(r.paths.abs(path)), Here: l.here}
	if err := l.includes(); err != nil {
		return nil, err
	}
	if !l.ini.hasSection("supervisord") {
		return nil, errors.New(".ini file does not include supervisord section")
	}
	sup, err := l.supervisord()
	if err != nil {
		return nil, err
	}
	cfg.RPCInterfaces, err = l.rpcInterfaces()
	if err != nil {
		return nil, err
	}
	cfg.Groups, err = l.processGroups()
	if err != nil {
		return nil, err
	}
	cfg.InetHTTPServers, cfg.UnixHTTPServers, err = l.servers()
	if err != nil {
		return nil, err
	}
	if err := l.realize(sup, ov); err != nil {
		return nil, err
	}
	cfg.Supervisord = *sup
	cfg.ServerURL = fallbackServerURL(cfg)
	if l.ini.hasSection("supervisorctl") {
		if ctl, err := ctlFromIni(l.ini, r, l.here, l.environ); err == nil {
			cfg.Supervisorctl = ctl
		}
	}
	for _, w := range l.warnings {
		cfg.Messages = append(cfg.Messages, Message{Level: LevelWarn, Text: w})
	}
	for _, i := range l.infos {
		cfg.Messages = append(cfg.Messages, Message{Level: LevelInfo, Text: i})
	}
	return cfg, nil
}

// fallbackServerURL is the SUPERVISOR_SERVER_URL for serverurl=AUTO: the
// first unix server, else the first inet server, else "".
func fallbackServerURL(cfg *Config) string {
	if len(cfg.UnixHTTPServers) > 0 {
		return "unix://" + cfg.UnixHTTPServers[0].File
	}
	if len(cfg.InetHTTPServers) > 0 {
		s := cfg.InetHTTPServers[0]
		host := s.Host
		if host == "" {
			host = "localhost"
		}
		return fmt.Sprintf("http://%s:%d", host, s.Port)
	}
	return ""
}

// get is the reference's saneget: the raw value (or def when absent and
// hasDef), %-expanded with the environment names plus extra.
func (l *loader) get(section, key string, extra expansions) (string, bool, error) {
	v, ok := l.ini.get(section, key)
	if !ok {
		return "", false, nil
	}
	out, err := l.expandWith(v, extra, section+"."+key)
	return out, true, err
}

// expandWith expands v with the environment names plus extra (extra wins),
// building the combined mapping only when v has something to expand.
func (l *loader) expandWith(v string, extra expansions, name string) (string, error) {
	if !strings.Contains(v, "%") {
		return v, nil
	}
	return expand(v, l.environ.merge(extra), name)
}

// getDefault is get with a string default that is expanded like a value.
func (l *loader) getDefault(section, key, def string, extra expansions) (string, error) {
	v, ok := l.ini.get(section, key)
	if !ok {
		v = def
	}
	return l.expandWith(v, extra, section+"."+key)
}

// getInt reads an integer option whose default is not a string.
func (l *loader) getInt(section, key string, def int, extra expansions) (int, error) {
	v, ok, err := l.get(section, key, extra)
	if err != nil || !ok {
		return def, err
	}
	return parseInteger(v)
}

func (l *loader) includes() error {
	if !l.ini.hasSection("include") {
		return nil
	}
	l.ini.expandHere(l.here)
	files, ok := l.ini.get("include", "files")
	if !ok {
		return errors.New(".ini file has [include] section, but no files setting")
	}
	exp := l.environ.merge(expansions{"here": l.here, "host_node_name": l.r.hostname})
	files, err := expand(files, exp, "include.files")
	if err != nil {
		return err
	}
	base := filepath.Dir(filepath.Clean(l.r.paths.abs(l.path)))
	for _, pattern := range strings.FieldsFunc(files, pyIsSpace) {
		pattern = pyJoin(base, pattern)
		matches := pyGlob(pattern)
		if len(matches) == 0 {
			l.warnings = append(l.warnings, fmt.Sprintf("No file matches via include %q", pattern))
			continue
		}
		sort.Strings(matches)
		for _, name := range matches {
			l.infos = append(l.infos, fmt.Sprintf("Included extra file %q during parsing", name))
			before := map[string]bool{}
			for _, s := range l.ini.order {
				before[s] = true
			}
			// Like the reference, a matched file that cannot be read
			// (a directory, no permission) is skipped silently.
			if data, err := readRegular(name); err == nil {
				if err := l.ini.read(data, name); err != nil {
					return err
				}
			}
			for _, s := range l.ini.order {
				if !before[s] {
					l.ini.sectionToFile[s] = name
				}
			}
			l.ini.expandHere(filepath.Dir(name))
		}
	}
	return nil
}

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
	conv(func() (e error) { s.MinFDs, e = parseInteger(v); return })
	v = str("minprocs", "200")
	conv(func() (e error) { s.MinProcs, e = parseInteger(v); return })
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
	conv(func() (e error) { s.LogfileBackups, e = parseInteger(v); return })
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
			val, err = parseInteger(v)
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
			s.LogLevel = v.(LogLevel)
		}
	}
	if l.userSet {
		uid, err := l.users.nameToUID(s.User)
		if err != nil {
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

func (l *loader) rpcInterfaces() ([]RPCInterface, error) {
	const key = "supervisor.rpcinterface_factory"
	var out []RPCInterface
	for _, sec := range l.ini.order {
		if !strings.HasPrefix(sec, "rpcinterface:") {
			continue
		}
		_, name, _ := strings.Cut(sec, ":")
		factory, ok, err := l.get(sec, key, nil)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("section [%s] does not specify a %s", sec, key)
		}
		ri := RPCInterface{Name: name, Factory: factory}
		for _, k := range l.ini.options(sec) {
			if k == key {
				continue
			}
			v, _, err := l.get(sec, k, nil)
			if err != nil {
				return nil, err
			}
			if ri.Extras == nil {
				ri.Extras = map[string]string{}
			}
			ri.Extras[k] = v
		}
		out = append(out, ri)
	}
	return out, nil
}

func (l *loader) servers() ([]InetHTTPServer, []UnixHTTPServer, error) {
	var inet []InetHTTPServer
	var unix []UnixHTTPServer
	for _, sec := range l.ini.order {
		if !strings.HasPrefix(sec, "inet_http_server") {
			continue
		}
		user, pass, err := l.auth(sec)
		if err != nil {
			return nil, nil, err
		}
		port, ok, err := l.get(sec, "port", nil)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, fmt.Errorf("section [%s] has no port value", sec)
		}
		host, p, err := InetAddress(port)
		if err != nil {
			return nil, nil, err
		}
		inet = append(inet, InetHTTPServer{Section: sec, Host: host, Port: p, Username: user, Password: pass})
	}
	for _, sec := range l.ini.order {
		if !strings.HasPrefix(sec, "unix_http_server") {
			continue
		}
		file, ok, err := l.get(sec, "file", expansions{"here": l.here})
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, fmt.Errorf("section [%s] has no file value", sec)
		}
		srv := UnixHTTPServer{Section: sec, File: l.r.paths.normalize(pyStrip(file)), ChownUID: -1, ChownGID: -1, Chmod: 0o700}
		if srv.Username, srv.Password, err = l.auth(sec); err != nil {
			return nil, nil, err
		}
		if chown, ok, err := l.get(sec, "chown", nil); err != nil {
			return nil, nil, err
		} else if ok {
			if srv.ChownUID, srv.ChownGID, err = l.users.userGroup(chown); err != nil {
				return nil, nil, fmt.Errorf("Invalid sockchown value %s", chown)
			}
		}
		if chmod, ok, err := l.get(sec, "chmod", nil); err != nil {
			return nil, nil, err
		} else if ok {
			n, err := ParseOctal(chmod)
			if err != nil {
				return nil, nil, fmt.Errorf("Invalid chmod value %s", chmod)
			}
			srv.Chmod = uint32(n)
		}
		unix = append(unix, srv)
	}
	return inet, unix, nil
}

func (l *loader) auth(sec string) (string, string, error) {
	user, hasUser, err := l.get(sec, "username", nil)
	if err != nil {
		return "", "", err
	}
	pass, hasPass, err := l.get(sec, "password", nil)
	if err != nil {
		return "", "", err
	}
	if hasUser != hasPass {
		return "", "", fmt.Errorf("Section [%s] contains incomplete authentication: If a username or a password is specified, both the username and password must be specified", sec)
	}
	return user, pass, nil
}

// Find returns the configuration file the reference would use without -c:
// the first existing of its search list (relative entries are looked up
// in cwd and returned as written).
func Find(argv0, cwd string) (string, error) {
	for _, p := range SearchPaths(argv0) {
		abs := p
		if !filepath.IsAbs(p) {
			abs = filepath.Join(cwd, p)
		}
		if _, err := os.Stat(abs); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("No config file found at default paths (%s); use the -c option to specify a config file at a different path", strings.Join(SearchPaths(argv0), ", "))
}

// SearchPaths is the reference's default configuration search list.
func SearchPaths(argv0 string) []string {
	here := pyDirname(pyDirname(argv0))
	join := func(parts ...string) string {
		if here == "" {
			return strings.Join(parts, "/")
		}
		return strings.TrimSuffix(here, "/") + "/" + strings.Join(parts, "/")
	}
	return []string{
		join("etc", "supervisord.conf"),
		join("supervisord.conf"),
		"supervisord.conf",
		"etc/supervisord.conf",
		"/etc/supervisord.conf",
		"/etc/supervisor/supervisord.conf",
	}
}

// LoadCtl reads what supervisorctl takes from a configuration file: the
// [supervisorctl] section only, with defaults applied.
func LoadCtl(path string) (*Supervisorctl, error) {
	return LoadCtlWith(path, Options{})
}

// LoadCtlWith is LoadCtl with explicit environment and working directory.
func LoadCtlWith(path string, opts Options) (*Supervisorctl, error) {
	r, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	here := filepath.Dir(r.paths.normalize(path))
	data, err := readMain(r, path)
	if err != nil {
		return nil, err
	}
	ini := newIniFile()
	if err := ini.read(data, path); err != nil {
		return nil, err
	}
	if !ini.hasSection("supervisorctl") {
		return nil, errors.New(".ini file does not include supervisorctl section")
	}
	return ctlFromIni(ini, r, here, r.environExpansions())
}

func ctlFromIni(ini *iniFile, r resolved, here string, environ expansions) (*Supervisorctl, error) {
	const sec = "supervisorctl"
	get := func(key, def string, extra expansions) (string, bool, error) {
		v, ok := ini.get(sec, key)
		if !ok {
			return def, false, nil
		}
		if !strings.Contains(v, "%") {
			return v, true, nil
		}
		out, err := expand(v, environ.merge(extra), sec+"."+key)
		return out, true, err
	}
	ctl := &Supervisorctl{}
	var err error
	if ctl.ServerURL, _, err = get("serverurl", "http://localhost:9001", expansions{"here": here}); err != nil {
		return nil, err
	}
	if strings.HasPrefix(ctl.ServerURL, "unix://") {
		ctl.ServerURL = "unix://" + r.paths.normalize(ctl.ServerURL[7:])
	}
	if ctl.Prompt, _, err = get("prompt", "supervisor", nil); err != nil {
		return nil, err
	}
	if ctl.Username, _, err = get("username", "", nil); err != nil {
		return nil, err
	}
	if ctl.Password, _, err = get("password", "", nil); err != nil {
		return nil, err
	}
	hist, _, err := get("history_file", "", expansions{"here": here})
	if err != nil {
		return nil, err
	}
	if hist != "" {
		ctl.HistoryFile = r.paths.normalize(hist)
	}
	return ctl, nil
}
