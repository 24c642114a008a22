package engine

import (
	"slices"
	"syscall"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
)

// process is one supervised program instance slot. It is a plain record
// owned by the engine goroutine: nothing else reads or writes it. Its
// state fields are plain values (no channels, no closures), so a record
// can be copied or written out as it is; what refers to the running
// instance's files (logs' writers, io) is rebuilt, not copied.
type process struct {
	cfg   *config.Process
	group *group

	state      protocol.ProcessState
	pid        int
	serial     uint64    // counts spawns, so a waiter can tell instances apart
	started    time.Time // last spawn attempt; zero = never started
	stopped    time.Time // last exit; zero = never exited
	backoff    int       // spawn attempts that failed in a row (BACKOFF count)
	killing    bool      // a stop signal was sent to the current instance
	spawnErr   string
	exitStatus int
	lastReport time.Time // last "waiting for x to stop"
	// daemonized is the warning that this start's instance exited early
	// leaving its process group alive ("" = none); it becomes the FATAL
	// description.
	daemonized string
	killWarned bool      // this start's SIGKILL after stopwaitsecs was warned
	due        deadlines // when the machine acts on p by itself
	// exitWS is the last exit's wait status (exit_on_end, messages).
	exitWS syscall.WaitStatus
	// dep is p's part in depends_on (depends.go).
	dep depState

	// logs is each channel's log file (by protocol.Channel); stderr's is
	// unused with redirect_stderr.
	logs [len(protocol.Channels)]channelLog
	// io is the running instance's parent-side pipes; nil when not running.
	io *instanceIO
	// res is the resource bookkeeping: cgroup, counters, crash records.
	res resState
}

// channelLog is one output channel's log file.
type channelLog struct {
	path string    // resolved file name; "" = none
	w    logWriter // opened at the first spawn; nil = none (yet)
}

func (p *process) name() string { return p.cfg.Name }

// logPath is a channel's log file, "" when it has none.
func (p *process) logPath(ch protocol.Channel) string { return p.logs[ch].path }

// writers lists the channels' open log writers.
func (p *process) writers() []logWriter {
	var out []logWriter
	for _, l := range p.logs {
		if l.w != nil {
			out = append(out, l.w)
		}
	}
	return out
}

// errChannel is where the child's stderr goes: stdout with
// redirect_stderr.
func (p *process) errChannel() protocol.Channel {
	if p.cfg.RedirectStderr {
		return protocol.Stdout
	}
	return protocol.Stderr
}

// namespec is how the reference names a process in faults: "name" when the
// group has the same name, else "group:name".
func (p *process) namespec() string {
	if p.cfg.Group == p.cfg.Name {
		return p.cfg.Name
	}
	return p.cfg.Group + ":" + p.cfg.Name
}

func (p *process) expected(code int) bool { return slices.Contains(p.cfg.ExitCodes, code) }

// retriesExhausted reports whether a process in BACKOFF has used its
// startretries; startretries=-1 retries forever (an extension of the
// reference, where -1 gives up after the first failure, as other
// negative values still do here).
func (p *process) retriesExhausted() bool {
	return p.cfg.StartRetries != config.RetryForever && p.backoff > p.cfg.StartRetries
}

// retryDelay is how long BACKOFF waits before attempt n+1 after the n-th
// failure in a row: n seconds (the reference's), or with
// backoff_max_secs 2^(n-1) seconds up to that cap.
func (p *process) retryDelay() time.Duration {
	n := p.backoff
	limit := p.cfg.BackoffMaxSecs
	if limit <= 0 {
		return time.Duration(n) * time.Second
	}
	secs := limit
	if n-1 < 31 && 1<<(n-1) < limit {
		secs = 1 << (n - 1)
	}
	return time.Duration(secs) * time.Second
}

// deadlines are the instants at which the machine acts on a process by
// itself, one named field per rule, each acting once the loop's now is
// not before it. The zero time means not armed. Each is armed when its
// state is entered and disarmed by changeState when the state is left, so
// one left over from an earlier instance never acts on a new one.
type deadlines struct {
	running time.Time // STARTING: RUNNING once up longer than startsecs
	retry   time.Time // BACKOFF: spawn again (1 s, 2 s, ... after each failure)
	kill    time.Time // STOPPING: SIGKILL once stopwaitsecs have passed
	// depends is when a start waiting for its dependencies gives up
	// (depends_on_timeout_secs); armed in any stopped state.
	depends time.Time
}

// leave disarms the deadline that belongs to state, when it is left.
func (d *deadlines) leave(state protocol.ProcessState) {
	switch state {
	case protocol.StateStarting:
		d.running = time.Time{}
	case protocol.StateBackoff:
		d.retry = time.Time{}
	case protocol.StateStopping:
		d.kill = time.Time{}
	}
}

// reached reports whether deadline t is armed and due at now.
func reached(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

// deadline is when transition next has something to do for p without any
// other event: the earliest armed deadline (a retry only while spawns are
// allowed); ok is false when only an event can change p.
func (p *process) deadline(mood protocol.SupervisorState) (time.Time, bool) {
	if p.state == protocol.StateBackoff && p.retriesExhausted() {
		return time.Time{}, true // gives up on the next step
	}
	var at time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	consider(p.due.running)
	consider(p.due.kill)
	if mood > protocol.SupervisorRestarting {
		consider(p.due.retry)
		consider(p.due.depends)
	}
	return at, !at.IsZero()
}
