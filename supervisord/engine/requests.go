package engine

import (
	"context"
	"slices"
	"time"
)

// Requests from other goroutines run on the loop (call) and answer at
// once or register a waiter; the loop never blocks on a client.

// pending is an operation that finishes later (a start or stop with
// wait): poll reports done and the outcome; next is when poll next has
// something to do on its own (nil = only on events).
type pending struct {
	poll func(now time.Time) (bool, error)
	next func() (time.Time, bool)
}

// waiter is a pending client request; the loop polls it after every step
// and never blocks on it.
type waiter struct {
	ctx   context.Context
	poll  func(now time.Time) bool // true once it has delivered its result
	next  func() (time.Time, bool)
	abort func(err error) // delivers err when the engine ends first
}

// Outcome is what a group or "all" operation did to one process: Err is
// nil when it succeeded, else an *Error.
type Outcome struct {
	Name  string
	Group string
	Err   error
}

func (e *Engine) pollWaiters(now time.Time) {
	if len(e.waiters) > 0 {
		e.publish() // a waiter answered must find its outcome published
	}
	kept := e.waiters[:0]
	for _, w := range e.waiters {
		if w.ctx.Err() != nil || w.poll(now) {
			continue
		}
		kept = append(kept, w)
	}
	clear(e.waiters[len(kept):])
	e.waiters = kept
}

// finishWaiters answers every waiting request with err.
func (e *Engine) finishWaiters(err error) {
	for _, w := range e.waiters {
		w.abort(err)
	}
	e.waiters = nil
}

// await waits for a reply under the caller's ctx.
func await[T any](e *Engine, ctx context.Context, c <-chan T) (T, error) {
	var zero T
	select {
	case v := <-c:
		return v, nil
	case <-ctx.Done():
		// Wake the loop so that it drops the abandoned waiter now.
		_ = e.call(func(time.Time) {})
		return zero, ctx.Err()
	case <-e.done:
		select {
		case v := <-c:
			return v, nil
		default:
		}
		return zero, e.endErr
	}
}

// single runs a one-process operation, waiting for it under ctx.
func (e *Engine) single(ctx context.Context, name string, op func(p *process, now time.Time) (*pending, error)) error {
	reply := make(chan error, 1)
	if err := e.call(func(now time.Time) {
		p, err := e.lookup(name)
		if err != nil {
			reply <- err
			return
		}
		e.inCall = map[*process]bool{p: true}
		pd, err := op(p, now)
		e.inCall = nil
		if err != nil || pd == nil {
			reply <- err
			return
		}
		e.waiters = append(e.waiters, &waiter{
			ctx: ctx,
			poll: func(now time.Time) bool {
				done, err := pd.poll(now)
				if done {
					reply <- err
				}
				return done
			},
			next:  pd.next,
			abort: func(err error) { reply <- err },
		})
	}); err != nil {
		return err
	}
	err, werr := await(e, ctx, reply)
	if werr != nil {
		return werr
	}
	return err
}

// many runs an operation over processes as the reference's make_allfunc:
// immediate outcomes first, then waits in completion order. It covers
// every process when all is set, else the group named groupName (any
// name, "" too, that is no active group is ErrNoSuchName).
func (e *Engine) many(ctx context.Context, groupName string, all bool, pred func(*process) bool,
	op func(p *process, name string, now time.Time) (*pending, error)) ([]Outcome, error) {
	type reply struct {
		outcomes []Outcome
		err      error
	}
	replyc := make(chan reply, 1)
	if err := e.call(func(now time.Time) {
		var procs []*process
		if !all {
			g := e.groups[groupName]
			if g == nil {
				replyc <- reply{err: fail(ErrNoSuchName, groupName)}
				return
			}
			procs = g.byPriority()
		} else {
			for _, g := range e.order {
				procs = append(procs, g.byPriority()...)
			}
		}
		outcomes := []Outcome{}
		type waiting struct {
			p  *process
			pd *pending
		}
		var waits []waiting
		// Selected first, as the reference's make_allfunc does: an
		// operation on one process (a stop that stops its dependents
		// first, a start that pulls its dependencies in) must not drop
		// another from the request.
		procs = slices.DeleteFunc(procs, func(p *process) bool { return !pred(p) })
		e.inCall = map[*process]bool{}
		for _, p := range procs {
			e.inCall[p] = true
		}
		defer func() { e.inCall = nil }()
		for _, p := range procs {
			pd, err := op(p, p.namespec(), now)
			if err != nil || pd == nil {
				outcomes = append(outcomes, outcome(p, err))
				continue
			}
			waits = append(waits, waiting{p, pd})
		}
		if len(waits) == 0 {
			replyc <- reply{outcomes: outcomes}
			return
		}
		e.waiters = append(e.waiters, &waiter{
			ctx: ctx,
			poll: func(now time.Time) bool {
				waits = slices.DeleteFunc(waits, func(w waiting) bool {
					done, err := w.pd.poll(now)
					if done {
						outcomes = append(outcomes, outcome(w.p, err))
					}
					return done
				})
				if len(waits) == 0 {
					replyc <- reply{outcomes: outcomes}
					return true
				}
				return false
			},
			next: func() (time.Time, bool) {
				var at time.Time
				found := false
				for _, w := range waits {
					if w.pd.next == nil {
						continue
					}
					if t, ok := w.pd.next(); ok && (!found || t.Before(at)) {
						at, found = t, true
					}
				}
				return at, found
			},
			abort: func(err error) { replyc <- reply{outcomes: outcomes, err: err} },
		})
	}); err != nil {
		return nil, err
	}
	out, err := await(e, ctx, replyc)
	if err != nil {
		return nil, err
	}
	return out.outcomes, out.err
}

func outcome(p *process, err error) Outcome {
	return Outcome{Name: p.name(), Group: p.group.cfg.Name, Err: err}
}
