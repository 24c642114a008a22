package hostile

import (
	"cmp"
	"strings"
	"testing"
	"time"
)

// TestSendProcessStdinBounded queues 40 MiB for a program that never
// reads its stdin. The daemon must refuse the calls once its stdin queue
// is full (fault FAILED naming the program) instead of growing: its RSS
// may not grow by more than 24 MiB (before the bound it grew by 65 MB).
func TestSendProcessStdinBounded(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	r := newRun(t, "", program("deaf", "deaf", "", ""))
	r.start(t)
	r.waitState(t, "deaf", "RUNNING")
	before := r.daemonMemory(t)
	chunk := strings.Repeat("x", 1<<20)
	var refused error
	sent := 0
	for range 40 {
		var ok bool
		if err := r.call("supervisor.sendProcessStdin", []any{"deaf", chunk}, &ok); err != nil {
			refused = cmp.Or(refused, err)
		} else {
			sent++
		}
	}
	after := r.daemonMemory(t)
	t.Logf("accepted %d MiB; daemon RSS %d → %d KiB (peak %d KiB)", sent, before.rss>>10, after.rss>>10, after.hwm>>10)
	if code, text, ok := fault(refused); !ok || code != 30 || !strings.HasPrefix(text, "FAILED: deaf: stdin queue full") || sent != 4 {
		t.Errorf("40 MiB for a program that never reads its stdin: want 4 MiB taken, then fault 30 'FAILED: deaf: stdin queue full…'; %d MiB were taken, first error %v", sent, refused)
	}
	if grew := after.hwm - before.rss; grew > 24<<20 {
		t.Errorf("daemon peak RSS grew by %d MiB, want at most 24 MiB", grew>>20)
	}
	// The program is still there and the daemon still answers.
	r.waitState(t, "deaf", "RUNNING")
}

// TestListenerResultStreamBounded has an event listener announce a
// result of 999,999,999,999 bytes and stream 64 MiB of it. The daemon must
// not buffer what it only needs to count: its peak RSS may not grow by
// more than 24 MiB (before, it grew by 200 MB). The listener stays BUSY,
// as under the reference, which also waits for the whole result.
func TestListenerResultStreamBounded(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	r := newRun(t, "", `[eventlistener:greedy]
command={{helper}} 67108864 {{here}}/greedy.done
environment={{env}}=greedy
events=REMOTE_COMMUNICATION
stdout_logfile=NONE
stderr_logfile={{here}}/greedy.err
startsecs=0
stopwaitsecs=2

`)
	r.start(t)
	r.waitState(t, "greedy", "RUNNING")
	before := r.daemonMemory(t)
	var ok bool
	if err := r.call("supervisor.sendRemoteCommEvent", []any{"test", "go"}, &ok); err != nil {
		t.Fatal(err)
	}
	waitFile(t, r.path("greedy.done"), 60*time.Second)
	// The listener has written everything; the daemon has read all but
	// what its pipe holds.
	after := r.daemonMemory(t)
	t.Logf("daemon RSS %d → %d KiB (peak %d KiB) for a 64 MiB result stream", before.rss>>10, after.rss>>10, after.hwm>>10)
	if grew := after.hwm - before.rss; grew > 24<<20 {
		t.Errorf("daemon peak RSS grew by %d MiB, want at most 24 MiB", grew>>20)
	}
	r.waitState(t, "greedy", "RUNNING")
}
