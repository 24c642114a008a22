package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gosupervisor/config"
	"gosupervisor/internal/envfile"
	"gosupervisor/internal/pyrepr"
)

func TestResolveCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	plain := filepath.Join(dir, "plain")
	for path, mode := range map[string]os.FileMode{exe: 0o755, plain: 0o644} {
		if err := os.WriteFile(path, []byte("#!/bin/true\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	rows := []struct {
		name         string
		argv         []string
		progEnv      []config.EnvVar
		wantPath     string
		wantErr      string
		wantNotFound bool
		argvErr      string
	}{
		{name: "absolute", argv: []string{exe, "-x"}, wantPath: exe},
		{name: "looked up on the program's PATH", argv: []string{"tool"}, progEnv: []config.EnvVar{{Key: "PATH", Value: "/nonexistent:" + dir}}, wantPath: exe},
		{name: "not on PATH", argv: []string{"tool"}, progEnv: []config.EnvVar{{Key: "PATH", Value: "/nonexistent"}},
			wantErr: "can't find command 'tool'", wantNotFound: true},
		{name: "missing file", argv: []string{dir + "/nope"}, wantErr: "can't find command '" + dir + "/nope'", wantNotFound: true},
		{name: "directory", argv: []string{dir}, wantErr: "command at '" + dir + "' is a directory"},
		{name: "not executable", argv: []string{plain}, wantErr: "command at '" + plain + "' is not executable"},
		{name: "empty", argv: nil, wantErr: "command is empty"},
		{name: "unparsable", argv: nil, argvErr: "No closing quotation", wantErr: "can't parse command 'cmd': No closing quotation"},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pc := testProcConfig(func(c *config.Process) {
				c.Argv, c.Environment, c.Command, c.ArgvErr = tc.argv, tc.progEnv, "cmd", tc.argvErr
			})
			path, argv, err := ResolveCommand(&config.Config{}, pc)
			if tc.wantErr != "" {
				ce, ok := err.(*commandError)
				if !ok || ce.msg != tc.wantErr || ce.notFound != tc.wantNotFound {
					t.Fatalf("err = %#v, want %q (notFound=%v)", err, tc.wantErr, tc.wantNotFound)
				}
				return
			}
			if err != nil || path != tc.wantPath || !slices.Equal(argv, tc.argv) {
				t.Fatalf("= %q %q %v, want %q", path, argv, err, tc.wantPath)
			}
		})
	}
}

func TestChildEnv(t *testing.T) {
	t.Setenv("FROM_DAEMON", "daemon")
	rows := []struct {
		name      string
		serverURL string
		unix      []config.UnixHTTPServer
		inet      []config.InetHTTPServer
		supEnv    []config.EnvVar
		progEnv   []config.EnvVar
		want      map[string]string
	}{
		{name: "unix server first", serverURL: "AUTO",
			unix: []config.UnixHTTPServer{{File: "/run/s.sock"}}, inet: []config.InetHTTPServer{{Host: "127.0.0.1", Port: 9001}},
			want: map[string]string{"SUPERVISOR_SERVER_URL": "unix:///run/s.sock", "FROM_DAEMON": "daemon",
				"SUPERVISOR_ENABLED": "1", "SUPERVISOR_PROCESS_NAME": "p", "SUPERVISOR_GROUP_NAME": "g"}},
		{name: "inet with an empty host is localhost", serverURL: "auto", inet: []config.InetHTTPServer{{Port: 9001}},
			want: map[string]string{"SUPERVISOR_SERVER_URL": "http://localhost:9001"}},
		{name: "no server leaves it unset", serverURL: "AUTO", want: map[string]string{"SUPERVISOR_SERVER_URL": ""}},
		{name: "empty serverurl sets none", serverURL: "", unix: []config.UnixHTTPServer{{File: "/s"}},
			want: map[string]string{"SUPERVISOR_SERVER_URL": ""}},
		{name: "explicit serverurl", serverURL: "http://h:1", unix: []config.UnixHTTPServer{{File: "/s"}},
			want: map[string]string{"SUPERVISOR_SERVER_URL": "http://h:1"}},
		{name: "program environment wins", serverURL: "AUTO",
			supEnv:  []config.EnvVar{{Key: "A", Value: "sup"}, {Key: "B", Value: "sup"}, {Key: "FROM_DAEMON", Value: "sup"}},
			progEnv: []config.EnvVar{{Key: "A", Value: "prog"}, {Key: "SUPERVISOR_GROUP_NAME", Value: "mine"}},
			want:    map[string]string{"A": "prog", "B": "sup", "FROM_DAEMON": "sup", "SUPERVISOR_GROUP_NAME": "mine"}},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			src := &config.Config{UnixHTTPServers: tc.unix, InetHTTPServers: tc.inet, Supervisord: config.Supervisord{Environment: tc.supEnv}}
			pc := testProcConfig(func(c *config.Process) { c.ServerURL = tc.serverURL; c.Environment = tc.progEnv })
			p := &process{cfg: pc, group: &group{cfg: &config.Group{Name: "g"}, src: src}}
			env, err := (&Engine{}).childEnv(p)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, kv := range env {
				k, _, _ := strings.Cut(kv, "=")
				seen[k]++
			}
			for k, n := range seen {
				if n > 1 {
					t.Errorf("%s appears %d times", k, n)
				}
			}
			for k, want := range tc.want {
				if got := envValue(env, k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
				if want == "" && seen[k] > 0 {
					t.Errorf("%s is set, want it unset", k)
				}
			}
		})
	}
}

