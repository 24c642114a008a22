package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func watchdogScenario() *Scenario {
	return &Scenario{
		Name:  "watchdog",
		Title: "200 programs with watchdog_secs=5, each sending WATCHDOG=1 every second",
		Notes: []string{
			"daemon CPU over the window after all are RUNNING (READY=1 for ours); the reference ignores the keys, its programs just run",
			"ours: every program's last keep-alive is checked to be fresh afterwards (gosupervisor.getAllProcessHealth), and no watchdog may have fired",
		},
		Figures: []Figure{
			{Key: "cpu", Label: "daemon CPU while 200 programs ping", Unit: "% of a core", Target: Target{AtMost, 1}},
		},
		Run: runWatchdogScenario,
	}
}

// watchdogPrograms is the size of the watchdog scenario.
const watchdogPrograms = 200

func runWatchdogScenario(ctx context.Context, env *Env) (Sample, error) {
	cmd, err := env.helperCommand("notify", "-every", "1s")
	if err != nil {
		return nil, err
	}
	cfg := DaemonConfig{Dir: env.Dir, Programs: []Program{{Name: "dog", Command: cmd, Settings: []Setting{
		{"numprocs", strconv.Itoa(watchdogPrograms)},
		{"process_name", "%(program_name)s_%(process_num)03d"},
		{"notify", "true"}, {"watchdog_secs", "5"},
		{"stdout_logfile", "NONE"}, {"stderr_logfile", "NONE"},
	}}}}
	d, err := StartDaemon(ctx, env.Bin, cfg)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if _, _, err := waitRunningInLog(ctx, d, watchdogPrograms, 2*time.Minute); err != nil {
		return nil, err
	}
	// Let the start-up's work settle before the window.
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return nil, err
	}
	u1, err := d.Usage()
	if err != nil {
		return nil, err
	}
	window := env.Params.IdleWindow
	if err := sleepCtx(ctx, window); err != nil {
		return nil, err
	}
	u2, err := d.Usage()
	if err != nil {
		return nil, err
	}
	s := Sample{"cpu": 100 * (u2.CPU - u1.CPU).Seconds() / window.Seconds()}
	if env.Kind != Ours {
		return s, nil
	}
	if b, _ := os.ReadFile(cfg.MainLogPath()); strings.Contains(string(b), "missed its keep-alive") {
		return s, fmt.Errorf("a watchdog fired during the window")
	}
	var health []struct {
		Name     string `xmlrpc:"name"`
		LastPing int64  `xmlrpc:"last_ping"`
	}
	if err := d.Client.call("gosupervisor.getAllProcessHealth", nil, &health); err != nil {
		return s, err
	}
	now := time.Now().Unix()
	for _, h := range health {
		if now-h.LastPing > 3 {
			return s, fmt.Errorf("%s: last keep-alive %d s ago", h.Name, now-h.LastPing)
		}
	}
	if len(health) != watchdogPrograms {
		return s, fmt.Errorf("%d health structs, want %d", len(health), watchdogPrograms)
	}
	return s, nil
}

// notifyHelper reports READY=1 to $NOTIFY_SOCKET, then WATCHDOG=1 every
// interval, as a program under a watchdog does; without $NOTIFY_SOCKET
// (the reference) it only waits to be killed.
func notifyHelper(every time.Duration) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		select {}
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("READY=1")); err != nil {
		return err
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if _, err := c.Write([]byte("WATCHDOG=1")); err != nil {
			return err
		}
	}
	return nil
}
