package rpc

import (
	"testing"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/engine"
)

// TestConfigInfoSpellings pins the reference's spellings of unset values
// in getAllConfigInfo, which the engine leaves to this package.
func TestConfigInfoSpellings(t *testing.T) {
	t.Parallel()
	g := &config.Group{Name: "g", Priority: 5}
	tests := []struct {
		name string
		cp   engine.ConfiguredProcess
		want map[string]any
	}{
		{"unset", engine.ConfiguredProcess{Group: g, Process: &config.Process{Name: "p", UID: -1, ServerURL: "AUTO"}},
			map[string]any{"uid": "none", "directory": "none", "serverurl": "none",
				"stdout_logfile": "none", "stderr_logfile": "none", "inuse": false, "group_prio": 5}},
		{"set", engine.ConfiguredProcess{Group: g, Active: true, Process: &config.Process{Name: "p",
			User: "nobody", UID: 65534, Directory: "/srv", DirectorySet: true, ServerURL: "http://h:9001",
			Stdout: config.LogConfig{File: "/l/o"}, Stderr: config.LogConfig{File: "/l/e"}}},
			map[string]any{"uid": 65534, "directory": "/srv", "serverurl": "http://h:9001",
				"stdout_logfile": "/l/o", "stderr_logfile": "/l/e", "inuse": true}},
		{"empty directory=", engine.ConfiguredProcess{Group: g, Process: &config.Process{Name: "p", DirectorySet: true}},
			map[string]any{"directory": ""}},
		{"uid without user", engine.ConfiguredProcess{Group: g, Process: &config.Process{Name: "p", UID: 0}},
			map[string]any{"uid": "none"}},
		{"AUTO serverurl", engine.ConfiguredProcess{Group: g, Process: &config.Process{Name: "p", ServerURL: " auto "}},
			map[string]any{"serverurl": "none"}},
		{"empty serverurl", engine.ConfiguredProcess{Group: g, Process: &config.Process{Name: "p", ServerURL: ""}},
			map[string]any{"serverurl": ""}},
		{"AUTO logs not named yet", engine.ConfiguredProcess{Group: g, Process: &config.Process{Name: "p",
			Stdout: config.LogConfig{Auto: true}, Stderr: config.LogConfig{Auto: true}}},
			map[string]any{"stdout_logfile": "auto", "stderr_logfile": "auto"}},
		{"AUTO logs named", engine.ConfiguredProcess{Group: g, Active: true, Process: &config.Process{Name: "p",
			Stdout: config.LogConfig{Auto: true}, Stderr: config.LogConfig{Auto: true}},
			LogFiles: [len(protocol.Channels)]string{"/tmp/p-stdout---x.log", ""}},
			map[string]any{"stdout_logfile": "/tmp/p-stdout---x.log", "stderr_logfile": "auto"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]any{}
			for _, m := range configInfoStruct(&tt.cp) {
				got[m.Name] = m.Value
			}
			if len(got) != 29 {
				t.Errorf("%d members, want 29", len(got))
			}
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %#v, want %#v", k, got[k], want)
				}
			}
		})
	}
}
