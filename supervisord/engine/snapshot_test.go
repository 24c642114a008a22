package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"gosupervisor/config"
)

// loopInfos reads every process on the loop goroutine, sorted as
// Processes sorts: what a snapshot must show.
func loopInfos(t *testing.T, e *Engine) []ProcessStatus {
	t.Helper()
	var out []ProcessStatus
	if err := e.call(func(time.Time) {
		for _, g := range e.order {
			for _, p := range g.procs {
				out = append(out, p.status())
			}
		}
	}); err != nil {
		t.Fatalf("loop read: %v", err)
	}
	slices.SortStableFunc(out, func(a, b ProcessStatus) int {
		if a.Group != b.Group {
			if a.Group < b.Group {
				return -1
			}
			return 1
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// TestSnapshotShowsEveryOutcomeAtOnce checks that a read right after any
// call returns (no synctest.Wait, no sleep) shows what the loop holds:
// snapshots are published before a request is answered.
func TestSnapshotShowsEveryOutcomeAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		manual := func(c *config.Process) { c.Autostart = false }
		cfg := testConfig(t,
			testProgram(t, "b", 1, []string{"run"}),
			testProgram(t, "a", 2, []string{"ignore-term"}, manual, func(c *config.Process) { c.StartSecs = 2 }),
			testProgram(t, "c", 3, []string{"exit", "3", "0.1"}, manual, func(c *config.Process) { c.StartRetries = 0 }),
		)
		e, fos, _, stop := runFake(t, cfg)
		ctx := context.Background()
		steps := []struct {
			name      string
			do        func() error
			wantState map[string]string
		}{
			{"autostart", func() error { return nil }, map[string]string{"a": "STOPPED", "b": "STARTING", "c": "STOPPED"}},
			{"start and wait", func() error { return e.StartProcess(ctx, "a", true) }, map[string]string{"a": "RUNNING", "b": "RUNNING"}},
			{"start without wait", func() error { return e.StartProcess(ctx, "c", false) }, map[string]string{"c": "STARTING"}},
			{"exit seen by the loop", func() error { time.Sleep(200 * time.Millisecond); synctest.Wait(); return nil }, map[string]string{"c": "FATAL"}},
			{"stop without wait", func() error { return e.StopProcess(ctx, "a", false) }, map[string]string{"a": "STOPPING"}},
			{"kill ends it", func() error { fos.exit(fos.startLog()[1].pid, 15); synctest.Wait(); return nil }, map[string]string{"a": "STOPPED"}},
			{"remove group", func() error { return e.RemoveProcessGroup("a") }, nil},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			got, err := e.Processes()
			want := loopInfos(t, e)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("%s: Processes\n got %+v, %v\nwant %+v", s.name, got, err, want)
			}
			for _, info := range want {
				one, err := e.Process(info.Group + ":" + info.Name)
				if err != nil || one != info {
					t.Errorf("%s: Process(%s) = %+v, %v; want %+v", s.name, info.Name, one, err, info)
				}
				if w, ok := s.wantState[info.Name]; ok && info.State.String() != w {
					t.Errorf("%s: %s is %s, want %s", s.name, info.Name, info.State.String(), w)
				}
			}
		}
		if e.HasGroup("a") || !e.HasGroup("b") {
			t.Errorf("HasGroup(a, b) = %v, %v; want false, true", e.HasGroup("a"), e.HasGroup("b"))
		}
		for _, name := range []string{"a", "b:a", "b:", "b:*", "nosuch"} {
			if _, err := e.Process(name); !errors.Is(err, ErrNoSuchName) {
				t.Errorf("Process(%q) = %v, want ErrNoSuchName", name, err)
			}
		}
		stop()
		if _, err := e.Process("b"); !errors.Is(err, ErrShutdown) {
			t.Errorf("ProcessInfo after Run = %v, want SHUTDOWN_STATE", err)
		}
		if got, err := e.Processes(); len(got) != 0 || !errors.Is(err, ErrShutdown) {
			t.Errorf("Processes after Run = %#v, %v; want none, ErrShutdown", got, err)
		}
	})
}

