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
// in the runtime poller (a duplicate descriptor) only from the read that
// found it empty until Pump rests.
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
	if _, err := w.Write([]byte("ready")); err != nil {
		t.Fatal(err)
	}
	if err := src.do(read); err != nil || string(got) != "ready" {
		t.Fatalf("do = %v, read %q; want the data at once", err, got)
	}
	if src.registered() || pipeFDs(t, w) != 2 {
		t.Fatalf("registered=%v with %d descriptors on the pipe after reading data that was there; want neither", src.registered(), pipeFDs(t, w))
	}
	got = nil
	done := make(chan error, 1)
	go func() { done <- src.do(read) }()
	waitFor(t, src.registered)
	if n := pipeFDs(t, w); n != 3 {
		t.Errorf("%d descriptors on the pipe while waiting, want 3 (read end, its registered duplicate, write end)", n)
	}
	if _, err := w.Write([]byte("later")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil || string(got) != "later" {
		t.Fatalf("do = %v, read %q; want the data once written", err, got)
	}
	src.rest()
	if src.registered() || pipeFDs(t, w) != 2 {
		t.Errorf("registered=%v with %d descriptors on the pipe after rest; want the duplicate gone", src.registered(), pipeFDs(t, w))
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
		t.Errorf("%d descriptors on the pipe while pausing, want 2 (no registered duplicate)", n)
	}
	pw.Close()
	waitPump(t, done)
}
