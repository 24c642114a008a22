package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "unknown daemon", args: []string{"-daemons", "ours,python"}, wantCode: 2, wantStderr: `unknown daemon "python"`},
		{name: "bad flag", args: []string{"-nope"}, wantCode: 2, wantStderr: "flag provided but not defined"},
		{name: "no scenario selected", args: []string{"-only", "none", "-quick"}, wantStdout: "runs per scenario: 1 (quick)\n"},
		{name: "json to stdout", args: []string{"-only", "none", "-n", "2", "-json", "-"}, wantStdout: `"runs": 2`},
		{name: "machine and load in the table", args: []string{"-only", "none"}, wantStdout: "load average (1/5/15 min): "},
		// No run starts once the time is up; what was measured is reported.
		{name: "timeout", args: []string{"-only", "idle", "-timeout", "1ns"}, wantCode: 1, wantStdout: "== idle:", wantStderr: "stopped early: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stdout %q (want %q), stderr %q (want %q)", stdout.String(), tt.wantStdout, stderr.String(), tt.wantStderr)
			}
		})
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	resolved := []struct{ in, want string }{
		{"bin/supervisord", filepath.Join(wd, "bin/supervisord")},
		{"/usr/bin/supervisord", "/usr/bin/supervisord"},
		{"sh", mustLookPath(t, "sh")},
		{"no-such-binary-anywhere", "no-such-binary-anywhere"},
	}
	for _, r := range resolved {
		if got := resolveBinary(r.in); got != r.want {
			t.Errorf("resolveBinary(%q) = %q, want %q", r.in, got, r.want)
		}
	}

	md := filepath.Join(t.TempDir(), "bench.md")
	if code := run(context.Background(), []string{"-only", "none", "-md", md}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("-md: exit %d", code)
	}
	if b, err := os.ReadFile(md); err != nil || !strings.HasPrefix(string(b), "`make bench` on ") {
		t.Errorf("-md wrote %q, %v", b, err)
	}

	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"-only", "none", "-json", "-"}, &stdout, &bytes.Buffer{}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var rep map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Errorf("-json - is not JSON alone: %v\n%s", err, stdout.String())
	}
}
