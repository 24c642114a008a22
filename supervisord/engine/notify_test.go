package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/sdnotify"
	"gosupervisor/supervisord/health"
	"gosupervisor/supervisord/notify"
)

// fakeNotifier hands out sockets that exist only as records: the test
// delivers notifications itself (real sockets block on I/O, which a
// synctest bubble cannot wait through).
type fakeNotifier struct {
	mu     sync.Mutex
	socks  []*fakeSocket
	closed bool
}

type fakeSocket struct {
	n       *fakeNotifier
	addr    string
	opts    notify.Options
	mu      sync.Mutex
	mainPID int
	ping    time.Time
	closed  bool
}

func (f *fakeNotifier) Listen(o notify.Options) (NotifySocket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &fakeSocket{n: f, addr: fmt.Sprintf("@fake/%d", len(f.socks)+1), opts: o}
	f.socks = append(f.socks, s)
	return s, nil
}

func (f *fakeNotifier) Adopt(notify.Options, int, string) (NotifySocket, error) {
	return nil, errors.New("fake notifier: no handover")
}

func (f *fakeNotifier) State() (string, bool, uint64) { return "", false, 0 }

func (f *fakeNotifier) Resume(string, bool, uint64) {}

func (f *fakeNotifier) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// last is the socket of the latest spawn.
func (f *fakeNotifier) last(t *testing.T) *fakeSocket {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.socks) == 0 {
		t.Fatal("no notification socket was made")
	}
	return f.socks[len(f.socks)-1]
}

func (s *fakeSocket) Addr() string { return s.addr }

func (s *fakeSocket) SetMainPID(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mainPID = pid
}

func (s *fakeSocket) LastPing() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ping
}

func (s *fakeSocket) Drain() []notify.Delivery { return nil }

func (s *fakeSocket) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

func (s *fakeSocket) Dup() (int, error) { return -1, errors.New("fake socket: no descriptor") }

func (s *fakeSocket) Leave() { s.Close() }

