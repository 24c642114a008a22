package configcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gosupervisor/config"
	"gosupervisor/internal/testenv"
)

// head is a [supervisord] section whose files are in the test's
// directory.
const head = `[supervisord]
logfile={dir}/s.log
pidfile={dir}/s.pid
childlogdir={dir}
`

// TestCheckReports pins, for each classic mistake, the exact report
// lines (text form, "{dir}" for the test's directory) and the exit
// status.
func TestCheckReports(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	free, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := strconv.Itoa(free.Addr().(*net.TCPAddr).Port)
	free.Close()
	tests := []struct {
		name  string
		files map[string]string // supervisord.conf is checked
		want  string
		exit  int
	}{
		{
			name:  "clean",
			files: map[string]string{"supervisord.conf": head + "[program:a]\ncommand=/bin/sleep 10\n"},
			want:  "{dir}/supervisord.conf: 0 errors, 0 warnings, 0 notes\n",
		},
		{
			name: "unknown key with the nearest name",
			files: map[string]string{"supervisord.conf": head + `[program:a]
command=/bin/sleep 10
stopwaitsec=60
Stdout_Logfle=x
x_custom=1
`},
			want: `{dir}/supervisord.conf
  7  [program:a] stopwaitsec    warning  unknown key, ignored; did you mean stopwaitsecs?
  8  [program:a] stdout_logfle  warning  unknown key, ignored; did you mean stdout_logfile?
  9  [program:a] x_custom       warning  unknown key, ignored

{dir}/supervisord.conf: 0 errors, 3 warnings, 0 notes
`,
			exit: 1,
		},
		{
			name: "bad value is the daemon's error",
			files: map[string]string{"supervisord.conf": head + `[program:a]
command=/bin/sleep 10
autorestart=ture
`},
			want: `{dir}/supervisord.conf
  7  [program:a] autorestart  error    invalid 'autorestart' value 'ture' in section 'program:a' (file: '{dir}/supervisord.conf')

{dir}/supervisord.conf: 1 error, 0 warnings, 0 notes
`,
			exit: 2,
		},
		{
			name: "unknown sections",
			files: map[string]string{"supervisord.conf": head + `[progam:a]
command=/bin/sleep 10

[unix_http_sever]
file=/tmp/x.sock

[whatever]
a=1
`},
			want: `{dir}/supervisord.conf
   5  [progam:a]         warning  unknown section, ignored; did you mean [program:a]?
   8  [unix_http_sever]  warning  unknown section, ignored; did you mean [unix_http_server]?
  11  [whatever]         warning  unknown section, ignored

{dir}/supervisord.conf: 0 errors, 3 warnings, 0 notes
`,
			exit: 1,
		},
		{
			name: "extension keys are notes",
			files: map[string]string{"supervisord.conf": head + `[program:a]
command=/bin/sleep 10
rlimit_nofile=1024
`},
			want: `{dir}/supervisord.conf
  7  [program:a] rlimit_nofile  note     gosupervisor extension key (Supervisor 4.2.5 ignores it)

{dir}/supervisord.conf: 0 errors, 0 warnings, 1 note
`,
		},
		{
			name: "include matching nothing and a program from two files",
			files: map[string]string{
				"supervisord.conf": head + `[program:a]
command=/bin/sleep 10

[include]
files=conf.d/*.conf nothing/*.conf
`,
				"conf.d/a.conf": "[program:a]\ncommand=/bin/sleep 20\n",
			},
			want: `{dir}/supervisord.conf
  9  [include] files  warning  No file matches via include "{dir}/nothing/*.conf"

{dir}/conf.d/a.conf
  1  [program:a]  warning  [program:a] is written again (first at {dir}/supervisord.conf:5): both are read as one section, the later value of a key wins

{dir}/supervisord.conf: 0 errors, 2 warnings, 0 notes
`,
			exit: 1,
		},
		{
			name: "log files written twice",
			files: map[string]string{"supervisord.conf": head + `[program:a]
command=/bin/sleep 10
stdout_logfile={dir}/shared.log

[program:b]
command=/bin/sleep 10
stderr_logfile={dir}/shared.log

[program:n]
command=/bin/sleep 10
process_name=n%(process_num)d
numprocs=2
stdout_logfile={dir}/n.log

[program:m]
command=/bin/sleep 10
stdout_logfile={dir}/s.log
`},
			want: `{dir}/supervisord.conf
  11  [program:b] stderr_logfile  warning  {dir}/shared.log is also written by [program:a] stdout_logfile (process a:a): two writers interleave and rotate the file under each other
  17  [program:n] stdout_logfile  warning  every process of [program:n] writes {dir}/n.log: they interleave and rotate the file under each other; put %(process_num)d in the name
  21  [program:m] stdout_logfile  warning  {dir}/s.log is also written by [supervisord] logfile: two writers interleave and rotate the file under each other

{dir}/supervisord.conf: 0 errors, 3 warnings, 0 notes
`,
			exit: 1,
		},
		{
			name: "redirect_stderr with stderr_logfile",
			files: map[string]string{"supervisord.conf": head + `[program:a]
command=/bin/sleep 10
redirect_stderr=true
stderr_logfile={dir}/err.log
`},
			want: `{dir}/supervisord.conf
  8  [program:a] stderr_logfile  warning  For [program:a], redirect_stderr=true but stderr_logfile has also been set to a filename, the filename has been ignored

{dir}/supervisord.conf: 0 errors, 1 warning, 0 notes
`,
			exit: 1,
		},
		{
			name: "what a spawn would fail on",
			files: map[string]string{
				"supervisord.conf": head + `[program:missing]
command=no-such-command-anywhere --flag

[program:plain]
command={dir}/plain.txt

[program:dir]
command=/bin/sleep 10
directory={dir}/gone

[program:quote]
command=/bin/sh -c 'unclosed
`,
				"plain.txt": "not a program\n",
			},
			want: `{dir}/supervisord.conf
   6  [program:missing] command  error    can't find command 'no-such-command-anywhere': the program cannot start
   9  [program:plain] command    error    command at '{dir}/plain.txt' is not executable: the program cannot start
  13  [program:dir] directory    error    couldn't chdir to {dir}/gone: ENOENT: the program cannot start
  16  [program:quote] command    error    can't parse command "/bin/sh -c 'unclosed": No closing quotation: the program cannot start

{dir}/supervisord.conf: 4 errors, 0 warnings, 0 notes
`,
			exit: 2,
		},
		{
			name:  "unknown user is the daemon's error",
			files: map[string]string{"supervisord.conf": head + "[program:a]\ncommand=/bin/sleep 10\nuser=no-such-user-here\n"},
			want: `{dir}/supervisord.conf
  7  [program:a] user  error    Invalid user name no-such-user-here in section 'program:a' (file: '{dir}/supervisord.conf')

{dir}/supervisord.conf: 1 error, 0 warnings, 0 notes
`,
			exit: 2,
		},
		{
			name:  "the daemon's log directory missing is the daemon's error",
			files: map[string]string{"supervisord.conf": "[supervisord]\nlogfile={dir}/nolog/s.log\n"},
			want: `{dir}/supervisord.conf
  2  [supervisord] logfile  error    The directory named as part of the path {dir}/nolog/s.log does not exist

{dir}/supervisord.conf: 1 error, 0 warnings, 0 notes
`,
			exit: 2,
		},
		{
			name: "port in use",
			files: map[string]string{"supervisord.conf": head + `[inet_http_server]
port=127.0.0.1:` + busyPort + `
`},
			want: `{dir}/supervisord.conf
  6  [inet_http_server] port  error    supervisord would not start: Another program is already listening on a port that one of our HTTP servers is configured to use.  Shut this program down first before starting supervisord.

{dir}/supervisord.conf: 1 error, 0 warnings, 0 notes
`,
			exit: 2,
		},
		{
			name: "risky settings",
			files: map[string]string{"supervisord.conf": head + `[inet_http_server]
port=0.0.0.0:` + freePort + `

[program:slow]
command=/bin/sleep 10
startsecs=30
stopwaitsecs=10

[program:once]
command=/bin/sleep 10
autorestart=true
startretries=0
`},
			want: `{dir}/supervisord.conf
   6  [inet_http_server] port      warning  serves 0.0.0.0:` + freePort + ` without a password: anyone who can reach it controls every program (set username= and password=, or listen on 127.0.0.1)
  11  [program:slow] stopwaitsecs  warning  stopwaitsecs=10 is shorter than startsecs=30: a program that takes 30 s to start is likely to need more than 10 s to stop, and is killed with SIGKILL then
  16  [program:once] startretries  warning  autorestart=true with startretries=0: autorestart acts only once the program is RUNNING; a start that fails (an exit within startsecs) goes FATAL at once and is never retried

{dir}/supervisord.conf: 0 errors, 3 warnings, 0 notes
`,
			exit: 1,
		},
		{
			name: "numprocs without process_num is the daemon's error",
			files: map[string]string{"supervisord.conf": head + `[program:w]
command=/bin/sleep 10
numprocs=2
`},
			want: `{dir}/supervisord.conf
  5  [program:w] process_name  error    %(process_num) must be present within process_name when numprocs > 1 in section 'program:w' (file: '{dir}/supervisord.conf')

{dir}/supervisord.conf: 1 error, 0 warnings, 0 notes
`,
			exit: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testenv.WriteTree(t, tt.files)
			r := Check(filepath.Join(dir, "supervisord.conf"), config.Options{})
			var b bytes.Buffer
			if err := r.WriteText(&b, false); err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(b.String(), dir, "{dir}")
			if got != tt.want {
				t.Errorf("report:\n%s\nwant\n%s", got, tt.want)
			}
			if r.ExitStatus() != tt.exit {
				t.Errorf("exit status %d, want %d", r.ExitStatus(), tt.exit)
			}
		})
	}
}

