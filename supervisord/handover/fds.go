package handover

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// Dup copies fd to a new descriptor with close-on-exec: the document's
// descriptors are copies its writer owns, so the originals can be closed
// (stopping their users) without closing the pipe or socket.
func Dup(fd int) (int, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return -1, fmt.Errorf("dup %d: %w", fd, err)
	}
	return nfd, nil
}

// Inherit clears close-on-exec on fds, right before the exec that hands
// them over.
func Inherit(fds []int) error {
	for _, fd := range fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("descriptor %d: %w", fd, err)
		}
	}
	return nil
}

// Adopt sets close-on-exec on fds again, first thing after the exec (or
// after an exec that failed), so no program spawned later inherits them.
// It returns the descriptors that are not open (the others are adopted).
func Adopt(fds []int) []int {
	var missing []int
	for _, fd := range fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
			missing = append(missing, fd)
		}
	}
	return missing
}

// CloseStrays closes every descriptor above 2 that came through the exec
// without being named in keep, and returns them: such a descriptor lacks
// close-on-exec, which everything the new binary opens has (Go opens
// with O_CLOEXEC), and would otherwise leak for the daemon's lifetime.
// Call it after Adopt.
func CloseStrays(keep []int) ([]int, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, fmt.Errorf("list descriptors: %w", err)
	}
	var closed []int
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 || slices.Contains(keep, fd) {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue // gone (the directory's own descriptor), or ours
		}
		if unix.Close(fd) == nil {
			closed = append(closed, fd)
		}
	}
	return closed, nil
}

// maxDocument bounds the document a reader accepts (stdin queues and
// event buffers are bounded, so a real one is far smaller).
const maxDocument = 1 << 30

// WriteMemfd writes data to a new memfd without close-on-exec and
// returns its descriptor, positioned at the start.
func WriteMemfd(data []byte) (int, error) {
	fd, err := unix.MemfdCreate("gosupervisor-handover", 0)
	if err != nil {
		return -1, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "handover")
	if _, err := f.Write(data); err != nil {
		f.Close()
		return -1, fmt.Errorf("write state: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return -1, fmt.Errorf("write state: %w", err)
	}
	// The descriptor outlives f: a duplicate without close-on-exec.
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD, 3)
	f.Close()
	if err != nil {
		return -1, fmt.Errorf("write state: %w", err)
	}
	return nfd, nil
}

// ReadFD reads a document from fd (a memfd or a pipe) and closes it.
func ReadFD(fd int) ([]byte, error) {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return nil, fmt.Errorf("state descriptor %d: %w", fd, err)
	}
	unix.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "handover")
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	if len(data) > maxDocument {
		return nil, errors.New("read state: document too large")
	}
	return data, nil
}

// Monotonic is CLOCK_MONOTONIC in nanoseconds: unlike the monotonic
// reading of a time.Time, which counts from the process's start, it is
// the same clock on both sides of the exec.
func Monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