// send delivers a datagram from pid (uid 0) as the socket's goroutine
// would: a bare keep-alive from the main pid is taken by the socket.
func (s *fakeSocket) send(t *testing.T, msg string, pid int) {
	t.Helper()
	m, err := sdnotify.Parse([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	main := s.mainPID
	s.mu.Unlock()
	if m == (sdnotify.Message{Watchdog: true}) && pid == main {
		s.mu.Lock()
		s.ping = time.Now()
		s.mu.Unlock()
		return
	}
	s.opts.Out <- notify.Delivery{Token: s.opts.Token, Msg: m, PID: pid, UID: 0}
	synctest.Wait()
}

// runNotify runs cfg with a fake notifier and a fake check runner.
func runNotify(t *testing.T, cfg *config.Config) (*Engine, *fakeOS, *recLog, *fakeNotifier, *fakeRunner, func() Exit) {
	t.Helper()
	fn := &fakeNotifier{}
	fr := &fakeRunner{}
	e, fos, log, stop := runFakeWith(t, cfg, func(o *Options) {
		o.Notifier = fn
		o.Checks = func(out chan<- health.Report) HealthRunner { fr.out = out; return fr }
	})
	return e, fos, log, fn, fr, stop
}

func notifyProgram(t *testing.T, name string, args []string, mods ...func(*config.Process)) *config.Group {
	return testProgram(t, name, 1, args, append([]func(*config.Process){func(c *config.Process) {
		c.Notify = config.Notify{Ready: true, Access: config.NotifyMain, ReadyTimeoutSecs: 90, WatchdogSignal: syscall.SIGABRT}
	}}, mods...)...)
}

func fullDescription(info ProcessStatus) string {
	return info.Extras.Decorate(info.State, describe(info))
}

func wantState(t *testing.T, e *Engine, name, state, desc string) ProcessStatus {
	t.Helper()
	info, err := e.Process(name)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.String() != state || (desc != "" && fullDescription(info) != desc) {
		t.Fatalf("%s: %s %q, want %s %q", name, info.State, fullDescription(info), state, desc)
	}
	return info
}

func TestNotifyReadyEndsStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t, notifyProgram(t, "web", []string{"run"}))
		e, fos, log, fn, _, stop := runNotify(t, cfg)
		spec := fos.startLog()[0].spec
		if !slices.Contains(spec.Env, "NOTIFY_SOCKET=@fake/1") {
			t.Fatalf("env lacks NOTIFY_SOCKET: %v", spec.Env)
		}
		for _, kv := range spec.Env {
			if strings.HasPrefix(kv, "WATCHDOG_") {
				t.Errorf("env has %s without a watchdog", kv)
			}
		}
		// startsecs passes: still STARTING.
		time.Sleep(5 * time.Second)
		synctest.Wait()
		wantState(t, e, "web", "STARTING", "waiting for READY=1")
		s := fn.last(t)
		s.send(t, "STATUS=loading", 1001)
		wantState(t, e, "web", "STARTING", "waiting for READY=1: loading")
		// From another pid, under notify_access=main: refused, once logged.
		s.send(t, "READY=1", 4242)
		s.send(t, "READY=1", 4242)
		wantState(t, e, "web", "STARTING", "")
		if n := strings.Count(strings.Join(log.snapshot(), "\n"), "refused a notification from pid 4242"); n != 1 {
			t.Fatalf("%d refusal lines, want 1", n)
		}
		s.send(t, "READY=1\nSTATUS=serving", 1001)
		if info := wantState(t, e, "web", "RUNNING", "pid 1001, uptime 0:00:05: serving"); !info.Extras.Ready {
			t.Fatal("the snapshot does not say ready after READY=1")
		}
		wantLinesInOrder(t, log, "INFO spawned: 'web' with pid 1001", "INFO success: web entered RUNNING state, process sent READY=1")
		h, err := e.ProcessHealth("web")
		if err != nil || !h.Ready || h.Status != "serving" || h.MainPID != 1001 {
			t.Fatalf("health %+v, %v", h, err)
		}
		// RELOADING=1 withdraws readiness until READY=1; the state stays.
		s.send(t, "RELOADING=1", 1001)
		if h, _ := e.ProcessHealth("web"); h.Ready {
			t.Fatal("ready while reloading")
		}
		if info := wantState(t, e, "web", "RUNNING", ""); info.Extras.Ready {
			t.Fatal("the snapshot says ready while reloading")
		}
		s.send(t, "READY=1", 1001)
		if h, _ := e.ProcessHealth("web"); !h.Ready {
			t.Fatal("not ready after READY=1")
		}
		if info := wantState(t, e, "web", "RUNNING", ""); !info.Extras.Ready {
			t.Fatal("the snapshot does not say ready after READY=1 again")
		}
		if got := stop(); got != ExitShutdown {
			t.Fatalf("exit %v", got)
		}
		if !s.closed || !fn.closed {
			t.Fatalf("socket closed %v, notifier closed %v", s.closed, fn.closed)
		}
	})
}

// A program that exits before READY=1 failed to start, even after
// startsecs; one that sends nothing is stopped at ready_timeout_secs and
// ends FATAL after its retries.
func TestNotifyReadyTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t,
			notifyProgram(t, "silent", []string{"ignore-term"}, func(c *config.Process) {
				c.Notify.ReadyTimeoutSecs, c.StartRetries, c.StopWaitSecs = 3, 1, 2
			}),
			notifyProgram(t, "quitter", []string{"exit", "0", "2"}, func(c *config.Process) { c.StartRetries = 0 }),
		)
		e, fos, log, fn, _, stop := runNotify(t, cfg)
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		wantState(t, e, "quitter", "FATAL", "Exited too quickly (process log may have details)")
		// silent: SIGTERM at 3 s (ignored), SIGKILL at 5 s, BACKOFF,
		// respawned at 6 s, the same again, then FATAL.
		time.Sleep(14 * time.Second)
		synctest.Wait()
		wantState(t, e, "silent", "FATAL", "no READY=1 within 3s")
		var silentKills []syscall.Signal
		for _, k := range fos.killLog() {
			silentKills = append(silentKills, k.sig)
		}
		if want := []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL, syscall.SIGTERM, syscall.SIGKILL}; !slices.Equal(silentKills, want) {
			t.Fatalf("signals %v, want %v", silentKills, want)
		}
		wantLinesInOrder(t, log, "WARN silent sent no READY=1 within 3s, sending SIGTERM",
			"WARN killing 'silent' (", "WARN exited: silent (terminated by SIGKILL; not expected)",
			"INFO gave up: silent entered FATAL state")
		if len(fn.socks) != 3 {
			t.Fatalf("%d sockets for 3 spawns", len(fn.socks))
		}
		stop()
	})
}

