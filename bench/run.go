package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
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
	LogReader string   // the C log reader (bench/logreader)
	Only      []string // scenarios to run (all when empty); see Selected
	TempRoot  string   // parent of the per-run directories ("" = os.TempDir)
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
	m := ReadMachine(time.Now())
	rep := &Report{Ours: opts.Ours, Ref: opts.Ref, Runs: opts.Runs, Quick: opts.Quick, Machine: &m}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	for si, sc := range scenarios {
		if !Selected(sc.Name, opts.Only) {
			continue
		}
		samples := map[string][]Sample{}
		errs := map[string][]string{}
		loadStart, _ := ReadLoad()
		runs := opts.Runs
		if sc.MaxRuns > 0 {
			runs = min(runs, sc.MaxRuns)
		}
		for run := 1; run <= runs && ctx.Err() == nil; run++ {
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
				fmt.Fprintf(progress, "[%d/%d] %-10s run %d/%d %-4s %6.1fs %s\n",
					si+1, len(scenarios), sc.Name, run, runs, kind, time.Since(t0).Seconds(), status)
			}
		}
		res := Summarize(sc, samples, errs)
		if loadEnd, _ := ReadLoad(); loadStart != nil && loadEnd != nil {
			res.Load = []float64{loadStart[0], loadEnd[0]}
		}
		rep.Scenarios = append(rep.Scenarios, res)
	}
	m.LoadEnd, _ = ReadLoad()
	return rep, ctx.Err()
}

// Selected reports whether the scenario called name is one of only: by its
// name, or by the part before a dash ("logs" selects logs-disk and
// logs-tmpfs). An empty only selects everything.
func Selected(name string, only []string) bool {
	if len(only) == 0 {
		return true
	}
	group, _, _ := strings.Cut(name, "-")
	return slices.Contains(only, name) || slices.Contains(only, group)
}

// runOnce runs sc against one daemon in a fresh directory it then removes.
func runOnce(ctx context.Context, sc *Scenario, kind, bin string, opts Options) (Sample, error) {
	root := opts.TempRoot
	if sc.Root != "" {
		root = sc.Root
	}
	dir, err := os.MkdirTemp(root, "gosupervisor-bench-"+sc.Name+"-"+kind+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	env := &Env{Kind: kind, Bin: bin, Dir: dir, Helper: opts.Helper, LogReader: opts.LogReader, Params: opts.Params}
	return sc.Run(ctx, env)
}
