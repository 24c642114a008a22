package containers

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// readEnv waits for the env helper's output file and returns its
// variables.
func readEnv(t *testing.T, file string) map[string]string {
	t.Helper()
	var data []byte
	testenv.Eventually(t, 20*time.Second, func() error {
		var err error
		data, err = os.ReadFile(file)
		return err
	})
	env := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestEnvironmentFile(t *testing.T) {
	r := newRun(t, ours, "environment_file={{here}}/global.env\nenvironment=FROM_SD_CONF=sdconf",
		program("app", "env", "{{here}}/env.out", "environment_file={{here}}/app.env, -{{here}}/missing.env, -{{here}}/conf.d/*.env\nenvironment={{env}}=env,FROM_CONF=conf")+
			program("broken", "env", "{{here}}/broken.out", "environment_file={{here}}/nope.env\nstartretries=0"))
	writeFile(t, r.path("global.env"), "GLOBAL=g\nSHARED=global\nFROM_SD_CONF=file\n", 0o644)
	writeFile(t, r.path("app.env"), "# the app's settings\nSHARED=app\nQUOTED = \"a b\" \nJOINED=foo\\\nbar\nLITERAL='$HOME \\n'\nINLINE=x#y\nFROM_CONF=file\nSUPERVISOR_PROCESS_NAME=evil\nexport BAD=1\nVERSION=1\n", 0o644)
	writeFile(t, r.path("conf.d", "20-b.env"), "ORDER=b\n", 0o644)
	writeFile(t, r.path("conf.d", "10-a.env"), "ORDER=a\nONLY_A=yes\n", 0o644)
	r.start(t)
	env := readEnv(t, r.path("env.out"))
	want := map[string]string{
		"GLOBAL": "g", "SHARED": "app", "QUOTED": "a b", "JOINED": "foobar", "LITERAL": `$HOME \n`, "INLINE": "x#y",
		"FROM_CONF": "conf", "FROM_SD_CONF": "sdconf", "SUPERVISOR_PROCESS_NAME": "app", "ORDER": "b", "ONLY_A": "yes", "VERSION": "1",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["BAD"]; ok {
		t.Errorf("the invalid name 'export BAD' was set")
	}
	waitLog(t, r, "environment_file "+r.path("app.env")+": ignoring invalid variable names: 'export BAD'")

	// Read again at each spawn.
	writeFile(t, r.path("app.env"), "VERSION=2\n", 0o644)
	if err := os.Remove(r.path("env.out")); err != nil {
		t.Fatal(err)
	}
	if out, code := r.ctl(t, "restart", "app"); code != 0 {
		t.Fatalf("restart app: %q (exit %d)", out, code)
	}
	if got := readEnv(t, r.path("env.out"))["VERSION"]; got != "2" {
		t.Errorf("after the edit and a restart VERSION = %q, want 2", got)
	}

	// A missing file without "-" is a spawn error naming it and why.
	p := r.waitState(t, "broken", "FATAL", 20*time.Second)
	wantErr := "can't read environment_file " + r.path("nope.env") + ": No such file or directory"
	if p.SpawnErr != wantErr || p.Description != wantErr {
		t.Errorf("broken: spawnerr %q, description %q, want %q", p.SpawnErr, p.Description, wantErr)
	}
	waitLog(t, r, "INFO spawnerr: "+wantErr)
}

// A secrets file only root can read reaches a program that runs as
// nobody: the daemon reads it before the switch (the program itself
// cannot open it).
func TestEnvironmentFileRootOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (the daemon reads the file as root, the program runs as nobody)")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Fatalf("no user nobody: %v", err)
	}
	r := newRun(t, ours, "", "")
	// nobody can neither reach the build directory nor write in the run's.
	bin := r.path("helper")
	copyFile(t, mustExecutable(t), bin, 0o755)
	out := r.path("out")
	if err := os.Mkdir(out, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(out, 0o777); err != nil {
		t.Fatal(err)
	}
	secret := r.path("secret.env")
	writeFile(t, secret, "DB_PASSWORD='s3cr3t value'\n", 0o600)
	r.writeConfig(t, "", fmt.Sprintf("[program:app]\ncommand=%s %s %s\nenvironment={{env}}=env\nenvironment_file=%s\nuser=nobody\nstartsecs=0\nautorestart=false\n",
		bin, out+"/env.out", secret, secret))
	r.start(t)
	defer func() {
		if t.Failed() {
			t.Logf("main log:\n%s", r.mainLog())
			logs, _ := filepath.Glob(r.path("app-*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", l, b)
			}
		}
	}()
	env := readEnv(t, out+"/env.out")
	if env["DB_PASSWORD"] != "s3cr3t value" {
		t.Errorf("DB_PASSWORD = %q", env["DB_PASSWORD"])
	}
	if !strings.Contains(env["TRY"], "permission denied") {
		t.Errorf("the program could open the secret itself: TRY=%q", env["TRY"])
	}
	u, _ := user.Lookup("nobody")
	if env["USER"] != "nobody" || env["LOGNAME"] != "nobody" || env["HOME"] != u.HomeDir {
		t.Errorf("user=nobody: USER=%q LOGNAME=%q HOME=%q", env["USER"], env["LOGNAME"], env["HOME"])
	}
}

func mustExecutable(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	outf, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(outf, in); err != nil {
		t.Fatal(err)
	}
	if err := outf.Close(); err != nil {
		t.Fatal(err)
	}
}
