package engine

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"gosupervisor/internal/protocol"
)

// TestStdinQueueBounded: a child that never reads its stdin gets at most
// maxStdinQueue bytes queued; one write of any size is taken when the
// queue is empty; the queue takes writes again once the child reads.
func TestStdinQueueBounded(t *testing.T) {
	t.Parallel()
	sw, r := newTestStdin(t)
	big := bytes.Repeat([]byte("x"), maxStdinQueue+1)
	if err := sw.send(big); err != nil {
		t.Fatalf("one oversized write into an empty queue: %v", err)
	}
	var full *errStdinFull
	if err := sw.send([]byte("y")); !errors.As(err, &full) {
		t.Fatalf("a write past the bound: got %v, want errStdinFull", err)
	}
	if want := "stdin queue full ("; !strings.HasPrefix(full.Error(), want) {
		t.Errorf("error %q, want it to start with %q", full.Error(), want)
	}
	// The child reads everything: the queue takes writes again.
	buf := make([]byte, len(big))
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	sw.mu.Lock()
	pending := sw.pending
	sw.mu.Unlock()
	if pending != 0 {
		t.Errorf("pending %d after the child read everything", pending)
	}
	if err := sw.send([]byte("y")); err != nil {
		t.Errorf("a write after the child caught up: %v", err)
	}
}

// newTestStdin is a stdin writer on a real pipe, stopped at cleanup; r is
// the child's end.
func newTestStdin(t *testing.T) (sw *stdinWriter, r *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	sw = newStdinWriter(w, nil)
	go sw.run()
	t.Cleanup(func() {
		sw.close()
		<-sw.exited
		r.Close()
	})
	return sw, r
}

// listenerInEngine is an engine (not running) with the pool "lis" of one
// listener process, RUNNING with a real stdin pipe (r is the child's end)
// and a fresh protocol instance.
func listenerInEngine(t *testing.T, log *recLog) (e *Engine, lp *listenerPool, p *process, r *os.File) {
	t.Helper()
	cfg := testConfig(t, testPool(t, "lis", []string{"REMOTE_COMMUNICATION"}, 10, "run"))
	e, err := New(Options{Config: cfg, Log: log, OS: newFakeOS()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.closeGroups)
	lp = e.ev.pools[0]
	p = lp.g.procs[0]
	sw, r := newTestStdin(t)
	p.state, p.pid, p.io = protocol.StateRunning, 4242, &instanceIO{stdin: sw}
	e.listenerStarting(p)
	return e, lp, p, r
}

// TestPumpQueueBounded: a pump waits while the loop has not taken
// maxPumpQueueBytes of queued output, and goes on once it has; close
// releases a waiting pump and drops its message.
func TestPumpQueueBounded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := newPumpQueue()
		full := pumpMsg{kind: msgListenerOutput, data: make([]byte, maxPumpQueueBytes)}
		small := pumpMsg{kind: msgListenerOutput, data: []byte("x")}
		q.push(full)
		var pushed atomic.Bool
		go func() { q.push(small); pushed.Store(true) }()
		synctest.Wait()
		if pushed.Load() {
			t.Fatal("a push past the bound did not wait for the loop")
		}
		if got := q.take(); len(got) != 1 {
			t.Fatalf("took %d messages, want the one queued", len(got))
		}
		synctest.Wait()
		if !pushed.Load() {
			t.Fatal("the waiting push did not go on once the loop took the queue")
		}
		if got := q.take(); len(got) != 1 || string(got[0].data) != "x" {
			t.Fatalf("took %v, want the small message", got)
		}

		q.push(full)
		pushed.Store(false)
		go func() { q.push(small); pushed.Store(true) }()
		synctest.Wait()
		q.close()
		synctest.Wait()
		if !pushed.Load() {
			t.Fatal("close did not release the waiting push")
		}
		if got := q.take(); len(got) != 0 {
			t.Fatalf("after close the queue holds %d messages", len(got))
		}
	})
}

// TestEventsListenerBounds: a listener that does not read its stdin gets
// no event past the stdin bound (one warning, not one per attempt), and a
// result line without its newline ends the protocol once it is too long.
func TestEventsListenerBounds(t *testing.T) {
	t.Parallel()
	log := &recLog{debug: true}
	e, lp, p, _ := listenerInEngine(t, log)
	inst := lp.current[p]

	if err := p.io.stdin.send(make([]byte, maxStdinQueue)); err != nil { // nobody reads the pipe
		t.Fatal(err)
	}
	e.sendRemoteComm("t", "x")
	e.listenerOutput(inst, []byte("READY\n"))
	e.dispatchEvents()
	e.dispatchEvents()
	if lp.pool.Len() != 1 || inst.busy {
		t.Fatalf("an event went to a listener whose stdin is full (pool %d, busy %v)", lp.pool.Len(), inst.busy)
	}
	warnings := 0
	for _, l := range log.snapshot() {
		if strings.Contains(l, "WARN listener lis: stdin queue full (") && strings.HasSuffix(l, "event 0 is not sent to it") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("%d stdin-full warnings for two dispatch attempts, want 1:\n%s", warnings, strings.Join(log.snapshot(), "\n"))
	}

	// Dispatch by hand (the queue is full) and answer with an endless
	// result line.
	inst.proto.Dispatched()
	e.listenerOutput(inst, []byte("RESULT "+strings.Repeat("9", 5000)))
	if st := inst.proto.State().String(); st != "UNKNOWN" {
		t.Errorf("after a %d-byte result line without newline the listener is %s, want UNKNOWN", 5007, st)
	}
	wantLinesInOrder(t, log,
		"WARN lis: bad result line: no newline in its first 4096 bytes (it starts with b'RESULT 999",
		"WARN lis: has entered the UNKNOWN state")
}
