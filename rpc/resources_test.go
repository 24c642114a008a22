package rpc

import (
	"fmt"
	"testing"

	"gosupervisor/internal/protocol"
)

// TestResourceMethods: gosupervisor.getProcessResources,
// getAllProcessResources and getProcessExits answer their structs (sizes
// in KiB, so 3 GiB fits XML-RPC's 32-bit int), fault as the supervisor.*
// methods do on bad names, and show up in system.listMethods.
func TestResourceMethods(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	c := &rpcClient{t: t, url: newTestServer(t, b, HandlerOptions{}).URL}

	got, err := c.call("gosupervisor.getProcessResources", "cat")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name": "cat", "group": "cat", "pid": got.(map[string]any)["pid"], "state": int64(protocol.StateRunning), "statename": "RUNNING",
		"processes": int64(2), "cpu_seconds": 1.5, "cpu_total_seconds": 4.0, "cpu_percent": 25.0,
		"rss_kb": int64(3 << 20), "rss_limit_kb": int64(4 << 20), "cgroup_memory_kb": int64(64 << 10), "sampled": int64(fakeStart + 100),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("getProcessResources(cat) =\n%#v\nwant\n%#v", got, want)
	}
	all, err := c.call("gosupervisor.getAllProcessResources")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all.([]any)); n != len(b.procs) {
		t.Errorf("getAllProcessResources: %d entries, want %d", n, len(b.procs))
	}
	exits, err := c.call("gosupervisor.getProcessExits", "cat")
	if err != nil {
		t.Fatal(err)
	}
	wantExit := []any{map[string]any{
		"time": int64(fakeStart + 50), "pid": int64(77), "uptime": int64(42), "exitstatus": int64(-1), "signal": "SIGKILL",
		"core_dumped": false, "how": "terminated by SIGKILL", "expected": false, "stopped": false, "reason": "oom-kill",
		"stdout": []any{"allocating", "more"}, "stderr": []any{},
	}}
	if fmt.Sprint(exits) != fmt.Sprint(wantExit) {
		t.Errorf("getProcessExits(cat) =\n%#v\nwant\n%#v", exits, wantExit)
	}
	for _, tt := range []struct {
		method string
		arg    any
		want   string
	}{
		{"gosupervisor.getProcessResources", "nosuch", "10 BAD_NAME: nosuch"},
		{"gosupervisor.getProcessExits", "grp:*", "10 BAD_NAME: grp:*"},
		{"gosupervisor.getProcessExits", 5, "10 BAD_NAME: 5"},
	} {
		if _, err := c.call(tt.method, tt.arg); err == nil || err.Error() != tt.want {
			t.Errorf("%s(%v): %v, want fault %q", tt.method, tt.arg, err, tt.want)
		}
	}
}
