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
	r, pw, err := os.Pipe()
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
		abandon func(r *os.File)
		wantErr error
	}{
		{"close, splice", nil, func(r *os.File) { r.Close() }, os.ErrClosed},
		{"close, filter", StripANSI, func(r *os.File) { r.Close() }, os.ErrClosed},
		{"deadline, splice", nil, func(r *os.File) { r.SetReadDeadline(time.Now()) }, os.ErrDeadlineExceeded},
		{"deadline, filter", StripANSI, func(r *os.File) { r.SetReadDeadline(time.Now()) }, os.ErrDeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, pw, err := os.Pipe()
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

func TestPumpFromRegularFileFallsBackToCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	stream := testStream(9, 300_000)
	if err := os.WriteFile(src, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	w := mustOpen(t, filepath.Join(dir, "x.log"), 0, 0)
	if err := Pump(f, w, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(w.Path()); !bytes.Equal(got, stream) {
		t.Errorf("copied %d bytes, want %d", len(got), len(stream))
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
	const small, big = 100, coalesceBelow
	tests := []struct {
		name   string
		delay  time.Duration
		chunks []int           // sizes read, in order
		gaps   []time.Duration // clock advance before each chunk
		want   string          // per chunk: p = paused after it, . = did not
	}{
		{"disabled", 0, []int{small, small}, nil, ".."},
		{"chatty stream pauses after every small read", DefaultCoalesce, []int{small, small, small}, nil, "ppp"},
		{"big reads never pause", DefaultCoalesce, []int{big, big}, nil, ".."},
		{"a big read after a pause marks the stream fast", DefaultCoalesce,
			[]int{small, big, small, small}, nil, "p..."},
		{"fast mode ends after a second", DefaultCoalesce,
			[]int{small, big, small, small},
			[]time.Duration{0, 0, 500 * time.Millisecond, time.Second}, "p..p"},
		{"a big read without a pause before it does not", DefaultCoalesce,
			[]int{big, small}, nil, ".p"},
	}
	t.Run("pauses end on a multiple of the delay", func(t *testing.T) {
		clock := &fakeClock{now: time.Unix(1000, int64(3*time.Millisecond))}
		var slept time.Duration
		p := &pacer{delay: 10 * time.Millisecond, now: clock.Now, sleep: func(d time.Duration) { slept = d }}
		p.after(small)
		if slept != 7*time.Millisecond {
			t.Errorf("slept %v at 3 ms past a boundary, want 7ms", slept)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1000, 0)}
			var paused bool
			p := &pacer{delay: tt.delay, now: clock.Now, sleep: func(d time.Duration) {
				if d != tt.delay {
					t.Errorf("slept %v, want %v", d, tt.delay)
				}
				paused = true
			}}
			var got strings.Builder
			for i, n := range tt.chunks {
				if i < len(tt.gaps) {
					clock.Advance(tt.gaps[i])
				}
				paused = false
				p.after(n)
				if paused {
					got.WriteByte('p')
				} else {
					got.WriteByte('.')
				}
			}
			if got.String() != tt.want {
				t.Errorf("pauses %q, want %q", got.String(), tt.want)
			}
		})
	}
}
