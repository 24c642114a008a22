package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
)

func testOptions(t *testing.T) Options {
	return Options{
		Env:      []string{"HOME=/home/test", "TMPDIR=" + t.TempDir(), "FOO=foo"},
		Hostname: "node1",
		Cwd:      t.TempDir(),
	}
}

func mustLoad(t *testing.T, content string) *Config {
	t.Helper()
	dir := testenv.WriteTree(t, map[string]string{"s.conf": content})
	cfg, err := Load(filepath.Join(dir, "s.conf"), testOptions(t))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func findGroup(t *testing.T, cfg *Config, name string) *Group {
	t.Helper()
	for _, g := range cfg.Groups {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("no group %q", name)
	return nil
}

func TestIniDialect(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"colon delimiter", "command: /bin/x", "/bin/x"},
		{"upper-case key", "COMMAND=/bin/x", "/bin/x"},
		{"inline comment after space", "command=/bin/x ; note", "/bin/x"},
		{"semicolon without space kept", "command=/bin/x;y", "/bin/x;y"},
		{"comment inside quotes", "command=sh -c 'a ; b'", "sh -c 'a"},
		{"hash comment", "command=/bin/x #note", "/bin/x"},
		{"continuation", "command=/bin/x\n  a\n\n  b", "/bin/x\na\n\nb"},
		{"duplicate key, later wins", "command=/bin/a\ncommand=/bin/b", "/bin/b"},
		{"scan quirk", "command=a#b #c ;d", "a#b #c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "[supervisord]\n[program:p]\n"+tt.body+"\n")
			if got := findGroup(t, cfg, "p").Processes[0].Command; got != tt.want {
				t.Errorf("command = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSectionsMergeAndDefault(t *testing.T) {
	cfg := mustLoad(t, `[DEFAULT]
startsecs=5
[supervisord]
[program:a]
command=/bin/a
priority=1
[Program:ignored]
command=/bin/no
[program:a]
priority=2
`)
	if len(cfg.Groups) != 1 {
		t.Fatalf("groups = %d, want 1", len(cfg.Groups))
	}
	p := cfg.Groups[0].Processes[0]
	if p.Priority != 2 || p.StartSecs != 5 || p.Command != "/bin/a" {
		t.Errorf("priority %d startsecs %d command %q", p.Priority, p.StartSecs, p.Command)
	}
}

func TestNumprocsAndSorting(t *testing.T) {
	cfg := mustLoad(t, `[supervisord]
[program:w]
command=/bin/w %(process_num)d/%(numprocs)d
numprocs=3
numprocs_start=1
process_name=%(program_name)s_%(process_num)02d
[program:first]
command=/bin/f
priority=1
[group:g]
programs=z,y
[program:z]
command=/bin/z
[program:y]
command=/bin/y
priority=1
`)
	var names []string
	for _, g := range cfg.Groups {
		names = append(names, g.Name)
	}
	if want := []string{"first", "g", "w"}; !reflect.DeepEqual(names, want) {
		t.Errorf("groups = %v, want %v", names, want)
	}
	w := findGroup(t, cfg, "w")
	var procs []string
	for _, p := range w.Processes {
		procs = append(procs, p.Name+"="+p.Command)
	}
	if want := []string{"w_01=/bin/w 1/3", "w_02=/bin/w 2/3", "w_03=/bin/w 3/3"}; !reflect.DeepEqual(procs, want) {
		t.Errorf("processes = %v, want %v", procs, want)
	}
	g := findGroup(t, cfg, "g")
	if g.Processes[0].Name != "z" || g.Processes[1].Name != "y" || g.Processes[0].Group != "g" {
		t.Errorf("group g keeps programs= order: %s, %s", g.Processes[0].Name, g.Processes[1].Name)
	}
}

func TestEnvironmentExpansion(t *testing.T) {
	cfg := mustLoad(t, `[supervisord]
environment=GLOBAL="%(ENV_FOO)s",PCT="1%%%%"
[program:p]
command=/bin/p %(ENV_GLOBAL)s %(ENV_OWN)s %(host_node_name)s
environment=OWN=own
`)
	if got, want := cfg.Supervisord.Environment, []EnvVar{{"GLOBAL", "foo"}, {"PCT", "1%"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("supervisord environment = %v, want %v", got, want)
	}
	p := cfg.Groups[0].Processes[0]
	if p.Command != "/bin/p foo own node1" {
		t.Errorf("command = %q", p.Command)
	}
	if !reflect.DeepEqual(p.Environment, []EnvVar{{"OWN", "own"}}) {
		t.Errorf("program environment = %v", p.Environment)
	}
}

func TestIncludeAndMessages(t *testing.T) {
	dir := testenv.WriteTree(t, map[string]string{
		"main.conf":         "[supervisord]\n[include]\nfiles=conf.d/*.conf missing/*.conf\n",
		"conf.d/a.conf":     "[program:a]\ncommand=%(here)s/a\n",
		"conf.d/.h.conf":    "[program:hidden]\ncommand=/bin/h\n",
		"conf.d/a.conf.bak": "[program:bak]\ncommand=/bin/bak\n",
	})
	cfg, err := Load(filepath.Join(dir, "main.conf"), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Groups) != 1 || cfg.Groups[0].Processes[0].Command != filepath.Join(dir, "conf.d")+"/a" {
		t.Fatalf("groups = %+v", cfg.Groups)
	}
	want := []Message{
		{protocol.LevelWarn, `No file matches via include "` + dir + `/missing/*.conf"`},
		{protocol.LevelInfo, `Included extra file "` + dir + `/conf.d/a.conf" during parsing`},
	}
	if !reflect.DeepEqual(cfg.Messages, want) {
		t.Errorf("messages = %v\nwant %v", cfg.Messages, want)
	}
}

func TestErrorsNameSectionAndFile(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"bad value in program", "[supervisord]\n[program:x]\ncommand=/bin/x\nstartsecs=soon\n",
			"invalid literal for int() with base 10: 'soon' in section 'program:x' (file: '%s')"},
		{"missing command", "[supervisord]\n[program:x]\n",
			"program section program:x does not specify a command in section 'program:x' (file: '%s')"},
		{"no supervisord", "[program:x]\ncommand=/bin/x\n", ".ini file does not include supervisord section"},
		{"parse error", "[supervisord]\nbogus\n", "Source contains parsing errors: '%s'\n\t[line  2]: 'bogus\\n'"},
		{"no header", "a=b\n", "File contains no section headers.\nfile: '%s', line: 1\n'a=b\\n'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testenv.WriteTree(t, map[string]string{"c.conf": tt.body})
			path := filepath.Join(dir, "c.conf")
			_, err := Load(path, testOptions(t))
			want := strings.ReplaceAll(tt.want, "%s", path)
			if err == nil || err.Error() != want {
				t.Errorf("error = %v\nwant %s", err, want)
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	dir := testenv.WriteTree(t, map[string]string{"s.conf": "[supervisord]\nloglevel=info\nlogfile=%(here)s/a.log\n"})
	opts := testOptions(t)
	opts.Overrides = map[string]string{"loglevel": "debug", "nodaemon": "true", "logfile": "rel.log", "identifier": "100%"}
	cfg, err := Load(filepath.Join(dir, "s.conf"), opts)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Supervisord
	if s.LogLevel != protocol.LevelDebug || !s.Nodaemon || s.Logfile != filepath.Join(opts.Cwd, "rel.log") || s.Identifier != "100%" {
		t.Errorf("overrides not applied: %+v", s)
	}
	opts.Overrides = map[string]string{"umask": "8"}
	if _, err := Load(filepath.Join(dir, "s.conf"), opts); err == nil || !strings.Contains(err.Error(), "8 can not be converted to an octal type") {
		t.Errorf("bad override error = %v", err)
	}
}

func TestLoadCtl(t *testing.T) {
	dir := testenv.WriteTree(t, map[string]string{
		"ctl.conf":  "[supervisorctl]\nserverurl=unix://%(here)s/../x/s.sock\nprompt=p\nhistory_file=~/.h\n",
		"none.conf": "[supervisord]\n",
	})
	opts := testOptions(t)
	ctl, err := LoadCtlWith(filepath.Join(dir, "ctl.conf"), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := &Supervisorctl{ServerURL: "unix://" + filepath.Join(filepath.Dir(dir), "x/s.sock"), Prompt: "p", HistoryFile: "/home/test/.h"}
	if !reflect.DeepEqual(ctl, want) {
		t.Errorf("ctl = %+v, want %+v", ctl, want)
	}
	if _, err := LoadCtlWith(filepath.Join(dir, "none.conf"), opts); err == nil || err.Error() != ".ini file does not include supervisorctl section" {
		t.Errorf("missing section error = %v", err)
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	cwd := testenv.WriteTree(t, map[string]string{"etc/supervisord.conf": "[supervisord]\n"})
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Find(filepath.Join(root, "bin", "supervisord"), cwd)
	if err != nil || got != "etc/supervisord.conf" {
		t.Errorf("Find = %q, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(root, "supervisord.conf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := Find(filepath.Join(root, "bin", "supervisord"), cwd); got != filepath.Join(root, "supervisord.conf") {
		t.Errorf("Find with <prefix>/supervisord.conf = %q", got)
	}
	want := []string{"etc/supervisord.conf", "supervisord.conf", "supervisord.conf", "etc/supervisord.conf", "/etc/supervisord.conf", "/etc/supervisor/supervisord.conf"}
	if got := SearchPaths("supervisord"); !reflect.DeepEqual(got, want) {
		t.Errorf("SearchPaths(supervisord) = %v", got)
	}
}

func TestDiff(t *testing.T) {
	base := `[supervisord]
environment=G=1
[program:same]
command=/bin/same
[program:changed]
command=/bin/old
[program:gone]
command=/bin/gone
[program:auto]
command=/bin/auto
`
	next := `[supervisord]
environment=G=1
[program:same]
command=/bin/same
[program:changed]
command=/bin/new
[program:auto]
command=/bin/auto
stdout_logfile=/tmp/auto.log
[program:new]
command=/bin/new
`
	added, changed, removed := Diff(mustLoad(t, base), mustLoad(t, next))
	if !reflect.DeepEqual(added, []string{"new"}) || !reflect.DeepEqual(changed, []string{"changed"}) || !reflect.DeepEqual(removed, []string{"gone"}) {
		t.Errorf("Diff = %v %v %v", added, changed, removed)
	}
	// A change of [supervisord] environment changes every process.
	added, changed, removed = Diff(mustLoad(t, base), mustLoad(t, strings.Replace(base, "G=1", "G=2", 1)))
	if len(added) != 0 || len(removed) != 0 || !reflect.DeepEqual(changed, []string{"auto", "changed", "gone", "same"}) {
		t.Errorf("Diff after env change = %v %v %v", added, changed, removed)
	}
	added, _, _ = Diff(nil, mustLoad(t, base))
	if len(added) != 4 {
		t.Errorf("Diff from nil added = %v", added)
	}
}
