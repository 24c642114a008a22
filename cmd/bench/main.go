// Command bench measures our supervisord against the Python reference,
// scenario by scenario, and prints medians, ratios and targets. `make bench`
// runs it; -quick gives a short run, -json a machine-readable report.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"gosupervisor/bench"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == bench.HelperArg {
		os.Exit(bench.HelperMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ours := fs.String("ours", "bin/supervisord", "our supervisord")
	ref := fs.String("ref", "/usr/bin/supervisord", "the reference supervisord")
	runs := fs.Int("n", 0, "runs per scenario and daemon (default 3, or 1 with -quick)")
	quick := fs.Bool("quick", false, "short run (~2 minutes)")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file (- for stdout, replacing the table)")
	only := fs.String("only", "", "comma-separated scenarios to run (idle,many,logs,chatty,respawn,rpc,startup)")
	daemons := fs.String("daemons", "ours,ref", "which daemons to run: ours, ref or both")
	logDir := fs.String("logdir", defaultLogDir(), "where the log throughput scenario writes (\"\" = the temp dir); tmpfs keeps disk noise out of the comparison")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *runs == 0 {
		*runs = 3
		if *quick {
			*runs = 1
		}
	}
	// Daemons run in their own directories: make relative paths absolute.
	for _, bin := range []*string{ours, ref} {
		*bin = resolveBinary(*bin)
	}
	helper, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "bench: own executable: %v\n", err)
		return 1
	}
	opts := bench.Options{
		Ours: *ours, Ref: *ref, Runs: *runs, Quick: *quick,
		Params: bench.DefaultParams(*quick), Helper: helper, Progress: stderr,
		Kinds: splitList(*daemons), Only: splitList(*only), LogRoot: *logDir,
	}
	for _, k := range opts.Kinds {
		if k != bench.Ours && k != bench.Ref {
			fmt.Fprintf(stderr, "bench: -daemons: unknown daemon %q (want ours, ref)\n", k)
			return 2
		}
	}
	rep, runErr := bench.Run(ctx, bench.Scenarios(), opts)
	if *jsonOut != "-" {
		if err := rep.WriteTable(stdout); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	if *jsonOut != "" {
		if err := writeJSON(rep, *jsonOut, stdout); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "bench: stopped early: %v\n", runErr)
		return 1
	}
	return 0
}

func writeJSON(rep *bench.Report, path string, stdout io.Writer) error {
	if path == "-" {
		return rep.WriteJSON(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("json report: %w", err)
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("json report %s: %w", path, err)
	}
	return f.Close()
}

// resolveBinary makes a path with a slash absolute and looks a bare name up
// in PATH. What cannot be resolved is returned as given: its runs then
// fail with the exec error in their rows.
func resolveBinary(bin string) string {
	if strings.Contains(bin, "/") {
		if abs, err := filepath.Abs(bin); err == nil {
			return abs
		}
		return bin
	}
	if p, err := exec.LookPath(bin); err == nil {
		return p
	}
	return bin
}

// defaultLogDir is /dev/shm when it is there: a tmpfs, so log throughput
// compares the daemons rather than the disk's writeback.
func defaultLogDir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return ""
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
