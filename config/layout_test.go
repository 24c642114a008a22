package config

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gosupervisor/internal/testenv"
)

// inspectText writes the files (name → text; "supervisord.conf" is the
// main one) into a temporary directory and inspects the main file.
func inspectText(t *testing.T, files map[string]string) (*Config, *Layout, error, string) {
	t.Helper()
	dir := testenv.WriteTree(t, files)
	main := filepath.Join(dir, "supervisord.conf")
	cfg, lay, err := Inspect(main, Options{Env: []string{"HOME=" + dir, "TMPDIR=" + dir}, Hostname: "h", Cwd: dir})
	return cfg, lay, err, dir
}

// TestVocabularyMatchesReference runs the reference on a file with every
// kind of section and records the keys it looks up: they must be the
// stock keys of our table (process sections) or of otherSections, and
// our loader must look up every one of them too.
func TestVocabularyMatchesReference(t *testing.T) {
	if _, err := os.Stat(testenv.Python3); err != nil {
		t.Fatalf("reference interpreter %s missing (run make deps): %v", testenv.Python3, err)
	}
	_, lay, err, dir := inspectText(t, map[string]string{"supervisord.conf": `
[supervisord]
logfile={dir}/s.log
pidfile={dir}/s.pid
childlogdir={dir}
[unix_http_server]
file={dir}/s.sock
[inet_http_server]
port=127.0.0.1:9999
[supervisorctl]
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[program:p]
command=/bin/true
[group:g]
programs=q
[program:q]
command=/bin/true
[eventlistener:e]
command=/bin/true
events=PROCESS_STATE
[fcgi-program:f]
command=/bin/true
socket=unix://{dir}/f.sock
[include]
files={dir}/none-*.conf
`})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testenv.Python3, filepath.Join(testenv.RepoRoot(), "config", "testdata", "refkeys.py"), filepath.Join(dir, "supervisord.conf")).Output()
	if err != nil {
		t.Fatalf("refkeys.py: %v", err)
	}
	var ref map[string][]string
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref) != 11 {
		t.Fatalf("the reference read %d sections, want 11: %v", len(ref), ref)
	}
	for sec, refKeys := range ref {
		v := vocabularyOf(sec)
		if !v.known {
			t.Errorf("[%s]: the reference reads it, our vocabulary does not know it", sec)
			continue
		}
		var stock []string
		if v.isProcess {
			for _, k := range SectionKeys(v.kind) {
				if !k.Extension {
					stock = append(stock, k.Name)
				}
			}
		} else if !v.anyKey {
			stock = slices.Clone(v.refKeys)
		} else {
			stock = []string{"supervisor.rpcinterface_factory"}
		}
		slices.Sort(stock)
		if !slices.Equal(stock, refKeys) {
			t.Errorf("[%s]: the reference reads\n%v\nour stock keys are\n%v", sec, refKeys, stock)
		}
		for _, k := range refKeys {
			if !lay.asked[sec][k] {
				t.Errorf("[%s]: the reference reads %s, our loader does not", sec, k)
			}
		}
	}
}

