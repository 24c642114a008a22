package config

import (
	"os"
	"path/filepath"
	"testing"

	"gosupervisor/internal/testenv"
)

// FuzzParse feeds arbitrary bytes to Load as a main config file and to
// LoadCtl; neither may panic, and an accepted config must be well formed.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "testdata", "config", "*.conf"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("[supervisord]\n[program:x]\ncommand=%(process_num)*d %s %(x\n"))
	dir := f.TempDir()
	opts := Options{Env: []string{"HOME=/nonexistent", "TMPDIR=" + dir}, Hostname: "fuzz", Cwd: dir}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.conf")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, opts)
		if err == nil {
			for i, g := range cfg.Groups {
				if g == nil || (i > 0 && (cfg.Groups[i-1].Priority > g.Priority)) {
					t.Fatalf("groups not sorted by priority: %+v", cfg.Groups)
				}
				for _, p := range g.Processes {
					if p.Group != g.Name {
						t.Fatalf("process %q has group %q in group %q", p.Name, p.Group, g.Name)
					}
				}
			}
		}
		_, _ = LoadCtlWith(path, opts)
	})
}
