package supervisord

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
	"gosupervisor/logrot"
)

func TestParseArgs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name          string
		args          []string
		wantAction    cliAction
		wantConfig    string
		wantOverrides map[string]string
		wantFormat    string
		wantErr       string
	}{
		{name: "empty", args: nil, wantOverrides: map[string]string{}},
		{name: "clustered flags with attached value", args: []string{"-nkcmy.conf"},
			wantConfig: "my.conf", wantOverrides: map[string]string{"nodaemon": "true", "nocleanup": "true"}},
		{name: "value as next word", args: []string{"-c", "a.conf", "-e", "debug", "-i", "box"},
			wantConfig: "a.conf", wantOverrides: map[string]string{"loglevel": "debug", "identifier": "box"}},
		{name: "long prefix with =", args: []string{"--conf=b.conf", "--nod", "--silent", "--strip"},
			wantConfig: "b.conf", wantOverrides: map[string]string{"nodaemon": "true", "silent": "true", "strip_ansi": "true"}},
		{name: "every value flag", args: []string{"-u", "nobody", "-m", "027", "-d", dir, "-l", "x.log", "-y", "5MB",
			"-z", "3", "-j", "x.pid", "-q", dir, "-a", "2048", "--minprocs", "300"},
			wantOverrides: map[string]string{"user": "nobody", "umask": "027", "directory": dir, "logfile": "x.log",
				"logfile_maxbytes": "5MB", "logfile_backups": "3", "pidfile": "x.pid", "childlogdir": dir,
				"minfds": "2048", "minprocs": "300"}},
		{name: "profile_options accepted and ignored", args: []string{"--profile_options=cumulative"}, wantOverrides: map[string]string{}},
		{name: "double dash ends options", args: []string{"-n", "--", "-x"}, wantErr: "positional arguments are not supported: ['-x']"},
		{name: "help wins when first", args: []string{"-h", "-m", "8"}, wantAction: actionHelp},
		{name: "bad value before help", args: []string{"-m", "8", "-h"}, wantErr: "invalid value for -m '8': 8 can not be converted to an octal type"},
		{name: "question mark", args: []string{"-?"}, wantAction: actionHelp},
		{name: "version", args: []string{"--vers"}, wantAction: actionVersion},
		{name: "ambiguous prefix", args: []string{"--log"}, wantErr: "option --log not a unique prefix"},
		{name: "flag with value", args: []string{"--nodaemon=yes"}, wantErr: "option --nodaemon must not have an argument"},
		{name: "missing value", args: []string{"-n", "-c"}, wantErr: "option -c requires argument"},
		{name: "conflict", args: []string{"-e", "info", "--loglevel", "warn"}, wantErr: "conflicting command line option '--loglevel'"},
		{name: "byte size lower-cased", args: []string{"-y", "1XB"}, wantErr: "invalid value for -y '1XB': invalid literal for int() with base 10: '1xb'"},
		{name: "python int rules", args: []string{"-a", " 1_024 "}, wantOverrides: map[string]string{"minfds": " 1_024 "}},
		{name: "python int rejects double underscore", args: []string{"-a", "1__0"}, wantErr: "invalid value for -a '1__0': invalid literal for int() with base 10: '1__0'"},
		{name: "quote in repr", args: []string{"-e", "it's"}, wantErr: `invalid value for -e "it's": bad logging level name "it's"`},
		{name: "unknown short", args: []string{"-nx"}, wantErr: "option -x not recognized"},
		{name: "check config", args: []string{"--check-config", "-c", "a.conf", "--format", "json", "-e", "debug"}, wantAction: actionCheck,
			wantConfig: "a.conf", wantFormat: "json", wantOverrides: map[string]string{"loglevel": "debug"}},
		{name: "check config after a flag", args: []string{"-n", "--check-config"}, wantAction: actionCheck,
			wantOverrides: map[string]string{"nodaemon": "true"}},
		{name: "our options are not abbreviated", args: []string{"--check"}, wantErr: "option --check not recognized"},
		{name: "the reference's abbreviations are unchanged", args: []string{"--c", "x"}, wantErr: "option --c not a unique prefix"},
		{name: "format alone", args: []string{"--format=text"}, wantErr: "--format is an option of --check-config"},
		{name: "format twice", args: []string{"--check-config", "--format=text", "--format=json"}, wantErr: "conflicting command line option '--format'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args)
			if tt.wantErr != "" {
				var uerr *usageError
				if !errors.As(err, &uerr) || uerr.msg != tt.wantErr {
					t.Fatalf("err = %v, want usage error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.action != tt.wantAction {
				t.Errorf("action = %v, want %v", got.action, tt.wantAction)
			}
			if tt.wantAction == actionHelp || tt.wantAction == actionVersion {
				return
			}
			if got.format != tt.wantFormat {
				t.Errorf("format = %q, want %q", got.format, tt.wantFormat)
			}
			if got.configFile != tt.wantConfig {
				t.Errorf("config = %q, want %q", got.configFile, tt.wantConfig)
			}
			if !maps.Equal(got.overrides, tt.wantOverrides) {
				t.Errorf("overrides = %v, want %v", got.overrides, tt.wantOverrides)
			}
		})
	}
}

func TestPyRepr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", "'abc'"},
		{"it's", `"it's"`},
		{`both ' and "`, `'both \' and "'`},
		{"tab\tnl\n", `'tab\tnl\n'`},
		{`back\slash`, `'back\\slash'`},
		{"\x1b[0m", `'\x1b[0m'`},
		{"é", "'é'"},
		{"\xff", `'\udcff'`},
	}
	for _, tt := range tests {
		if got := pyrepr.Str(tt.in); got != tt.want {
			t.Errorf("pyrepr.Str(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := pyrepr.List([]string{"a", "b'"}); got != `['a', "b'"]` {
		t.Errorf("pyReprList = %s", got)
	}
}

func TestParseDetachStatus(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"ok\n", 0},
		{"exit 2\n", 2},
		{"exit 1", 1},
		{"", 2},
		{"garbage", 2},
	}
	for _, tt := range tests {
		if got := parseDetachStatus(tt.in); got != tt.want {
			t.Errorf("parseDetachStatus(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestStartupMessagesOrder: the reference logs every queued critical
// first, then warnings, then infos, each group in the order produced.
func TestStartupMessagesOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "main.log")
	log, err := logrot.NewMainLog(logrot.MainLogOptions{Path: path, Level: protocol.LevelInfo})
	if err != nil {
		t.Fatal(err)
	}
	parse := []config.Message{
		{Level: protocol.LevelInfo, Text: "Included extra file \"a\" during parsing"},
		{Level: protocol.LevelWarn, Text: "parse warning"},
		{Level: protocol.LevelInfo, Text: "Included extra file \"b\" during parsing"},
	}
	var ours startupMessages
	ours.add(protocol.LevelCritical, "%s", rootWarning)
	ours.add(protocol.LevelInfo, "Increased RLIMIT_NOFILE limit to %d", 4096)
	ours.flush(parse, log)
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		got = append(got, line[24:]) // drop "2026-11-30 02:14:28,123 "
	}
	want := []string{
		"CRIT " + rootWarning,
		"WARN parse warning",
		"INFO Included extra file \"a\" during parsing",
		"INFO Included extra file \"b\" during parsing",
		"INFO Increased RLIMIT_NOFILE limit to 4096",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
