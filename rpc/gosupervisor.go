package rpc

import (
	"context"

	"gosupervisor/supervisord/engine"
)

// gosupervisor's own methods live in a namespace of their own,
// gosupervisor.*: stock clients never call them, and every supervisor.*
// method keeps exactly the reference's answers (getProcessInfo's struct
// gains no member).

// extensionReader is what the gosupervisor.* methods use.
type extensionReader interface {
	// ProcessHealth is one process's readiness and health.
	ProcessHealth(name string) (engine.Health, error)
	// AllProcessHealth is every process's, by group then name.
	AllProcessHealth() ([]engine.Health, error)
}

// addExtensionMethods adds the gosupervisor.* methods to r.
func addExtensionMethods(r *registry, b Backend) {
	const healthStruct = "{name, group, ready, health, failures, last_check, last_result,\n" +
		"last_output, status, errno, watchdog_usec, last_ping, mainpid, last_exit_reason}"
	r.add(&method{name: "gosupervisor.getProcessHealth", guarded: true, params: 1, required: 1,
		help: "Report a process's readiness (sd_notify READY=1), its health check's verdict\n" +
			"and what its notifications said: " + healthStruct + ".\n" +
			"Times are epoch seconds (0 = never); health is none, starting, healthy or\n" +
			"unhealthy.\n" +
			"@param string name  the process (\"name\" or \"group:name\")\n" +
			"@return struct result  the health struct",
		call: func(_ context.Context, a args) (any, error) {
			name, err := oneProcess(a[0])
			if err != nil {
				return nil, err
			}
			h, err := b.ProcessHealth(name)
			if err != nil {
				return nil, err
			}
			return healthValue(h), nil
		}})
	r.add(&method{name: "gosupervisor.getAllProcessHealth", guarded: true,
		help: "Report every process's readiness and health, sorted by group name and then\n" +
			"process name, as gosupervisor.getProcessHealth does for one.\n" +
			"@return array result  one health struct per process",
		call: func(context.Context, args) (any, error) {
			hs, err := b.AllProcessHealth()
			if err != nil {
				return nil, err
			}
			out := make([]any, len(hs))
			for i, h := range hs {
				out[i] = healthValue(h)
			}
			return out, nil
		}})
}

// healthValue is the struct of getProcessHealth.
func healthValue(h engine.Health) Struct {
	return Struct{
		{"name", h.Name},
		{"group", h.Group},
		{"ready", h.Ready},
		{"health", h.State.String()},
		{"failures", h.Failures},
		{"last_check", int(capInt32(unixOrZero(h.LastCheck)))},
		{"last_result", h.LastResult},
		{"last_output", h.LastOutput},
		{"status", h.Status},
		{"errno", h.Errno},
		{"watchdog_usec", int(capInt32(h.Watchdog.Microseconds()))},
		{"last_ping", int(capInt32(unixOrZero(h.LastPing)))},
		{"mainpid", h.MainPID},
		{"last_exit_reason", string(h.LastExitReason)},
	}
}
