package bench

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"gosupervisor/internal/protocol"
)

func respawnScenario() *Scenario {
	return &Scenario{
		Name:  "respawn",
		Title: "respawn: SIGKILL a startsecs=0 autorestart=true child",
		Notes: []string{
			"quiet: nothing talks to the daemon between the kill and the main log's next \"entered RUNNING state\" (log read every 1 ms); the reference then waits out its 1 s poll timeout",
			"polled: getProcessInfo back to back until a new pid is RUNNING; each call wakes the reference's loop, which hides its 1 s timeout",
		},
		Figures: []Figure{
			{Key: "quiet_median", Label: "quiet: kill to RUNNING logged, median", Unit: "ms", Target: Target{AtMost, 50}},
			{Key: "quiet_p90", Label: "quiet: kill to RUNNING logged, p90", Unit: "ms"},
			{Key: "polled_median", Label: "polled: kill to new pid RUNNING, median", Unit: "ms"},
			{Key: "polled_p90", Label: "polled: kill to new pid RUNNING, p90", Unit: "ms"},
		},
		Run: runRespawnScenario,
	}
}

func runRespawnScenario(ctx context.Context, env *Env) (Sample, error) {
	cfg := DaemonConfig{Dir: env.Dir, Programs: []Program{sleeper("victim",
		Setting{"startsecs", "0"}, Setting{"autorestart", "true"})}}
	d, err := StartDaemon(ctx, env.Bin, cfg)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := waitAllInState(ctx, d, 1, protocol.StateRunning, 10*time.Millisecond, 10*time.Second); err != nil {
		return nil, err
	}
	running := func() (ProcessInfo, error) {
		info, err := d.Client.GetProcessInfo("victim")
		if err == nil && (info.State != protocol.StateRunning || info.PID <= 0) {
			err = fmt.Errorf("victim is %s pid %d", info.StateName, info.PID)
		}
		return info, err
	}
	lc := &logCounter{path: cfg.MainLogPath(), marker: []byte(runningMarker)}
	s := Sample{}
	var quiet, polled []float64
	for k := range env.Params.QuietKills {
		info, err := running()
		if err != nil {
			return s, fmt.Errorf("quiet kill %d: %w", k, err)
		}
		before, err := lc.update()
		if err != nil {
			return s, err
		}
		// Let the daemon go back to sleep after that call.
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return s, err
		}
		if err := syscall.Kill(info.PID, syscall.SIGKILL); err != nil {
			return s, fmt.Errorf("kill %d: %w", info.PID, err)
		}
		t0 := time.Now()
		err = pollUntil(ctx, d, time.Millisecond, 10*time.Second, "RUNNING logged after a kill", func() (bool, error) {
			n, err := lc.update()
			return n > before, err
		})
		if err != nil {
			return s, err
		}
		quiet = append(quiet, ms(time.Since(t0)))
		if err := pollUntil(ctx, d, 10*time.Millisecond, 5*time.Second, "a new victim RUNNING", func() (bool, error) {
			now, err := running()
			return err == nil && now.PID != info.PID, err
		}); err != nil {
			return s, err
		}
	}
	s["quiet_median"], s["quiet_p90"] = Median(quiet), Percentile(quiet, 90)
	for k := range env.Params.Kills {
		info, err := running()
		if err != nil {
			return s, fmt.Errorf("polled kill %d: %w", k, err)
		}
		if err := syscall.Kill(info.PID, syscall.SIGKILL); err != nil {
			return s, fmt.Errorf("kill %d: %w", info.PID, err)
		}
		t0 := time.Now()
		err = pollUntil(ctx, d, 0, 10*time.Second, "a new victim RUNNING", func() (bool, error) {
			now, err := d.Client.GetProcessInfo("victim")
			return err == nil && now.State == protocol.StateRunning && now.PID != info.PID && now.PID > 0, err
		})
		if err != nil {
			return s, err
		}
		polled = append(polled, ms(time.Since(t0)))
	}
	s["polled_median"], s["polled_p90"] = Median(polled), Percentile(polled, 90)
	return s, nil
}