func TestEditDistanceAndNearest(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"stopwaitsec", "stopwaitsecs", 1},
		{"autorestrat", "autorestart", 1},
		{"progam", "program", 1},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"ça", "ca", 1},
	} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
	keys := []string{"user", "umask", "stopwaitsecs", "stopsignal", "stdout_logfile", "stderr_logfile"}
	for key, want := range map[string]string{
		"stopwaitsec":    "stopwaitsecs",
		"usr":            "user",
		"usre":           "user",
		"stdout_logfle":  "stdout_logfile",
		"stdout_log":     "",
		"x":              "",
		"completely_new": "",
	} {
		if got := nearestKey(key, keys); got != want {
			t.Errorf("nearestKey(%q) = %q, want %q", key, got, want)
		}
	}
	for name, want := range map[string]string{
		"progam:web":       "program:web",
		"Program:web":      "program:web",
		"fcgi_program:x":   "fcgi-program:x",
		"eventlistner:l":   "eventlistener:l",
		"supervisor":       "supervisord",
		"supervisordctl":   "supervisorctl",
		"inlcude":          "include",
		"unknown_section":  "",
		"program_bad:x":    "",
		"rpcinterfac:main": "rpcinterface:main",
	} {
		if got := nearestSection(name); got != want {
			t.Errorf("nearestSection(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestLayout pins positions, unknown and extension keys, unknown sections
// and the daemon's warning lines for them.
func TestLayout(t *testing.T) {
	cfg, lay, err, dir := inspectText(t, map[string]string{
		"supervisord.conf": `[DEFAULT]
startsecs=3
made_up_default=1

[supervisord]
logfile={dir}/s.log
pidfile={dir}/s.pid
childlogdir={dir}
no_such_key=whatever
notify_dir={dir}

[progam:web]
command=/bin/web

[program:web]
command=/bin/web
stopwaitsec=60
watchdog_secs=5
Stdout_Logfle=x
[include]
files=conf.d/*.ini nothing-*.conf
`,
		"conf.d/a.ini": `[program:web]
autostart=false

[group:g]
programs=web
priorty=5
`,
	})
	if err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "supervisord.conf")
	inc := filepath.Join(dir, "conf.d", "a.ini")
	var got []string
	for _, s := range lay.Sections {
		line := s.Name
		if !s.Known {
			line += " unknown→" + s.Nearest
		}
		for _, h := range s.Headers {
			line += " " + strings.TrimPrefix(h.String(), dir+"/")
		}
		got = append(got, line)
		for _, k := range s.Keys {
			line := "  " + k.Name + " " + strings.TrimPrefix(k.At.String(), dir+"/")
			switch {
			case !k.Known:
				line += " unknown→" + k.Nearest
			case k.Extension:
				line += " extension"
			}
			got = append(got, line)
		}
	}
	want := []string{
		"DEFAULT supervisord.conf:1",
		"  startsecs supervisord.conf:2",
		"  made_up_default supervisord.conf:3 unknown→",
		"supervisord supervisord.conf:5",
		"  logfile supervisord.conf:6",
		"  pidfile supervisord.conf:7",
		"  childlogdir supervisord.conf:8",
		"  no_such_key supervisord.conf:9 unknown→",
		"  notify_dir supervisord.conf:10 extension",
		"progam:web unknown→program:web supervisord.conf:12",
		"  command supervisord.conf:13",
		"program:web supervisord.conf:15 conf.d/a.ini:1",
		"  command supervisord.conf:16",
		"  stopwaitsec supervisord.conf:17 unknown→stopwaitsecs",
		"  watchdog_secs supervisord.conf:18 extension",
		"  stdout_logfle supervisord.conf:19 unknown→stdout_logfile",
		"  autostart conf.d/a.ini:2",
		"include supervisord.conf:20",
		"  files supervisord.conf:21",
		"group:g conf.d/a.ini:4",
		"  programs conf.d/a.ini:5",
		"  priorty conf.d/a.ini:6 unknown→priority",
	}
	if !slices.Equal(got, want) {
		t.Errorf("layout:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(lay.Includes) != 2 || lay.Includes[0].Pattern != filepath.Join(dir, "conf.d/*.ini") ||
		!slices.Equal(lay.Includes[0].Files, []string{inc}) || lay.Includes[1].Files != nil ||
		lay.Includes[1].At != (Position{main, 21}) {
		t.Errorf("includes = %+v", lay.Includes)
	}
	if cfg.Layout != lay || lay.Failure != nil {
		t.Errorf("Config.Layout = %p, Layout = %p, Failure = %+v", cfg.Layout, lay, lay.Failure)
	}
	var lines []string
	for _, m := range lay.Warnings() {
		lines = append(lines, m.Level.String()+" "+strings.ReplaceAll(m.Text, dir+"/", ""))
	}
	wantLines := []string{
		"WARN unknown key made_up_default in [DEFAULT] (supervisord.conf:3) is ignored",
		"WARN unknown key no_such_key in [supervisord] (supervisord.conf:9) is ignored",
		"WARN unknown section [progam:web] (supervisord.conf:12) is ignored; did you mean [program:web]?",
		"WARN unknown key stopwaitsec in [program:web] (supervisord.conf:17) is ignored; did you mean stopwaitsecs?",
		"WARN unknown key stdout_logfle in [program:web] (supervisord.conf:19) is ignored; did you mean stdout_logfile?",
		"WARN unknown key priorty in [group:g] (conf.d/a.ini:6) is ignored; did you mean priority?",
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("warnings:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	if len(lay.Notices) != 1 || lay.Notices[0].Code != "include-no-match" || lay.Notices[0].At != (Position{main, 21}) ||
		lay.Notices[0].Text != fmt.Sprintf("No file matches via include %q", filepath.Join(dir, "nothing-*.conf")) {
		t.Errorf("notices = %+v", lay.Notices)
	}
	for _, m := range cfg.Messages {
		if strings.Contains(m.Text, "unknown") {
			t.Errorf("Messages (the reference's lines) has ours: %q", m.Text)
		}
	}
}

// TestLayoutFailure pins where a failed Load locates its error.
func TestLayoutFailure(t *testing.T) {
	const head = "[supervisord]\nlogfile={dir}/s.log\npidfile={dir}/s.pid\nchildlogdir={dir}\n"
	for _, c := range []struct {
		name  string
		text  string
		extra map[string]string
		want  Failure // File relative to the directory
	}{
		{"bad value", head + "[program:x]\ncommand=/bin/x\nautorestart=ture\n", nil, Failure{"program:x", "autorestart", Position{"supervisord.conf", 7}}},
		{"value from DEFAULT", "[DEFAULT]\nstartsecs=soon\n" + head + "[program:x]\ncommand=/bin/x\n", nil, Failure{"program:x", "startsecs", Position{"supervisord.conf", 2}}},
		{"missing command", head + "[program:x]\nautostart=false\n", nil, Failure{"program:x", "command", Position{"supervisord.conf", 5}}},
		{"numprocs check", head + "[program:x]\ncommand=/bin/x\nnumprocs=2\n", nil, Failure{"program:x", "process_name", Position{"supervisord.conf", 5}}},
		{"stopasgroup check", head + "[program:x]\ncommand=/bin/x\nstopasgroup=true\nkillasgroup=false\n", nil, Failure{"program:x", "killasgroup", Position{"supervisord.conf", 8}}},
		{"supervisord key", "[supervisord]\nloglevel=loud\n", nil, Failure{"supervisord", "loglevel", Position{"supervisord.conf", 2}}},
		{"supervisord user", head + "user=no-such-user-here\n", nil, Failure{"supervisord", "user", Position{"supervisord.conf", 5}}},
		{"group names unknown program", head + "[group:g]\nprograms=nope\n", nil, Failure{"group:g", "programs", Position{"supervisord.conf", 6}}},
		{"inet port missing", head + "[inet_http_server]\nusername=u\npassword=p\n", nil, Failure{"inet_http_server", "", Position{"supervisord.conf", 5}}},
		{"syntax error", head + "[program:x]\ncommand=/bin/x\nthis line is bad\n", nil, Failure{"", "", Position{"supervisord.conf", 7}}},
		{"syntax error in include", head + "[include]\nfiles=inc.conf\n", map[string]string{"inc.conf": "[program:y]\n\nbad line\n"}, Failure{"", "", Position{"inc.conf", 3}}},
		{"extension key", head + "[program:x]\ncommand=/bin/x\nwatchdog_secs=often\n", nil, Failure{"program:x", "watchdog_secs", Position{"supervisord.conf", 7}}},
		{"no supervisord", "[program:x]\ncommand=/bin/x\n", nil, Failure{"", "", Position{"supervisord.conf", 0}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"supervisord.conf": c.text}
			for k, v := range c.extra {
				files[k] = v
			}
			_, lay, err, dir := inspectText(t, files)
			if err == nil {
				t.Fatal("Inspect succeeded")
			}
			if lay == nil || lay.Failure == nil {
				t.Fatalf("no failure located for %v", err)
			}
			got := *lay.Failure
			got.At.File = strings.TrimPrefix(got.At.File, dir+"/")
			if got != c.want {
				t.Errorf("failure of %q = %+v, want %+v", err, got, c.want)
			}
		})
	}
}

// TestLayoutAfterFailureKeepsExtensions checks that a Load stopped in
// [supervisord] does not call the extension keys it had not reached yet
// unknown.
func TestLayoutAfterFailureKeepsExtensions(t *testing.T) {
	_, lay, err, _ := inspectText(t, map[string]string{"supervisord.conf": "[supervisord]\nloglevel=loud\ncgroups=auto\nno_such_key=1\n"})
	if err == nil {
		t.Fatal("Inspect succeeded")
	}
	sec := lay.Section("supervisord")
	if k := sec.Key("cgroups"); k == nil || !k.Known {
		t.Errorf("cgroups after a failure: %+v", k)
	}
	if k := sec.Key("no_such_key"); k == nil || !k.Known {
		// Nothing can be said: the loader stopped before the section's end.
		t.Errorf("no_such_key after a failure: %+v", k)
	}
}