// TestCheckLogNotWritable: a program's log in a directory the daemon's
// user may not write is an error (as root the daemon runs as nobody for
// the test: root writes anywhere).
func TestCheckLogNotWritable(t *testing.T) {
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	// nobody must reach and write dir (t.TempDir's parent is private).
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(head+"[program:a]\ncommand=/bin/sleep 10\nstdout_logfile={dir}/ro/a.log\n", "{dir}", dir)
	who := currentIdent()
	if os.Geteuid() == 0 {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("a user without privileges is needed: %v", err)
		}
		uid, _ := strconv.Atoi(nobody.Uid)
		gid, _ := strconv.Atoi(nobody.Gid)
		text = strings.Replace(text, "[supervisord]\n", "[supervisord]\nuser=nobody\n", 1)
		who = identOf(uid, gid)
	}
	path := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := Check(path, config.Options{})
	var got []string
	for _, f := range r.Findings {
		got = append(got, fmt.Sprintf("%d %s [%s] %s %s", f.Line, f.Severity, f.Section, f.Key, f.Message))
	}
	want := []string{fmt.Sprintf("%d error [program:a] stdout_logfile directory %s is not writable by %s: the program would run without this log",
		strings.Count(text[:strings.Index(text, "stdout_logfile")], "\n")+1, ro, who)}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || r.ExitStatus() != 2 {
		t.Errorf("findings:\n%s\nwant\n%s (exit %d)", strings.Join(got, "\n"), strings.Join(want, "\n"), r.ExitStatus())
	}
}

