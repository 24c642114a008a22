package containers

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// dependencyPrograms are web -> api -> db with priorities that contradict
// the edges (a plain priority order would start web first and stop db
// first); api takes 1 s to stop, db 3 s to count as started, api 2 s (so
// that its "api start" line is written before web spawns: RUNNING after
// startsecs=0 would only mean spawned).
const dependencyPrograms = `[program:web]
command={{helper}} web {{here}}/events
environment={{env}}=life
priority=1
depends_on=api
startsecs=0
stopwaitsecs=5

[program:api]
command={{helper}} api {{here}}/events 1
environment={{env}}=life
priority=2
depends_on=db
startsecs=2
stopwaitsecs=5

[program:db]
command={{helper}} db {{here}}/events
environment={{env}}=life
priority=3
startsecs=3
stopwaitsecs=5
`

func TestDependsOnOrders(t *testing.T) {
	r := newRun(t, ours, "", dependencyPrograms)
	events := r.path("events")
	r.start(t)
	// While db starts, api and web wait in STOPPED.
	if p := r.info(t, "api"); p.StateName != "STOPPED" || p.Description != "waiting for db (running)" {
		t.Errorf("api while db starts: %s %q", p.StateName, p.Description)
	}
	if p := r.info(t, "web"); p.StateName != "STOPPED" || p.Description != "waiting for api (running)" {
		t.Errorf("web while db starts: %s %q", p.StateName, p.Description)
	}
	if got := waitLines(t, events, 3, 30*time.Second); !slices.Equal(got, []string{"db_start", "api_start", "web_start"}) {
		t.Fatalf("start order %v", got)
	}
	r.waitState(t, "web", "RUNNING", 10*time.Second)
	if !strings.Contains(r.mainLog(), "web depends on api but has a lower priority (1 < 2): web waits for api") {
		t.Errorf("no priority warning in the main log:\n%s", r.mainLog())
	}

	// stop db stops its dependents first, and holds them.
	out, code := r.ctl(t, "stop", "db")
	if code != 0 || out != "db: stopped\n" {
		t.Errorf("stop db: %q (exit %d)", out, code)
	}
	if got := lines(t, events)[3:]; !slices.Equal(got, []string{"web_stop", "api_stop", "db_stop"}) {
		t.Fatalf("stop order %v", got)
	}
	for name, desc := range map[string]string{"api": "waiting for db (running)", "web": "waiting for api (running)"} {
		if p := r.info(t, name); p.StateName != "STOPPED" || p.Description != desc {
			t.Errorf("%s after stop db: %s %q", name, p.StateName, p.Description)
		}
	}
	// start db brings them back.
	if out, code := r.ctl(t, "start", "db"); code != 0 || out != "db: started\n" {
		t.Errorf("start db: %q (exit %d)", out, code)
	}
	if got := waitLines(t, events, 9, 30*time.Second)[6:]; !slices.Equal(got, []string{"db_start", "api_start", "web_start"}) {
		t.Fatalf("restart order %v", got)
	}
	r.waitState(t, "web", "RUNNING", 10*time.Second)
	// The stock restart (stop, then start) restarts the dependents too.
	if out, code := r.ctl(t, "restart", "db"); code != 0 || out != "db: stopped\ndb: started\n" {
		t.Errorf("restart db: %q (exit %d)", out, code)
	}
	want := []string{"web_stop", "api_stop", "db_stop", "db_start", "api_start", "web_start"}
	if got := waitLines(t, events, 15, 30*time.Second)[9:]; !slices.Equal(got, want) {
		t.Fatalf("restart db: %v, want %v", got, want)
	}
	r.waitState(t, "web", "RUNNING", 10*time.Second)
	// A shutdown never signals a process before its dependents stopped.
	if err := r.daemon.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.waitExit(t, 30*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM", code)
	}
	if got := lines(t, events)[15:]; !slices.Equal(got, []string{"web_stop", "api_stop", "db_stop"}) {
		t.Fatalf("shutdown order %v", got)
	}
}

