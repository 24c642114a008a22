package main

import (
	"os"
	"path/filepath"
	"testing"

	"gosupervisor/config"
	"gosupervisor/internal/testenv"
)

// The sample is part of config's differential corpus (checked there against
// the Python reference) under this name; keep the copy identical.
const corpusCopy = "gosupervisor_sample.conf"

func TestSampleIsInCorpus(t *testing.T) {
	got, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "testdata", "config", corpusCopy))
	if err != nil {
		t.Fatalf("corpus copy of the sample: %v", err)
	}
	if string(got) != sample {
		t.Fatalf("testdata/config/%s differs from sample.conf; copy sample.conf there", corpusCopy)
	}
}

func TestSampleParses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(path, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.Options{Env: []string{"HOME=" + dir}, Hostname: "h", Cwd: dir})
	if err != nil {
		t.Fatalf("Load(sample): %v", err)
	}
	if len(cfg.UnixHTTPServers) != 1 || cfg.UnixHTTPServers[0].File != "/tmp/supervisor.sock" {
		t.Errorf("unix servers = %+v", cfg.UnixHTTPServers)
	}
	if cfg.Supervisord.Logfile != "/tmp/supervisord.log" || len(cfg.RPCInterfaces) != 1 {
		t.Errorf("supervisord = %+v, rpc = %+v", cfg.Supervisord, cfg.RPCInterfaces)
	}
	ctl, err := config.LoadCtlWith(path, config.Options{Env: []string{"HOME=" + dir}, Hostname: "h", Cwd: dir})
	if err != nil || ctl.ServerURL != "unix:///tmp/supervisor.sock" {
		t.Errorf("LoadCtl(sample) = %+v, %v", ctl, err)
	}
}
