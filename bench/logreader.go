package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ReaderRun is one run of the C log reader (bench/logreader), the bound
// the log scenarios hold the daemons to.
type ReaderRun struct {
	Bytes   int64
	Elapsed time.Duration // from starting the writer to the reader's exit
	CPU     time.Duration // the reader's own user+system time
}

// RunLogReader has the C reader copy the log scenario's writer (helper
// write) into a rotating file in dir, as a daemon would, checks the kept
// files as the scenario does, and removes them.
func RunLogReader(ctx context.Context, reader, helper, dir string, total, maxBytes int64, backups int) (ReaderRun, error) {
	if reader == "" {
		return ReaderRun{}, errors.New("no C log reader configured (make bench builds bin/logreader)")
	}
	// Start with no dirty pages from earlier runs, as the daemon runs do.
	syscall.Sync()
	pr, pw, err := os.Pipe()
	if err != nil {
		return ReaderRun{}, err
	}
	base := filepath.Join(dir, "reader.log")
	files := rotatedFiles(base, backups)
	defer func() {
		for _, f := range files {
			os.Remove(f)
		}
	}()
	var out, stderr bytes.Buffer
	rd := exec.CommandContext(ctx, reader, base, strconv.FormatInt(maxBytes, 10), strconv.Itoa(backups))
	rd.Stdin, rd.Stdout, rd.Stderr = pr, &out, &stderr
	wr := exec.CommandContext(ctx, helper, HelperArg, "write", "-bytes", strconv.FormatInt(total, 10))
	wr.Stdout = pw
	if err := rd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return ReaderRun{}, fmt.Errorf("C log reader: %w", err)
	}
	pr.Close()
	start := time.Now()
	err = wr.Start()
	pw.Close()
	if err != nil {
		_ = rd.Process.Kill()
		_ = rd.Wait()
		return ReaderRun{}, fmt.Errorf("start writer: %w", err)
	}
	rdErr := rd.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(rdErr, wr.Wait()); err != nil {
		return ReaderRun{}, fmt.Errorf("C log reader: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	n, err := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
	if err != nil || n != total {
		return ReaderRun{}, fmt.Errorf("C log reader copied %q bytes, want %d", out.String(), total)
	}
	if _, err := checkKept(files, total, maxBytes); err != nil {
		return ReaderRun{}, fmt.Errorf("C log reader: %w", err)
	}
	return ReaderRun{Bytes: n, Elapsed: elapsed, CPU: processCPU(rd.ProcessState)}, nil
}

// processCPU is a waited-for child's user+system time.
func processCPU(ps *os.ProcessState) time.Duration {
	if ps == nil {
		return 0
	}
	return ps.UserTime() + ps.SystemTime()
}
