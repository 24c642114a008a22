package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// attackDir is a directory the attacker (nobody) can write, where the
// daemon keeps some of its files.
type attackDir struct {
	name string
	mode os.FileMode // with the sticky bit where set
	// nobodyOwns: the directory belongs to nobody (a program's user owning
	// its log directory); otherwise to root.
	nobodyOwns bool
}

// attackDirs are the two kinds the attacks run in: /tmp's kind, where the
// kernel's fs.protected_symlinks would be the only guard, and a directory
// a program's user owns, where no kernel setting helps.
var attackDirs = []attackDir{
	{name: "sticky", mode: 0o777 | os.ModeSticky},
	{name: "owned", mode: 0o755, nobodyOwns: true},
}

// victim is a file of root's the attacks aim at: nobody may neither write
// it nor make the daemon create it.
const (
	victimText = "precious\n"
	victim     = "victim"
	created    = "created" // a file a dangling planted link would create
)

// newAttackRun is newRun plus the attack directory (placeholder {{attack}})
// and the victim file.
func newAttackRun(t *testing.T, ad attackDir, supervisordKeys, programs string) *run {
	t.Helper()
	requireRoot(t)
	expand := func(s string) string { return strings.ReplaceAll(s, "{{attack}}", "{{here}}/"+ad.name) }
	r := newRun(t, expand(supervisordKeys), expand(programs))
	dir := r.path(ad.name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, ad.mode); err != nil {
		t.Fatal(err)
	}
	if ad.nobodyOwns {
		uid, gid := nobody(t)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(r.path(victim), []byte(victimText), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// checkVictim fails the test if the attack reached root's files.
func (r *run) checkVictim(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(r.path(victim))
	if err != nil || string(b) != victimText {
		t.Errorf("the daemon wrote to root's file through the attacker's link: %q (%v)", b, err)
	}
	if st, err := os.Stat(r.path(victim)); err == nil && st.Mode().Perm() != 0o644 {
		t.Errorf("victim's mode changed to %v", st.Mode())
	}
	if _, err := os.Lstat(r.path(created)); err == nil {
		t.Errorf("the daemon created %s through the attacker's dangling link", r.path(created))
	}
}

// plantLink makes the attacker's symbolic link at path, pointing to the
// victim (or, dangling, to where the daemon must not create a file).
func plantLink(t *testing.T, target, path string) {
	t.Helper()
	asNobody(t, "ln", "-s", target, path)
}

// checkSaysWhy fails the test unless the daemon's output (what) names
// the refused link as the reason.
func checkSaysWhy(t *testing.T, what, out string) {
	t.Helper()
	if !strings.Contains(out, "refusing to follow a symbolic link") {
		t.Errorf("%s does not say why:\n%s", what, out)
	}
}

// checkRootOwned fails the test unless path is a regular file of root's
// that the attacker cannot write.
func checkRootOwned(t *testing.T, path string) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	sys := st.Sys().(*syscall.Stat_t)
	if !st.Mode().IsRegular() || sys.Uid != 0 || st.Mode().Perm()&0o022 != 0 {
		t.Errorf("%s is %v owned by uid %d: want a regular file of root's that others cannot write", path, st.Mode(), sys.Uid)
	}
}

// forEachDir runs an attack in both kinds of directory.
func forEachDir(t *testing.T, attack func(t *testing.T, ad attackDir)) {
	for _, ad := range attackDirs {
		t.Run(ad.name, func(t *testing.T) {
			t.Parallel()
			attack(t, ad)
		})
	}
}

// TestPlantedPidfileLink: a link planted at the pidfile's name is not
// written through (the reference truncates its target); the daemon logs
// the reference's line with the reason and runs on.
func TestPlantedPidfileLink(t *testing.T) {
	t.Parallel()
	forEachDir(t, func(t *testing.T, ad attackDir) {
		for _, target := range []string{victim, created} {
			t.Run(target, func(t *testing.T) {
				t.Parallel()
				r := newAttackRun(t, ad, "pidfile={{attack}}/supervisord.pid", "")
				plantLink(t, r.path(target), r.path(ad.name, "supervisord.pid"))
				r.start(t)
				r.waitMainLog(t, "CRIT could not write pidfile "+r.path(ad.name, "supervisord.pid"))
				// The reason is the next line, written just after.
				r.waitMainLog(t, "refusing to follow a symbolic link")
				r.checkVictim(t)
			})
		}
	})
}

// TestPlantedPidfileInStickyDir: a file nobody planted at the pidfile's
// name in a sticky directory is not taken over (its owner could later put
// any pid in it for an administrator to kill).
func TestPlantedPidfileInStickyDir(t *testing.T) {
	t.Parallel()
	ad := attackDirs[0]
	r := newAttackRun(t, ad, "pidfile={{attack}}/supervisord.pid", "")
	pidfile := r.path(ad.name, "supervisord.pid")
	asNobody(t, "sh", "-c", `echo 1 > "$0" && chmod 666 "$0"`, pidfile)
	r.start(t)
	r.waitMainLog(t, "CRIT could not write pidfile "+pidfile)
	if b, _ := os.ReadFile(pidfile); string(b) != "1\n" {
		t.Errorf("the planted pidfile was written: %q", b)
	}
}

// TestPlantedMainLogLink: a link planted at the main log's name is not
// followed: the daemon refuses to start, saying why, as it does for any
// main log it cannot open.
func TestPlantedMainLogLink(t *testing.T) {
	t.Parallel()
	forEachDir(t, func(t *testing.T, ad attackDir) {
		r := newAttackRun(t, ad, "logfile={{attack}}/main.log", "")
		plantLink(t, r.path(victim), r.path(ad.name, "main.log"))
		bin := filepath.Join(testenv.Binaries(t), "supervisord")
		d := testenv.Start(t, r.dir, bin, "-n", "-c", r.conf)
		select {
		case <-d.Exited:
		case <-time.After(20 * time.Second):
			t.Fatal("the daemon did not exit")
		}
		checkSaysWhy(t, "stderr", d.Stderr.String())
		r.checkVictim(t)
	})
}

// TestPlantedChildLogLink: links planted at a child's log names are not
// followed; the program runs without those logs and the main log says why.
func TestPlantedChildLogLink(t *testing.T) {
	t.Parallel()
	forEachDir(t, func(t *testing.T, ad attackDir) {
		r := newAttackRun(t, ad, "", program("prog", "ticker", "50",
			"stdout_logfile={{attack}}/prog.out\nstderr_logfile={{attack}}/prog.err"))
		plantLink(t, r.path(victim), r.path(ad.name, "prog.out"))
		plantLink(t, r.path(created), r.path(ad.name, "prog.err"))
		r.start(t)
		r.waitState(t, "prog", "RUNNING")
		r.waitMainLog(t, "could not open log for prog")
		checkSaysWhy(t, "the main log", r.mainLog(t))
		r.checkVictim(t)
	})
}

// rotatingPrograms write a 100-byte line every 20 ms to logs of 2 KB:
// one with its log named in the attack directory, one with an AUTO log
// there (childlogdir).
const rotatingPrograms = `[program:named]
command={{helper}} 20
environment={{env}}=ticker
stdout_logfile={{attack}}/named.log
stdout_logfile_maxbytes=2KB
stdout_logfile_backups=2
startsecs=0
stopwaitsecs=2

[program:auto]
command={{helper}} 20
environment={{env}}=ticker
stdout_logfile_maxbytes=2KB
stdout_logfile_backups=2
startsecs=0
stopwaitsecs=2

`

// waitRotations waits until log has been rotated n more times (its .1
// backup replaced n times).
func waitRotations(t *testing.T, log string, n int) {
	t.Helper()
	ino := func() uint64 {
		st, err := os.Stat(log + ".1")
		if err != nil {
			return 0
		}
		return st.Sys().(*syscall.Stat_t).Ino
	}
	last := ino()
	for seen := 0; seen < n; {
		testenv.Eventually(t, 20*time.Second, func() error {
			if now := ino(); now != 0 && now != last {
				last = now
				return nil
			}
			return fmt.Errorf("%s was not rotated", log)
		})
		seen++
	}
}

// autoLog is the AUTO stdout log of program auto in dir.
func autoLog(t *testing.T, dir string) string {
	t.Helper()
	var path string
	testenv.Eventually(t, 20*time.Second, func() error {
		m, _ := filepath.Glob(filepath.Join(dir, "auto-stdout---hostile-*.log"))
		if len(m) != 1 {
			return fmt.Errorf("AUTO logs in %s: %v", dir, m)
		}
		path = m[0]
		return nil
	})
	return path
}

// TestPlantedRotationTempName: the attacker plants the name rotation used
// to create the new log under (<log>.rotating), as a link to root's file
// and as a file of their own, for a named log, an AUTO log and the main
// log. Rotation must write nothing through the link, and the live logs
// must stay root's.
func TestPlantedRotationTempName(t *testing.T) {
	t.Parallel()
	forEachDir(t, func(t *testing.T, ad attackDir) {
		for _, plant := range []string{"link", "file"} {
			t.Run(plant, func(t *testing.T) {
				t.Parallel()
				r := newAttackRun(t, ad, "childlogdir={{attack}}\nlogfile={{attack}}/main.log\nlogfile_maxbytes=2KB\nlogfile_backups=2\nloglevel=debug", rotatingPrograms)
				r.start(t)
				logs := []string{r.path(ad.name, "named.log"), autoLog(t, r.path(ad.name)), r.path(ad.name, "main.log")}
				for _, log := range logs {
					waitFile(t, log, 20*time.Second)
					if plant == "link" {
						plantLink(t, r.path(victim), log+".rotating")
					} else {
						asNobody(t, "sh", "-c", `: > "$0" && chmod 666 "$0"`, log+".rotating")
					}
				}
				// After each rotation, the live log and its first backup
				// are root's (a planted file renamed into place would be
				// rotated away by the next rotation).
				for range 3 {
					for _, log := range logs {
						waitRotations(t, log, 1)
						checkRootOwned(t, log)
						checkRootOwned(t, log+".1")
					}
				}
				r.checkVictim(t)
			})
		}
	})
}

// TestPlantedLinkAfterLogVanished: a log file removed from under the daemon
// (by the directory's owner, or by a /tmp cleaner) and replaced by the
// attacker's link is not recreated through the link; the main log says
// why.
func TestPlantedLinkAfterLogVanished(t *testing.T) {
	t.Parallel()
	forEachDir(t, func(t *testing.T, ad attackDir) {
		r := newAttackRun(t, ad, "", program("prog", "ticker", "20", "stdout_logfile={{attack}}/prog.log"))
		r.start(t)
		log := r.path(ad.name, "prog.log")
		waitFile(t, log, 20*time.Second)
		if ad.nobodyOwns {
			asNobody(t, "rm", log)
		} else if err := os.Remove(log); err != nil { // /tmp's cleaner
			t.Fatal(err)
		}
		plantLink(t, r.path(victim), log)
		r.waitMainLog(t, "prog log error: ")
		checkSaysWhy(t, "the main log", r.mainLog(t))
		r.checkVictim(t)
	})
}

// TestPlantedLinkBeforeReopen: logrotate moves the logs away, the attacker
// takes the free names with links, then SIGUSR2 asks the daemon to reopen:
// neither the main log nor the child log is reopened through a link.
func TestPlantedLinkBeforeReopen(t *testing.T) {
	t.Parallel()
	forEachDir(t, func(t *testing.T, ad attackDir) {
		r := newAttackRun(t, ad, "logfile={{attack}}/main.log", program("prog", "ticker", "20", "stdout_logfile={{attack}}/prog.log"))
		r.start(t)
		logs := []string{r.path(ad.name, "main.log"), r.path(ad.name, "prog.log")}
		for _, log := range logs {
			waitFile(t, log, 20*time.Second)
			if err := os.Rename(log, log+".moved"); err != nil {
				t.Fatal(err)
			}
			plantLink(t, r.path(victim), log)
		}
		if err := r.daemon.Cmd.Process.Signal(syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		// The main log cannot be reopened: its lines reach only the
		// foreground daemon's stdout.
		for _, want := range []string{"could not reopen the main log: ", "could not reopen " + logs[1] + ": "} {
			testenv.Eventually(t, 20*time.Second, func() error {
				if out := r.daemon.Stdout.String(); !strings.Contains(out, want) {
					return fmt.Errorf("no %q on stdout yet:\n%s", want, out)
				}
				return nil
			})
		}
		checkSaysWhy(t, "stdout", r.daemon.Stdout.String())
		r.checkVictim(t)
	})
}

// TestPlantedLinkDuringClear: while clearProcessLogs and clearLog run in a
// loop, the attacker keeps trying to take the log names with links (the
// reference, and we before, removed the file and then opened the name
// again). No clear may go through a link, and the logs stay root's.
func TestPlantedLinkDuringClear(t *testing.T) {
	t.Parallel()
	forEachDir(t, func(t *testing.T, ad attackDir) {
		r := newAttackRun(t, ad, "logfile={{attack}}/main.log", program("prog", "ticker", "20", "stdout_logfile={{attack}}/prog.log"))
		r.start(t)
		logs := []string{r.path(ad.name, "main.log"), r.path(ad.name, "prog.log")}
		for _, log := range logs {
			waitFile(t, log, 20*time.Second)
		}
		loop := startAttacker(t, r.dir, "plant", r.path(victim), logs[0], logs[1])
		for range 200 {
			var ok bool
			if err := r.call("supervisor.clearProcessLogs", "prog", &ok); err != nil {
				t.Errorf("clearProcessLogs: %v", err)
				break
			}
			if err := r.call("supervisor.clearLog", nil, &ok); err != nil {
				t.Errorf("clearLog: %v", err)
				break
			}
		}
		_ = loop.Process.Kill()
		r.checkVictim(t)
		for _, log := range logs {
			checkRootOwned(t, log)
		}
	})
}
