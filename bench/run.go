package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// Options configures a bench run.
type Options struct {
	Ours, Ref string   // supervisord binaries
	Kinds     []string // which of Ours, Ref to run (both when empty)
	Runs      int      // runs per scenario and daemon
	Quick     bool
	Params    Params
	Helper    string   // executable running HelperMain after HelperArg
	Only      []string // scenario names to run (all when empty)
	TempRoot  string   // parent of the per-run directories ("" = os.TempDir)
	LogRoot   string   // parent of LogBound scenarios' directories ("" = TempRoot)
	Progress  io.Writer
}

// Run runs every selected scenario Runs times per daemon, interleaved
// (ours, ref, ours, ref, ...), each run in a fresh directory. A failed
// run is recorded and the bench goes on; only a cancelled ctx stops it,
// with what was measured so far in the report.
func Run(ctx context.Context, scenarios []*Scenario, opts Options) (*Report, error) {
	kinds := opts.Kinds
	if len(kinds) == 0 {
		kinds = []string{Ours, Ref}
	}
	bins := map[string]string{Ours: opts.Ours, Ref: opts.Ref}
	rep := &Report{Ours: opts.Ours, Ref: opts.Ref, Runs: opts.Runs, Quick: opts.Quick, LogRoot: opts.LogRoot}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	for si, sc := range scenarios {
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, sc.Name) {
			continue
		}
		samples := map[string][]Sample{}
		errs := map[string][]string{}
		for run := 1; run <= opts.Runs && ctx.Err() == nil; run++ {
			for _, kind := range kinds {
				if ctx.Err() != nil {
					break
				}
				t0 := time.Now()
				s, err := runOnce(ctx, sc, kind, bins[kind], opts)
				if s != nil {
					samples[kind] = append(samples[kind], s)
				}
				status := "ok"
				if err != nil {
					errs[kind] = append(errs[kind], fmt.Sprintf("run %d: %v", run, err))
					status = "error: " + truncate(err.Error(), 200)
				}
				fmt.Fprintf(progress, "[%d/%d] %-8s run %d/%d %-4s %6.1fs %s\n",
					si+1, len(scenarios), sc.Name, run, opts.Runs, kind, time.Since(t0).Seconds(), status)
			}
		}
		rep.Scenarios = append(rep.Scenarios, Summarize(sc, samples, errs))
	}
	return rep, ctx.Err()
}

// runOnce runs sc against one daemon in a fresh directory it then removes.
func runOnce(ctx context.Context, sc *Scenario, kind, bin string, opts Options) (Sample, error) {
	root := opts.TempRoot
	if sc.LogBound && opts.LogRoot != "" {
		root = opts.LogRoot
	}
	dir, err := os.MkdirTemp(root, "gosupervisor-bench-"+sc.Name+"-"+kind+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	env := &Env{Kind: kind, Bin: bin, Dir: dir, Helper: opts.Helper, Params: opts.Params}
	return sc.Run(ctx, env)
}