// TestCheckParsesAsTheDaemon: every config of the corpus the daemon
// rejects is reported with the daemon's error text and exit status 2;
// every config it accepts gets no error from the parse.
func TestCheckParsesAsTheDaemon(t *testing.T) {
	opts := corpusOptions(t)
	for _, path := range corpus(t, "*.conf") {
		_, loadErr := config.Load(path, opts)
		r := check(path, opts, false)
		var parse []Finding
		for _, f := range r.Findings {
			if f.Check == "parse" {
				parse = append(parse, f)
			}
		}
		name := filepath.Base(path)
		switch {
		case loadErr == nil && len(parse) > 0:
			t.Errorf("%s: the daemon accepts it, the check reports %+v", name, parse)
		case loadErr != nil && (len(parse) != 1 || parse[0].Message != loadErr.Error() || r.ExitStatus() != 2):
			t.Errorf("%s: the daemon says %q, the check %+v (exit %d)", name, loadErr, parse, r.ExitStatus())
		}
	}
}

// corpusWarnings are the findings (line, check, section, key) of the
// corpus configs that are written to show a quirk the checker is meant
// to point out; every other accepted config of the corpus must be clean
// (no warning, no error) once the machine-dependent checks are left out.
var corpusWarnings = map[string][]string{
	"debian.conf":           {"worker.conf:6 nested-include [include] "},
	"ok_bracket_quirk.conf": {"ok_bracket_quirk.conf:5 unknown-key [program:a] [program"},
	"ok_case_and_unknown.conf": {
		"ok_case_and_unknown.conf:2 unknown-key [supervisord] no_such_key",
		"ok_case_and_unknown.conf:4 unknown-section [Program:ignored] ",
		"ok_case_and_unknown.conf:7 unknown-section [program_bad:x] ",
		"ok_case_and_unknown.conf:10 unknown-section [unknown_section] ",
		"ok_case_and_unknown.conf:15 unknown-key [program:known] unknown_key",
	},
	"ok_dup_sections.conf": {
		"ok_dup_sections.conf:9 duplicate-section [program:dup] ",
		"ok_dup_sections.conf:13 duplicate-section [supervisord] ",
	},
	"ok_empty_values.conf":  {"ok_empty_values.conf:10 redirect-stderr-logfile [program:y] stderr_logfile"},
	"ok_fcgi_in_group.conf": {"ok_fcgi_in_group.conf:8 fcgi-in-group [fcgi-program:f] socket"},
	"ok_group_hides_program.conf": {
		"ok_group_hides_program.conf:8 hidden-group [program:web] ",
		"ok_group_hides_program.conf:15 hidden-group [program:api] ",
		"ok_group_hides_program.conf:22 hidden-group [group:early] ",
	},
	"ok_include.conf": {
		"ok_include.conf:5 include-no-match [include] files",
		"a.ini:4 duplicate-section [supervisord] ",
	},
	"ok_include_spelling.conf": {
		"ok_include_spelling.conf:4 include-no-match [include] files",
		"a.ini:4 duplicate-section [supervisord] ",
	},
	"ok_logfiles.conf": {
		"ok_logfiles.conf:11 auto-log-without-rollover [program:auto] stdout_logfile_maxbytes",
		"ok_logfiles.conf:16 syslog-logfile [program:syslog] stdout_logfile",
		"ok_logfiles.conf:22 redirect-stderr-logfile [program:redirect] stderr_logfile",
	},
	"ok_rpcinterface_extras.conf": {"ok_rpcinterface_extras.conf:5 rpcinterface [rpcinterface:supervisor] extra_key"},
	"ok_servers.conf": {
		"ok_servers.conf:9 inet-no-password [inet_http_server:second] port",
		"ok_servers.conf:12 inet-no-password [inet_http_server_third] port",
	},
	"ok_types.conf": {"ok_types.conf:16 autorestart-no-retries [program:types] startretries"},
}

