package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// rotatingFile is the minimal size-based rotation Supervisor does: after a
// write leaves the file at maxBytes or more, base.N-1 moves to base.N, ...,
// base to base.1, and a fresh base is opened.
type rotatingFile struct {
	base     string
	maxBytes int64
	backups  int
	f        *os.File
	size     int64
}

func openRotating(base string, maxBytes int64, backups int) (*rotatingFile, error) {
	f, err := os.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &rotatingFile{base: base, maxBytes: maxBytes, backups: backups, f: f}, nil
}

func (r *rotatingFile) Write(p []byte) (int, error) {
	n, err := r.f.Write(p)
	r.size += int64(n)
	if err != nil {
		return n, err
	}
	if r.maxBytes > 0 && r.size >= r.maxBytes {
		return n, r.rotate()
	}
	return n, nil
}

func (r *rotatingFile) rotate() error {
	if err := r.f.Close(); err != nil {
		return err
	}
	for i := r.backups - 1; i >= 1; i-- {
		err := os.Rename(fmt.Sprintf("%s.%d", r.base, i), fmt.Sprintf("%s.%d", r.base, i+1))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if r.backups > 0 {
		if err := os.Rename(r.base, r.base+".1"); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(r.base, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	r.f, r.size = f, 0
	return nil
}

func (r *rotatingFile) Close() error { return r.f.Close() }

// MeasurePipeLimit runs the same writer the log scenario gives the daemon
// (helper write), reads its stdout pipe in a plain Go loop and writes it to
// a rotating file like the daemon's, and returns the throughput in bytes/s:
// what this machine allows a daemon at best.
func MeasurePipeLimit(ctx context.Context, helper, dir string, total, maxBytes int64, backups int) (float64, error) {
	// Start with no dirty pages from earlier runs, as the daemon run does.
	syscall.Sync()
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	base := dir + "/limit.log"
	out, err := openRotating(base, maxBytes, backups)
	if err != nil {
		pw.Close()
		return 0, fmt.Errorf("limit log: %w", err)
	}
	cmd := exec.CommandContext(ctx, helper, HelperArg, "write", "-bytes", fmt.Sprint(total))
	cmd.Stdout = pw
	start := time.Now()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		out.Close()
		return 0, fmt.Errorf("start writer: %w", err)
	}
	// Supervisor reads up to 128 KiB per wake-up; do the same.
	n, copyErr := io.CopyBuffer(out, struct{ io.Reader }{pr}, make([]byte, 128<<10))
	elapsed := time.Since(start)
	waitErr := cmd.Wait()
	closeErr := out.Close()
	for i := 0; i <= backups; i++ {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s.%d", base, i)
		}
		os.Remove(name)
	}
	if err := errors.Join(copyErr, waitErr, closeErr); err != nil {
		return 0, fmt.Errorf("pipe limit: %w", err)
	}
	if n != total {
		return 0, fmt.Errorf("pipe limit: read %d bytes, want %d", n, total)
	}
	return float64(n) / elapsed.Seconds(), nil
}
