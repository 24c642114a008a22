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
	"time"

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
	only := fs.String("only", "", "comma-separated scenarios to run (idle,many,logs-disk,logs-tmpfs,chatty,respawn,rpc,rpc-mixed,startup,scale; logs = both logs-*, rpc = both rpc*)")
	daemons := fs.String("daemons", "ours,ref", "which daemons to run: ours, ref or both")
	diskDir := fs.String("diskdir", "/var/tmp", "where logs-disk writes: a directory on a disk filesystem")
	tmpfsDir := fs.String("tmpfsdir", "/dev/shm", "where logs-tmpfs writes: a directory on tmpfs")
	logReader := fs.String("logreader", "bin/logreader", "the C log reader (make bench builds it from bench/logreader/logreader.c)")
	svgOut := fs.String("svg", "", "also draw the scale curve as an SVG in this file")
	mdOut := fs.String("md", "", "also write the report as Markdown tables (for README.md) to this file")
	timeout := fs.Duration("timeout", 0, "stop after this long and report what was measured (0 = no limit)")
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
	for _, bin := range []*string{ours, ref, logReader} {
		*bin = resolveBinary(*bin)
	}
	helper, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "bench: own executable: %v\n", err)
		return 1
	}
	params := bench.DefaultParams(*quick)
	opts := bench.Options{
		Ours: *ours, Ref: *ref, Runs: *runs, Quick: *quick,
		Params: params, Helper: helper, LogReader: *logReader, Progress: stderr,
		Kinds: splitList(*daemons), Only: splitList(*only),
	}
	for _, k := range opts.Kinds {
		if k != bench.Ours && k != bench.Ref {
			fmt.Fprintf(stderr, "bench: -daemons: unknown daemon %q (want ours, ref)\n", k)
			return 2
		}
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	start := time.Now()
	rep, runErr := bench.Run(ctx, bench.Scenarios(bench.Setup{DiskDir: *diskDir, TmpfsDir: *tmpfsDir, Params: params}), opts)
	fmt.Fprintf(stderr, "bench: took %s\n", time.Since(start).Round(time.Second))
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
	if *mdOut != "" {
		if err := writeFile(*mdOut, rep.WriteMarkdown); err != nil {
			fmt.Fprintf(stderr, "bench: markdown: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "bench: Markdown tables in %s\n", *mdOut)
	}
	if *svgOut != "" && rep.HasCurve() {
		if err := writeSVG(rep, *svgOut); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "bench: scale curve drawn in %s\n", *svgOut)
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
	if err := writeFile(path, rep.WriteJSON); err != nil {
		return fmt.Errorf("json report: %w", err)
	}
	return nil
}

func writeSVG(rep *bench.Report, path string) error {
	if err := writeFile(path, rep.WriteSVG); err != nil {
		return fmt.Errorf("svg: %w", err)
	}
	return nil
}

// writeFile creates path and has write fill it.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
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

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
