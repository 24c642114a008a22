package logrot

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startPump runs Pump on a new pipe and returns its write end and a
// channel with Pump's result.
func startPump(t *testing.T, w *Writer, filter func([]byte) []byte, opts ...PumpOption) (*os.File, <-chan error) {
	t.Helper()
	r, pw, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pw.Close() })
	done := make(chan error, 1)
	go func() { done <- Pump(r, w, filter, opts...) }()
	return pw, done
}

func waitPump(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Pump = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Pump did not return after EOF")
	}
}

// concatRotated joins path.N … path.1, path: the whole retained stream.
func concatRotated(t *testing.T, path string, backups int) []byte {
	t.Helper()
	var all bytes.Buffer
	for i := backups; i >= 1; i-- {
		b, err := os.ReadFile(fmt.Sprintf("%s.%d", path, i))
		if err == nil {
			all.Write(b)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	all.Write(b)
	return all.Bytes()
}

// testStream is n pseudo-random bytes: invalid UTF-8, long runs without
// newline, some escapes.
func testStream(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		switch rng.IntN(40) {
		case 0:
			b[i] = '\n'
		case 1:
			b[i] = 0xff
		default:
			b[i] = byte('a' + rng.IntN(26))
		}
	}
	return b
}

func TestPumpLosslessAcrossRotation(t *testing.T) {
	identity := func(b []byte) []byte { return b }
	tests := []struct {
		name     string
		filter   func([]byte) []byte
		maxBytes int64
		backups  int
		size     int
		coalesce time.Duration
	}{
		{"splice, small maxbytes", nil, 4096, 2000, 300_000, DefaultCoalesce},
		{"splice, small maxbytes, no coalescing", nil, 4096, 2000, 300_000, 0},
		{"splice, maxbytes above a chunk", nil, ChunkSize + 1000, 20, 2_000_000, DefaultCoalesce},
		{"filter path", identity, 5000, 2000, 300_000, DefaultCoalesce},
		{"filter path, no coalescing", identity, 5000, 2000, 300_000, 0},
		{"splice, never rotates", nil, 0, 0, 1_000_000, DefaultCoalesce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "x.log")
			w := mustOpen(t, path, tt.maxBytes, tt.backups)
			pw, done := startPump(t, w, tt.filter, WithCoalesce(tt.coalesce))
			stream := testStream(uint64(tt.size), tt.size)
			rng := rand.New(rand.NewPCG(7, 7))
			for rest := stream; len(rest) > 0; {
				n := min(len(rest), 1+rng.IntN(20000))
				if _, err := pw.Write(rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			pw.Close()
			waitPump(t, done)
			if got := concatRotated(t, path, tt.backups); !bytes.Equal(got, stream) {
				t.Fatalf("rotated files hold %d bytes, want the %d-byte stream exactly", len(got), len(stream))
			}
			for i := 1; i <= tt.backups; i++ {
				st, err := os.Stat(fmt.Sprintf("%s.%d", path, i))
				if err != nil {
					break
				}
				if st.Size() < tt.maxBytes || st.Size() > tt.maxBytes+ChunkSize {
					t.Errorf("%s.%d is %d bytes, want within one chunk past %d", path, i, st.Size(), tt.maxBytes)
				}
			}
		})
	}
}

func TestPumpFilterAndNilWriter(t *testing.T) {
	t.Run("StripANSI filter", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.log")
		w := mustOpen(t, path, 0, 0)
		pw, done := startPump(t, w, StripANSI)
		if _, err := pw.Write([]byte("\x1b[31mred\x1b[0m plain\n")); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		waitPump(t, done)
		if got, _ := os.ReadFile(path); string(got) != "red plain\n" {
			t.Errorf("log = %q", got)
		}
	})
	t.Run("nil writer drains and still filters", func(t *testing.T) {
		var seen bytes.Buffer
		pw, done := startPump(t, nil, func(b []byte) []byte { seen.Write(b); return b })
		stream := testStream(3, 500_000) // more than a pipe holds: must be drained
		if _, err := pw.Write(stream); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		waitPump(t, done)
		if !bytes.Equal(seen.Bytes(), stream) {
			t.Errorf("filter saw %d bytes, want %d", seen.Len(), len(stream))
		}
	})
	t.Run("nil writer nil filter", func(t *testing.T) {
		pw, done := startPump(t, nil, nil)
		if _, err := pw.Write(testStream(4, 300_000)); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		waitPump(t, done)
	})
}

