package orphans

import (
	"errors"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Target is a survivor and how its program is stopped.
type Target struct {
	Child
	Signal syscall.Signal
	// Wait is how long it has after Signal before SIGKILL (stopwaitsecs).
	Wait time.Duration
	// StopAsGroup and KillAsGroup send the signal or SIGKILL to the
	// process group it leads, as the program's settings say.
	StopAsGroup, KillAsGroup bool
}

// killWait is how long a SIGKILLed survivor may take to go.
const killWait = 5 * time.Second

// Outcome is what became of one target.
type Outcome int

// The outcomes of Stop.
const (
	Stopped Outcome = iota // ended after its stop signal
	Killed                 // ended after SIGKILL
	Gone                   // had already ended, or was another process
	Failed                 // could not be signalled or survived SIGKILL
)

// Stop stops the targets wave by wave: every target of a wave gets its
// stop signal, then each has its Wait to end before it gets SIGKILL; the
// next wave starts once the wave has ended. report is called with each
// target's outcome. Each target is pinned by a pidfd whose start time is
// checked before the first signal, so no other process is ever signalled.
func Stop(waves [][]Target, report func(t Target, o Outcome, err error)) {
	for _, wave := range waves {
		stopWave(wave, report)
	}
}

type pinned struct {
	t     Target
	fd    int
	until time.Time
	done  bool
}

func stopWave(wave []Target, report func(Target, Outcome, error)) {
	var live []*pinned
	now := time.Now()
	for _, t := range wave {
		fd, err := pin(t.Child)
		if err != nil {
			if errors.Is(err, errGone) {
				report(t, Gone, nil)
			} else {
				report(t, Failed, err)
			}
			continue
		}
		if err := sendSignal(fd, t.Child, t.Signal, t.StopAsGroup); err != nil {
			unix.Close(fd)
			if errors.Is(err, unix.ESRCH) {
				report(t, Gone, nil)
			} else {
				report(t, Failed, err)
			}
			continue
		}
		live = append(live, &pinned{t: t, fd: fd, until: now.Add(t.Wait)})
	}
	waitAll(live)
	var killed []*pinned
	for _, p := range live {
		if p.done {
			unix.Close(p.fd)
			report(p.t, Stopped, nil)
			continue
		}
		if err := sendSignal(p.fd, p.t.Child, unix.SIGKILL, p.t.KillAsGroup); err != nil && !errors.Is(err, unix.ESRCH) {
			unix.Close(p.fd)
			report(p.t, Failed, err)
			continue
		}
		p.until = time.Now().Add(killWait)
		killed = append(killed, p)
	}
	waitAll(killed)
	for _, p := range killed {
		unix.Close(p.fd)
		if p.done {
			report(p.t, Killed, nil)
		} else {
			report(p.t, Failed, errors.New("still running after SIGKILL"))
		}
	}
}

// errGone is a recorded process that no longer runs.
var errGone = errors.New("no longer running")

// pin opens a pidfd for c and checks, with the pidfd held, that the pid
// still names the process that started at c.StartTime.
func pin(c Child) (int, error) {
	fd, err := unix.PidfdOpen(c.PID, 0)
	if errors.Is(err, unix.ESRCH) {
		return -1, errGone
	}
	if err != nil {
		return -1, err
	}
	if !alive(c.PID, c.StartTime) {
		unix.Close(fd)
		return -1, errGone
	}
	return fd, nil
}

// sendSignal sends sig to the pinned process, or to the process group it
// leads: the leader being alive (pinned), its group id cannot have been
// handed to another group.
func sendSignal(fd int, c Child, sig syscall.Signal, group bool) error {
	if group {
		if st, err := readStat(c.PID); err == nil && st.pgrp == c.PID {
			return unix.Kill(-c.PID, sig)
		}
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

// waitAll polls the pidfds until each has ended (the pidfd turns
// readable) or passed its deadline.
func waitAll(ps []*pinned) {
	for {
		var fds []unix.PollFd
		var idx []*pinned
		now := time.Now()
		next := time.Duration(-1)
		for _, p := range ps {
			if p.done || !now.Before(p.until) {
				continue
			}
			fds = append(fds, unix.PollFd{Fd: int32(p.fd), Events: unix.POLLIN})
			idx = append(idx, p)
			if d := p.until.Sub(now); next < 0 || d < next {
				next = d
			}
		}
		if len(fds) == 0 {
			return
		}
		ms := int(next/time.Millisecond) + 1
		n, err := unix.Poll(fds, ms)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		for i := 0; n > 0 && i < len(fds); i++ {
			if fds[i].Revents != 0 {
				idx[i].done = true
			}
		}
	}
}