// EXTEND_TIMEOUT_USEC pushes the ready deadline.
func TestNotifyExtendTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t, notifyProgram(t, "slow", []string{"run"}, func(c *config.Process) { c.Notify.ReadyTimeoutSecs = 2 }))
		e, _, _, fn, _, stop := runNotify(t, cfg)
		time.Sleep(time.Second)
		fn.last(t).send(t, "EXTEND_TIMEOUT_USEC=5000000", 1001)
		time.Sleep(4 * time.Second)
		synctest.Wait()
		wantState(t, e, "slow", "STARTING", "waiting for READY=1")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if info, _ := e.Process("slow"); info.State.String() == "STARTING" && info.PID == 1001 {
			t.Fatalf("still the first instance after the extended deadline: %+v", info)
		}
		stop()
	})
}

func TestWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t, notifyProgram(t, "dog", []string{"run"}, func(c *config.Process) {
			c.Notify.WatchdogSecs, c.StopWaitSecs = 2, 3
		}))
		e, fos, log, fn, _, stop := runNotify(t, cfg)
		if spec := fos.startLog()[0].spec; !slices.Contains(spec.Env, "WATCHDOG_USEC=2000000") {
			t.Fatalf("env lacks WATCHDOG_USEC: %v", spec.Env)
		}
		s := fn.last(t)
		s.send(t, "READY=1", 1001)
		// Keep-alives every second for 5 s keep it alive...
		for range 5 {
			time.Sleep(time.Second)
			s.send(t, "WATCHDOG=1", 1001)
		}
		synctest.Wait()
		wantState(t, e, "dog", "RUNNING", "")
		if len(fos.killLog()) != 0 {
			t.Fatalf("signals %v", fos.killLog())
		}
		// ...then none: SIGABRT at the first whole second after the limit
		// and the read lag (2.25 s after the last: at 3 s), which "run"
		// ignores; SIGKILL stopwaitsecs later, EXITED unexpected,
		// restarted.
		time.Sleep(2*time.Second + notify.ReadLag)
		synctest.Wait()
		if got := fos.killLog(); len(got) != 0 {
			t.Fatalf("signals before the check: %v", got)
		}
		time.Sleep(time.Second - notify.ReadLag)
		synctest.Wait()
		wantState(t, e, "dog", "RUNNING", "")
		if got := fos.killLog(); !slices.Equal(got, []sent{{1001, syscall.SIGABRT}}) {
			t.Fatalf("signals %v", got)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		info := wantState(t, e, "dog", "STARTING", "waiting for READY=1")
		if info.PID != 1002 {
			t.Fatalf("not restarted: %+v", info)
		}
		if info.Counters.Watchdogs != 1 {
			t.Errorf("watchdog count %d, want 1", info.Counters.Watchdogs)
		}
		wantLinesInOrder(t, log, "ERRO watchdog: dog missed its keep-alive (limit 2s), sending SIGABRT",
			"WARN killing 'dog' (1001) with SIGKILL", "WARN exited: dog (terminated by SIGKILL; not expected)",
			"INFO spawned: 'dog' with pid 1002")
		if h, _ := e.ProcessHealth("dog"); h.LastExitReason != "" {
			t.Fatalf("the new instance carries the old exit reason: %+v", h)
		}
		// WATCHDOG=trigger fires at once; WATCHDOG_USEC=0 turns it off first.
		s = fn.last(t)
		s.send(t, "READY=1", 1002)
		s.send(t, "WATCHDOG_USEC=0", 1002)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		wantState(t, e, "dog", "RUNNING", "")
		s.send(t, "WATCHDOG=trigger", 1002)
		if got := fos.killLog(); got[len(got)-1] != (sent{1002, syscall.SIGABRT}) {
			t.Fatalf("signals %v", got)
		}
		if h, _ := e.ProcessHealth("dog"); h.LastExitReason != ExitWatchdog {
			t.Fatalf("exit reason %+v", h)
		}
		// A stop meanwhile is an ordinary stop: STOPPING, then STOPPED.
		if err := e.StopProcess(t.Context(), "dog", false); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		wantState(t, e, "dog", "STOPPED", "")
		stop()
	})
}