func TestDependsOnConfigErrors(t *testing.T) {
	cycle := program("a", "life", "a {{here}}/events", "depends_on=b") + program("b", "life", "b {{here}}/events", "depends_on=a")
	for _, tt := range []struct {
		name, programs, want string
	}{
		{"cycle", cycle, "Error: depends_on cycle: a -> b -> a\n"},
		{"self", program("a", "life", "a x", "depends_on=a"), "Error: depends_on cycle: a -> a\n"},
		{"unknown", program("a", "life", "a x", "depends_on=nosuch"), "Error: depends_on: no program or group named 'nosuch' in section 'program:a' (file: '{{here}}/supervisord.conf')\n"},
		{"healthy without check", program("a", "life", "a x", "depends_on=b=healthy") + program("b", "life", "b x", ""), "Error: depends_on: 'b' has no health check (condition healthy) in section 'program:a' (file: '{{here}}/supervisord.conf')\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun(t, ours, "", tt.programs)
			r.daemon = startDaemon(t, r)
			if code := r.waitExit(t, 30*time.Second); code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if got, want := r.daemon.Stderr.String(), r.expand(tt.want); !strings.HasPrefix(got, want) {
				t.Errorf("stderr %q, want it to begin with %q", got, want)
			}
		})
	}

	// A running daemon keeps its config: reread answers CANT_REREAD,
	// SIGHUP logs the error and every process runs on.
	r := newRun(t, ours, "", program("a", "life", "a {{here}}/events", "depends_on=b")+program("b", "life", "b {{here}}/events", ""))
	r.start(t)
	before := r.waitState(t, "a", "RUNNING", 20*time.Second)
	r.writeConfig(t, "", cycle)
	out, code := r.ctl(t, "reread")
	if code == 0 || !strings.Contains(out, "CANT_REREAD: depends_on cycle: a -> b -> a") {
		t.Errorf("reread: %q (exit %d)", out, code)
	}
	if err := r.daemon.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, r, "could not reload the configuration, keeping the previous one: depends_on cycle: a -> b -> a")
	if after := r.info(t, "a"); after.StateName != "RUNNING" || after.PID != before.PID {
		t.Errorf("after SIGHUP: a %s pid %d, was pid %d", after.StateName, after.PID, before.PID)
	}
}

// startDaemon starts the run's daemon without waiting for it to answer.
func startDaemon(t *testing.T, r *run) *testenv.Daemon {
	t.Helper()
	d := testenv.Start(t, r.dir, r.impl.bin(t), "-n", "-c", r.conf)
	t.Cleanup(func() { testenv.KillHelpers(r.dir) })
	return d
}

// waitLog waits until the main log contains s.
func waitLog(t *testing.T, r *run, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.mainLog(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("main log lacks %q:\n%s", s, r.mainLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOneShotInitChain(t *testing.T) {
	programs := program("init1", "oneshot", "init1 {{here}}/events 0", "") +
		program("init2", "oneshot", "init2 {{here}}/events 0", "depends_on=init1=exited") +
		program("app", "life", "app {{here}}/events", "depends_on=init2=exited, db\npriority=1") +
		program("db", "life", "db {{here}}/events", "startsecs=3")
	r := newRun(t, ours, "", programs)
	r.start(t)
	r.waitState(t, "app", "RUNNING", 30*time.Second)
	// RUNNING (startsecs=0) is only spawned: app's line may come later.
	// db's comes within its startsecs (3 s), before app may spawn.
	got := waitLines(t, r.path("events"), 4, 30*time.Second)
	pos := func(s string) int { return slices.Index(got, s) }
	if len(got) != 4 || pos("init1_start") > pos("init2_start") || pos("init2_start") > pos("app_start") || pos("db_start") > pos("app_start") {
		t.Errorf("events %v: init1, then init2, then app (after db)", got)
	}
	for _, n := range []string{"init1", "init2"} {
		if p := r.info(t, n); p.StateName != "EXITED" {
			t.Errorf("%s: %s", n, p.StateName)
		}
	}
}

func TestDependencyFailure(t *testing.T) {
	// db exits 300 ms after its start, a -race helper's start-up on a
	// loaded machine included: startsecs=30 keeps each exit a failed
	// start, so it ends FATAL (with startsecs=2 a slow start was RUNNING,
	// then EXITED, and the dependency never failed).
	programs := program("api", "life", "api {{here}}/events", "depends_on=db") +
		strings.Replace(program("db", "exit", "1", "startretries=1"), "startsecs=0", "startsecs=30", 1)
	r := newRun(t, ours, "", programs)
	r.start(t)
	r.waitState(t, "db", "FATAL", 30*time.Second)
	testenv.Eventually(t, 20*time.Second, func() error {
		p := r.info(t, "api")
		if p.StateName != "STOPPED" || p.Description != "dependency failed: db entered FATAL" || p.SpawnErr != p.Description {
			return fmt.Errorf("api: %s %q spawnerr %q", p.StateName, p.Description, p.SpawnErr)
		}
		return nil
	})
	// An explicit start pulls db in again, and fails again.
	out, code := r.ctl(t, "start", "api")
	if code == 0 || out != "api: ERROR (spawn error)\n" {
		t.Errorf("start api: %q (exit %d)", out, code)
	}
	if got := lines(t, r.path("events")); len(got) != 0 {
		t.Errorf("api ran: %v", got)
	}
}
