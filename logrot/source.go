package logrot

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Source is the parent's read end of a child's output pipe, made by Pipe
// and drained by Pump.
//
// Unlike an *os.File from os.Pipe, a Source is registered with the Go
// runtime's poller (epoll) only until it first has data and then while its
// Pump waits for more, not while the Pump pauses to let a chatty child's
// lines gather (WithCoalesce). A pipe registered with the runtime wakes it
// on every write the child makes, read or not: fifty children writing a
// line a millisecond made 34,000 wake-ups a second, most of the daemon's
// CPU, for 5,000 splices.
//
// The registration holds no extra descriptor: while registered, the read
// end belongs to an *os.File (waiter); resting moves it to a duplicate and
// closes that file, which is what unregisters it.
//
// Close and SetReadDeadline may be called from any goroutine.
type Source struct {
	mu       sync.Mutex
	fd       int // the read end; -1 once closed
	deadline time.Time
	// waiter owns fd while it is registered with the runtime poller: from
	// the first read that found the pipe empty until the Pump rests (or
	// the Source closes). Pump waits through waiterRC.
	waiter   *os.File
	waiterRC syscall.RawConn
	// capacity is what the pipe holds; grown tells that growing it was
	// tried. Both belong to the Pump's goroutine.
	capacity int
	grown    bool
	dupFD    func(fd int) (int, error) // nil: fcntl(F_DUPFD_CLOEXEC); tests make it fail
}

// Pipe capacities: Linux's default, and what a fast stream gets. Not
// more: with a 1 MiB pipe the data a splice copies into the page cache
// has gone cold (the child runs that far ahead), and on ext4 a GiB cost
// the daemon 40 % more CPU than with 256 KiB (128 and 512 KiB measured
// like 256; on tmpfs all four alike).
const (
	defaultPipeSize = 64 << 10
	grownPipeSize   = 256 << 10
)

// Pipe makes a pipe for a child's output: the Source for the parent, and
// the write end, in blocking mode, to hand to the child. Both are
// close-on-exec in the parent; the caller closes the write end once the
// child has started.
func Pipe() (*Source, *os.File, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	// O_NONBLOCK belongs to the read end's open file only: the child's
	// write end stays blocking.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	// Usually defaultPipeSize, less once the user is over the
	// pipe-user-pages-soft quota.
	capacity, err := unix.FcntlInt(uintptr(fds[0]), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		capacity = defaultPipeSize
	}
	src := &Source{fd: fds[0], capacity: capacity}
	// Registered from the start, on the caller's goroutine: a Pump on a
	// child that never writes then parks at once, on a smaller stack than
	// registering from inside the Pump takes (1000 quiet pipes: 2-3 MiB).
	_ = src.registerLocked() // on failure do registers again
	return src, os.NewFile(uintptr(fds[1]), "|1"), nil
}

// AdoptPipe makes a Source of fd, the read end of an output pipe made
// by another process image (a supervisord upgraded in place hands its
// children's pipes to its successor). The Source owns fd from now on,
// also on failure.
func AdoptPipe(fd int) (*Source, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pipe %d: %w", fd, err)
	}
	unix.CloseOnExec(fd)
	capacity, err := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pipe %d: not a pipe: %w", fd, err)
	}
	src := &Source{fd: fd, capacity: capacity, grown: capacity >= grownPipeSize}
	_ = src.registerLocked()
	return src, nil
}

// Dup returns a new descriptor (close-on-exec) for the same pipe, which
// stays open when the Source closes: a handover takes the pipe over.
func (s *Source) Dup() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return -1, fmt.Errorf("pipe: dup: %w", os.ErrClosed)
	}
	fd, err := unix.FcntlInt(uintptr(s.fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return -1, fmt.Errorf("pipe: dup: %w", err)
	}
	return fd, nil
}

// SetReadDeadline makes Pump give up with os.ErrDeadlineExceeded once t
// has passed, leaving unread whatever the pipe still holds. The zero time
// removes the deadline.
func (s *Source) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return fmt.Errorf("pipe: set deadline: %w", os.ErrClosed)
	}
	s.deadline = t
	if s.waiter != nil {
		if err := s.waiter.SetReadDeadline(t); err != nil {
			return fmt.Errorf("pipe: set deadline: %w", err)
		}
	}
	return nil
}

// Close closes the pipe; a Pump on it returns an error matching
// os.ErrClosed. Closing twice is harmless.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return nil
	}
	var err error
	if s.waiter != nil {
		// Waits for a Pump's wait on it to return.
		err = s.waiter.Close()
		s.waiter, s.waiterRC = nil, nil
	} else {
		err = unix.Close(s.fd)
	}
	s.fd = -1
	if err != nil {
		return fmt.Errorf("pipe: close: %w", err)
	}
	return nil
}

