package engine

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"gosupervisor/config"
)

// TestLoopReleasesMemoryAfterASpawnBurst: the loop returns free heap once
// a burst of at least trimMinSpawns spawns is over, at the step where the
// last process settled; never for a small start, and not while a
// program flaps.
func TestLoopReleasesMemoryAfterASpawnBurst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		procs int
		args  []string // each process's fake program
		secs  int      // startsecs
		// retries is startretries (0: the default of testProcConfig).
		retries int
		// want is the release times as offsets from the start; -1 is the
		// last spawn's.
		want []time.Duration
	}{
		{name: "small start", procs: trimMinSpawns - 1, args: []string{"run"}},
		{name: "burst", procs: trimMinSpawns, args: []string{"run"}, want: []time.Duration{0}},
		{name: "burst with startsecs", procs: trimMinSpawns, args: []string{"run"}, secs: 1, want: []time.Duration{time.Second}},
		// One program exits at once, again and again (BACKOFF between
		// tries) until it gives up (FATAL): only then is it over.
		{name: "flapping until fatal", procs: 1, args: []string{"exit", "1", "0"}, secs: 1, retries: trimMinSpawns + 5, want: []time.Duration{-1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				var mu sync.Mutex
				var released []time.Duration
				release := func() {
					mu.Lock()
					defer mu.Unlock()
					released = append(released, time.Since(start).Round(time.Millisecond))
				}
				g := &config.Group{Name: "many", Kind: config.KindProgram, Priority: 1}
				for i := range tc.procs {
					g.Processes = append(g.Processes, testProcConfig(func(c *config.Process) {
						c.Name, c.Group, c.ProgramName = fmt.Sprintf("many_%03d", i), "many", "many"
						c.Argv = append([]string{testBinary(t)}, tc.args...)
						c.Command = strings.Join(c.Argv, " ")
						c.StartSecs = tc.secs
						if tc.retries > 0 {
							c.StartRetries = tc.retries
						}
					}))
				}
				_, fos, _, stop := runFakeWith(t, testConfig(t, g), func(o *Options) { o.ReleaseMemory = release })
				time.Sleep(5 * time.Hour) // the flapping program's backoff adds up to hours
				synctest.Wait()
				stop()
				starts := fos.startLog()
				if len(starts) < max(tc.procs, tc.retries) {
					t.Fatalf("%d spawns, want at least %d", len(starts), max(tc.procs, tc.retries))
				}
				want := tc.want
				for i, w := range want {
					if w == -1 {
						want[i] = starts[len(starts)-1].at.Sub(start).Round(time.Millisecond)
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if fmt.Sprint(released) != fmt.Sprint(want) {
					t.Errorf("released at %v, want %v", released, want)
				}
			})
		})
	}
}