// TestSnapshotPublishedBeforeReplies plays the loop itself, so nothing
// publishes behind its back: the reply of a request, and that of a
// waiter, must each come after their outcome is published.
func TestSnapshotPublishedBeforeReplies(t *testing.T) {
	// The child ignores SIGTERM: the fake OS would otherwise exit it on a
	// goroutine of its own, which races the stop's reap (1 run in 20).
	cfg := testConfig(t, testProgram(t, "a", 1, []string{"ignore-term"}, func(c *config.Process) { c.Autostart = false }))
	fos := newFakeOS()
	e, err := New(Options{Config: cfg, Log: &recLog{}, OS: fos})
	if err != nil {
		t.Fatal(err)
	}
	defer e.closeGroups()
	e.os = fos // what Run would do
	ctx := context.Background()
	now := time.Now()
	serve := func(op func() error) error { // runs one request as the loop would, minus its step
		errc := make(chan error, 1)
		go func() { errc <- op() }()
		(<-e.reqc)(now)
		return <-errc
	}
	state := func() string { // the published snapshot, read as ProcessInfo reads it once Run serves
		s := e.pub.cur.Load()
		i, ok := s.index["a"]["a"]
		if !ok {
			t.Fatal("a is not in the snapshot")
		}
		return s.procs[i].State.String()
	}
	if got := state(); got != "STOPPED" {
		t.Fatalf("after New: %s, want STOPPED", got)
	}
	if err := serve(func() error { return e.StartProcess(ctx, "a", false) }); err != nil {
		t.Fatal(err)
	}
	if got := state(); got != "STARTING" {
		t.Fatalf("after start: %s, want STARTING", got)
	}
	errc := make(chan error, 1)
	go func() { errc <- e.StopProcess(ctx, "a", true) }()
	(<-e.reqc)(now) // signals it and registers the waiter
	if got := state(); got != "STOPPING" {
		t.Fatalf("after stop: %s, want STOPPING", got)
	}
	fos.exit(fos.startLog()[0].pid, 15)
	e.reap(now)
	e.pollWaiters(now)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := state(); got != "STOPPED" {
		t.Fatalf("after the stop was answered: %s, want STOPPED", got)
	}
}

// TestLoopTimerCountsFromTheStepsEnd: with reads served from snapshots no
// request wakes the loop during a start, so its timer alone must bring
// the RUNNING transitions on time even when spawning took a while. Each
// child's startsecs counts from its own spawn, not from the step's start
// (the fifth child here starts 0.5 s into the step).
func TestLoopTimerCountsFromTheStepsEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		names := []string{"a", "b", "c", "d", "e"}
		var groups []*config.Group
		for _, name := range names {
			groups = append(groups, testProgram(t, name, 1, []string{"run"}, func(c *config.Process) { c.StartSecs = 1 }))
		}
		fos := newFakeOS()
		fos.spawnDelay = 100 * time.Millisecond // the start step takes 0.5 s
		e, err := New(Options{Config: testConfig(t, groups...), Log: &recLog{}, OS: fos})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		exited := make(chan struct{})
		go func() {
			defer close(exited)
			if _, err := e.Run(context.Background()); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		// Child i (0-based) started at (i+1)*100ms and is RUNNING only once
		// it has been up for more than startsecs.
		for i, name := range names {
			time.Sleep(start.Add(time.Duration(i+1)*100*time.Millisecond + time.Second + 50*time.Millisecond).Sub(time.Now()))
			synctest.Wait()
			infos, _ := e.Processes()
			for j, info := range infos {
				want := "STARTING"
				if j <= i {
					want = "RUNNING"
				}
				if info.State.String() != want {
					t.Errorf("after %s reached startsecs: %s is %s at %v, want %s", name, info.Name, info.State.String(), time.Since(start), want)
				}
			}
		}
		_ = e.Shutdown()
		<-exited
	})
}

// TestSnapshotUpdateRebuildsEveryChangedEntry: a publish that copies the
// entries that still match rebuilds each one that changed, the first and
// any after it, and leaves the others as they were. The engine does not
// run: the test owns its state and publishes itself.
func TestSnapshotUpdateRebuildsEveryChangedEntry(t *testing.T) {
	t.Parallel()
	var groups []*config.Group
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		groups = append(groups, testProgram(t, name, i+1, []string{"run"}))
	}
	e, err := New(Options{Config: testConfig(t, groups...), Log: &recLog{}, OS: newFakeOS()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.closeGroups()
	for _, change := range [][]string{{"b"}, {"a", "e"}, {"b", "c", "d"}, {"e"}, {}} {
		for _, name := range change {
			e.groups[name].procs[0].spawnErr = fmt.Sprint("changed with ", change)
		}
		if changed := e.publish(); changed != (len(change) > 0) {
			t.Errorf("after changing %v: publish reported a change: %v", change, changed)
		}
		for i, p := range e.pub.procs {
			if got, want := e.pub.cur.Load().procs[i], p.status(); got.Name != want.Name || got.SpawnErr != want.SpawnErr {
				t.Errorf("after changing %v: entry %d is %s %q, want %s %q", change, i, got.Name, got.SpawnErr, want.Name, want.SpawnErr)
			}
		}
	}
}
