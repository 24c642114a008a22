package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gosupervisor/internal/protocol"
)

// Churn counts the work a Load has done.
type Churn struct {
	RPCCalls  atomic.Int64 // XML-RPC calls answered (faults included)
	RPCFaults atomic.Int64 // faults the situation allowed (see Load)
	// RotationGaps are NO_FILE answers to reads of a log caught while
	// it rotates (the base file is renamed before its successor exists);
	// the reference, single-threaded, never answers so.
	RotationGaps atomic.Int64
	Mutations    atomic.Int64 // start/stop/restart operations
	Revives      atomic.Int64 // starts of FATAL early crashers
	TailStreams  atomic.Int64 // /logtail and /mainlogtail streams opened and closed
	TailBytes    atomic.Int64 // bytes read from them
	Reloads      atomic.Int64 // reloadConfig + update cycles
}

// String is the one-line summary the test logs.
func (c *Churn) String() string {
	return fmt.Sprintf("rpc calls %d (allowed faults %d, NO_FILE in rotation %d), start/stop/restart %d, revives %d, tail streams %d (%d KiB), reload cycles %d",
		c.RPCCalls.Load(), c.RPCFaults.Load(), c.RotationGaps.Load(), c.Mutations.Load(), c.Revives.Load(),
		c.TailStreams.Load(), c.TailBytes.Load()/1024, c.Reloads.Load())
}

// ErrorLog gathers unexpected errors from concurrent loops: a count and
// the first few messages.
type ErrorLog struct {
	mu    sync.Mutex
	count int
	first []string
}

// Add records err.
func (e *ErrorLog) Add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.count++
	if len(e.first) < 20 {
		e.first = append(e.first, err.Error())
	}
}

// Count returns how many errors were recorded.
func (e *ErrorLog) Count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count
}

// First returns the first recorded messages.
func (e *ErrorLog) First() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.first)
}

// Load drives a daemon: readers calling read-only methods, mutators
// starting and stopping programs, a reviver restarting FATAL early
// crashers, tailers opening and closing log streams, and a reloader
// switching the include file between its variants. Every loop is bounded
// by the context given to Run; mutators finish the operation they began,
// so each owned program ends started.
type Load struct {
	RPC         *RPCClient
	Tail        *http.Client // dials the daemon's unix socket
	Layout      Layout
	Files       Files
	Readers     int
	Mutators    int
	Tailers     int
	Pause       time.Duration // between two operations of one loop
	ReloadEvery time.Duration
	Seed        uint64
	Churn       *Churn
	Errors      *ErrorLog

	// variant is the include file's active variant; only the reloader
	// touches it while Run runs.
	variant Variant
}

// Variant returns the include file's active variant. Call it only while
// Run is not running.
func (l *Load) Variant() Variant { return l.variant }

// callTimeout bounds one call, whatever the load's context says: a
// mutator's stop and start must both complete.
const callTimeout = 30 * time.Second

func (l *Load) call(method string, reply any, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err := l.RPC.Call(ctx, method, reply, args...)
	if err == nil || FaultCode(err) != 0 {
		l.Churn.RPCCalls.Add(1)
	}
	return err
}

// allow returns nil when err is nil or a fault in codes (counted as an
// allowed fault), else err.
func (l *Load) allow(err error, codes ...protocol.FaultCode) error {
	if err == nil {
		return nil
	}
	if slices.Contains(codes, FaultCode(err)) {
		l.Churn.RPCFaults.Add(1)
		return nil
	}
	return err
}

// Run runs every loop until ctx ends and returns once all have stopped.
func (l *Load) Run(ctx context.Context) {
	var wg sync.WaitGroup
	loop := func(f func(ctx context.Context, r *rand.Rand), stream uint64) {
		r := rand.New(rand.NewPCG(l.Seed, stream))
		wg.Go(func() { f(ctx, r) })
	}
	for i := range l.Readers {
		loop(l.reader, uint64(100+i))
	}
	mutable := slices.Concat(l.Layout.OfKind(Quiet), l.Layout.OfKind(Chatty), l.Layout.OfKind(LateCrashers))
	for i := range l.Mutators {
		var owned []string
		for j, name := range mutable {
			if j%l.Mutators == i {
				owned = append(owned, name)
			}
		}
		loop(func(ctx context.Context, r *rand.Rand) { l.mutator(ctx, r, owned) }, uint64(200+i))
	}
	for i := range l.Tailers {
		loop(l.tailer, uint64(300+i))
	}
	loop(l.reviver, 400)
	loop(l.reloader, 500)
	wg.Wait()
}

// sleep waits d or until ctx ends; it reports whether the loop goes on.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (l *Load) stableNames() []string {
	var out []string
	for _, g := range l.Layout.Stable {
		out = append(out, g.Processes()...)
	}
	return out
}

