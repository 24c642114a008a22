package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gosupervisor/internal/protocol"
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
	warnings []Notice   // the reference's parse warnings
	infos    []string
	users    userDB
	userSet  bool // [supervisord] user given (even if empty)
	// keys is the table of process-section keys (processKeys).
	keys []keyRow
	// extErr is the first error in an extension key, reported only when
	// everything the reference checks has passed; extErrAt is where.
	extErr   error
	extErrAt sectionKey
	// failAt locates an error where the key last read is not the one at
	// fault (a check between keys, a group's programs=); nil otherwise.
	failAt *sectionKey
	// includeList is what [include] matched, for the Layout.
	includeList []Include
	// files reads the main file and the includes.
	files fileReader
}

// Load reads a supervisord configuration file (and its includes), applies
// defaults and expansions, validates every value and returns the result.
// Error texts are what the reference prints after "Error: ".
func Load(path string, opts Options) (*Config, error) {
	cfg, _, err := Inspect(path, opts)
	return cfg, err
}

// Inspect is Load that also says where things are written: on success
// the Layout is Config.Layout; when Load fails it still describes what
// was read (nil when the main file could not be read at all), with the
// Failure located.
func Inspect(path string, opts Options) (*Config, *Layout, error) {
	return inspect(path, opts, processKeys(), nil)
}

// load is Load with the table of process-section keys and the way to
// the files as parameters; a nil files reads the OS and records what it
// read in the result's Sources.
func load(path string, opts Options, keys []keyRow, files fileReader) (*Config, error) {
	cfg, _, err := inspect(path, opts, keys, files)
	return cfg, err
}

// inspect is Inspect with the table of process-section keys and the way
// to the files as parameters (see load).
func inspect(path string, opts Options, keys []keyRow, files fileReader) (*Config, *Layout, error) {
	r, err := opts.resolve()
	if err != nil {
		return nil, nil, err
	}
	var src *Sources
	if files == nil {
		src = record(path, r, opts.Overrides)
		files = &recorder{src: src}
	} else if rp, ok := files.(*replayer); ok {
		src = rp.src
	}
	ov, err := parseOverrides(r, opts.Overrides)
	if err != nil {
		return nil, nil, err
	}
	l := &loader{r: r, path: path, environ: r.environExpansions(), keys: keys, files: files}
	l.here = filepath.Dir(r.paths.abs(path))
	data, err := readMain(r, files, path)
	if err != nil {
		return nil, nil, err
	}
	l.ini = newIniFile()
	cfg, err := l.load(data, ov)
	lay := l.layout(err != nil)
	if err != nil {
		lay.Failure = l.failure(lay, err)
		return nil, lay, err
	}
	cfg.Layout, cfg.Sources = lay, src
	for _, i := range l.infos {
		cfg.Messages = append(cfg.Messages, Message{Level: protocol.LevelInfo, Text: i})
	}
	return cfg, lay, nil
}

// load reads the main file's text and everything it names.
func (l *loader) load(data []byte, ov overrides) (*Config, error) {
	r, path := l.r, l.path
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
	if l.extErr != nil {
		return nil, l.extErr
	}
	if err := l.resolveDependencies(cfg.Groups); err != nil {
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
		cfg.Messages = append(cfg.Messages, Message{Level: protocol.LevelWarn, Text: w.Text})
	}
	return cfg, nil
}

// warn adds one of the reference's parse warnings, about a key of a
// section.
func (l *loader) warn(code, sec, key, text string) {
	l.warnings = append(l.warnings, Notice{Code: code, Section: sec, Key: key, Text: text})
}

// failure locates err, the error Load is returning: the text that could
// not be read, else the key a check names, else the key read last.
func (l *loader) failure(lay *Layout, err error) *Failure {
	f := &Failure{At: Position{File: l.path}}
	at, named := l.ini.lastAsked, false
	switch {
	case l.ini.badLine.File != "":
		f.At = l.ini.badLine
		return f
	case l.failAt != nil:
		at, named = *l.failAt, true
	case err == l.extErr:
		at = l.extErrAt
	}
	pos, ok := lay.Where(at.section, at.key)
	if !ok {
		return f
	}
	f.Section, f.Key, f.At = at.section, at.key, pos
	if _, written := l.ini.peek(at.section, at.key); !written && !named {
		// Read last but not written: the section as a whole is at fault.
		f.Key = ""
	}
	return f
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