func TestPumpKeepsDrainingWhenWritesFail(t *testing.T) {
	for _, tt := range []struct {
		name   string
		filter func([]byte) []byte
	}{{"splice", nil}, {"filter", StripANSI}} {
		t.Run(tt.name, func(t *testing.T) {
			var rec errorRecorder
			w := mustOpen(t, "/dev/full", 0, 0, WithOnError(rec.record))
			pw, done := startPump(t, w, tt.filter)
			const size = 400_000
			if _, err := pw.Write(bytes.Repeat([]byte("y"), size)); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			waitPump(t, done)
			if got := w.Dropped(); got != size {
				t.Errorf("Dropped = %d, want %d", got, size)
			}
			if n := len(rec.list()); n != 1 {
				t.Errorf("%d reports, want 1", n)
			}
		})
	}
}

func TestPumpDirectoryVanishesMidStream(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var rec errorRecorder
	path := filepath.Join(dir, "x.log")
	w := mustOpen(t, path, 1000, 1000, WithOnError(rec.record), WithClock(frozenClock))
	pw, done := startPump(t, w, nil)
	write := func(s string) {
		if _, err := pw.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write(strings.Repeat("a", 1000)) // reaches maxbytes: rotated once
	waitFor(t, func() bool { _, err := os.Stat(path + ".1"); return err == nil })
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	var after strings.Builder
	batch := func(from, to int) {
		for i := from; i < to; i++ {
			s := fmt.Sprintf("after %04d\n", i)
			after.WriteString(s)
			write(s)
		}
	}
	// Up to maxbytes go to the unlinked file; the rotation that follows
	// finds the directory gone and recreates it.
	batch(0, 150)
	waitFor(t, func() bool { _, err := os.Stat(path); return err == nil })
	kept := after.Len()
	batch(150, 400)
	pw.Close()
	waitPump(t, done)
	if errs := rec.list(); len(errs) != 1 {
		t.Fatalf("reports = %v, want one", errs)
	}
	got := string(concatRotated(t, path, 1000))
	if !strings.HasSuffix(after.String(), got) || len(got) < after.Len()-kept {
		t.Errorf("recreated logs hold %d bytes, want a tail of the stream with at least the last %d", len(got), after.Len()-kept)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPumpAbandoned(t *testing.T) {
	tests := []struct {
		name    string
		filter  func([]byte) []byte
		abandon func(r *Source)
		wantErr error
	}{
		{"close, splice", nil, func(r *Source) { r.Close() }, os.ErrClosed},
		{"close, filter", StripANSI, func(r *Source) { r.Close() }, os.ErrClosed},
		{"deadline, splice", nil, func(r *Source) { r.SetReadDeadline(time.Now()) }, os.ErrDeadlineExceeded},
		{"deadline, filter", StripANSI, func(r *Source) { r.SetReadDeadline(time.Now()) }, os.ErrDeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, pw, err := Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pw.Close() // a grandchild keeps the write end open
			w := mustOpen(t, filepath.Join(t.TempDir(), "x.log"), 0, 0)
			done := make(chan error, 1)
			go func() { done <- Pump(r, w, tt.filter) }()
			if _, err := pw.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { b, _ := os.ReadFile(w.Path()); return len(b) == 1 })
			tt.abandon(r)
			select {
			case err := <-done:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Pump = %v, want %v", err, tt.wantErr)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Pump kept running after its pipe was abandoned")
			}
		})
	}
}

// TestPumpConcurrentReopenClearClose hammers a pumping Writer with
// Reopen and Clear from other goroutines, then closes it mid-stream: no
// race, no deadlock, the pipe is drained to EOF and the bytes that arrive
// after Close are counted as dropped.
func TestPumpConcurrentReopenClearClose(t *testing.T) {
	for _, tt := range []struct {
		name   string
		filter func([]byte) []byte
	}{{"splice", nil}, {"filter", StripANSI}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "x.log")
			w := mustOpen(t, path, 3000, 3, WithClock(frozenClock))
			pw, done := startPump(t, w, tt.filter)
			stop := make(chan struct{})
			var admin sync.WaitGroup
			for _, op := range []func() error{w.Reopen, w.Clear} {
				admin.Add(1)
				go func() {
					defer admin.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if err := op(); err != nil && !errors.Is(err, os.ErrClosed) {
							t.Error(err)
							return
						}
					}
				}()
			}
			line := []byte(strings.Repeat("z", 99) + "\n")
			for range 2000 {
				if _, err := pw.Write(line); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			const afterClose = 500
			for range afterClose {
				if _, err := pw.Write(line); err != nil {
					t.Fatal(err)
				}
			}
			pw.Close()
			waitPump(t, done)
			close(stop)
			admin.Wait()
			if got := w.Dropped(); got < afterClose*int64(len(line)) {
				t.Errorf("Dropped = %d, want at least the %d bytes written after Close", got, afterClose*len(line))
			}
		})
	}
}

