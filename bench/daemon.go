package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// defaultReadyTimeout bounds exec-to-answer: the reference with 500
// programs answers only after its first loop pass has spawned them all.
const defaultReadyTimeout = 30 * time.Second

// Daemon is one supervisord under test, started in the foreground (-n) in
// its own process group, so its pid is the process whose CPU and memory
// are read.
type Daemon struct {
	Config  DaemonConfig
	Client  *Client
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	// Started is when exec was called; Ready when getState first answered.
	Started, Ready time.Time
}

// StartDaemon writes cfg, execs bin -n -c <conf>, and waits until the
// socket answers getState. On error the daemon is already stopped.
func StartDaemon(ctx context.Context, bin string, cfg DaemonConfig) (*Daemon, error) {
	if err := os.WriteFile(cfg.ConfPath(), []byte(cfg.Render()), 0o644); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	out, err := os.Create(filepath.Join(cfg.Dir, "daemon.out"))
	if err != nil {
		return nil, fmt.Errorf("daemon output: %w", err)
	}
	defer out.Close() // the child holds its own copy
	if strings.Contains(bin, "/") && !filepath.IsAbs(bin) {
		// exec would resolve it against cmd.Dir, the run's directory.
		if bin, err = filepath.Abs(bin); err != nil {
			return nil, fmt.Errorf("daemon path: %w", err)
		}
	}
	cmd := exec.Command(bin, "-n", "-c", cfg.ConfPath())
	cmd.Dir = cfg.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d := &Daemon{Config: cfg, cmd: cmd, exited: make(chan struct{})}
	d.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec %s: %w", bin, err)
	}
	go func() { d.waitErr = cmd.Wait(); close(d.exited) }()
	d.Client, err = newClient(cfg.SocketPath(), cmp.Or(cfg.CallTimeout, rpcTimeout))
	if err != nil {
		d.kill()
		return nil, err
	}
	if err := d.waitReady(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// waitReady polls getState every millisecond until it answers.
func (d *Daemon) waitReady(ctx context.Context) error {
	timeout := cmp.Or(d.Config.ReadyTimeout, defaultReadyTimeout)
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if _, err := os.Stat(d.Config.SocketPath()); err == nil {
			if _, err := d.Client.GetState(); err == nil {
				d.Ready = time.Now()
				return nil
			} else {
				last = err
			}
		}
		select {
		case <-d.exited:
			return fmt.Errorf("daemon exited before answering (%v): %s", d.waitErr, d.outputTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return fmt.Errorf("socket %s not answering getState after %v (last error: %v): %s",
		d.Config.SocketPath(), timeout, last, d.outputTail())
}

// outputTail is the end of the daemon's stdout/stderr, for error messages.
func (d *Daemon) outputTail() string {
	b, _ := os.ReadFile(filepath.Join(d.Config.Dir, "daemon.out"))
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = "…" + s[len(s)-300:]
	}
	return fmt.Sprintf("output %q", s)
}

// PID is the daemon's pid.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// Usage reads the daemon's CPU time and memory.
func (d *Daemon) Usage() (Usage, error) { return ReadUsage(d.PID()) }

// Close stops the daemon with SIGTERM (it stops its children), and after a
// grace period SIGKILLs its group. Any child it leaves behind is killed,
// found through /proc before the stop (its parent is the daemon) and killed
// only if its pid still names the same process.
func (d *Daemon) Close() error {
	d.Client.Close()
	children, _ := childrenOf(d.PID())
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case <-d.exited:
	case <-time.After(closeGrace):
		err = fmt.Errorf("daemon pid %d ignored SIGTERM for %v", d.PID(), closeGrace)
		d.kill()
	}
	for _, c := range children {
		// A zombie is dead already and has a start time; init reaps it.
		if st, e := procStartTime(c.pid); e == nil && st == c.start && !isZombie(c.pid) {
			_ = syscall.Kill(c.pid, syscall.SIGKILL)
			if err == nil {
				err = fmt.Errorf("child pid %d outlived the daemon", c.pid)
			}
		}
	}
	return err
}

// closeGrace is how long Close waits for the daemon to stop its children
// and exit: the reference with 5000 programs takes a while.
const closeGrace = 2 * time.Minute

// kill SIGKILLs the daemon's process group and waits for the daemon.
func (d *Daemon) kill() {
	_ = syscall.Kill(-d.PID(), syscall.SIGKILL)
	<-d.exited
}

// Exited reports whether the daemon process has ended.
func (d *Daemon) Exited() bool {
	select {
	case <-d.exited:
		return true
	default:
		return false
	}
}

// errDaemonDied is returned by waits that notice the daemon is gone.
var errDaemonDied = errors.New("daemon exited")
