package engine

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// fakeOS plays children inside a synctest bubble. A child's behaviour is
// read from its argv after the program path:
//
//	run                 runs until signalled
//	exit CODE SECS      exits with CODE after SECS (fractional ok)
//	ignore-term         ignores SIGTERM (SIGKILL still kills)
//	slow-term SECS      dies SECS after SIGTERM
type fakeOS struct {
	mu      sync.Mutex
	nextPID int
	starts  []fakeStart
	kills   []sent
	exits   []fakeExit
	kids    map[int]*fakeChild
	notify  chan struct{}
	// spawnDelay is how long each Start takes, as a real fork and exec
	// do; set it before Run.
	spawnDelay time.Duration
}

type fakeStart struct {
	pid  int
	name string // SUPERVISOR_PROCESS_NAME
	at   time.Time
	spec *SpawnSpec
}

type fakeExit struct {
	pid int
	ws  syscall.WaitStatus
}

type fakeChild struct {
	argv  []string
	alive bool
	timer *time.Timer
}

func newFakeOS() *fakeOS {
	return &fakeOS{nextPID: 1000, kids: map[int]*fakeChild{}, notify: make(chan struct{}, 1)}
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

func (f *fakeOS) Start(spec *SpawnSpec) (int, error) {
	time.Sleep(f.spawnDelay) // not under mu: others must not block on it
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextPID++
	pid := f.nextPID
	f.starts = append(f.starts, fakeStart{pid, envValue(spec.Env, "SUPERVISOR_PROCESS_NAME"), time.Now(), spec})
	c := &fakeChild{argv: spec.Argv[1:], alive: true}
	f.kids[pid] = c
	if len(c.argv) >= 3 && c.argv[0] == "exit" {
		code, _ := strconv.Atoi(c.argv[1])
		secs, _ := strconv.ParseFloat(c.argv[2], 64)
		c.timer = time.AfterFunc(time.Duration(secs*float64(time.Second)), func() { f.exit(pid, exitStatus(code)) })
	}
	return pid, nil
}

func (f *fakeOS) Kill(pid int, sig syscall.Signal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kills = append(f.kills, sent{pid, sig})
	c := f.kids[max(pid, -pid)]
	if c == nil || !c.alive {
		return syscall.ESRCH
	}
	target := max(pid, -pid)
	switch {
	case sig == syscall.SIGKILL:
		go f.exit(target, killedBy(sig))
	case sig == syscall.SIGTERM && len(c.argv) > 0 && c.argv[0] == "ignore-term":
	case sig == syscall.SIGTERM && len(c.argv) > 1 && c.argv[0] == "slow-term":
		secs, _ := strconv.ParseFloat(c.argv[1], 64)
		time.AfterFunc(time.Duration(secs*float64(time.Second)), func() { f.exit(target, killedBy(sig)) })
	case sig == syscall.SIGTERM || sig == syscall.SIGINT || sig == syscall.SIGQUIT:
		go f.exit(target, killedBy(sig))
	}
	return nil
}

// exit makes a child (or any pid) exit with ws and wakes the reaper.
func (f *fakeOS) exit(pid int, ws syscall.WaitStatus) {
	f.mu.Lock()
	if c := f.kids[pid]; c != nil {
		if !c.alive {
			f.mu.Unlock()
			return
		}
		c.alive = false
		if c.timer != nil {
			c.timer.Stop()
		}
	}
	f.exits = append(f.exits, fakeExit{pid, ws})
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

func (f *fakeOS) Reap() (Reaped, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.exits) == 0 {
		return Reaped{}, false
	}
	e := f.exits[0]
	f.exits = f.exits[1:]
	return Reaped{PID: e.pid, Status: e.ws}, true
}

func (f *fakeOS) ChildExited() <-chan struct{} { return f.notify }

func (f *fakeOS) Close() {}

// Survivors: the fake's children have no process groups; nothing
// survives them.
func (f *fakeOS) Survivors(int, []int) []Survivor { return nil }

func (f *fakeOS) startLog() []fakeStart {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.starts)
}

func (f *fakeOS) killLog() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.kills)
}