// STOPPING=1: the program ends on its own, or gets SIGKILL after
// stopwaitsecs; its state does not change until then.
func TestNotifyStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t, notifyProgram(t, "svc", []string{"ignore-term"}, func(c *config.Process) { c.StopWaitSecs = 4 }))
		e, fos, _, fn, _, stop := runNotify(t, cfg)
		s := fn.last(t)
		s.send(t, "READY=1\nSTOPPING=1", 1001) // STOPPING wins
		if h, _ := e.ProcessHealth("svc"); h.Ready {
			t.Fatal("ready after STOPPING=1")
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		wantState(t, e, "svc", "STARTING", "")
		if got := fos.killLog(); len(got) != 0 {
			t.Fatalf("signals before stopwaitsecs: %v", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := fos.killLog(); !slices.Equal(got, []sent{{1001, syscall.SIGKILL}}) {
			t.Fatalf("signals after stopwaitsecs: %v", got)
		}
		wantState(t, e, "svc", "BACKOFF", "Exited too quickly (process log may have details)")
		stop()
	})
}

func TestStockProgramHasNoSocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify")
		t.Setenv("WATCHDOG_USEC", "1000")
		cfg := testConfig(t, testProgram(t, "plain", 1, []string{"run"}))
		e, fos, _, fn, _, stop := runNotify(t, cfg)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		info := wantState(t, e, "plain", "RUNNING", "pid 1001, uptime 0:00:02")
		if info.Extras != (protocol.Extras{}) {
			t.Fatalf("extras %+v", info.Extras)
		}
		if len(fn.socks) != 0 {
			t.Fatal("a socket for a stock program")
		}
		// A stock program's environment is the daemon's, as before (the
		// daemon removes its own NOTIFY_SOCKET at start-up).
		if !slices.Contains(fos.startLog()[0].spec.Env, "NOTIFY_SOCKET=/run/systemd/notify") {
			t.Fatal("the environment of a stock program changed")
		}
		stop()
	})
}

// fakeRunner records network checks; the test answers them.
type fakeRunner struct {
	mu     sync.Mutex
	out    chan<- health.Report
	starts []any
	closed bool
}

func (r *fakeRunner) Start(token any, _ config.HealthCheck) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts = append(r.starts, token)
}

func (r *fakeRunner) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
}

func (r *fakeRunner) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.starts)
}

// answer reports the result of the latest check.
func (r *fakeRunner) answer(t *testing.T, res health.Result) {
	t.Helper()
	r.mu.Lock()
	if len(r.starts) == 0 {
		r.mu.Unlock()
		t.Fatal("no check started")
	}
	tok := r.starts[len(r.starts)-1]
	r.mu.Unlock()
	r.out <- health.Report{Token: tok, Result: res}
	synctest.Wait()
}

func TestHealthCheckRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t, testProgram(t, "api", 1, []string{"run"}, func(c *config.Process) {
			c.Health = config.HealthCheck{Kind: config.HealthHTTP, URL: "http://127.0.0.1:1/", IntervalSecs: 2, TimeoutSecs: 1, Retries: 2}
		}))
		e, fos, log, _, fr, stop := runNotify(t, cfg)
		time.Sleep(time.Second + time.Millisecond) // startsecs
		synctest.Wait()
		wantState(t, e, "api", "RUNNING", "pid 1001, uptime 0:00:01 [starting]")
		if fr.count() != 0 {
			t.Fatal("a check before the first interval")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if fr.count() != 1 {
			t.Fatalf("%d checks after one interval", fr.count())
		}
		// One in flight at a time: no new check while it runs.
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if fr.count() != 1 {
			t.Fatalf("%d checks while one is in flight", fr.count())
		}
		fr.answer(t, health.Result{OK: true, Reason: "HTTP 200"})
		wantState(t, e, "api", "RUNNING", "pid 1001, uptime 0:00:08 [healthy]")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		fr.answer(t, health.Result{Reason: "HTTP 503"})
		wantState(t, e, "api", "RUNNING", "pid 1001, uptime 0:00:10 [healthy]")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		fr.answer(t, health.Result{Reason: "HTTP 503"})
		// Unhealthy: stopsignal now, the state stays RUNNING until the
		// exit, which counts as unexpected: restarted.
		synctest.Wait()
		info := wantState(t, e, "api", "STARTING", "")
		if info.PID != 1002 {
			t.Fatalf("not restarted: %+v", info)
		}
		if info.Counters.HealthFailures != 2 {
			t.Errorf("failed checks counted %d, want 2", info.Counters.HealthFailures)
		}
		if got := fos.killLog(); !slices.Equal(got, []sent{{1001, syscall.SIGTERM}}) {
			t.Fatalf("signals %v", got)
		}
		wantLinesInOrder(t, log, "INFO health: api is healthy (HTTP 200)",
			"ERRO health: api is unhealthy (HTTP 503, 2/2), sending SIGTERM",
			"WARN exited: api (terminated by SIGTERM; not expected)", "INFO spawned: 'api' with pid 1002")
		if h, _ := e.ProcessHealth("api"); h.LastExitReason != "" || h.State != health.Starting {
			t.Fatalf("new instance's health %+v", h)
		}
		stop()
		if !fr.closed {
			t.Fatal("runner not closed")
		}
	})
}

func TestHealthCheckReportOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t, testProgram(t, "db", 1, []string{"run"}, func(c *config.Process) {
			c.Health = config.HealthCheck{Kind: config.HealthTCP, Address: "127.0.0.1:1", IntervalSecs: 1, TimeoutSecs: 1, Retries: 1, Action: config.HealthReport}
		}))
		e, fos, _, _, fr, stop := runNotify(t, cfg)
		time.Sleep(2*time.Second + time.Millisecond)
		synctest.Wait()
		fr.answer(t, health.Result{Reason: "connection refused"})
		wantState(t, e, "db", "RUNNING", "pid 1001, uptime 0:00:02 [unhealthy: connection refused (1/1)]")
		if len(fos.killLog()) != 0 {
			t.Fatal("action=none signalled the program")
		}
		// A check answered after the program stopped counts for nothing.
		time.Sleep(time.Second)
		synctest.Wait()
		if err := e.StopProcess(t.Context(), "db", true); err != nil {
			t.Fatal(err)
		}
		fr.answer(t, health.Result{OK: true, Reason: "connected"})
		if h, _ := e.ProcessHealth("db"); h.State != health.None || h.LastResult != "connection refused" {
			t.Fatalf("health after stop %+v", h)
		}
		stop()
	})
}

// Exec checks are children: reaped by the one reaper, their process
// group killed on timeout and after they exit.
func TestExecCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exe := testBinary(t)
		cfg := testConfig(t,
			testProgram(t, "good", 1, []string{"run"}, func(c *config.Process) {
				c.Health = config.HealthCheck{Kind: config.HealthExec, Argv: []string{exe, "exit", "0", "0.1"}, IntervalSecs: 1, TimeoutSecs: 1, Retries: 1}
			}),
			testProgram(t, "hung", 2, []string{"run"}, func(c *config.Process) {
				c.Health = config.HealthCheck{Kind: config.HealthExec, Argv: []string{exe, "ignore-term"}, IntervalSecs: 1, TimeoutSecs: 1, Retries: 1, Action: config.HealthReport}
			}),
		)
		e, fos, _, _, _, stop := runNotify(t, cfg)
		time.Sleep(2200 * time.Millisecond)
		synctest.Wait()
		wantState(t, e, "good", "RUNNING", "pid 1001, uptime 0:00:02 [healthy]")
		time.Sleep(time.Second)
		synctest.Wait()
		wantState(t, e, "hung", "RUNNING", "pid 1002, uptime 0:00:03 [unhealthy: timed out after 1s (1/1)]")
		var checkPIDs []int
		for _, s := range fos.startLog() {
			if s.name == "hung" && s.pid != 1002 {
				checkPIDs = append(checkPIDs, s.pid)
				if slices.ContainsFunc(s.spec.Env, func(kv string) bool { return strings.HasPrefix(kv, "NOTIFY_SOCKET=") }) {
					t.Errorf("a check got NOTIFY_SOCKET")
				}
			}
		}
		if len(checkPIDs) == 0 || !slices.Contains(fos.killLog(), sent{-checkPIDs[0], syscall.SIGKILL}) {
			t.Fatalf("check pids %v, signals %v", checkPIDs, fos.killLog())
		}
		stop()
		if len(e.probes) != 0 {
			t.Fatalf("checks left unreaped: %v", e.probes)
		}
	})
}

