package supervisord_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// TestJSONMainLog: with logfile_format=json every line of the main log
// is one JSON object with time, level and message; the state lines about a
// program carry program, group, pid, from_state and to_state, and an
// exit its status, signal and expectedness.
func TestJSONMainLog(t *testing.T) {
	d := startMetricsDaemon(t, "logfile_format=json", `
[program:quitter]
command=/bin/sh -c "exit 3"
startsecs=0
autorestart=false

[program:sleeper]
command=sleep 600
startsecs=0
stopsignal=KILL
`)
	logPath := filepath.Join(d.dir, "supervisord.log")
	var records []map[string]any
	find := func(prefix string) map[string]any {
		for _, r := range records {
			if msg, _ := r["message"].(string); strings.HasPrefix(msg, prefix) {
				return r
			}
		}
		return nil
	}
	read := func() error {
		b, err := os.ReadFile(logPath)
		if err != nil {
			return err
		}
		records = records[:0]
		for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			var r map[string]any
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("line %d is not one JSON object: %v\n%s", i+1, err, line)
			}
			for _, k := range []string{"time", "level", "message"} {
				if _, ok := r[k]; !ok {
					t.Fatalf("line %d has no %q: %s", i+1, k, line)
				}
			}
			records = append(records, r)
		}
		return nil
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := read(); err != nil {
			return err
		}
		if find("exited: quitter") == nil || find("success: sleeper") == nil {
			return fmt.Errorf("no exit of quitter or success of sleeper yet (%d lines)", len(records))
		}
		return nil
	})
	if code, _, body := d.get("unix", "/ok.html", true); code != 200 {
		t.Fatalf("ok.html %d %s", code, body)
	}
	check := func(prefix string, want map[string]any) {
		t.Helper()
		r := find(prefix)
		if r == nil {
			t.Errorf("no line %q", prefix)
			return
		}
		for k, v := range want {
			if got := r[k]; fmt.Sprint(got) != fmt.Sprint(v) {
				t.Errorf("%q: %s = %v, want %v (%v)", prefix, k, got, v, r)
			}
		}
		if pid, ok := r["pid"].(float64); !ok || pid <= 1 {
			t.Errorf("%q: pid %v (%v)", prefix, r["pid"], r)
		}
	}
	check("spawned: 'quitter' with pid", map[string]any{"level": "info", "program": "quitter", "group": "quitter", "from_state": "STOPPED", "to_state": "STARTING"})
	// quitter may exit before its RUNNING step: from_state is STARTING
	// then (it passes through RUNNING in the same step).
	check("exited: quitter (exit status 3; not expected)", map[string]any{"level": "warn", "program": "quitter",
		"to_state": "EXITED", "exit_status": 3, "expected": false})
	check("success: sleeper", map[string]any{"program": "sleeper", "group": "sleeper", "from_state": "STARTING", "to_state": "RUNNING"})

	// A stop by SIGKILL: the signal and exit_status -1.
	if code, _, _ := d.get("unix", "/index.html?processname=sleeper&action=stop", true); code != 200 {
		t.Fatalf("stop via the web UI: %d", code)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := read(); err != nil {
			return err
		}
		if find("stopped: sleeper") == nil {
			return fmt.Errorf("sleeper not stopped yet")
		}
		return nil
	})
	check("stopped: sleeper (terminated by SIGKILL)", map[string]any{"from_state": "STOPPING", "to_state": "STOPPED", "exit_status": -1, "signal": "SIGKILL"})
}
