package hostile

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
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

// TestMulticallResponseBounded sends one system.multicall of 300
// readProcessStdoutLog calls on a 1 MiB log: 300 MiB of answer, which the
// reference builds in memory. The daemon must stop at its 32 MiB bound
// (the calls past it answered with a fault, one result per call) and its
// peak RSS may not grow by more than 192 MiB (it grows by about 120 MiB:
// the results, their encoding and the garbage collector's slack; without
// the bound it grows by more than 600 MiB).
func TestMulticallResponseBounded(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	const logSize, reads = 1 << 20, 300
	r := newRun(t, "", program("spew", "spew", fmt.Sprint(logSize), "stdout_logfile={{here}}/spew.log"))
	r.start(t)
	testenv.Eventually(t, 20*time.Second, func() error {
		if st, err := os.Stat(r.path("spew.log")); err != nil || st.Size() != logSize {
			return fmt.Errorf("spew.log not yet %d bytes: %v", logSize, err)
		}
		return nil
	})
	before := r.daemonMemory(t)
	var calls strings.Builder
	for range reads {
		calls.WriteString("<value><struct><member><name>methodName</name><value><string>supervisor.readProcessStdoutLog</string></value></member>" +
			"<member><name>params</name><value><array><data><value><string>spew</string></value><value><int>0</int></value><value><int>0</int></value></data></array></value></member></struct></value>")
	}
	body := "<?xml version='1.0'?><methodCall><methodName>system.multicall</methodName><params><param><value><array><data>" +
		calls.String() + "</data></array></value></param></params></methodCall>"
	resp, err := testenv.UnixClient(r.sock).Post("http://localhost/RPC2", "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	after := r.daemonMemory(t)
	t.Logf("multicall answer %d bytes; daemon RSS %d → %d KiB (peak %d KiB)", len(answer), before.rss>>10, after.rss>>10, after.hwm>>10)
	logs := bytes.Count(answer, []byte("<value><string>"+strings.Repeat("x", 99)+"\n"))
	faults := bytes.Count(answer, []byte("<string>FAILED: response too large: the results of one system.multicall are limited to 32 MiB; this call was not run</string>"))
	if resp.StatusCode != 200 || len(answer) > 33<<20 || logs < 30 || logs+faults != reads {
		t.Errorf("HTTP %d, %d bytes, %d logs and %d limit faults: want at most 32 MiB (30 logs or more), one result per call, the calls past the bound refused", resp.StatusCode, len(answer), logs, faults)
	}
	if grew := after.hwm - before.rss; grew > 192<<20 {
		t.Errorf("daemon peak RSS grew by %d MiB, want at most 192 MiB", grew>>20)
	}
	r.waitState(t, "spew", "RUNNING")
}