// reader calls read-only methods on random stable programs.
func (l *Load) reader(ctx context.Context, r *rand.Rand) {
	names := l.stableNames()
	rotating := map[string]bool{}
	for _, n := range l.Layout.OfKind(Chatty) {
		rotating[n] = true
	}
	total := len(names)
	for _, g := range l.Layout.Flip[VariantA] {
		total += g.NumProcs
	}
	for sleep(ctx, l.Pause) {
		name := names[r.IntN(len(names))]
		var err error
		switch r.IntN(7) {
		case 0:
			var all []ProcessInfo
			if err = l.call("supervisor.getAllProcessInfo", &all); err == nil {
				// A reload cycle removes then adds 10-process groups.
				if n := len(all); n < total-20 || n > total {
					err = fmt.Errorf("getAllProcessInfo: %d processes, want %d..%d", n, total-20, total)
				}
			}
		case 1:
			var info ProcessInfo
			if err = l.call("supervisor.getProcessInfo", &info, name); err == nil && info.FullName() != name {
				err = fmt.Errorf("getProcessInfo(%s) answered %s", name, info.FullName())
			}
		case 2:
			var s string
			err = l.call("supervisor.readProcessStdoutLog", &s, name, -2048, 0)
		case 3:
			var tail []any
			if err = l.call("supervisor.tailProcessStdoutLog", &tail, name, 0, 1024); err == nil && len(tail) != 3 {
				err = fmt.Errorf("tailProcessStdoutLog(%s): %d items, want 3", name, len(tail))
			}
		case 4:
			var s string
			err = l.call("supervisor.readProcessStderrLog", &s, name, -1024, 0)
		case 5:
			var s string
			err = l.call("supervisor.readLog", &s, -4096, 0)
		case 6:
			var st struct {
				Name string `xmlrpc:"statename"`
			}
			if err = l.call("supervisor.getState", &st); err == nil && st.Name != protocol.SupervisorRunning.String() {
				err = fmt.Errorf("getState: %s", st.Name)
			}
		}
		if FaultCode(err) == protocol.FaultNoFile && rotating[name] {
			l.Churn.RotationGaps.Add(1)
			err = nil
		}
		if err != nil {
			l.Errors.Add(fmt.Errorf("reader: %w", err))
		}
	}
}

// mutator restarts, stops and starts the programs it owns (no other loop
// touches them), always leaving each started. Late crashers come and go
// on their own, so a stop may find one not running and a start may find
// it started again.
func (l *Load) mutator(ctx context.Context, r *rand.Rand, owned []string) {
	late := map[string]bool{}
	for _, n := range l.Layout.OfKind(LateCrashers) {
		late[n] = true
	}
	for sleep(ctx, l.Pause) {
		name := owned[r.IntN(len(owned))]
		var stopOK, startOK []protocol.FaultCode
		if late[name] {
			stopOK, startOK = []protocol.FaultCode{protocol.FaultNotRunning}, []protocol.FaultCode{protocol.FaultAlreadyStarted}
		}
		var err error
		switch r.IntN(3) {
		case 0, 1: // restart, waiting for the start or not
			// A waited start of a late crasher may see it already gone
			// (EXITED, "Bad exit code") when the daemon lags behind its
			// one-second margin, as the reference would: only quiet and
			// chatty programs get waited starts.
			wait := !late[name] && r.IntN(2) == 0
			if err = l.allow(l.call("supervisor.stopProcess", nil, name, true), stopOK...); err == nil {
				err = l.allow(l.call("supervisor.startProcess", nil, name, wait), startOK...)
			}
		case 2: // start of a started program
			err = l.call("supervisor.startProcess", nil, name, false)
			switch {
			case err == nil && !late[name]:
				err = fmt.Errorf("startProcess(%s) of a started program succeeded", name)
			case FaultCode(err) == protocol.FaultAlreadyStarted:
				l.Churn.RPCFaults.Add(1)
				err = nil
			}
		}
		l.Churn.Mutations.Add(1)
		if err != nil {
			l.Errors.Add(fmt.Errorf("mutator %s: %w", name, err))
		}
	}
}

// reviver starts the early crashers that reached FATAL, once a second,
// so they keep cycling through STARTING, BACKOFF and FATAL.
func (l *Load) reviver(ctx context.Context, _ *rand.Rand) {
	early := map[string]bool{}
	for _, n := range l.Layout.OfKind(EarlyCrashers) {
		early[n] = true
	}
	for sleep(ctx, time.Second) {
		var all []ProcessInfo
		if err := l.call("supervisor.getAllProcessInfo", &all); err != nil {
			l.Errors.Add(fmt.Errorf("reviver: %w", err))
			continue
		}
		for _, p := range all {
			if !early[p.FullName()] || p.State != protocol.StateFatal {
				continue
			}
			// Like the reference, a start that sees the child already
			// gone before startsecs answers SPAWN_ERROR.
			err := l.allow(l.call("supervisor.startProcess", nil, p.FullName(), false), protocol.FaultSpawnError)
			if err != nil {
				l.Errors.Add(fmt.Errorf("reviver %s: %w", p.FullName(), err))
			}
			l.Churn.Revives.Add(1)
		}
	}
}