// TestCorpusNoFalseWarnings runs the checks of the text on every config
// of the corpus the daemon accepts: only the quirks listed in
// corpusWarnings are reported.
func TestCorpusNoFalseWarnings(t *testing.T) {
	opts := corpusOptions(t)
	seen := map[string]bool{}
	for _, path := range corpus(t, "*.conf") {
		name := filepath.Base(path)
		if _, err := config.Load(path, opts); err != nil {
			continue
		}
		seen[name] = true
		var got []string
		for _, f := range check(path, opts, false).Findings {
			if f.Severity >= Warning {
				got = append(got, filepath.Base(f.File)+":"+strconv.Itoa(f.Line)+" "+f.Check+" ["+f.Section+"] "+f.Key)
			}
		}
		want := corpusWarnings[name]
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	for name := range corpusWarnings {
		if !seen[name] {
			t.Errorf("%s is not an accepted config of the corpus", name)
		}
	}
	if len(seen) < 30 {
		t.Errorf("%d accepted configs in the corpus, want at least 30", len(seen))
	}
}

// TestDemoConfigClean: the demo config of `make run` has nothing to
// report in its text. Its run directory exists only after `make run`, so
// a copy pointed at a temp dir is checked (the checks of the machine are
// left out).
func TestDemoConfigClean(t *testing.T) {
	demo := filepath.Join(testenv.RepoRoot(), "testdata", "demo")
	raw, err := os.ReadFile(filepath.Join(demo, "supervisord.conf"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	const runDir = "/tmp/gosupervisor-demo" // made by make run
	if !strings.Contains(string(raw), runDir) {
		t.Fatalf("the demo config no longer names %s: update this test", runDir)
	}
	text := strings.ReplaceAll(strings.ReplaceAll(string(raw), runDir, tmp), "%(here)s", demo)
	path := filepath.Join(tmp, "supervisord.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := check(path, config.Options{}, false)
	if len(r.Findings) != 0 {
		t.Errorf("findings %+v", r.Findings)
	}
}

// TestWriteJSON pins the JSON form.
func TestWriteJSON(t *testing.T) {
	r := &Report{Config: "/etc/s.conf", Findings: []Finding{
		{Severity: Warning, Check: "unknown-key", File: "/etc/s.conf", Line: 7, Section: "program:a", Key: "stopwaitsec",
			Message: "unknown key, ignored; did you mean stopwaitsecs?", Suggestion: "stopwaitsecs"},
		{Severity: Note, Check: "extension-key", File: "/etc/s.conf", Line: 8, Section: "program:a", Key: "rlimit_nofile",
			Message: "gosupervisor extension key (Supervisor 4.2.5 ignores it)"},
	}}
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := `{"config":"/etc/s.conf","errors":0,"exit_status":1,"findings":[` +
		`{"check":"unknown-key","file":"/etc/s.conf","key":"stopwaitsec","line":7,"message":"unknown key, ignored; did you mean stopwaitsecs?","section":"program:a","severity":"warning","suggestion":"stopwaitsecs"},` +
		`{"check":"extension-key","file":"/etc/s.conf","key":"rlimit_nofile","line":8,"message":"gosupervisor extension key (Supervisor 4.2.5 ignores it)","section":"program:a","severity":"note"}],` +
		`"notes":1,"warnings":1}`
	if again, _ := json.Marshal(got); string(again) != want {
		t.Errorf("JSON:\n%s\nwant\n%s", again, want)
	}
	b.Reset()
	if err := (&Report{}).WriteJSON(&b); err != nil || !strings.Contains(b.String(), `"findings": []`) {
		t.Errorf("empty report: %s, %v", b.String(), err)
	}
}

// TestWriteTextColour: on a terminal the severities and the summary are
// coloured.
func TestWriteTextColour(t *testing.T) {
	r := &Report{Config: "s.conf", Findings: []Finding{{Severity: Error, Check: "parse", File: "s.conf", Line: 3, Message: "bad"}}}
	var b bytes.Buffer
	if err := r.WriteText(&b, true); err != nil {
		t.Fatal(err)
	}
	want := colorBold + "s.conf" + colorReset + "\n  3    " + colorRed + "error  " + colorReset + "  bad\n\n" +
		colorRed + "s.conf: 1 error, 0 warnings, 0 notes" + colorReset + "\n"
	if b.String() != want {
		t.Errorf("%q\nwant\n%q", b.String(), want)
	}
}

// corpusOptions are the options the config package's differential tests
// load the corpus with: a fixed environment, relative paths from the
// corpus directory.
func corpusOptions(t *testing.T) config.Options {
	return config.Options{
		Env: []string{
			"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir(),
			"SUPTEST_A=alpha", "SUPTEST_PCT=50%", "SUPTEST_SPACE=a b", "SUPTEST_NUM=7",
			"SUPTEST_WS= 7\u00a0", "SUPTEST_UNI=\u0663",
		},
		Hostname: "refhost",
		Cwd:      filepath.Join(testenv.RepoRoot(), "testdata", "config"),
	}
}

// corpus is the files of testdata/config matching pattern.
func corpus(t *testing.T, pattern string) []string {
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "testdata", "config", pattern))
	if err != nil || len(files) < 30 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	return files
}