// do calls op with the pipe's descriptor until op reports done (it
// returns false when it met EAGAIN): at once if data is there, else when
// the runtime poller says the pipe is readable. op has the shape of a
// syscall.RawConn callback so that it is passed as is, without a closure
// per call. do keeps a small frame and the locked part in try: the wait
// path's depth decides whether a parked Pump fits the runtime's initial
// 2 KiB stack or doubles it to 4 KiB (2 MiB more for a thousand quiet
// pipes; a larger frame here did that).
func (s *Source) do(op func(fd uintptr) bool) error {
	rc, err := s.try(op)
	if rc == nil {
		return err
	}
	// Outside the lock so that Close and SetReadDeadline reach the wait.
	// Close closes the waiter, which waits for this read to return.
	if err := rc.Read(op); err != nil {
		return s.waitError(err)
	}
	return nil
}

// try calls op at once if the pipe is not registered, and returns the
// RawConn to wait on when op could not be done, registering the pipe if
// needed.
func (s *Source) try(op func(fd uintptr) bool) (syscall.RawConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(); err != nil {
		return nil, err
	}
	if s.waiter == nil {
		// Resting, or busy: the pipe is not registered, so try it
		// directly and register only if it is empty.
		if op(uintptr(s.fd)) {
			return nil, nil
		}
		if err := s.registerLocked(); err != nil {
			return nil, err
		}
	}
	return s.waiterRC, nil
}

// rest drops the poller registration before Pump pauses, so that the
// child's writes during the pause wake nobody.
func (s *Source) rest() {
	s.mu.Lock()
	s.unregisterLocked()
	s.mu.Unlock()
}

// moved tells the Source that one read moved n bytes. A read that took
// a whole pipe means the child outruns its Pump: the pipe is grown once,
// so that a fast stream wakes its Pump and blocks its child far less
// often, and one splice moves up to spliceMax. Only such streams
// are grown because the kernel charges a pipe's capacity, used or not, to
// the user's pipe-user-pages quota. Failure (over pipe-max-size or the
// quota) leaves the pipe as it was.
func (s *Source) moved(n int) {
	if n < s.capacity || s.grown {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd >= 0 {
		s.grown = true
		if c, err := unix.FcntlInt(uintptr(s.fd), unix.F_SETPIPE_SZ, grownPipeSize); err == nil {
			s.capacity = c
		}
	}
}

// size is how many bytes the pipe holds.
func (s *Source) size() int { return s.capacity }

// registered tells whether the pipe is registered with the poller: it was
// found empty since the last rest.
func (s *Source) registered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiter != nil
}

func (s *Source) usableLocked() error {
	if s.fd < 0 {
		return fmt.Errorf("pipe: %w", os.ErrClosed)
	}
	if !s.deadline.IsZero() && !time.Now().Before(s.deadline) {
		return fmt.Errorf("pipe: %w", os.ErrDeadlineExceeded)
	}
	return nil
}

// registerLocked hands the descriptor to an *os.File, which registers it
// with the runtime poller (os.NewFile polls a non-blocking descriptor).
func (s *Source) registerLocked() error {
	f := os.NewFile(uintptr(s.fd), "|0")
	rc, err := f.SyscallConn()
	if err == nil {
		// os.ErrNoDeadline: the poller refused the descriptor (out of
		// memory or of epoll watches).
		err = f.SetReadDeadline(s.deadline)
	}
	s.waiter, s.waiterRC = f, rc
	if err != nil {
		s.unregisterLocked()
		return fmt.Errorf("pipe: wait: %w", err)
	}
	return nil
}

// unregisterLocked takes the descriptor back from the waiter: a duplicate
// replaces it and closing the waiter unregisters it. Without a descriptor
// to spare (EMFILE) the pipe stays registered, which only costs wake-ups.
func (s *Source) unregisterLocked() {
	if s.waiter == nil {
		return
	}
	fd, err := s.dup()
	if err != nil {
		return
	}
	s.waiter.Close()
	s.waiter, s.waiterRC = nil, nil
	s.fd = fd
}

func (s *Source) dup() (int, error) {
	if s.dupFD != nil {
		return s.dupFD(s.fd)
	}
	return unix.FcntlInt(uintptr(s.fd), unix.F_DUPFD_CLOEXEC, 0)
}

// waitError words an error of the wait: the poller reports a Close under
// us with its own error, which is made to match os.ErrClosed.
func (s *Source) waitError(err error) error {
	s.mu.Lock()
	closed := s.fd < 0
	s.mu.Unlock()
	if closed && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("pipe: %w (%v)", os.ErrClosed, err)
	}
	return fmt.Errorf("pipe: %w", err)
}
