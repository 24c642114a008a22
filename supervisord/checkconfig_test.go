package supervisord_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gosupervisor/internal/testenv"
)

// TestCheckConfigCommandLine drives `supervisord --check-config` as
// users do: the exit status says clean (0), warnings (1) or errors (2),
// --format=json gives the same findings to scripts, the file search is
// the daemon's, and nothing is started (no pidfile, no log).
func TestCheckConfigCommandLine(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(testenv.Binaries(t), "supervisord")
	dir := t.TempDir()
	head := "[supervisord]\nlogfile=" + dir + "/s.log\npidfile=" + dir + "/s.pid\nchildlogdir=" + dir + "\n"
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("clean.conf", head+"[program:a]\ncommand=/bin/sleep 10\n")
	write("warn.conf", head+"[program:a]\ncommand=/bin/sleep 10\nstopwaitsec=60\n")
	write("error.conf", head+"[program:a]\ncommand=/no/such/binary\n")
	if err := os.Mkdir(filepath.Join(dir, "search"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("search/supervisord.conf", head+"[program:a]\ncommand=/bin/sleep 10\nstopwaitsec=60\n")
	rootSearchWarning := ""
	if os.Geteuid() == 0 {
		rootSearchWarning = "Warning: Supervisord is running as root and it is searching for its configuration file in default locations (including its current working directory); you probably want to specify a \"-c\" argument specifying an absolute path to a configuration file for improved security.\n"
	}
	write("bad.conf", head+"[program:a]\ncommand=/bin/sleep 10\nautorestart=ture\n")

	tests := []struct {
		name   string
		dir    string // under the test's directory
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "clean", args: []string{"--check-config", "-c", "clean.conf"},
			stdout: "clean.conf: 0 errors, 0 warnings, 0 notes\n"},
		{name: "warning", args: []string{"-c", "warn.conf", "--check-config"}, code: 1,
			stdout: "warn.conf\n  7  [program:a] stopwaitsec  warning  unknown key, ignored; did you mean stopwaitsecs?\n\nwarn.conf: 0 errors, 1 warning, 0 notes\n"},
		{name: "error", args: []string{"--check-config", "-c", "error.conf"}, code: 2,
			stdout: "error.conf\n  6  [program:a] command  error    can't find command '/no/such/binary': the program cannot start\n\nerror.conf: 1 error, 0 warnings, 0 notes\n"},
		{name: "parse error as the daemon's", args: []string{"--check-config", "-c", "bad.conf"}, code: 2,
			stdout: "bad.conf\n  7  [program:a] autorestart  error    invalid 'autorestart' value 'ture' in section 'program:a' (file: 'bad.conf')\n\nbad.conf: 1 error, 0 warnings, 0 notes\n"},
		{name: "missing file", args: []string{"--check-config", "-c", "none.conf"}, code: 2,
			stdout: "none.conf\n  -    error    could not find config file none.conf\n\nnone.conf: 1 error, 0 warnings, 0 notes\n"},
		{name: "the daemon's file search", dir: "search", args: []string{"--check-config"}, code: 1,
			stdout: "supervisord.conf\n  7  [program:a] stopwaitsec  warning  unknown key, ignored; did you mean stopwaitsecs?\n\nsupervisord.conf: 0 errors, 1 warning, 0 notes\n",
			stderr: rootSearchWarning},
		{name: "format without check", args: []string{"--format=json", "-c", "clean.conf"}, code: 2,
			stderr: "Error: --format is an option of --check-config\nFor help, use <argv0> -h\n"},
		{name: "bad format", args: []string{"--check-config", "--format=xml"}, code: 2,
			stderr: "Error: invalid value for --format 'xml': the format is text or json\nFor help, use <argv0> -h\n"},
		{name: "no abbreviation", args: []string{"--check", "-c", "clean.conf"}, code: 2,
			stderr: "Error: option --check not recognized\nFor help, use <argv0> -h\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runCLI(t, filepath.Join(dir, tt.dir), bin, tt.args...)
			if got.code != tt.code || got.stdout != tt.stdout || got.stderr != tt.stderr {
				t.Errorf("got exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d\nstdout:\n%s\nstderr:\n%s",
					got.code, got.stdout, got.stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}

	got := runCLI(t, dir, bin, "--check-config", "--format=json", "-c", "warn.conf")
	var report struct {
		Config   string `json:"config"`
		Findings []struct {
			Severity, Check, File, Section, Key, Message, Suggestion string
			Line                                                     int
		} `json:"findings"`
		Errors, Warnings, Notes int
		ExitStatus              int `json:"exit_status"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &report); err != nil {
		t.Fatalf("JSON: %v\n%s", err, got.stdout)
	}
	if got.code != 1 || report.ExitStatus != 1 || report.Warnings != 1 || len(report.Findings) != 1 ||
		report.Findings[0].Suggestion != "stopwaitsecs" || report.Findings[0].Line != 7 || report.Findings[0].File != "warn.conf" {
		t.Errorf("exit %d, report %+v", got.code, report)
	}
	for _, name := range []string{"s.pid", "s.log"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s exists: the check started something", name)
		}
	}
	if strings.Contains(got.stderr, "Error") {
		t.Errorf("stderr %q", got.stderr)
	}
}
