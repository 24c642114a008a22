package logrot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pipeFDs counts this process's descriptors open on the same pipe as f.
func pipeFDs(t *testing.T, f *os.File) int {
	t.Helper()
	var want unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &want); err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf("pipe:[%d]", want.Ino)
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && l == link {
			n++
		}
	}
	return n
}

func TestPipeEnds(t *testing.T) {
	src, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	defer w.Close()
	flags := func(fd int) (fl, fdfl int) {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			t.Fatal(err)
		}
		fdfl, err = unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			t.Fatal(err)
		}
		return fl, fdfl
	}
	rfl, rfd := flags(src.fd)
	wfl, wfd := flags(int(w.Fd()))
	if rfl&unix.O_NONBLOCK == 0 {
		t.Error("read end is blocking, want non-blocking")
	}
	if wfl&unix.O_NONBLOCK != 0 {
		t.Error("write end (the child's) is non-blocking, want blocking")
	}
	if rfd&unix.FD_CLOEXEC == 0 || wfd&unix.FD_CLOEXEC == 0 {
		t.Error("pipe ends are inherited across exec, want close-on-exec")
	}
}

// TestSourceRegistersOnlyToWait checks the point of Source: the pipe is
// in the runtime poller only from the read that found it empty until Pump
// rests, and never holds a second descriptor on the pipe.
func TestSourceRegistersOnlyToWait(t *testing.T) {
	src, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	buf := make([]byte, 64)
	var got []byte
	read := func(fd uintptr) bool {
		n, err := unix.Read(int(fd), buf)
		if err == unix.EAGAIN {
			return false
		}
		got = append(got, buf[:max(n, 0)]...)
		return true
	}
	// Registered from the start: a Pump on a quiet child parks at once.
	if !src.registered() || pipeFDs(t, w) != 2 {
		t.Fatalf("new Source: registered=%v with %d descriptors on the pipe; want registered, 2", src.registered(), pipeFDs(t, w))
	}
	if _, err := w.Write([]byte("ready")); err != nil {
		t.Fatal(err)
	}
	if err := src.do(read); err != nil || string(got) != "ready" {
		t.Fatalf("do = %v, read %q; want the data at once", err, got)
	}
	src.rest()
	if src.registered() || pipeFDs(t, w) != 2 {
		t.Fatalf("registered=%v with %d descriptors on the pipe after rest; want not registered, 2", src.registered(), pipeFDs(t, w))
	}
	got = nil
	done := make(chan error, 1)
	go func() { done <- src.do(read) }()
	waitFor(t, src.registered)
	if n := pipeFDs(t, w); n != 2 {
		t.Errorf("%d descriptors on the pipe while waiting, want 2 (read end, write end)", n)
	}
	if _, err := w.Write([]byte("later")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil || string(got) != "later" {
		t.Fatalf("do = %v, read %q; want the data once written", err, got)
	}
	src.rest()
	if src.registered() || pipeFDs(t, w) != 2 {
		t.Errorf("registered=%v with %d descriptors on the pipe after rest; want not registered, 2", src.registered(), pipeFDs(t, w))
	}
	if _, err := w.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	got = nil
	if err := src.do(read); err != nil || string(got) != "again" || src.registered() {
		t.Fatalf("do = %v, read %q, registered=%v; want the data read directly after rest", err, got, src.registered())
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if n := pipeFDs(t, w); n != 1 {
		t.Errorf("%d descriptors on the pipe after Close, want only the write end", n)
	}
}

func TestSourceAbandon(t *testing.T) {
	never := func(uintptr) bool { return false } // the pipe always looks empty
	tests := []struct {
		name    string
		waiting bool // abandon while do waits (else before it is called)
		abandon func(*Source) error
		wantErr error
	}{
		{"close while waiting", true, (*Source).Close, os.ErrClosed},
		{"deadline while waiting", true, func(s *Source) error { return s.SetReadDeadline(time.Now()) }, os.ErrDeadlineExceeded},
		{"future deadline reached while waiting", true, func(s *Source) error { return s.SetReadDeadline(time.Now().Add(50 * time.Millisecond)) }, os.ErrDeadlineExceeded},
		{"closed before", false, (*Source).Close, os.ErrClosed},
		{"deadline passed before", false, func(s *Source) error { return s.SetReadDeadline(time.Now()) }, os.ErrDeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, w, err := Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			defer w.Close()
			op := never
			src.rest() // so that do registers it: waitFor(src.registered) then means do is waiting
			if !tt.waiting {
				// Data is there, but an abandoned Source must not read it.
				if _, err := w.Write([]byte("x")); err != nil {
					t.Fatal(err)
				}
				op = func(uintptr) bool { t.Error("abandoned Source read its pipe"); return true }
				if err := tt.abandon(src); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan error, 1)
			go func() { done <- src.do(op) }()
			if tt.waiting {
				waitFor(t, src.registered)
				if err := tt.abandon(src); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case err := <-done:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("do = %v, want %v", err, tt.wantErr)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("do kept waiting on an abandoned Source")
			}
		})
	}
}

// TestPumpRestsUnregistered: once a chatty stream's chunk is written,
// Pump pauses with the pipe out of the poller.
func TestPumpRestsUnregistered(t *testing.T) {
	src, pw, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	path := filepath.Join(t.TempDir(), "x.log")
	w := mustOpen(t, path, 0, 0)
	done := make(chan error, 1)
	go func() { done <- Pump(src, w, nil, WithCoalesce(time.Second)) }()
	waitFor(t, src.registered) // waiting for the first line
	if _, err := pw.Write([]byte("line\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { b, _ := os.ReadFile(path); return string(b) == "line\n" })
	waitFor(t, func() bool { return !src.registered() })
	if n := pipeFDs(t, pw); n != 2 {
		t.Errorf("%d descriptors on the pipe while pausing, want 2", n)
	}
	pw.Close()
	waitPump(t, done)
}

func pipeCapacity(t *testing.T, f *os.File) int {
	t.Helper()
	n, err := unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSourceGrowsOnlyForAFullRead: a read that takes a whole default
// pipe grows it; a trickle keeps the default (a pipe's capacity is
// charged to the user whether used or not).
func TestSourceGrowsOnlyForAFullRead(t *testing.T) {
	tests := []struct {
		reads []int
		want  int
	}{
		{[]int{100, 5000, defaultPipeSize - 1}, defaultPipeSize},
		{[]int{100, defaultPipeSize}, grownPipeSize},
		{[]int{ChunkSize}, grownPipeSize},
	}
	for _, tt := range tests {
		src, w, err := Pipe()
		if err != nil {
			t.Fatal(err)
		}
		if got := pipeCapacity(t, w); got != defaultPipeSize {
			t.Fatalf("new pipe holds %d bytes, want the default %d", got, defaultPipeSize)
		}
		for _, n := range tt.reads {
			src.moved(n)
		}
		if got := pipeCapacity(t, w); got != tt.want || src.size() != tt.want {
			t.Errorf("after reads of %v the pipe holds %d bytes (Source says %d), want %d", tt.reads, got, src.size(), tt.want)
		}
		src.Close()
		w.Close()
	}
}

// TestPumpGrowsAFullPipe: Pump tells its Source what each read moved,
// on the splice path and the filter path.
func TestPumpGrowsAFullPipe(t *testing.T) {
	for _, tt := range []struct {
		name   string
		filter func([]byte) []byte
	}{{"splice", nil}, {"filter", func(b []byte) []byte { return b }}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, pw, err := Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pw.Close()
			// Filled before Pump starts: its first read takes a whole pipe.
			if _, err := pw.Write(testStream(5, defaultPipeSize)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "x.log")
			w := mustOpen(t, path, 0, 0)
			done := make(chan error, 1)
			go func() { done <- Pump(src, w, tt.filter) }()
			waitFor(t, func() bool { st, err := os.Stat(path); return err == nil && st.Size() == defaultPipeSize })
			if got := pipeCapacity(t, pw); got != grownPipeSize {
				t.Errorf("pipe holds %d bytes after a full read, want %d", got, grownPipeSize)
			}
			pw.Close()
			waitPump(t, done)
		})
	}
}

func TestSpliceSize(t *testing.T) {
	const maxBytes = 10 << 20
	tests := []struct {
		end, maxBytes int64
		want          int
	}{
		{0, 0, spliceMax},        // never rotates
		{1 << 30, 0, spliceMax},  //
		{0, maxBytes, spliceMax}, // far from maxbytes
		{maxBytes - spliceMax, maxBytes, spliceMax},
		{maxBytes - 1000, maxBytes, ChunkSize + 1000}, // ends at most a chunk past
		{maxBytes, maxBytes, ChunkSize},               // at least a chunk
		{maxBytes + 5, maxBytes, ChunkSize},
		{0, 1000, ChunkSize + 1000},
	}
	for _, tt := range tests {
		if got := spliceSize(tt.end, tt.maxBytes); got != tt.want {
			t.Errorf("spliceSize(%d, %d) = %d, want %d", tt.end, tt.maxBytes, got, tt.want)
		}
	}
}

// TestSourceRestWithoutASpareDescriptor: resting needs a duplicate
// descriptor; without one (EMFILE) the pipe stays registered and keeps
// working, and rests once descriptors are available again.
func TestSourceRestWithoutASpareDescriptor(t *testing.T) {
	src, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer src.Close()
	dupFails := true
	src.dupFD = func(fd int) (int, error) {
		if dupFails {
			return -1, unix.EMFILE
		}
		return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	}
	var got []byte
	buf := make([]byte, 64)
	read := func(fd uintptr) bool {
		n, err := unix.Read(int(fd), buf)
		if err == unix.EAGAIN {
			return false
		}
		got = append(got, buf[:max(n, 0)]...)
		return true
	}
	for i, word := range []string{"one", "two"} {
		done := make(chan error, 1)
		go func() { done <- src.do(read) }()
		waitFor(t, src.registered)
		if _, err := w.Write([]byte(word)); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("read %d: do = %v", i, err)
		}
		src.rest()
		if !src.registered() {
			t.Fatalf("read %d: rest without a spare descriptor dropped the registration", i)
		}
	}
	if string(got) != "onetwo" {
		t.Errorf("read %q, want %q", got, "onetwo")
	}
	dupFails = false
	src.rest()
	if src.registered() || pipeFDs(t, w) != 2 {
		t.Errorf("registered=%v with %d descriptors on the pipe after rest; want not registered, 2", src.registered(), pipeFDs(t, w))
	}
}

// TestSourceHandover: a pump stopped by a deadline leaves what it has not
// read in the pipe; a duplicate made before survives the Source's close
// and, adopted as a new Source, delivers the rest exactly once.
func TestSourceHandover(t *testing.T) {
	src, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	path := filepath.Join(t.TempDir(), "log")
	lw, err := Open(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Close()
	if _, err := w.WriteString("one\n"); err != nil {
		t.Fatal(err)
	}
	fd, err := src.Dup()
	if err != nil {
		t.Fatal(err)
	}
	if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); fl&unix.FD_CLOEXEC == 0 {
		t.Error("the duplicate is inherited across exec")
	}
	pumped := make(chan error, 1)
	go func() { pumped <- Pump(src, lw, nil, WithCoalesce(0)) }()
	waitContent(t, path, "one\n")
	if err := src.SetReadDeadline(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := <-pumped; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Pump: %v, want the deadline", err)
	}
	if _, err := w.WriteString("two\n"); err != nil {
		t.Fatalf("the pipe closed with its Source: %v", err)
	}
	next, err := AdoptPipe(fd)
	if err != nil {
		t.Fatal(err)
	}
	go func() { pumped <- Pump(next, lw, nil, WithCoalesce(0)) }()
	w.Close()
	if err := <-pumped; err != nil {
		t.Fatalf("Pump: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one\ntwo\n" {
		t.Errorf("log = %q, want each line once", b)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	other, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AdoptPipe(other); err == nil {
		t.Error("a regular file adopted as a pipe")
	}
	if _, err := unix.FcntlInt(uintptr(other), unix.F_GETFD, 0); err == nil {
		t.Error("a refused descriptor was left open")
	}
}

func waitContent(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, _ := os.ReadFile(path); string(b) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %q", path, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
