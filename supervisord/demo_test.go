package supervisord_test

import (
	"path/filepath"
	"slices"
	"testing"

	"gosupervisor/config"
	"gosupervisor/internal/testenv"
)

// TestDemoConfig checks the `make run` demo config parses into the
// programs it advertises.
func TestDemoConfig(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(filepath.Join(testenv.RepoRoot(), "testdata", "demo", "supervisord.conf"), config.Options{})
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
	if len(cfg.UnixHTTPServers) != 1 || cfg.UnixHTTPServers[0].File != "/tmp/gosupervisor-demo/supervisor.sock" {
		t.Errorf("demo unix server = %+v", cfg.UnixHTTPServers)
	}
}
