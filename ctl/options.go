package ctl

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"gosupervisor/internal/pyrepr"
)

// usageText is supervisorctl's -h text; %s stands for the program name.
// The Usage line and the option forms are the reference's; the rest is
// ours. -r is spelled as the option parser accepts it (--history_file,
// with its argument), where the reference's text says --history-file.
const usageText = `supervisorctl: control the programs a supervisord runs, one command at a
time or from an interactive shell.

Usage: %s [options] [action [arguments]]

Options:
-c/--configuration FILENAME -- read this configuration file instead of
     looking in the usual places
-h/--help -- show this text and exit
-i/--interactive -- open the shell after the action given on the command line
-s/--serverurl URL -- where supervisord listens: http://host:port or
     unix:///path/to/socket (default "http://localhost:9001").
-u/--username USERNAME -- user name for the server's HTTP authentication
-p/--password PASSWORD -- password for the server's HTTP authentication
-r/--history_file FILENAME -- keep the shell's command history in this file

action [arguments] -- one command, such as "status" or "stop web"

Without an action, or with -i, supervisorctl reads commands from a shell
prompt. "help" lists the commands and "help <command>" explains one.

`

const defaultServerURL = "http://localhost:9001"

// options is the outcome of the command line and the config file.
type options struct {
	progname    string
	configFile  string // "" = none found
	interactive bool
	serverURL   string
	username    string
	password    string
	prompt      string
	historyFile string
	args        []string // the action and its arguments
	help        bool     // -h given: print usageText and exit 0
}

// usageError is a command-line or config problem: printed as the
// reference's usage message, exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// optSpec describes one getopt option.
type optSpec struct {
	name     string // field it sets: "configuration", "help", ...
	takesArg bool
}

var shortOpts = map[byte]optSpec{
	'h': {"help", false}, '?': {"help", false},
	'c': {"configuration", true}, 'i': {"interactive", false},
	's': {"serverurl", true}, 'u': {"username", true},
	'p': {"password", true}, 'r': {"history_file", true},
}

// longOpts in the order the reference declares them (matters for
// ambiguous-prefix detection only through the set, not the order).
var longOpts = []optSpec{
	{"help", false}, {"configuration", true}, {"interactive", false},
	{"serverurl", true}, {"username", true}, {"password", true},
	{"history_file", true},
}

type parsedOpt struct {
	flag  string // "-c" or "--configuration", as the reference names it
	name  string
	value string
}

// getopt splits args like Python's getopt.getopt: options stop at the first
// non-option argument or "--"; long options accept unique prefixes.
func getopt(args []string) ([]parsedOpt, []string, error) {
	var opts []parsedOpt
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		if args[0] == "--" {
			return opts, args[1:], nil
		}
		if strings.HasPrefix(args[0], "--") {
			o, rest, err := parseLong(args[0][2:], args[1:])
			if err != nil {
				return nil, nil, err
			}
			opts, args = append(opts, o), rest
			continue
		}
		short := args[0][1:]
		args = args[1:]
		for short != "" {
			spec, ok := shortOpts[short[0]]
			flag := "-" + short[:1]
			if !ok {
				return nil, nil, usageError{fmt.Sprintf("option %s not recognized", flag)}
			}
			short = short[1:]
			if !spec.takesArg {
				opts = append(opts, parsedOpt{flag, spec.name, ""})
				continue
			}
			if short == "" {
				if len(args) == 0 {
					return nil, nil, usageError{fmt.Sprintf("option %s requires argument", flag)}
				}
				short, args = args[0], args[1:]
			}
			opts = append(opts, parsedOpt{flag, spec.name, short})
			short = ""
		}
	}
	return opts, args, nil
}

func parseLong(opt string, rest []string) (parsedOpt, []string, error) {
	name, value, hasValue := strings.Cut(opt, "=")
	var matches []optSpec
	for _, spec := range longOpts {
		if spec.name == name {
			matches = []optSpec{spec}
			break
		}
		if strings.HasPrefix(spec.name, name) {
			matches = append(matches, spec)
		}
	}
	switch {
	case len(matches) == 0:
		return parsedOpt{}, nil, usageError{fmt.Sprintf("option --%s not recognized", name)}
	case len(matches) > 1:
		return parsedOpt{}, nil, usageError{fmt.Sprintf("option --%s not a unique prefix", name)}
	}
	spec := matches[0]
	flag := "--" + spec.name
	if spec.takesArg {
		if !hasValue {
			if len(rest) == 0 {
				return parsedOpt{}, nil, usageError{fmt.Sprintf("option %s requires argument", flag)}
			}
			value, rest = rest[0], rest[1:]
		}
	} else if hasValue {
		return parsedOpt{}, nil, usageError{fmt.Sprintf("option %s must not have an argument", flag)}
	}
	return parsedOpt{flag, spec.name, value}, rest, nil
}

// parseOptions turns argv into options, reading the config file the way
// the reference does (command line beats config file beats defaults).
// cwd and getenv make the search and %(ENV_x)s expansions testable.
func parseOptions(argv []string, cwd string, getenv func(string) (string, bool), environ []string) (*options, error) {
	o := &options{progname: argv[0]}
	opts, args, err := getopt(argv[1:])
	if err != nil {
		return o, err
	}
	o.args = args
	seen := map[string]bool{}
	for _, p := range opts {
		switch p.name {
		case "help":
			o.help = true
			return o, nil
		case "serverurl":
			if !isURL(p.value) {
				return o, usageError{fmt.Sprintf("invalid value for %s %s: value %s is not a URL", p.flag, pyrepr.Str(p.value), pyrepr.Str(p.value))}
			}
		}
		if seen[p.name] {
			return o, usageError{fmt.Sprintf("conflicting command line option %s", pyrepr.Str(p.flag))}
		}
		seen[p.name] = true
		switch p.name {
		case "interactive":
			o.interactive = true
		case "configuration":
			o.configFile = p.value
		case "serverurl":
			o.serverURL = p.value
		case "username":
			o.username = p.value
		case "password":
			o.password = p.value
		case "history_file":
			o.historyFile = p.value
		}
	}
	if o.configFile == "" {
		o.configFile = findConfig(argv[0], cwd)
	}
	o.prompt = "supervisor"
	if o.configFile != "" {
		section, err := loadCtlConfig(o.configFile, cwd, environ)
		if err != nil {
			return o, usageError{err.Error()}
		}
		if !seen["serverurl"] {
			o.serverURL = section.ServerURL
		}
		if !seen["username"] {
			o.username = section.Username
		}
		if !seen["password"] {
			o.password = section.Password
		}
		if !seen["history_file"] {
			o.historyFile = section.HistoryFile
		}
		if section.Prompt != "" {
			o.prompt = section.Prompt
		}
	}
	if o.serverURL == "" {
		o.serverURL = defaultServerURL
	}
	if o.historyFile != "" {
		o.historyFile = normalizePath(o.historyFile, cwd, getenv)
	}
	if len(o.args) == 0 {
		o.interactive = true
	}
	return o, nil
}

// isURL is the reference's url datatype: a scheme and a host or path.
func isURL(v string) bool {
	u, err := url.Parse(v)
	if err != nil {
		return false
	}
	return u.Scheme != "" && (u.Host != "" || u.Path != "" || u.Opaque != "")
}

// normalizePath expands ~ and makes p absolute and clean.
func normalizePath(p, cwd string, getenv func(string) (string, bool)) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, ok := getenv("HOME"); ok {
			p = home + p[1:]
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(cwd, p)
	}
	return filepath.Clean(p)
}
