package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"gosupervisor/internal/envfile"
)

func TestContainerKeys(t *testing.T) {
	type want struct {
		deps     []Dependency
		timeout  int
		files    []envfile.Entry
		fatal    bool
		end      ExitOnEnd
		backoff  int
		requires []Requirement
	}
	tests := []struct {
		name    string
		keys    string
		want    want
		wantErr string
	}{
		{name: "none"},
		{
			name: "all",
			keys: "depends_on = db, cache=HEALTHY ,init=exited,w=started\ndepends_on_timeout_secs=30\nenvironment_file=/etc/app.env, -%(here)s/*.env\nexit_on_fatal=yes\nexit_on_end=unexpected\nbackoff_max_secs=60",
			want: want{
				deps:    []Dependency{{"db", CondRunning}, {"cache", CondHealthy}, {"init", CondExited}, {"w", CondStarted}},
				timeout: 30, files: []envfile.Entry{{Pattern: "/etc/app.env"}, {Pattern: "HERE/*.env", Optional: true}},
				fatal: true, end: ExitOnEndUnexpected, backoff: 60,
				requires: []Requirement{{"db", "db", CondRunning}, {"cache", "cache", CondHealthy}, {"init", "init", CondExited}, {"w", "w_0", CondStarted}, {"w", "w_1", CondStarted}},
			},
		},
		{name: "exit_on_end true", keys: "exit_on_end=true", want: want{end: ExitOnEndAlways}},
		{name: "bad condition", keys: "depends_on=db=ready", wantErr: "depends_on condition 'ready' is not one of running, started, healthy, exited"},
		{name: "no target", keys: "depends_on=db, =running", wantErr: "depends_on '=running' names no target"},
		{name: "negative timeout", keys: "depends_on_timeout_secs=-1", wantErr: "value -1 is less than 0"},
		{name: "relative file", keys: "environment_file=app.env", wantErr: `environment_file "app.env" is not an absolute path`},
		{name: "bad exit_on_end", keys: "exit_on_end=sometimes", wantErr: "exit_on_end 'sometimes' is not one of true, false, unexpected"},
		{name: "bad exit_on_fatal", keys: "exit_on_fatal=2", wantErr: "not a valid boolean value: '2'"},
		{name: "negative backoff", keys: "backoff_max_secs=-5", wantErr: "value -5 is less than 0"},
	}
	others := "[program:db]\ncommand=/bin/db\n[program:cache]\ncommand=/bin/c\nhealthcheck_tcp=127.0.0.1:6379\n[program:init]\ncommand=/bin/i\n[program:w]\ncommand=/bin/w\nnumprocs=2\nprocess_name=w_%(process_num)d\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "[supervisord]\n[program:p]\ncommand=/bin/p\n" + tt.keys + "\n" + others
			cfg, err := loadText(t, text, processKeys())
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr+" in section 'program:p'") {
					t.Fatalf("error %v, want %q in section 'program:p'", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := processNamed(t, cfg, "p")
			for i := range tt.want.files {
				tt.want.files[i].Pattern = strings.Replace(tt.want.files[i].Pattern, "HERE", cfg.Here, 1)
			}
			got := want{p.DependsOn, p.DependsOnTimeoutSecs, p.EnvironmentFiles, p.ExitOnFatal, p.ExitOnEnd, p.BackoffMaxSecs, p.Requires}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func processNamed(t *testing.T, cfg *Config, name string) *Process {
	t.Helper()
	for _, g := range cfg.Groups {
		for _, p := range g.Processes {
			if p.Name == name {
				return p
			}
		}
	}
	t.Fatalf("no process %s", name)
	return nil
}

func TestSupervisordContainerKeys(t *testing.T) {
	cfg := mustLoadText(t, "[supervisord]\nenvironment_file=-/etc/x.env,%(here)s/y.env\nexit_when_all_ended=true\nsubreaper=on\norphans=STOP\n", processKeys())
	s := cfg.Supervisord
	wantFiles := []envfile.Entry{{Pattern: "/etc/x.env", Optional: true}, {Pattern: cfg.Here + "/y.env"}}
	if !slices.Equal(s.EnvironmentFiles, wantFiles) || !s.ExitWhenAllEnded || !s.Subreaper || s.Orphans != OrphansStop {
		t.Errorf("got %+v", s)
	}
	def := mustLoadText(t, "[supervisord]\n", processKeys()).Supervisord
	if def.EnvironmentFiles != nil || def.ExitWhenAllEnded || def.Subreaper || def.Orphans != OrphansReport {
		t.Errorf("defaults: got %+v", def)
	}
	for _, tt := range []struct{ keys, wantErr string }{
		{"orphans=kill", "[supervisord] orphans: orphans 'kill' is not one of stop, report"},
		{"subreaper=maybe", "[supervisord] subreaper: not a valid boolean value: 'maybe'"},
		{"environment_file=rel", `[supervisord] environment_file: environment_file "rel" is not an absolute path`},
	} {
		if _, err := loadText(t, "[supervisord]\n"+tt.keys+"\n", processKeys()); err == nil || err.Error() != tt.wantErr {
			t.Errorf("%s: error %v, want %q", tt.keys, err, tt.wantErr)
		}
	}
	// The reference's own errors come first.
	if _, err := loadText(t, "[supervisord]\norphans=kill\nminfds=x\n", processKeys()); err == nil || strings.Contains(err.Error(), "orphans") {
		t.Errorf("error %v, want minfds's", err)
	}
}

func TestDependencyErrors(t *testing.T) {
	tests := []struct {
		name, conf, wantErr string
	}{
		{
			name:    "self",
			conf:    "[program:a]\ncommand=/bin/a\ndepends_on=a\n",
			wantErr: "depends_on cycle: a -> a",
		},
		{
			name:    "two",
			conf:    "[program:a]\ncommand=/bin/a\ndepends_on=b\n[program:b]\ncommand=/bin/b\ndepends_on=a=started\n",
			wantErr: "depends_on cycle: a -> b -> a",
		},
		{
			name:    "three behind a tail",
			conf:    "[program:t]\ncommand=/bin/t\ndepends_on=a\n[program:a]\ncommand=/bin/a\ndepends_on=b\n[program:b]\ncommand=/bin/b\ndepends_on=g:c\n[group:g]\nprograms=c\n[program:c]\ncommand=/bin/c\ndepends_on=a\n",
			wantErr: "depends_on cycle: a -> b -> g:c -> a",
		},
		{
			name:    "through numprocs",
			conf:    "[program:a]\ncommand=/bin/a\ndepends_on=w\n[program:w]\ncommand=/bin/w\nnumprocs=2\nprocess_name=w%(process_num)d\ndepends_on=a=exited\n",
			wantErr: "depends_on cycle: a -> w:w0 -> a",
		},
		{
			name:    "unknown",
			conf:    "[program:a]\ncommand=/bin/a\ndepends_on=db\n",
			wantErr: "depends_on: no program or group named 'db' in section 'program:a'",
		},
		{
			name:    "unknown process",
			conf:    "[program:a]\ncommand=/bin/a\ndepends_on=db:x\n[program:db]\ncommand=/bin/db\n",
			wantErr: "depends_on: no process named 'db:x' in section 'program:a'",
		},
		{
			name:    "listener",
			conf:    "[program:a]\ncommand=/bin/a\ndepends_on=l\n[eventlistener:l]\ncommand=/bin/l\nevents=TICK_5\n",
			wantErr: "depends_on: 'l' is an event listener in section 'program:a'",
		},
		{
			name:    "healthy without check",
			conf:    "[program:a]\ncommand=/bin/a\ndepends_on=db=healthy\n[program:db]\ncommand=/bin/db\n",
			wantErr: "depends_on: 'db' has no health check (condition healthy) in section 'program:a'",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "[supervisord]\n"+tt.conf, processKeys())
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDependencyTargets(t *testing.T) {
	conf := "[supervisord]\n" +
		"[program:api]\ncommand=/bin/api\npriority=1\ndepends_on=web, g, g:one=started, solo\n" +
		"[group:g]\nprograms=one,two\n[program:one]\ncommand=/bin/1\n[program:two]\ncommand=/bin/2\n" +
		"[program:web]\ncommand=/bin/w\nnumprocs=2\nprocess_name=web%(process_num)d\n" +
		"[group:h]\nprograms=solo\n[program:solo]\ncommand=/bin/s\n"
	cfg := mustLoadText(t, conf, processKeys())
	api := processNamed(t, cfg, "api")
	want := []Requirement{
		{"web", "web0", CondRunning}, {"web", "web1", CondRunning},
		{"g", "one", CondRunning}, {"g", "two", CondRunning}, {"g", "one", CondStarted},
		{"h", "solo", CondRunning},
	}
	if !slices.Equal(api.Requires, want) {
		t.Errorf("Requires = %v, want %v", api.Requires, want)
	}
	if len(cfg.Messages) != 0 {
		t.Errorf("Messages %v: the reference's only", cfg.Messages)
	}
	warned := cfg.DependencyWarnings()
	if len(warned) != 5 || warned[0] != "api depends on web:web0 but has a lower priority (1 < 999): api waits for web:web0" {
		t.Errorf("priority warnings %q", warned)
	}
}

// depends_on is compared by Diff (a changed list is a changed group); the
// resolved Requires are not (a dependency's numprocs is its own group's
// change).
func TestDiffDependsOn(t *testing.T) {
	base := "[supervisord]\n[program:db]\ncommand=/bin/db\nnumprocs=%s\nprocess_name=db%%(process_num)d\n[program:api]\ncommand=/bin/api\n%s\n"
	load := func(numprocs, keys string) *Config {
		return mustLoadText(t, strings.ReplaceAll(strings.Replace(strings.Replace(base, "%s", numprocs, 1), "%s", keys, 1), "%%", "%"), processKeys())
	}
	old := load("1", "depends_on=db")
	for _, tt := range []struct {
		numprocs, keys string
		want           []string
	}{
		{"1", "depends_on=db", nil},
		{"1", "depends_on=db=started", []string{"api"}},
		{"1", "depends_on=db\nenvironment_file=/x", []string{"api"}},
		{"2", "depends_on=db", []string{"db"}},
	} {
		_, changed, _ := Diff(old, load(tt.numprocs, tt.keys))
		if !slices.Equal(changed, tt.want) {
			t.Errorf("%s %q: changed %v, want %v", tt.numprocs, tt.keys, changed, tt.want)
		}
	}
	withFile := mustLoadText(t, "[supervisord]\nenvironment_file=/x\n[program:db]\ncommand=/bin/db\nnumprocs=1\nprocess_name=db%(process_num)d\n[program:api]\ncommand=/bin/api\ndepends_on=db\n", processKeys())
	if _, changed, _ := Diff(old, withFile); !slices.Equal(changed, []string{"api", "db"}) {
		t.Errorf("[supervisord] environment_file: changed %v, want every group", changed)
	}
}
