package engine

import (
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// realOS spawns real children. Creating it subscribes to SIGCHLD (buffer 1:
// signals coalesce, so each wake-up reaps until nothing is left) and sets
// SIGPIPE and SIGXFSZ to ignored in this process: ignored dispositions
// survive fork and exec, so children inherit them as they do under the
// reference (Go resets only the signals it handles).
type realOS struct {
	sigc   chan os.Signal
	exited chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	// umaskMu serialises the process-wide umask switch around a spawn.
	umaskMu sync.Mutex
}

func newRealOS() *realOS {
	signal.Ignore(syscall.SIGPIPE, syscall.SIGXFSZ)
	r := &realOS{
		sigc:   make(chan os.Signal, 1),
		exited: make(chan struct{}, 1),
		stop:   make(chan struct{}),
	}
	signal.Notify(r.sigc, syscall.SIGCHLD)
	r.wg.Add(1)
	go r.forward()
	return r
}

// forward turns signals into the struct{} notifications the loop selects on.
func (r *realOS) forward() {
	defer r.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case <-r.sigc:
			select {
			case r.exited <- struct{}{}:
			default:
			}
		}
	}
}

func (r *realOS) Start(spec *SpawnSpec) (int, error) {
	attr := &os.ProcAttr{
		Dir:   spec.Dir,
		Env:   spec.Env,
		Files: spec.Files,
		Sys:   &syscall.SysProcAttr{Setpgid: true, Credential: spec.Credential},
	}
	if spec.Umask >= 0 {
		// umask is process-wide: files other goroutines create during this
		// short window get the child's umask. Accepted: spawns with umask=
		// are rare and the window is one fork+exec.
		r.umaskMu.Lock()
		old := syscall.Umask(spec.Umask)
		defer func() {
			syscall.Umask(old)
			r.umaskMu.Unlock()
		}()
	}
	p, err := os.StartProcess(spec.Path, spec.Argv, attr)
	if err != nil {
		return 0, err
	}
	pid := p.Pid
	// Only the pid is kept: the reaper in the loop owns waiting, and a
	// zombie keeps its pid until that same goroutine reaps it.
	_ = p.Release()
	return pid, nil
}

func (r *realOS) Kill(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

func (r *realOS) Reap() (int, syscall.WaitStatus, bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return 0, 0, false
		}
		return pid, ws, true
	}
}

func (r *realOS) ChildExited() <-chan struct{} { return r.exited }

func (r *realOS) Close() {
	signal.Stop(r.sigc)
	close(r.stop)
	r.wg.Wait()
}
