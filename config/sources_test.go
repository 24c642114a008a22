package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gosupervisor/internal/testenv"
)

// TestReplay: a replay parses what the Load read, not what the files hold
// now, and gives the same configuration.
func TestReplay(t *testing.T) {
	dir := testenv.WriteTree(t, map[string]string{
		"s.conf": "[supervisord]\nlogfile=%(here)s/main.log\nenvironment=A=\"%(ENV_FOO)s\"\n" +
			"[include]\nfiles=conf.d/*.conf missing/*.conf\n",
		"conf.d/a.conf": "[program:a]\ncommand=/bin/a %(host_node_name)s\n",
		"conf.d/b.conf": "[program:b]\ncommand=/bin/b\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)d\n",
	})
	opts := testOptions(t)
	opts.Overrides = map[string]string{"nodaemon": "true"}
	cfg, err := Load(filepath.Join(dir, "s.conf"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Sources == nil || len(cfg.Sources.Files) != 3 || len(cfg.Sources.Globs) != 2 {
		t.Fatalf("sources = %+v, want 3 files and 2 patterns", cfg.Sources)
	}
	// Edit everything on disk: a replay must not see it.
	for name, content := range map[string]string{
		"s.conf":        "[supervisord]\n",
		"conf.d/a.conf": "[program:a]\ncommand=/bin/changed\n",
		"conf.d/c.conf": "[program:c]\ncommand=/bin/c\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "conf.d/b.conf")); err != nil {
		t.Fatal(err)
	}
	got, err := Replay(cfg.Sources)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if got.Sources != cfg.Sources {
		t.Error("the replay's Sources are not the record it replayed")
	}
	gotCopy, wantCopy := *got, *cfg
	gotCopy.Sources, wantCopy.Sources = nil, nil
	if !reflect.DeepEqual(gotCopy, wantCopy) {
		t.Errorf("replay differs:\n got %+v\nwant %+v", gotCopy, wantCopy)
	}
	if a, c, d := Diff(cfg, got); len(a)+len(c)+len(d) > 0 {
		t.Errorf("Diff(load, replay) added %v changed %v removed %v", a, c, d)
	}
	if cmd := findGroup(t, got, "a").Processes[0].Command; cmd != "/bin/a node1" {
		t.Errorf("a's command = %q, want the recorded one", cmd)
	}
}

// TestReplayErrors: a record that was broken stays broken, with the same
// text; a missing record is refused.
func TestReplayErrors(t *testing.T) {
	if _, err := Replay(nil); err == nil {
		t.Error("Replay(nil) succeeded")
	}
	src := &Sources{Path: "/nowhere/s.conf", Cwd: "/", Hostname: "h"}
	if _, err := Replay(src); err == nil || !strings.Contains(err.Error(), "could not find config file") {
		t.Errorf("empty record: %v, want the missing-file error", err)
	}
	src.Files = []SourceFile{{Path: "/nowhere/s.conf", Data: []byte("[program:x]\ncommand=/bin/x\n")}}
	if _, err := Replay(src); err == nil || !strings.Contains(err.Error(), "supervisord section") {
		t.Errorf("record without [supervisord]: %v", err)
	}
}
