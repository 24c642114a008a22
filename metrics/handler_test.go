package metrics

import (
	"testing"

	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/engine"
)

// TestFromEngineReadinessAndHealth: the readiness and health series come
// from what the snapshot's description extras say, and are absent (-1)
// for programs without those keys; the counters are the engine's.
func TestFromEngineReadinessAndHealth(t *testing.T) {
	tests := []struct {
		name                 string
		state                protocol.ProcessState
		extras               protocol.Extras
		counters             engine.Counters
		wantReady, wantHlthy int
	}{
		{"no keys", protocol.StateRunning, protocol.Extras{}, engine.Counters{}, -1, -1},
		{"notify, waiting for READY=1", protocol.StateStarting, protocol.Extras{Notify: true}, engine.Counters{}, 0, -1},
		{"notify, ready", protocol.StateRunning, protocol.Extras{Notify: true, Ready: true}, engine.Counters{Watchdogs: 2}, 1, -1},
		{"notify, RELOADING=1", protocol.StateRunning, protocol.Extras{Notify: true}, engine.Counters{}, 0, -1},
		{"check starting", protocol.StateRunning, protocol.Extras{Health: "starting"}, engine.Counters{}, -1, 0},
		{"healthy", protocol.StateRunning, protocol.Extras{Health: "healthy"}, engine.Counters{HealthFailures: 1}, -1, 1},
		{"unhealthy", protocol.StateRunning, protocol.Extras{Health: "unhealthy", HealthDetail: "HTTP 503 (3/3)"}, engine.Counters{HealthFailures: 3}, -1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := engine.ProcessResources{}
			res.Name, res.Group, res.State, res.Extras, res.Counters = "p", "p", tc.state, tc.extras, tc.counters
			got := fromEngine(&res)
			if got.Ready != tc.wantReady || got.Healthy != tc.wantHlthy {
				t.Errorf("ready %d healthy %d, want %d %d", got.Ready, got.Healthy, tc.wantReady, tc.wantHlthy)
			}
			if got.HealthCheckFailures != tc.counters.HealthFailures || got.WatchdogTimeouts != tc.counters.Watchdogs {
				t.Errorf("counters %d %d, want %+v", got.HealthCheckFailures, got.WatchdogTimeouts, tc.counters)
			}
		})
	}
}
