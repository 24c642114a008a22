package rpc

import (
	"context"
	"time"

	"gosupervisor/internal/protocol"
)

// Upgrader is supervisord's in-place upgrade, behind the gosupervisor.*
// methods upgrade and getUpgradeInfo (HandlerOptions.Upgrader).
type Upgrader interface {
	// Upgrade has the binary at path ("" = the daemon's own) check that
	// it can take over and, if so, returns the builds from and to: the
	// handover follows once the answer is sent. An error says why
	// nothing happens.
	Upgrade(ctx context.Context, path string) (from, to string, err error)
	// UpgradeInfo describes the running build and the upgrades so far.
	UpgradeInfo() UpgradeInfo
}

// UpgradeInfo is gosupervisor.getUpgradeInfo's answer.
type UpgradeInfo struct {
	// Build is the running binary's build.
	Build string
	// Serial counts the handovers since supervisord started (an upgrade
	// that passed its check, whether its exec then succeeded or not).
	Serial int
	// The last handover: the builds, its end ("" when the new binary
	// took over, else why the daemon runs on as it was) and its time.
	LastFrom, LastTo, LastError string
	LastAt                      time.Time
}

// addUpgradeMethods adds gosupervisor.upgrade and getUpgradeInfo.
func addUpgradeMethods(r *registry, u Upgrader) {
	unavailable := NewFault(protocol.FaultFailed, "this supervisord cannot be upgraded in place")
	r.add(&method{name: "gosupervisor.upgrade", guarded: true, params: 1,
		help: "Replace this supervisord by the binary at path in the same process, keeping its\n" +
			"pid, its sockets and every program running. The new binary first checks that\n" +
			"it can take over the daemon's state and configuration; if it cannot, nothing\n" +
			"changes and the fault says why. The answer comes before the handover; poll\n" +
			"gosupervisor.getUpgradeInfo for its end.\n" +
			"@param string path  the new binary; empty (or absent) for the daemon's own path\n" +
			"@return struct result  {from, to}: the builds",
		call: func(ctx context.Context, a args) (any, error) {
			if u == nil {
				return nil, unavailable
			}
			path := ""
			if len(a) > 0 {
				s, ok := a[0].(string)
				if !ok {
					return nil, NewFault(protocol.FaultIncorrectParameters, "")
				}
				path = s
			}
			from, to, err := u.Upgrade(ctx, path)
			if err != nil {
				return nil, err
			}
			return Struct{{"from", from}, {"to", to}}, nil
		}})
	r.add(&method{name: "gosupervisor.getUpgradeInfo", guarded: true,
		help: "Describe the running build and the last in-place upgrade.\n" +
			"@return struct result  {build, serial, last_from, last_to, last_error, last_time}:\n" +
			"serial counts the handovers since supervisord started, last_error is empty when\n" +
			"the last one succeeded, last_time is in epoch seconds (0 = none)",
		call: func(context.Context, args) (any, error) {
			if u == nil {
				return nil, unavailable
			}
			info := u.UpgradeInfo()
			return Struct{
				{"build", info.Build},
				{"serial", info.Serial},
				{"last_from", info.LastFrom},
				{"last_to", info.LastTo},
				{"last_error", info.LastError},
				{"last_time", int(capInt32(unixOrZero(info.LastAt)))},
			}, nil
		}})
}
