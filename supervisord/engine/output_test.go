package engine

import (
	"fmt"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
	"gosupervisor/logrot"
)

// TestOutputCoalesce: what the engine parses (a listener's protocol on
// stdout, capture mode) is read at once; what only goes to logs is batched.
func TestOutputCoalesce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t,
			testPool(t, "lis", []string{"TICK_5"}, 10, "run"),
			testProgram(t, "plain", 1, []string{"run"}),
			testProgram(t, "capture", 2, []string{"run"}, func(c *config.Process) {
				c.Stdout.CaptureMaxBytes = 100
			}))
		e, _, _, stop := runFake(t, cfg)
		defer stop()
		tests := []struct {
			proc    string
			channel protocol.Channel
			want    time.Duration
		}{
			{"plain", protocol.Stdout, logrot.DefaultCoalesce},
			{"plain", protocol.Stderr, logrot.DefaultCoalesce},
			{"lis", protocol.Stdout, 0},
			{"lis", protocol.Stderr, logrot.DefaultCoalesce},
			{"capture", protocol.Stdout, 0},
			{"capture", protocol.Stderr, logrot.DefaultCoalesce},
		}
		for _, tt := range tests {
			var got time.Duration
			var lookupErr error
			if err := e.call(func(time.Time) {
				var p *process
				if p, lookupErr = e.lookup(tt.proc); lookupErr == nil {
					got = e.outputCoalesce(p, tt.channel)
				}
			}); err != nil {
				t.Fatal(err)
			}
			if lookupErr != nil {
				t.Fatal(lookupErr)
			}
			if got != tt.want {
				t.Errorf("%s %s coalesces %v, want %v", tt.proc, tt.channel, got, tt.want)
			}
		}
	})
}

// TestRealAutoLogsStayPrivateAcrossRotation: an AUTO log is created 0600
// and its rotation must not recreate it with the umask's wider mode.
func TestRealAutoLogsStayPrivateAcrossRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfig(t, childProgram(t, dir, "auto", 1, []string{"write", "5000"}, func(c *config.Process) {
		c.StartSecs = 0
		c.Autorestart = config.AutorestartFalse
		c.Stdout = config.LogConfig{Auto: true, MaxBytes: 1000, Backups: 2}
		c.Stderr = config.LogConfig{Auto: true, MaxBytes: 1000, Backups: 0}
	}))
	e := startReal(t, cfg)
	info := waitState(t, e, "auto", "EXITED")
	for _, path := range []string{info.LogFiles[protocol.Stdout], info.LogFiles[protocol.Stdout] + ".1", info.LogFiles[protocol.Stderr]} {
		testenv.Eventually(t, 10*time.Second, func() error {
			st, err := os.Stat(path)
			if err != nil {
				return err
			}
			if st.Mode().Perm() != 0o600 {
				return fmt.Errorf("%s has mode %v, want 0600", path, st.Mode().Perm())
			}
			return nil
		})
	}
}
