package webui

import (
	"net/http"
	"strings"
	"testing"

	"gosupervisor/internal/protocol"
)

// TestStatusPageResources: each running process shows its tree's CPU
// and memory beside it; a stopped one shows none.
func TestStatusPageResources(t *testing.T) {
	h := newTestHandler(threeProcs(t))
	_, body := do(t, h, http.MethodGet, "/", nil)
	for _, want := range []string{
		`<th class="cpu">CPU</th><th class="mem">Memory</th>`,
		`<td class="cpu" title="3 process(es), CPU time 2.00s">12.5%</td>`,
		`<td class="mem" title="3 process(es), CPU time 2.00s">48.0 MB</td>`,
		`<td class="cpu" title=""></td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
}

// TestExitsPage: a process's crash records, newest first, with status or
// signal, reason, uptime and the output lines (escaped).
func TestExitsPage(t *testing.T) {
	b := newFakeBackend(t, fakeProc{group: "crashy", name: "crashy", state: protocol.StateBackoff, log: "x\n"})
	h := newTestHandler(b)
	resp, body := do(t, h, http.MethodGet, "/exits.html?processname=crashy", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	oom := strings.Index(body, "pid 4242 &middot; terminated by SIGKILL &middot; <b class=\"reason\">oom-kill</b>")
	plain := strings.Index(body, "pid 4100 &middot; exit status 3</h2>")
	if oom < 0 || plain < 0 || oom > plain {
		t.Errorf("records missing or not newest first (%d, %d):\n%s", oom, plain, body)
	}
	for _, want := range []string{"up 1m30s; unexpected exit", "<pre class=\"log\">allocating &lt;more&gt;</pre>", "<pre class=\"log\">MemoryError?</pre>"} {
		if !strings.Contains(body, want) {
			t.Errorf("exits page lacks %q", want)
		}
	}
	_, body = do(t, h, http.MethodGet, "/exits.html?processname=nosuch", nil)
	if !strings.Contains(body, "No such process") {
		t.Errorf("unknown process: %s", body)
	}
	if resp, _ := do(t, h, http.MethodPost, "/exits.html?processname=crashy", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}
