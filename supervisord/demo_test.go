package supervisord_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gosupervisor/config"
	"gosupervisor/internal/testenv"
)

// demoDir is where the demo config puts everything it writes; `make run`
// creates it before starting the daemon.
const demoDir = "/tmp/gosupervisor-demo"

// TestDemoConfig checks the `make run` demo config parses into the
// programs it advertises. The config names demoDir, which exists only
// after `make run`, so the test loads a copy pointed at its own temp dir
// (and at the demo's scripts for %(here)s): no test may depend on
// anything outside the clone and its own temp dirs.
func TestDemoConfig(t *testing.T) {
	t.Parallel()
	root := testenv.RepoRoot()
	demo := filepath.Join(root, "testdata", "demo")
	raw, err := os.ReadFile(filepath.Join(demo, "supervisord.conf"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	text := strings.ReplaceAll(string(raw), demoDir, tmp)
	text = strings.ReplaceAll(text, "%(here)s", demo)
	conf := filepath.Join(tmp, "supervisord.conf")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(conf, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range cfg.Groups {
		for _, p := range g.Processes {
			got = append(got, g.Name+":"+p.Name)
		}
	}
	want := []string{"ticker:ticker", "flappy:flappy", "doomed:doomed", "workers:workers_00", "workers:workers_01", "web:frontend", "web:backend"}
	if !slices.Equal(got, want) {
		t.Errorf("demo processes = %q, want %q", got, want)
	}
	if len(cfg.UnixHTTPServers) != 1 || cfg.UnixHTTPServers[0].File != filepath.Join(tmp, "supervisor.sock") {
		t.Errorf("demo unix server = %+v", cfg.UnixHTTPServers)
	}
}

// TestDemoPathsUnderRunDir checks `make run` works on a fresh machine:
// every absolute path the demo config names outside the clone lies under
// the directory the Makefile's run target creates first.
func TestDemoPathsUnderRunDir(t *testing.T) {
	t.Parallel()
	root := testenv.RepoRoot()
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^run:.*\n(\t.*\n)*\t@?mkdir -p ` + regexp.QuoteMeta(demoDir) + `\n`).Match(mk) {
		t.Errorf("the Makefile's run target does not create %s first", demoDir)
	}
	raw, err := os.ReadFile(filepath.Join(root, "testdata", "demo", "supervisord.conf"))
	if err != nil {
		t.Fatal(err)
	}
	paths := regexp.MustCompile(`(?m)^[a-z_]+\s*=\s*(?:unix://)?(/\S+)`).FindAllStringSubmatch(string(raw), -1)
	if len(paths) < 4 {
		t.Fatalf("found %d absolute paths in the demo config, want at least 4 (socket, log, pidfile, childlogdir)", len(paths))
	}
	for _, m := range paths {
		if p := m[1]; p != demoDir && !strings.HasPrefix(p, demoDir+"/") && !strings.HasPrefix(p, "/bin/") {
			t.Errorf("demo config names %s, outside %s which `make run` creates", p, demoDir)
		}
	}
}
