package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
)

// limitsScript prints the shell's pid, uid and limits: a program with no
// runtime of its own that would change them (a Go child raises its soft
// RLIMIT_NOFILE at start-up).
const limitsScript = `echo pid=$$ uid=$(id -u); cat /proc/$$/limits`

// TestRealRlimitsFromFirstInstruction: a program's rlimit_* keys are in
// force when it starts (set by the exec shim between fork and exec, in
// the same pid), as root and for a program with user=nobody.
func TestRealRlimitsFromFirstInstruction(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test switches a program to nobody and must run as root")
	}
	for _, user := range []string{"", "nobody"} {
		t.Run("user="+user, func(t *testing.T) {
			dir := t.TempDir()
			os.Chmod(dir, 0o755)
			cfg := testConfig(t, childProgram(t, dir, "limited", 1, nil, func(c *config.Process) {
				c.Argv = []string{"/bin/sh", "-c", limitsScript}
				c.StartSecs, c.Autorestart = 0, config.AutorestartFalse
				c.Resources.Rlimits = []config.Rlimit{
					{Key: "rlimit_cpu", Resource: unix.RLIMIT_CPU, Soft: 30, Hard: 60},
					{Key: "rlimit_core", Resource: unix.RLIMIT_CORE, Soft: 0, Hard: config.RlimitInfinity},
					{Key: "rlimit_nofile", Resource: unix.RLIMIT_NOFILE, Soft: 300, Hard: 400},
					{Key: "rlimit_nproc", Resource: unix.RLIMIT_NPROC, Soft: 1000, Hard: 2000},
				}
				if user != "" {
					c.User, c.UID, c.GID = user, 65534, 65534
				}
			}))
			e := startReal(t, cfg)
			info := waitState(t, e, "limited", "EXITED")
			out := waitFile(t, filepath.Join(dir, "limited.out"), "Max realtime timeout")
			wantUID := "0"
			if user != "" {
				wantUID = "65534"
			}
			if !strings.Contains(out, "uid="+wantUID+"\n") {
				t.Errorf("program ran as %q, want uid %s:\n%s", out, wantUID, out)
			}
			for _, want := range []string{
				"Max cpu time              30                   60                   seconds",
				"Max core file size        0                    unlimited            bytes",
				"Max processes             1000                 2000                 processes",
				"Max open files            300                  400                  files",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("/proc/<pid>/limits lacks %q:\n%s", want, out)
				}
			}
			pid := strings.TrimPrefix(strings.Fields(out)[0], "pid=")
			if !e.log.find(fmt.Sprintf("spawned: 'limited' with pid %s", pid)) {
				t.Errorf("the program's pid %s is not the spawned pid (exec shim must exec in place):\n%s", pid, strings.Join(e.log.snapshot(), "\n"))
			}
			_ = info
		})
	}
}

// TestRealRlimitRefusedIsSpawnError: a limit the daemon may not set
// (RLIMIT_NOFILE above fs.nr_open, refused even to root) is a spawn error
// naming the limit and the reason: BACKOFF, then FATAL.
func TestRealRlimitRefusedIsSpawnError(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Fatal(err)
	}
	nrOpen, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := testConfig(t, childProgram(t, dir, "greedy", 1, []string{"sleep"}, func(c *config.Process) {
		c.StartRetries = 1
		c.Resources.Rlimits = []config.Rlimit{{Key: "rlimit_nofile", Resource: unix.RLIMIT_NOFILE, Soft: 1024, Hard: nrOpen + 1}}
	}))
	e := startReal(t, cfg)
	info := waitState(t, e, "greedy", "FATAL")
	const want = "can't set RLIMIT_NOFILE: operation not permitted"
	if info.SpawnErr != want {
		t.Errorf("spawnerr %q, want %q", info.SpawnErr, want)
	}
	waitLog(t, e, "INFO spawnerr: "+want)
	if n := countLog(e, "spawnerr: "+want); n != 2 {
		t.Errorf("%d spawnerr lines, want 2 (startretries=1)", n)
	}
	if e.log.find("spawned: 'greedy'") {
		t.Errorf("a refused limit still spawned the program")
	}
}
