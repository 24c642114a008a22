package rpc

import (
	"testing"

	"gosupervisor/internal/protocol"
)

// TestExtensionMethods: gosupervisor.* answers health structs; the
// supervisor.* struct of the same process keeps exactly its members, and
// its description carries the extras after the reference's prefix.
func TestExtensionMethods(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	b.procs[0].info.Extras = protocol.Extras{Health: "unhealthy", HealthDetail: "HTTP 503 (3/3)", Status: "serving"}
	c := &rpcClient{t: t, url: newTestServer(t, b, HandlerOptions{}).URL}

	got, err := c.call("gosupervisor.getProcessHealth", "cat")
	if err != nil {
		t.Fatal(err)
	}
	want := "map[errno:0 failures:3 group:cat health:unhealthy last_check:1764469060 last_exit_reason:health last_output:busy " +
		"last_ping:0 last_result:HTTP 503 mainpid:4242 name:cat ready:true status:serving watchdog_usec:30000000]"
	if s := show(got); s != want {
		t.Errorf("getProcessHealth(cat) =\n%s\nwant\n%s", s, want)
	}
	if _, err := c.call("gosupervisor.getProcessHealth", "nosuch"); faultCode(err) != protocol.FaultBadName {
		t.Errorf("getProcessHealth(nosuch): %v, want BAD_NAME", err)
	}
	if _, err := c.call("gosupervisor.getProcessHealth", "grp:*"); faultCode(err) != protocol.FaultBadName {
		t.Errorf("getProcessHealth(grp:*): %v, want BAD_NAME", err)
	}
	all, err := c.call("gosupervisor.getAllProcessHealth")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all.([]any)); n != len(b.procs) {
		t.Errorf("getAllProcessHealth: %d structs, want %d", n, len(b.procs))
	}

	info, err := c.call("supervisor.getProcessInfo", "cat")
	if err != nil {
		t.Fatal(err)
	}
	m := info.(map[string]any)
	if len(m) != 14 {
		t.Errorf("getProcessInfo has %d members, want the reference's 14: %v", len(m), m)
	}
	if d, want := m["description"], "pid 4242, uptime 0:00:05 [unhealthy: HTTP 503 (3/3)]: serving"; d != want {
		t.Errorf("description %q, want %q", d, want)
	}
	if s := b.State(); s != protocol.SupervisorRunning {
		t.Fatal(s)
	}
	if err := b.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.call("gosupervisor.getAllProcessHealth"); faultCode(err) != protocol.FaultShutdownState {
		t.Errorf("during shutdown: %v, want SHUTDOWN_STATE", err)
	}
}
