package supervisord

import (
	"fmt"
	"strings"

	"gosupervisor/config"
	"gosupervisor/internal/pyrepr"
)

// usageError is a command-line or startup error: Main prints it as
// "Error: <msg>" followed by the help hint and exits 2, as the reference does.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) *usageError {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// cliAction says what the command line asked for.
type cliAction int

const (
	actionRun cliAction = iota
	actionHelp
	actionVersion
	actionCheck // --check-config
	// actionUpgrade asks the running daemon to upgrade in place
	// (--upgrade, gosupervisor's own option).
	actionUpgrade
)

// cliOptions is the parsed command line.
type cliOptions struct {
	action cliAction
	// configFile is the -c value, "" when not given.
	configFile string
	// overrides are [supervisord] keys set on the command line, as raw
	// config values (config.Options.Overrides): the command line wins.
	overrides map[string]string
	// format is --format's value for --check-config: "text" or "json".
	format string
}

// flagSpec describes one option as the reference declares it: a short
// letter and/or a long name, whether it takes an argument, the
// [supervisord] key it overrides, and how its value is checked.
type flagSpec struct {
	short    byte   // 0 = none
	long     string // "" = none
	hasArg   bool
	key      string // config key overridden; "" for -c and handlers
	validate func(string) (string, error)
	action   cliAction // actionHelp/actionVersion for -h/-v
	// exact options are ours, not the reference's: only their full
	// name is recognised, so that every abbreviation the reference
	// accepts (--c for --configuration) still means what it did.
	exact bool
}

// supervisordFlags lists every option of supervisord 4.2.5 in the
// reference's declaration order (getopt's long-prefix matching and the
// error texts depend on the set, not on the order).
func supervisordFlags() []flagSpec {
	return []flagSpec{
		{short: 'h', long: "help", action: actionHelp},
		{short: '?', action: actionHelp},
		{short: 'c', long: "configuration", hasArg: true, key: "-c"},
		{short: 'v', long: "version", action: actionVersion},
		{short: 'n', long: "nodaemon", key: "nodaemon"},
		{short: 'u', long: "user", hasArg: true, key: "user"},
		{short: 'm', long: "umask", hasArg: true, key: "umask", validate: checkOctal},
		{short: 'd', long: "directory", hasArg: true, key: "directory", validate: config.ExistingDirectory},
		{short: 'l', long: "logfile", hasArg: true, key: "logfile", validate: config.ExistingDirpath},
		{short: 'y', long: "logfile_maxbytes", hasArg: true, key: "logfile_maxbytes", validate: checkByteSize},
		{short: 'z', long: "logfile_backups", hasArg: true, key: "logfile_backups", validate: checkInt},
		{short: 'e', long: "loglevel", hasArg: true, key: "loglevel", validate: checkLogLevel},
		{short: 'j', long: "pidfile", hasArg: true, key: "pidfile", validate: config.ExistingDirpath},
		{short: 'i', long: "identifier", hasArg: true, key: "identifier"},
		{short: 'q', long: "childlogdir", hasArg: true, key: "childlogdir", validate: config.ExistingDirectory},
		{short: 'a', long: "minfds", hasArg: true, key: "minfds", validate: checkInt},
		{long: "minprocs", hasArg: true, key: "minprocs", validate: checkInt},
		{short: 'k', long: "nocleanup", key: "nocleanup"},
		{short: 't', long: "strip_ansi", key: "strip_ansi"},
		// Accepted for compatibility; we have no profiler to run under.
		{long: "profile_options", hasArg: true, key: "profile_options"},
		{short: 's', long: "silent", key: "silent"},
		{long: "check-config", key: "check-config", action: actionCheck, exact: true},
		{long: "format", hasArg: true, key: "format", validate: checkFormat, exact: true},
		// gosupervisor's own: ask the running daemon to upgrade in place.
		{long: "upgrade", key: "upgrade", action: actionUpgrade, exact: true},
	}
}

// parseArgs parses args (without argv[0]) as the reference's getopt-based
// parser does: options processed in order (-h and -v act as soon as they
// are seen), values checked, an option given twice is a conflict, and no
// positional argument is allowed.
func parseArgs(args []string) (opts cliOptions, err error) {
	opts = cliOptions{overrides: map[string]string{}}
	pairs, rest, err := getopt(args, supervisordFlags())
	if err != nil {
		return opts, err
	}
	if len(rest) > 0 {
		return opts, usagef("positional arguments are not supported: %s", pyrepr.List(rest))
	}
	defer func() {
		if err == nil && opts.format != "" && opts.action == actionRun {
			err = usagef("--format is an option of --check-config")
		}
	}()
	seen := map[string]bool{}
	for _, p := range pairs {
		switch p.spec.action {
		case actionHelp, actionVersion:
			opts.action = p.spec.action
			return opts, nil
		case actionCheck:
			opts.action = actionCheck
		case actionUpgrade:
			opts.action = actionUpgrade
		}
		value := p.value
		if !p.spec.hasArg {
			value = "true"
		}
		if p.spec.validate != nil {
			v, err := p.spec.validate(value)
			if err != nil {
				return opts, usagef("invalid value for %s %s: %v", p.name, pyrepr.Str(value), err)
			}
			value = v
		}
		if seen[p.spec.key] {
			return opts, usagef("conflicting command line option %s", pyrepr.Str(p.name))
		}
		seen[p.spec.key] = true
		switch p.spec.key {
		case "-c":
			opts.configFile = value
		case "profile_options", "check-config", "upgrade":
			// accepted and ignored; the action is set above
		case "format":
			opts.format = value
		default:
			opts.overrides[p.spec.key] = value
		}
	}
	return opts, nil
}

