package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
	"gosupervisor/logrot"
)

func TestNewCreatesAutoLogsAndCleansOldOnes(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name        string
		noCleanup   bool
		wantOldKept bool
	}{
		{"cleanup", false, false},
		{"nocleanup", true, true},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			old := []string{"web-stdout---supervisor-abcd1234.log", "web-stdout---supervisor-abcd1234.log.3"}
			keep := []string{"notes.log", "web-stdout---other-abcd1234.log"}
			for _, n := range append(slices.Clone(old), keep...) {
				if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			g := testProgram(t, "web", 1, []string{"run"}, func(c *config.Process) {
				c.Stdout = config.LogConfig{Auto: true}
				c.Stderr = config.LogConfig{Auto: true}
			})
			redirected := testProgram(t, "red", 2, []string{"run"}, func(c *config.Process) {
				c.Stdout = config.LogConfig{Auto: true}
				c.Stderr = config.LogConfig{Auto: true}
				c.RedirectStderr = true
			})
			cfg := &config.Config{Supervisord: config.Supervisord{Identifier: "supervisor", ChildLogDir: dir, NoCleanup: tc.noCleanup},
				Groups: []*config.Group{g, redirected}}
			e, err := New(Options{Config: cfg, Log: &recLog{}, OS: newFakeOS()})
			if err != nil {
				t.Fatal(err)
			}
			defer e.closeGroups()
			for _, n := range keep {
				if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
					t.Errorf("%s removed: %v", n, err)
				}
			}
			for _, n := range old {
				if _, err := os.Stat(filepath.Join(dir, n)); (err == nil) != tc.wantOldKept {
					t.Errorf("%s: stat err %v, want kept=%v", n, err, tc.wantOldKept)
				}
			}
			p := e.groups["web"].procs[0]
			for _, ch := range protocol.Channels {
				path := p.logPath(ch)
				re := regexp.MustCompile(`^web-` + ch.String() + `---supervisor-[a-z0-9_]{8}\.log$`)
				if filepath.Dir(path) != dir || !re.MatchString(filepath.Base(path)) {
					t.Errorf("%s AUTO log %q", ch, path)
				}
				fi, err := os.Stat(path)
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s AUTO log: %v %v, want mode 0600", ch, fi, err)
				}
			}
			if r := e.groups["red"].procs[0]; r.logPath(protocol.Stdout) == "" || r.logPath(protocol.Stderr) != "" {
				t.Errorf("redirect_stderr: stdout %q stderr %q, want only stdout", r.logPath(protocol.Stdout), r.logPath(protocol.Stderr))
			}
		})
	}
}

func TestRealDebugCopyStripANSIAndLogCalls(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, childProgram(t, dir, "chatty", 1, []string{"env"}, func(c *config.Process) {
		c.Environment = append(c.Environment, config.EnvVar{Key: "FOO", Value: "\x1b[31mred\x1b[0m"})
	}))
	cfg.Supervisord.StripANSI = true
	e := startReal(t, cfg)
	out := waitFile(t, filepath.Join(dir, "chatty.out"), "ready")
	if !strings.Contains(out, "FOO=red\n") {
		t.Errorf("strip_ansi: output %q lacks FOO=red", out)
	}
	path, err := e.LogFile("chatty", protocol.Stdout)
	if err != nil || path != filepath.Join(dir, "chatty.out") {
		t.Errorf("LogFile = %q, %v", path, err)
	}
	if err := e.ClearProcessLogs("chatty"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "chatty.out")); err != nil || len(b) != 0 {
		t.Errorf("after clear: %q %v", b, err)
	}
	res := e.ClearAllProcessLogs()
	if len(res) != 1 || res[0].Err != nil {
		t.Errorf("ClearAllProcessLogs = %+v", res)
	}
	if _, err := e.LogFile("nosuch", protocol.Stdout); !errors.Is(err, ErrNoSuchName) {
		t.Errorf("LogFile(nosuch) = %v", err)
	}
	// SIGUSR2 after an external rotation: the file is recreated by name.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	e.ReopenLogs()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("after ReopenLogs: %v", err)
	}
}

func TestRealDebugLevelCopiesOutputToMainLog(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, childProgram(t, dir, "chatty", 1, []string{"exit", "0", "5"}))
	log := &recLog{debug: true}
	e, err := New(Options{Config: cfg, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Exit, 1)
	go func() { x, _ := e.Run(ctx); done <- x }()
	defer func() {
		cancel() // a cancelled context is an orderly shutdown
		select {
		case x := <-done:
			if x != ExitShutdown {
				t.Errorf("Run = %v after cancel", x)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	}()
	r := &realEngine{Engine: e, log: log}
	waitLog(t, r, "DEBG 'chatty' stdout output:\nready\n")
}

func TestRealChildSyslog(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, childProgram(t, dir, "loud", 1, []string{"env"}, func(c *config.Process) {
		c.Stdout.Syslog = true
	}))
	var mu sync.Mutex
	var lines []string
	e := startRealWith(t, cfg, func(e *Engine) {
		e.syslog = logrot.NewSyslog(func(line string) error {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, line)
			return nil
		})
	})
	waitState(t, e, "loud", "RUNNING")
	testenv.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Contains(lines, "loud ready") || !slices.Contains(lines, "loud SUPERVISOR_PROCESS_NAME=loud") {
			return fmt.Errorf("syslog lines %q", lines)
		}
		return nil
	})
}