// The environment layers with environment_file and user=: files are read
// at each spawn; SUPERVISOR_* beat the files, environment= beats all;
// user= fills in HOME, USER, LOGNAME and SHELL unless environment= sets
// them; a stock program's variables keep the reference's order.
func TestChildEnvFilesAndUser(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	sdFile := write("sd.env", "A=sdfile\nB=sdfile\n")
	progFile := write("prog.env", "B=progfile\nC=progfile\nSUPERVISOR_PROCESS_NAME=evil\nHOME=fromfile\nexport BAD=1\n")
	out, err := exec.Command("getent", "passwd", "65534").Output()
	if err != nil {
		t.Fatalf("getent passwd 65534: %v", err)
	}
	pw := strings.Split(strings.TrimSpace(string(out)), ":")
	rows := []struct {
		name           string
		sdFiles, files []envfile.Entry
		sdEnv, progEnv []config.EnvVar
		user           bool
		want           map[string]string
		wantErr        string
	}{
		{name: "files in their layers",
			sdFiles: []envfile.Entry{{Pattern: sdFile}}, sdEnv: []config.EnvVar{{Key: "B", Value: "sdenv"}},
			files: []envfile.Entry{{Pattern: progFile}, {Pattern: dir + "/missing.env", Optional: true}}, progEnv: []config.EnvVar{{Key: "C", Value: "progenv"}},
			want: map[string]string{"A": "sdfile", "B": "progfile", "C": "progenv", "SUPERVISOR_PROCESS_NAME": "p", "HOME": "fromfile", "BAD": ""}},
		{name: "user", user: true,
			want: map[string]string{"HOME": pw[5], "USER": pw[0], "LOGNAME": pw[0], "SHELL": pw[6]}},
		{name: "user, environment wins", user: true, progEnv: []config.EnvVar{{Key: "HOME", Value: "/srv"}},
			want: map[string]string{"HOME": "/srv", "USER": pw[0]}},
		{name: "user, file wins", user: true, files: []envfile.Entry{{Pattern: progFile}},
			want: map[string]string{"HOME": "fromfile", "USER": pw[0]}},
		{name: "missing file", files: []envfile.Entry{{Pattern: dir + "/missing.env"}},
			wantErr: "can't read environment_file " + dir + "/missing.env: No such file or directory"},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			src := &config.Config{Supervisord: config.Supervisord{Environment: tc.sdEnv, EnvironmentFiles: tc.sdFiles}}
			pc := testProcConfig(func(c *config.Process) {
				c.Environment, c.EnvironmentFiles = tc.progEnv, tc.files
				if tc.user {
					c.User, c.UID, c.GID = "nobody", 65534, 65534
				}
			})
			p := &process{cfg: pc, group: &group{cfg: &config.Group{Name: "g"}, src: src}}
			env, err := (&Engine{log: &recLog{}}).childEnv(p)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if got := envValue(env, k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
	// A stock program: the daemon's variables, SUPERVISOR_*, environment=.
	pc := testProcConfig(func(c *config.Process) { c.Environment = []config.EnvVar{{Key: "ZZ_MINE", Value: "1"}} })
	p := &process{cfg: pc, group: &group{cfg: &config.Group{Name: "g"}, src: &config.Config{}}}
	env, err := (&Engine{}).childEnv(p)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	n := len(os.Environ())
	if want := []string{"SUPERVISOR_ENABLED", "SUPERVISOR_PROCESS_NAME", "SUPERVISOR_GROUP_NAME", "ZZ_MINE"}; !slices.Equal(keys[n:], want) {
		t.Errorf("keys after the daemon's %v, want %v", keys[n:], want)
	}
}

func TestPyRepr(t *testing.T) {
	t.Parallel()
	rows := map[string]string{
		"plain":      "'plain'",
		"it's":       `"it's"`,
		`a'b"c`:      `'a\'b"c'`,
		"tab\there":  `'tab\there'`,
		`back\slash`: `'back\\slash'`,
	}
	for in, want := range rows {
		if got := pyrepr.Str(in); got != want {
			t.Errorf("pyrepr.Str(%q) = %s, want %s", in, got, want)
		}
	}
	if got, want := pyrepr.Bytes([]byte("a\xff\n'")), `b"a\xff\n'"`; got != want {
		t.Errorf("pyBytesRepr = %s, want %s", got, want)
	}
}

// TestSurvivors reads a proc tree: members of the group and the listed
// pids (a cgroup's), by pid, zombies and others left out, names with
// spaces and parentheses kept.
func TestSurvivors(t *testing.T) {
	proc := t.TempDir()
	stats := map[string]string{
		"1":    "1 (init) S 0 1 1 0 -1",
		"42":   "42 (sh) Z 1 42 42 0 -1",            // the exited leader, not reaped yet
		"120":  "120 (my (odd) name) S 1 42 7 0 -1", // parentheses and spaces in comm
		"77":   "77 (sleep) S 1 42 7 0 -1",
		"78":   "78 (other) S 1 43 7 0 -1",
		"90":   "90 (setsid) S 1 90 90 0 -1", // left the group, still in the cgroup
		"91":   "91 (zombie) Z 1 91 91 0 -1",
		"79":   "79 (dead) X 1 42 7 0 -1",
		"self": "80 (self) S 1 42 7 0 -1", // not a pid directory
		"81":   "81 (garbled",
	}
	for dir, stat := range stats {
		if err := os.MkdirAll(filepath.Join(proc, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, dir, "stat"), []byte(stat+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := survivors(proc, 42, []int{90, 91, 42})
	want := []Survivor{{77, "sleep"}, {90, "setsid"}, {120, "my (odd) name"}}
	if !slices.Equal(got, want) {
		t.Errorf("survivors = %v, want %v", got, want)
	}
	if got := survivors(filepath.Join(proc, "none"), 42, nil); got != nil {
		t.Errorf("no proc: %v", got)
	}
}