// optPair is one option occurrence as getopt returns it.
type optPair struct {
	name  string // "-n" or "--nodaemon"
	value string
	spec  *flagSpec
}

// getopt mirrors Python's getopt.getopt (not gnu_getopt): it stops at the
// first non-option argument, "--" ends the options, short options may be
// clustered and take their argument attached or as the next word, and a
// long option may be abbreviated to a unique prefix.
func getopt(args []string, specs []flagSpec) ([]optPair, []string, error) {
	var pairs []optPair
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		if args[0] == "--" {
			args = args[1:]
			break
		}
		arg := args[0]
		args = args[1:]
		if strings.HasPrefix(arg, "--") {
			p, rest, err := longOption(arg[2:], args, specs)
			if err != nil {
				return nil, nil, err
			}
			pairs, args = append(pairs, p), rest
			continue
		}
		cluster := arg[1:]
		for cluster != "" {
			c := cluster[0]
			cluster = cluster[1:]
			spec := findShort(c, specs)
			if spec == nil {
				return nil, nil, usagef("option -%c not recognized", c)
			}
			p := optPair{name: "-" + string(c), spec: spec}
			if spec.hasArg {
				if cluster == "" {
					if len(args) == 0 {
						return nil, nil, usagef("option -%c requires argument", c)
					}
					cluster, args = args[0], args[1:]
				}
				p.value, cluster = cluster, ""
			}
			pairs = append(pairs, p)
		}
	}
	return pairs, args, nil
}

func findShort(c byte, specs []flagSpec) *flagSpec {
	for i := range specs {
		if specs[i].short == c {
			return &specs[i]
		}
	}
	return nil
}

func longOption(opt string, args []string, specs []flagSpec) (optPair, []string, error) {
	var value *string
	if i := strings.IndexByte(opt, '='); i >= 0 {
		v := opt[i+1:]
		opt, value = opt[:i], &v
	}
	var matches []*flagSpec
	var exact *flagSpec
	for i := range specs {
		if specs[i].long == "" || !strings.HasPrefix(specs[i].long, opt) || specs[i].exact && specs[i].long != opt {
			continue
		}
		matches = append(matches, &specs[i])
		if specs[i].long == opt {
			exact = &specs[i]
		}
	}
	switch {
	case len(matches) == 0:
		return optPair{}, nil, usagef("option --%s not recognized", opt)
	case exact != nil:
	case len(matches) > 1:
		return optPair{}, nil, usagef("option --%s not a unique prefix", opt)
	default:
		exact = matches[0]
	}
	p := optPair{name: "--" + exact.long, spec: exact}
	if exact.hasArg {
		if value == nil {
			if len(args) == 0 {
				return optPair{}, nil, usagef("option --%s requires argument", exact.long)
			}
			value, args = &args[0], args[1:]
		}
		p.value = *value
	} else if value != nil {
		return optPair{}, nil, usagef("option --%s must not have an argument", exact.long)
	}
	return p, args, nil
}

// The value checks of the options that take one: the config package's
// parsers (Supervisor's datatypes), whose error texts the reference prints
// after "invalid value for -x 'v': ". They return the value to pass on as
// an override (directories with "~" expanded, as the reference stores
// them).

func checkOctal(v string) (string, error) {
	_, err := config.ParseOctal(v)
	return v, err
}

func checkInt(v string) (string, error) {
	_, err := config.ParseInteger(v)
	return v, err
}

func checkByteSize(v string) (string, error) {
	_, err := config.ParseByteSize(v)
	return v, err
}

func checkFormat(v string) (string, error) {
	if v != "text" && v != "json" {
		return v, fmt.Errorf("the format is text or json")
	}
	return v, nil
}

func checkLogLevel(v string) (string, error) {
	_, err := config.ParseLogLevel(v)
	return v, err
}

// helpText is printed for -h; %s is the program name as invoked.
const helpText = `supervisord -- run a set of programs under supervision.

Usage: %s [options]

Options:
-c/--configuration FILENAME -- path of the configuration file (searched for when absent)
-n/--nodaemon -- stay in the foreground (as nodaemon=true in the config file)
-s/--silent -- do not copy the activity log to stdout (as silent=true)
-h/--help -- show this help and exit
-v/--version -- show the supervisord version and exit
-u/--user USER -- switch to this user (name or numeric uid) at startup
-m/--umask UMASK -- umask of the daemon process (default 022)
-d/--directory DIRECTORY -- directory to change into when daemonizing
-l/--logfile FILENAME -- path of the activity log
-y/--logfile_maxbytes BYTES -- size at which the activity log is rotated
-z/--logfile_backups NUM -- number of rotated activity logs kept
-e/--loglevel LEVEL -- activity log level (debug,info,warn,error,critical)
-j/--pidfile FILENAME -- file the daemon writes its pid to
-i/--identifier STR -- identifier of this supervisord instance
-q/--childlogdir DIRECTORY -- directory of the automatic child logs
-k/--nocleanup -- keep old automatic child logs at startup
-a/--minfds NUM -- file descriptors that must be available to start
-t/--strip_ansi -- remove ANSI escape sequences from child output
--minprocs NUM -- processes that must be available to start
--profile_options OPTIONS -- accepted for compatibility and ignored
--check-config -- read the configuration as the daemon would, report
    mistakes (file, line, section, key) and exit: 0 clean, 1 warnings, 2 errors
--format text|json -- the report's form with --check-config (default text)
`
