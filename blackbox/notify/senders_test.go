package notify

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// readyProgram is a notify=true program whose startsecs could never make
// it RUNNING within the test: only READY=1 can.
func readyProgram(name, command, extra string) string {
	return fmt.Sprintf("[program:%s]\ncommand=%s\nnotify=true\nstartsecs=600\nautorestart=false\n%s\n", name, command, extra)
}

// TestSenders has each kind of sender report readiness: Python's
// standard library (connect once, then send; and a sendto per message),
// libsystemd's sd_notify through ctypes, and systemd-notify, which
// waits on a BARRIER=1 descriptor, as root and as nobody. RUNNING comes
// only with an accepted READY=1; STATUS= shows in the stock
// supervisorctl's status.
func TestSenders(t *testing.T) {
	t.Parallel()
	d := newDaemon(t, "", readyProgram("py_connect", "{{python}} {{sender}} connect sleep:0.3 'READY=1|STATUS=via connect'", "")+
		readyProgram("py_sendto", "{{python}} {{sender}} sendto STATUS=starting sleep:0.3 'READY=1|STATUS=via sendto'", "")+
		readyProgram("libsd", "{{python}} {{sender}} libsystemd 'READY=1|STATUS=via libsystemd'", "")+
		readyProgram("cli_root", "{{python}} {{sender}} cli {{open}}/root.rc --ready '--status=via systemd-notify'", "")+
		readyProgram("cli_nobody_main", "{{python}} {{sender}} cli {{open}}/main.rc --ready --status=refused", "user=nobody")+
		readyProgram("cli_nobody_all", "{{python}} {{sender}} cli {{open}}/all.rc --ready '--status=as nobody'", "user=nobody\nnotify_access=all")+
		readyProgram("silent", "{{python}} {{sender}} connect", "startsecs=1"))
	d.start()

	for name, status := range map[string]string{
		"py_connect": "via connect", "py_sendto": "via sendto", "libsd": "via libsystemd",
		"cli_root": "via systemd-notify", "cli_nobody_all": "as nobody",
	} {
		i := d.wait(name, 30*time.Second, "RUNNING with its status", func(i info) bool {
			return i.State == "RUNNING" && strings.HasSuffix(i.Description, ": "+status)
		})
		if !regexp.MustCompile(`^pid \d+, uptime \d+:\d\d:\d\d: `).MatchString(i.Description) {
			t.Errorf("%s: description %q lost the reference's prefix", name, i.Description)
		}
		d.waitLog("success: "+name+" entered RUNNING state, process sent READY=1", 1, 10*time.Second)
	}
	// systemd-notify's barrier completed within its 5 s for all three,
	// including the one whose READY=1 was refused.
	for _, rc := range []string{"root.rc", "main.rc", "all.rc"} {
		var code int
		var secs float64
		testenv.Eventually(t, 30*time.Second, func() error {
			b, err := os.ReadFile(filepath.Join(d.open, rc))
			if err != nil {
				return err
			}
			_, err = fmt.Sscanf(string(b), "%d %f", &code, &secs)
			return err
		})
		if code != 0 || secs >= 5 {
			t.Errorf("systemd-notify for %s: exit %d after %.3fs, want 0 well within its 5 s barrier timeout", rc, code, secs)
		}
		t.Logf("systemd-notify for %s: exit %d after %.3fs", rc, code, secs)
	}
	// As nobody under notify_access=main, systemd-notify sends as itself,
	// not as the main pid: refused, the program stays STARTING.
	d.waitLog("notify: cli_nobody_main: refused a notification from pid", 1, 10*time.Second)
	if i := d.info("cli_nobody_main"); i.State != "STARTING" || i.Description != "waiting for READY=1" {
		t.Errorf("cli_nobody_main: %+v, want STARTING", i)
	}
	// Past startsecs=1 without READY=1: still STARTING.
	time.Sleep(1500 * time.Millisecond) // let startsecs pass; nothing to poll for
	if i := d.info("silent"); i.State != "STARTING" {
		t.Errorf("silent: %+v, want STARTING", i)
	}

	// The stock supervisorctl shows the status after the reference's
	// prefix (it prints descriptions as they come).
	out := d.ctl(testenv.PythonSupervisorctl, "status")
	for _, want := range []string{
		`(?m)^py_connect\s+RUNNING\s+pid \d+, uptime \d+:\d\d:\d\d: via connect$`,
		`(?m)^libsd\s+RUNNING\s+pid \d+, uptime \d+:\d\d:\d\d: via libsystemd$`,
		`(?m)^silent\s+STARTING\s+waiting for READY=1$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("stock supervisorctl status lacks %s:\n%s", want, out)
		}
	}
	ours := d.ctl(filepath.Join(testenv.Binaries(t), "supervisorctl"), "status", "py_sendto", "silent")
	if !regexp.MustCompile(`(?m)^py_sendto\s+RUNNING\s+pid \d+, uptime \d+:\d\d:\d\d: via sendto$`).MatchString(ours) ||
		!regexp.MustCompile(`(?m)^silent\s+STARTING\s+waiting for READY=1$`).MatchString(ours) {
		t.Errorf("our supervisorctl status:\n%s", ours)
	}
	h := d.health("py_connect")
	if !h.Ready || h.Status != "via connect" || h.MainPID == 0 || h.Health != "none" {
		t.Errorf("getProcessHealth(py_connect) = %+v", h)
	}
	if h := d.health("silent"); h.Ready {
		t.Errorf("getProcessHealth(silent) = %+v, want not ready", h)
	}
}

// TestReadyTimeout: no READY=1 within ready_timeout_secs is a failed
// start: stopped, BACKOFF, retried, FATAL with the reason.
func TestReadyTimeout(t *testing.T) {
	t.Parallel()
	d := newDaemon(t, "", readyProgram("mute", "{{python}} {{sender}} connect", "ready_timeout_secs=1\nstartretries=1\nstopwaitsecs=2"))
	d.start()
	i := d.waitState("mute", "FATAL", "", 60*time.Second)
	if i.SpawnErr != "no READY=1 within 1s" || i.Description != "no READY=1 within 1s" {
		t.Errorf("FATAL with %+v", i)
	}
	log := d.mainLog()
	for _, want := range []string{
		"WARN mute sent no READY=1 within 1s, sending SIGTERM",
		"WARN exited: mute (terminated by SIGTERM; not expected)",
		"INFO gave up: mute entered FATAL state, too many start retries too quickly",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("main log lacks %q:\n%s", want, log)
		}
	}
	if n := strings.Count(log, "sent no READY=1 within 1s"); n != 2 {
		t.Errorf("%d ready timeouts, want 2 (startretries=1)", n)
	}
}

// TestBadDatagrams: a datagram too long, one with a NUL byte and an empty
// one are dropped with one warning; READY=1 after them counts.
func TestBadDatagrams(t *testing.T) {
	t.Parallel()
	d := newDaemon(t, "", readyProgram("noisy", "{{python}} {{sender}} sendto raw-long raw-nul raw-long READY=1", ""))
	d.start()
	d.waitState("noisy", "RUNNING", "", 30*time.Second)
	log := d.mainLog()
	if n := strings.Count(log, "notify: noisy: dropped a notification"); n != 1 {
		t.Errorf("%d warnings about dropped notifications, want 1:\n%s", n, log)
	}
	if !strings.Contains(log, "notify: noisy: dropped a notification longer than 4096 bytes") {
		t.Errorf("main log:\n%s", log)
	}
}

// TestAbstractSocket: a notify_dir too long for sun_path gives programs
// an abstract socket, which every sender understands.
func TestAbstractSocket(t *testing.T) {
	t.Parallel()
	long := filepath.Join(t.TempDir(), strings.Repeat("n", 100))
	d := newDaemon(t, "notify_dir="+long,
		readyProgram("abs", "{{python}} {{sender}} libsystemd env:{{dir}}/env READY=1", "watchdog_secs=30"))
	d.start()
	d.waitState("abs", "RUNNING", "", 30*time.Second)
	b, err := os.ReadFile(filepath.Join(d.dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	env := string(b)
	if !regexp.MustCompile(`(?m)^NOTIFY_SOCKET=@gosupervisor/\d+/abs\.abs/\d+$`).MatchString(env) ||
		!strings.Contains(env, "WATCHDOG_USEC=30000000\n") || !strings.Contains(env, "WATCHDOG_PID=<unset>\n") {
		t.Errorf("the program's environment:\n%s", env)
	}
}

// TestDescriptorsStable: 1,000 spawns of a program that reports READY=1
// and exits leave the daemon with the descriptors it had, no zombie and
// no socket file behind.
func TestDescriptorsStable(t *testing.T) {
	t.Parallel()
	notifyDir := filepath.Join(t.TempDir(), "n")
	d := newDaemon(t, "notify_dir="+notifyDir, `[program:flash]
command=`+readyExit(t)+`
process_name=flash_%(process_num)d
numprocs=4
notify=true
autostart=false
autorestart=true
startretries=1000
stdout_logfile=NONE
stderr_logfile=NONE
`)
	d.start()
	// The daemon's descriptors once they hold still (it writes its
	// pidfile after its socket answers).
	var before map[string]string
	testenv.Eventually(t, 10*time.Second, func() error {
		prev := d.openFDs()
		time.Sleep(200 * time.Millisecond) // two samples apart; nothing to poll for
		if before = d.openFDs(); !maps.Equal(prev, before) {
			return fmt.Errorf("descriptors still changing: %v then %v", prev, before)
		}
		return nil
	})
	if err := d.call("supervisor.startProcessGroup", []any{"flash", false}, nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 8*time.Minute, func() error {
		if n := strings.Count(d.mainLog(), "spawned: 'flash_"); n < 1000 {
			return fmt.Errorf("%d spawns so far", n)
		}
		return nil
	})
	// One stopProcessGroup may leave a process running: one that had
	// just exited (EXITED) is not stopped and autorestart spawns it again
	// right after, as the reference does. Stop until all are STOPPED.
	testenv.Eventually(t, 30*time.Second, func() error {
		var results []any
		if err := d.call("supervisor.stopProcessGroup", []any{"flash", true}, &results); err != nil {
			return err
		}
		var all []info
		if err := d.call("supervisor.getAllProcessInfo", nil, &all); err != nil {
			return err
		}
		for _, i := range all {
			if i.State != "STOPPED" {
				return fmt.Errorf("%s is %s", i.Name, i.State)
			}
		}
		return nil
	})
	spawns := strings.Count(d.mainLog(), "spawned: 'flash_")
	ready := strings.Count(d.mainLog(), "process sent READY=1")
	testenv.Eventually(t, 30*time.Second, func() error {
		if after := d.openFDs(); !maps.Equal(after, before) {
			return fmt.Errorf("descriptors after %d spawns:\n%v\nbefore:\n%v", spawns, after, before)
		}
		if z := d.zombies(); len(z) > 0 {
			return fmt.Errorf("zombies %v", z)
		}
		ents, _ := os.ReadDir(notifyDir)
		if len(ents) != 0 {
			return fmt.Errorf("%d socket files left in notify_dir", len(ents))
		}
		return nil
	})
	t.Logf("%d spawns (%d READY=1 accepted): daemon descriptors %d before and after", spawns, ready, len(before))
	if ready < spawns*9/10 {
		t.Errorf("only %d of %d spawns were RUNNING by READY=1", ready, spawns)
	}
}

// TestWatchdogPID: WATCHDOG_PID is set, to the program's own pid, only
// when the exec shim starts the program anyway (here for rlimit_nofile);
// otherwise it stays unset (TestAbstractSocket).
func TestWatchdogPID(t *testing.T) {
	t.Parallel()
	d := newDaemon(t, "", readyProgram("shimmed", "{{python}} {{sender}} sendto env:{{dir}}/env READY=1", "watchdog_secs=30\nrlimit_nofile=4096"))
	d.start()
	i := d.waitState("shimmed", "RUNNING", "", 30*time.Second)
	b, err := os.ReadFile(filepath.Join(d.dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("WATCHDOG_USEC=30000000\nWATCHDOG_PID=%d\n", i.PID); !strings.Contains(string(b), want) {
		t.Errorf("the program's environment:\n%s\nwant %q", b, want)
	}
}
