package engine

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"gosupervisor/config"
	"gosupervisor/supervisord/events"
)

// testPool is an [eventlistener:name] pool of one process running the
// fake child with args.
func testPool(t *testing.T, name string, subscribe []string, bufferSize int, args ...string) *config.Group {
	t.Helper()
	g := testProgram(t, name, -1, args)
	g.Kind = config.KindEventListener
	g.Events = subscribe
	g.BufferSize = bufferSize
	g.ResultHandler = defaultResultHandler
	return g
}

// takeBuffered empties a pool's buffer, rendering each event as
// "serial/poolserial NAME payload".
func takeBuffered(t *testing.T, e *Engine, pool string) []string {
	t.Helper()
	var out []string
	if err := e.call(func(time.Time) {
		for _, lp := range e.ev.pools {
			for lp.name() == pool && lp.pool.Len() > 0 {
				en, _ := lp.pool.Pop()
				out = append(out, entryString(en))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func entryString(en events.Entry) string {
	return fmt.Sprintf("%d/%d %s %s", en.Event.Serial(), en.PoolSerial, en.Event.Type, en.Event.Payload)
}

func TestEventsBornInTheLoop(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// The fake children never speak the protocol (their stdout is
		// closed at once), so every event stays in the pool's buffer.
		cfg := testConfig(t,
			testPool(t, "lis", []string{"PROCESS_STATE", "PROCESS_GROUP", "SUPERVISOR_STATE_CHANGE", "TICK_5"}, 20, "run"),
			testProgram(t, "p", 999, []string{"exit", "0", "2"}, func(c *config.Process) { c.Autorestart = config.AutorestartFalse }))
		e, _, _, stop := runFake(t, cfg)
		start := time.Now().Unix() // the bubble's clock starts on a 5 s boundary
		time.Sleep(5500 * time.Millisecond)
		got := takeBuffered(t, e, "lis")
		stop()
		got = append(got, drainPool(e, "lis")...)
		want := []string{
			"0/0 PROCESS_GROUP_ADDED groupname:lis\n",
			"1/1 PROCESS_GROUP_ADDED groupname:p\n",
			"2/2 SUPERVISOR_STATE_CHANGE_RUNNING ",
			"3/3 PROCESS_STATE_STARTING processname:lis groupname:lis from_state:STOPPED tries:0",
			"4/4 PROCESS_STATE_STARTING processname:p groupname:p from_state:STOPPED tries:0",
			"5/5 PROCESS_STATE_RUNNING processname:lis groupname:lis from_state:STARTING pid:1001",
			"6/6 PROCESS_STATE_RUNNING processname:p groupname:p from_state:STARTING pid:1002",
			"7/7 PROCESS_STATE_EXITED processname:p groupname:p from_state:RUNNING expected:1 pid:1002",
			fmt.Sprintf("8/8 TICK_5 when:%d", start+5),
			"9/9 SUPERVISOR_STATE_CHANGE_STOPPING ",
			"10/10 PROCESS_STATE_STOPPING processname:lis groupname:lis from_state:RUNNING pid:1001",
			"11/11 PROCESS_STATE_STOPPED processname:lis groupname:lis from_state:STOPPING pid:1001",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("buffered events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// drainPool empties a pool's buffer while no loop runs (before Run, or
// once it has returned).
func drainPool(e *Engine, pool string) []string {
	var out []string
	for _, lp := range e.ev.pools {
		for lp.name() == pool && lp.pool.Len() > 0 {
			en, _ := lp.pool.Pop()
			out = append(out, entryString(en))
		}
	}
	return out
}

func TestEventsTickTimerOnlyWhileSubscribed(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000_002, 0)
	tests := []struct {
		name      string
		subscribe []string
		want      int64 // 0 = no tick deadline
		wantTicks int   // events accepted when every period rolls over
	}{
		{"no pool", nil, 0, 0},
		{"no tick subscription", []string{"PROCESS_STATE"}, 0, 0},
		{"TICK_5", []string{"TICK_5"}, 1_000_005, 1},
		{"TICK_60", []string{"TICK_60"}, 1_000_020, 1},
		{"TICK_3600", []string{"TICK_3600"}, 1_000_800, 1},
		{"TICK_60 and TICK_3600", []string{"TICK_3600", "TICK_60"}, 1_000_020, 2},
		{"abstract TICK", []string{"TICK"}, 1_000_005, 3},
		{"EVENT", []string{"EVENT"}, 1_000_005, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var groups []*config.Group
			if tt.subscribe != nil {
				groups = append(groups, testPool(t, "lis", tt.subscribe, 10, "run"))
			}
			e, err := New(Options{Config: testConfig(t, groups...), Log: &recLog{}, OS: newFakeOS()})
			if err != nil {
				t.Fatal(err)
			}
			defer e.closeGroups()
			e.supervisorRunning(now)
			at, ok := e.tickDeadline()
			if ok != (tt.want != 0) || (ok && at.Unix() != tt.want) {
				t.Fatalf("tickDeadline = %v, %v; want %d", at.Unix(), ok, tt.want)
			}
			// Rolling over emits one tick per period, once.
			e.tick(now.Add(2 * time.Hour))
			e.tick(now.Add(2*time.Hour + time.Second))
			var ticks []string
			for _, lp := range e.ev.pools {
				for _, ev := range drainPool(e, lp.name()) {
					if strings.Contains(ev, " TICK_") {
						ticks = append(ticks, ev)
					}
				}
			}
			if len(ticks) != tt.wantTicks {
				t.Fatalf("ticks accepted: %q, want %d", ticks, tt.wantTicks)
			}
		})
	}
}

func TestEventsOverflowAndResultHandler(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		g := testPool(t, "lis", []string{"PROCESS_GROUP", "SUPERVISOR_STATE_CHANGE"}, 2, "run")
		g.ResultHandler = "superlance.crashmail:handler"
		cfg := testConfig(t, g, testProgram(t, "a", 1, []string{"run"}), testProgram(t, "b", 2, []string{"run"}))
		e, _, log, stop := runFake(t, cfg)
		got := takeBuffered(t, e, "lis")
		stop()
		// ADDED lis, a, b and RUNNING: the two oldest are dropped.
		want := []string{"2/2 PROCESS_GROUP_ADDED groupname:b\n", "3/3 SUPERVISOR_STATE_CHANGE_RUNNING "}
		if !slices.Equal(got, want) {
			t.Fatalf("buffered %q, want %q", got, want)
		}
		wantLinesInOrder(t, log,
			"WARN pool lis: result_handler superlance.crashmail:handler is not supported",
			"ERRO pool lis event buffer overflowed, discarding event 0",
			"ERRO pool lis event buffer overflowed, discarding event 1")
	})
}

// The listener protocol as the loop runs it, with a real stdin pipe in
// place of a child.
func TestEventsListenerProtocolInTheEngine(t *testing.T) {
	t.Parallel()
	log := &recLog{debug: true}
	e, lp, p, r := listenerInEngine(t, log)
	inst := lp.current[p]

	wantEnvelope := "ver:3.0 server:supervisor serial:0 pool:lis poolserial:0 eventname:REMOTE_COMMUNICATION len:8\ntype:t\nx"
	readEnvelope := func(t *testing.T) string {
		t.Helper()
		buf := make([]byte, len(wantEnvelope))
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
		return string(buf)
	}

	e.sendRemoteComm("t", "x")
	e.dispatchEvents()
	if lp.pool.Len() != 1 {
		t.Fatal("dispatched to a listener that has not said READY")
	}
	e.listenerOutput(inst, []byte("READY\n"))
	e.dispatchEvents()
	if got := readEnvelope(t); got != wantEnvelope {
		t.Fatalf("envelope %q, want %q", got, wantEnvelope)
	}
	e.listenerOutput(inst, []byte("RESULT 4\nFAIL"))
	if got := drainPool(e, "lis"); len(got) != 1 || got[0] != "0/0 REMOTE_COMMUNICATION type:t\nx" {
		t.Fatalf("after FAIL the pool holds %q", got)
	}
	// A second event (drainPool took the first): delivered, then the
	// listener dies before answering.
	e.sendRemoteComm("t", "x")
	e.listenerOutput(inst, []byte("READY\n"))
	e.dispatchEvents()
	buf := make([]byte, 4096)
	n, _ := r.Read(buf)
	if !strings.Contains(string(buf[:n]), "serial:1 pool:lis poolserial:1") {
		t.Fatalf("second envelope %q", buf[:n])
	}
	e.listenerClosed(inst)
	if got := drainPool(e, "lis"); len(got) != 1 || !strings.HasPrefix(got[0], "1/1 ") {
		t.Fatalf("after the listener died the pool holds %q", got)
	}
	// A new instance starts ACKNOWLEDGED; protocol garbage makes it UNKNOWN.
	e.listenerStarting(p)
	e.listenerOutput(lp.current[p], []byte("HELLO!"))
	wantLinesInOrder(t, log,
		"DEBG lis: ACKNOWLEDGED -> READY",
		"DEBG event 0 sent to listener lis",
		"WARN lis: event was rejected",
		"DEBG lis: BUSY -> ACKNOWLEDGED",
		"DEBG rebuffering event 0 for pool lis (buf size=0, max=10)",
		"DEBG lis: ACKNOWLEDGED -> READY",
		"DEBG event 1 sent to listener lis",
		"DEBG rebuffering event 1 for pool lis (buf size=0, max=10)",
		"DEBG lis: ACKNOWLEDGED -> UNKNOWN",
		"WARN lis: has entered the UNKNOWN state and will no longer receive events")
}

// Two events waiting when the one listener says READY: the first goes
// out, and the second is put back with the reference's "rebuffering"
// line (its dispatch takes each event out of the buffer and puts back
// the one no listener can take). A pool with no READY listener is not
// tried at all, so a BUSY listener adds no line.
func TestEventsRebufferedWhileListenerBusy(t *testing.T) {
	t.Parallel()
	log := &recLog{debug: true}
	e, lp, p, _ := listenerInEngine(t, log)

	e.sendRemoteComm("t", "one")
	e.sendRemoteComm("t", "two")
	e.sendRemoteComm("t", "three")
	e.dispatchEvents() // not READY yet: nothing tried
	e.listenerOutput(lp.current[p], []byte("READY\n"))
	e.dispatchEvents()
	e.dispatchEvents() // BUSY: nothing tried
	if lp.pool.Len() != 2 {
		t.Fatalf("pool holds %d events, want 2", lp.pool.Len())
	}
	if n := strings.Count(strings.Join(log.snapshot(), "\n"), "rebuffering"); n != 1 {
		t.Errorf("%d rebuffering lines, want 1: %q", n, log.snapshot())
	}
	wantLinesInOrder(t, log,
		"DEBG lis: ACKNOWLEDGED -> READY",
		"DEBG event 0 sent to listener lis",
		"DEBG rebuffering event 1 for pool lis (buf size=1, max=10)")
}
