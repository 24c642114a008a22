package engine

import "time"

// Clock is where the engine reads time and arms its one timer. The zero
// Options.Clock means real time; tests use testing/synctest with real time
// or their own Clock.
type Clock interface {
	Now() time.Time
	// NewTimer fires once on the returned channel after d; stop releases it.
	NewTimer(d time.Duration) (c <-chan time.Time, stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}