// TestPumpToPipeDestination covers stdout_logfile=/dev/stdout when the
// daemon's stdout is a pipe (containers): no splice, no rotation, every
// byte passed on.
func TestPumpToPipeDestination(t *testing.T) {
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	defer outW.Close()
	rc, err := outW.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	if err := rc.Control(func(f uintptr) { fd = f }); err != nil {
		t.Fatal(err)
	}
	w := mustOpen(t, fmt.Sprintf("/proc/self/fd/%d", fd), 1000, 2)
	stream := testStream(11, 200_000)
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, 0, len(stream))
		buf := make([]byte, 64<<10)
		for len(b) < len(stream) {
			n, err := outR.Read(buf)
			if err != nil {
				break
			}
			b = append(b, buf[:n]...)
		}
		got <- b
	}()
	pw, done := startPump(t, w, nil)
	if _, err := pw.Write(stream); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	waitPump(t, done)
	select {
	case b := <-got:
		if !bytes.Equal(b, stream) {
			t.Errorf("destination pipe got %d bytes, want the %d-byte stream", len(b), len(stream))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("destination pipe starved")
	}
}

func TestPacer(t *testing.T) {
	const capacity = defaultPipeSize
	const small, big, half = 100, coalesceBelow, capacity / 2
	type read struct {
		n   int
		dry bool          // the pipe ran dry (Pump waited) since the last pause
		gap time.Duration // clock advance before the read
	}
	steady := func(n int) read { return read{n: n} }
	dry := func(n int) read { return read{n: n, dry: true} }
	tests := []struct {
		name  string
		delay time.Duration
		reads []read
		want  string // per read: . = no pause after it, p = a pause of delay, P = of steadyFactor×delay
	}{
		{"disabled", 0, []read{dry(small), steady(small)}, ".."},
		{"a stream that runs dry pauses delay after every small read", DefaultCoalesce,
			[]read{dry(small), dry(small), dry(small)}, "ppp"},
		{"a steady stream pauses longer", DefaultCoalesce,
			[]read{dry(small), steady(small), steady(small), dry(small)}, "pPPp"},
		{"steady only after a pause", DefaultCoalesce, []read{steady(small)}, "p"},
		{"big reads never pause", DefaultCoalesce, []read{dry(big), dry(big)}, ".."},
		{"half a pipe gathered by a pause marks the stream fast", DefaultCoalesce,
			[]read{dry(small), steady(half), steady(small), dry(small)}, "p..."},
		{"a smaller burst gathered by a pause does not", DefaultCoalesce,
			[]read{dry(small), steady(big), dry(small)}, "p.p"},
		{"half a pipe after the pipe ran dry does not", DefaultCoalesce,
			[]read{dry(small), dry(half), dry(small)}, "p.p"},
		{"fast mode ends after a second", DefaultCoalesce,
			[]read{dry(small), steady(half), {n: small, gap: 500 * time.Millisecond}, {n: small, gap: time.Second}}, "p..p"},
		{"half a pipe without a pause before it does not", DefaultCoalesce,
			[]read{steady(half), steady(small)}, ".p"},
	}
	t.Run("pauses end on a multiple of the pause", func(t *testing.T) {
		for _, tc := range []struct {
			ranDry bool
			want   time.Duration
		}{{true, 7 * time.Millisecond}, {false, 37 * time.Millisecond}} {
			clock := &fakeClock{now: time.Unix(1000, int64(3*time.Millisecond))}
			var slept time.Duration
			p := &pacer{delay: 10 * time.Millisecond, now: clock.Now, afterPause: true,
				ranDry:   func() bool { return tc.ranDry },
				capacity: func() int { return capacity },
				sleep:    func(d time.Duration) { slept = d }}
			p.after(small)
			if slept != tc.want {
				t.Errorf("ran dry %v: slept %v at 3 ms past a boundary, want %v", tc.ranDry, slept, tc.want)
			}
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1000, 0)}
			var mark byte
			var ranDry bool
			p := &pacer{delay: tt.delay, now: clock.Now, ranDry: func() bool { return ranDry },
				capacity: func() int { return capacity },
				sleep: func(d time.Duration) {
					switch d {
					case tt.delay:
						mark = 'p'
					case steadyFactor * tt.delay:
						mark = 'P'
					default:
						t.Errorf("slept %v, want %v or %v", d, tt.delay, steadyFactor*tt.delay)
					}
				}}
			var got strings.Builder
			for _, r := range tt.reads {
				clock.Advance(r.gap)
				ranDry = r.dry
				mark = '.'
				p.after(r.n)
				got.WriteByte(mark)
			}
			if got.String() != tt.want {
				t.Errorf("pauses %q, want %q", got.String(), tt.want)
			}
		})
	}
}
