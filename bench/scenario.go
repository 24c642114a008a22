package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gosupervisor/internal/protocol"
)

// Params sizes the scenarios; DefaultParams gives the full and quick runs.
type Params struct {
	IdleSettle     time.Duration // idle: wait after RUNNING before reading memory
	Programs       int           // many: numprocs
	IdleWindow     time.Duration // many: idle CPU window
	ListCalls      int           // many: getAllProcessInfo calls
	LogBytes       int64         // logs: bytes the writer sends
	LogMaxBytes    int64         // logs: stdout_logfile_maxbytes
	LogBackups     int           // logs: stdout_logfile_backups
	ChattyProcs    int           // chatty: numprocs
	ChattyEvery    time.Duration // chatty: interval between lines
	ChattyLineSize int           // chatty: bytes per line
	ChattyFor      time.Duration // chatty: how long each writes
	QuietKills     int           // respawn: SIGKILLs timed through the main log
	Kills          int           // respawn: SIGKILLs timed by polling RPC
	RPCClients     int           // rpc, rpc-mixed: concurrent clients
	RPCFor         time.Duration // rpc: load duration per method; rpc-mixed: load duration
	StartupTries   int           // startup: starts per run
	ScaleSizes     []int         // scale: program counts, ascending
	ScaleIdle      time.Duration // scale: idle window per size
	ScaleListFor   time.Duration // scale: how long getAllProcessInfo is called (at least once)
}

// DefaultParams returns the brief's sizes, or shorter ones for -quick.
func DefaultParams(quick bool) Params {
	p := Params{
		IdleSettle:     2 * time.Second,
		Programs:       500,
		IdleWindow:     20 * time.Second,
		ListCalls:      50,
		LogBytes:       1 << 30,
		LogMaxBytes:    50 << 20,
		LogBackups:     5,
		ChattyProcs:    50,
		ChattyEvery:    time.Millisecond,
		ChattyLineSize: 100,
		ChattyFor:      20 * time.Second,
		QuietKills:     10,
		Kills:          20,
		RPCClients:     4,
		RPCFor:         5 * time.Second,
		StartupTries:   5,
		ScaleSizes:     []int{100, 500, 2000, 5000},
		ScaleIdle:      10 * time.Second,
		ScaleListFor:   2 * time.Second,
	}
	if quick {
		p.IdleSettle = time.Second
		p.IdleWindow = 5 * time.Second
		p.ListCalls = 20
		p.LogBytes = 256 << 20
		p.ChattyFor = 5 * time.Second
		p.QuietKills = 4
		p.Kills = 6
		p.RPCFor = 2 * time.Second
		p.StartupTries = 3
		p.ScaleSizes = []int{100, 500, 2000}
		p.ScaleIdle = 3 * time.Second
		p.ScaleListFor = time.Second
	}
	return p
}

// Env is what one scenario run gets: the daemon to start, a fresh
// directory of its own, and the bench binary to run as a helper child.
type Env struct {
	Kind      string // Ours or Ref
	Bin       string // supervisord to exec
	Dir       string // empty temp dir, removed after the run
	Helper    string // executable that runs HelperMain when given HelperArg
	LogReader string // the C log reader (bench/logreader)
	Params    Params
}

// helperCommand is a program command line running the helper in mode.
func (e *Env) helperCommand(mode string, args ...any) (string, error) {
	if e.Helper == "" {
		return "", fmt.Errorf("no helper executable configured")
	}
	// The arguments may carry %(process_num)s expansions; the path may not.
	s := fmt.Sprintf("%s %s %s", escapePercent(e.Helper), HelperArg, mode)
	for _, a := range args {
		s += fmt.Sprint(" ", a)
	}
	return s, nil
}

// Scenario is one measured situation. Run returns the figures of one run
// keyed by Figure.Key; on error, the figures it did get still count.
type Scenario struct {
	Name    string
	Title   string
	Notes   []string
	Figures []Figure
	// Root is where the runs' directories go ("" = Options.TempRoot): the
	// log scenarios choose their filesystem.
	Root string
	// MaxRuns caps Options.Runs when positive: the scale curve runs the
	// reference for minutes at its largest size.
	MaxRuns int
	// Curve, when set, tells that the figures are a curve over program
	// counts: the report draws it (Report.WriteSVG).
	Curve *Curve
	Run   func(ctx context.Context, env *Env) (Sample, error)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pollUntil calls check every interval until it reports done, the daemon
// dies, ctx ends or timeout passes.
func pollUntil(ctx context.Context, d *Daemon, interval, timeout time.Duration, what string, check func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		done, err := check()
		if done {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return fmt.Errorf("waiting for %s: %w", what, p.err)
		}
		last = err
		if d.Exited() {
			return fmt.Errorf("waiting for %s: %w: %s", what, errDaemonDied, d.outputTail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not reached within %v (last error: %v)", what, timeout, last)
		}
		if err := sleepCtx(ctx, interval); err != nil {
			return err
		}
	}
}

// waitAllInState polls getAllProcessInfo until want processes are all in
// state.
func waitAllInState(ctx context.Context, d *Daemon, want int, state protocol.ProcessState, interval, timeout time.Duration) error {
	return pollUntil(ctx, d, interval, timeout, fmt.Sprintf("%d processes in state %d", want, state), func() (bool, error) {
		infos, err := d.Client.GetAllProcessInfo()
		if err != nil {
			return false, err
		}
		n := countStates(infos)
		if n[protocol.StateFatal] > 0 {
			return false, permanent{fmt.Errorf("%d processes FATAL", n[protocol.StateFatal])}
		}
		return len(infos) == want && n[state] == want, fmt.Errorf("states %v", n)
	})
}

// permanent wraps an error that ends a pollUntil at once.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }

const mib = 1 << 20

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
