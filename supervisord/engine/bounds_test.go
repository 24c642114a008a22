package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
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
	// The writer counts what the pipe took once its write(2) returns,
	// which may be after the child has read it all.
	testenv.Eventually(t, 10*time.Second, func() error {
		sw.mu.Lock()
		defer sw.mu.Unlock()
		if sw.pending != 0 {
			return fmt.Errorf("pending %d after the child read everything", sw.pending)
		}
		return nil
	})
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
	var wg sync.WaitGroup
	sw = newStdinWriter(w, nil, &wg)
	t.Cleanup(func() {
		sw.close()
		wg.Wait()
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

// TestStdinWriterStartsAtFirstWrite: a stdin writer has no goroutine
// until something is written (most programs are never sent anything);
// closing or detaching one that never started neither hangs nor loses
// bytes, and a handover's pending bytes start it at once.
func TestStdinWriterStartsAtFirstWrite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		pending string // a handover's unwritten bytes
		send    string // written through send, "" for none
		end     string // "close" or "detach"
		want    string // what the child reads before its stdin ends
		started bool
	}{
		{name: "closed unused", end: "close"},
		{name: "detached unused", end: "detach"},
		{name: "first write starts it", send: "hello\n", end: "close", want: "hello\n", started: true},
		{name: "first write then detach", send: "hello\n", end: "detach", want: "hello\n", started: true},
		{name: "handover pending", pending: "left over\n", end: "close", want: "left over\n", started: true},
		{name: "handover pending then more", pending: "left ", send: "over\n", end: "close", want: "left over\n", started: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var wg sync.WaitGroup
			sw := newStdinWriter(w, []byte(tc.pending), &wg)
			if tc.send != "" {
				if err := sw.send([]byte(tc.send)); err != nil {
					t.Fatal(err)
				}
			}
			sw.mu.Lock()
			started := sw.started
			sw.mu.Unlock()
			if started != tc.started {
				t.Errorf("goroutine started = %v, want %v", started, tc.started)
			}
			if tc.want != "" {
				got := make([]byte, len(tc.want))
				if _, err := io.ReadFull(r, got); err != nil {
					t.Fatal(err)
				}
				if string(got) != tc.want {
					t.Errorf("child read %q, want %q", got, tc.want)
				}
			}
			switch tc.end {
			case "close":
				sw.close()
			case "detach":
				if rest := sw.detach(); len(rest) != 0 {
					t.Errorf("detach returned %q, want nothing (all was read)", rest)
				}
			}
			wg.Wait() // returns at once when no goroutine ever started
			if err := sw.send([]byte("late")); !errors.Is(err, syscall.EPIPE) {
				t.Errorf("send after %s: %v, want EPIPE", tc.end, err)
			}
			// The pipe's write end is closed: the child sees EOF.
			if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Errorf("child's read after %s: %d, %v; want EOF", tc.end, n, err)
			}
		})
	}
}