// tailer opens a `tail -f` stream (a program's stdout or stderr, or the
// main log), reads it for 0.2-2 s and closes it.
func (l *Load) tailer(ctx context.Context, r *rand.Rand) {
	chatty := l.Layout.OfKind(Chatty)
	names := l.stableNames()
	for sleep(ctx, l.Pause) {
		var path string
		switch n := r.IntN(10); {
		case n < 6:
			path = "/logtail/" + chatty[r.IntN(len(chatty))] + "/stdout"
		case n < 8:
			path = "/logtail/" + chatty[r.IntN(len(chatty))] + "/stderr"
		case n < 9:
			path = "/logtail/" + names[r.IntN(len(names))]
		default:
			path = "/mainlogtail"
		}
		hold := 200*time.Millisecond + time.Duration(r.Int64N(int64(1800*time.Millisecond)))
		if err := l.tailOnce(ctx, path, hold); err != nil {
			l.Errors.Add(fmt.Errorf("tailer: %w", err))
		}
	}
}

func (l *Load) tailOnce(ctx context.Context, path string, hold time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, hold)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://localhost"+path, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	resp, err := l.Tail.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil // ended before the answer: nothing was opened
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	l.Churn.TailStreams.Add(1)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %s", path, resp.Status)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	l.Churn.TailBytes.Add(n)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err == nil {
		return fmt.Errorf("%s: stream ended after %d bytes", path, n)
	}
	return nil
}

// reloader switches the include file to the other variant every
// ReloadEvery and applies it as `supervisorctl update` does.
func (l *Load) reloader(ctx context.Context, _ *rand.Rand) {
	for sleep(ctx, l.ReloadEvery) {
		if err := l.Switch(l.variant.Other()); err != nil {
			l.Errors.Add(fmt.Errorf("reloader: %w", err))
		}
	}
}

// Switch writes variant to into the include file, calls reloadConfig,
// checks that it reports the expected added, changed and removed groups,
// and applies them (stop and remove, stop-remove-add, add).
func (l *Load) Switch(to Variant) error {
	if err := l.Files.WriteFlip(l.Layout, to); err != nil {
		return err
	}
	var result [][][]string
	if err := l.call("supervisor.reloadConfig", &result); err != nil {
		return err
	}
	if len(result) != 1 || len(result[0]) != 3 {
		return fmt.Errorf("reloadConfig answered %v, want [[added, changed, removed]]", result)
	}
	added, changed, removed := result[0][0], result[0][1], result[0][2]
	wantAdded, wantChanged, wantRemoved := l.Layout.ReloadDiff(l.variant, to)
	var errs []error
	for _, c := range []struct {
		what      string
		got, want []string
	}{{"added", added, wantAdded}, {"changed", changed, wantChanged}, {"removed", removed, wantRemoved}} {
		if !slices.Equal(sorted(c.got), sorted(c.want)) {
			errs = append(errs, fmt.Errorf("reloadConfig %s→%s: %s %v, want %v", l.variant, to, c.what, c.got, c.want))
		}
	}
	stopRemove := func(g string) error {
		var res []CallResult
		if err := l.call("supervisor.stopProcessGroup", &res, g, true); err != nil {
			return err
		}
		for _, r := range res {
			if r.Status != protocol.FaultSuccess {
				return fmt.Errorf("stopProcessGroup(%s): %s:%s status %d %s", g, r.Group, r.Name, r.Status, r.Description)
			}
		}
		return l.call("supervisor.removeProcessGroup", nil, g)
	}
	for _, g := range removed {
		errs = append(errs, stopRemove(g))
	}
	for _, g := range changed {
		if err := stopRemove(g); err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, l.call("supervisor.addProcessGroup", nil, g))
	}
	for _, g := range added {
		errs = append(errs, l.call("supervisor.addProcessGroup", nil, g))
	}
	l.variant = to
	l.Churn.Reloads.Add(1)
	return errors.Join(errs...)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// CountLines counts the lines of a main log that contain each marker
// (e.g. "spawned: '").
func CountLines(log string, markers ...string) map[string]int {
	out := map[string]int{}
	for line := range strings.Lines(log) {
		for _, m := range markers {
			if strings.Contains(line, m) {
				out[m]++
			}
		}
	}
	return out
}