// fakeService records what the loop tells supervisord's service manager.
type fakeService struct {
	mu   sync.Mutex
	msgs []string
	at   []time.Time
	wd   time.Duration
}

func (s *fakeService) Notify(state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, state)
	s.at = append(s.at, time.Now())
	return nil
}

func (s *fakeService) Watchdog() time.Duration { return s.wd }

func (s *fakeService) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

func TestServiceManager(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		svc := &fakeService{wd: 4 * time.Second}
		cfg := testConfig(t,
			testProgram(t, "a", 1, []string{"run"}, func(c *config.Process) { c.StartSecs = 3 }),
			testProgram(t, "b", 2, []string{"exit", "1", "0.1"}, func(c *config.Process) { c.StartRetries = 0 }),
			testProgram(t, "manual", 3, []string{"run"}, func(c *config.Process) { c.Autostart = false }),
		)
		_, _, _, stop := runFakeWith(t, cfg, func(o *Options) { o.Service = svc })
		time.Sleep(5 * time.Second)
		synctest.Wait()
		got := svc.sent()
		want := []string{"WATCHDOG=1", "EXTEND_TIMEOUT_USEC=30000000", "WATCHDOG=1",
			"READY=1\nSTATUS=RUNNING 1, FATAL 1, STOPPED 1", "WATCHDOG=1"}
		if !slices.Equal(got, want) {
			t.Fatalf("sent %q, want %q", got, want)
		}
		if d := svc.at[3].Sub(start); d < 3*time.Second || d > 3*time.Second+time.Millisecond {
			t.Errorf("READY=1 after %v, want when a reached RUNNING (3 s)", d)
		}
		stop()
		got = svc.sent()[len(want):]
		if len(got) < 2 || got[0] != "STOPPING=1" || !strings.HasPrefix(got[1], "EXTEND_TIMEOUT_USEC=") {
			t.Fatalf("at shutdown sent %q", got)
		}
	})
}

// TestDependsOnHealthy: a dependent on db=healthy starts at db's first
// passing check, not at its RUNNING.
func TestDependsOnHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(t,
			testProgram(t, "db", 1, []string{"run"}, func(c *config.Process) {
				c.Health = config.HealthCheck{Kind: config.HealthTCP, Address: "127.0.0.1:1", IntervalSecs: 2, TimeoutSecs: 1, Retries: 2}
			}),
			testProgram(t, "api", 2, []string{"run"}, dependsOn("db=healthy")))
		e, fos, _, _, fr, stop := runNotify(t, cfg)
		defer stop()
		start := time.Now()
		sleepTo(start, 3*time.Second+time.Millisecond) // db RUNNING at 1 s, its first check at 3 s
		wantState(t, e, "db", "RUNNING", "")
		wantStatus(t, e, "api", "STOPPED", "waiting for db (healthy)")
		if fr.count() != 1 {
			t.Fatalf("%d checks by 3 s, want 1", fr.count())
		}
		fr.answer(t, health.Result{Reason: "connection refused"})
		wantStatus(t, e, "api", "STOPPED", "waiting for db (healthy)")
		sleepTo(start, 5*time.Second+2*time.Millisecond)
		fr.answer(t, health.Result{OK: true, Reason: "connected"})
		if got := spawnTimes(fos, start)["api"]; len(got) != 1 {
			t.Fatalf("api spawned at %v, want once, after db's passing check", got)
		}
		wantState(t, e, "api", "STARTING", "")
	})
}
